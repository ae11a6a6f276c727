"""Fixtures for the devhost Functions host tests.

- ``within(seconds)``: a SIGALRM deadline (pytest-timeout is not installed); every test runs
  inside ``within(45)``, so an orchestration that never completes fails the test, not the suite.
- ``devhost_azurite``: this package's own in-memory Azurite (fails when
  Azurite is missing).
- ``toy_host``: one host for the session, running ``tests.devhost.toy_app`` with its activities
  in threads (the Python worker's way) and its own task hub (the devhost-only ``task_hub``
  override keeps every host apart); ``toy``: a small HTTP client for it (keys, start, status
  polling, records). ``KEY`` is the host key, ``SYSTEM_KEY`` the durabletask_extension system
  key (the webhooks), ``MASTER_KEY`` the master key.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.azurite import Azurite
from devhost.functions_host import FunctionsHost
from tests.deadline import TestTimeout, within

ROOT = Path(__file__).resolve().parents[2]
KEY = "toy-test-key"
SYSTEM_KEY = "toy-system-key"
MASTER_KEY = "toy-master-key"


@pytest.fixture(autouse=True)
def _deadline() -> Iterator[None]:
    with within(45):
        yield


@pytest.fixture(scope="session")
def devhost_azurite(azurite: Azurite) -> Azurite:
    return azurite  # the session's Azurite; every toy host has its own task hub


@pytest.fixture(scope="session")
def record_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("toy-records")
    os.environ["DEVHOST_TOY_RECORD_DIR"] = str(folder)  # before the workers spawn: they inherit it
    os.environ.setdefault("TOY_TIMER_SCHEDULE", "0 0 0 1 1 *")  # once a year; tests use the admin API
    return folder


@pytest.fixture(scope="session")
def toy_host(devhost_azurite: Azurite, record_dir: Path) -> Iterator[FunctionsHost]:
    host = FunctionsHost(
        "tests.devhost.toy_app",
        storage_connection=devhost_azurite.connection_string,
        port=0,
        task_hub=f"Toy{uuid.uuid4().hex[:10]}",
        host_key=KEY,
        system_key=SYSTEM_KEY,
        master_key=MASTER_KEY,
        app_root=ROOT,
        orchestrator_timeout=1.5,
    )
    host.start()
    yield host
    host.stop()


def read_records(record_dir: Path, key: str) -> list[dict[str, Any]]:
    path = record_dir / f"{key}.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class ToyClient:
    """Talks to the toy app over real HTTP, as a portal or a Logic App would."""

    def __init__(self, host: FunctionsHost, record_dir: Path) -> None:
        self.host = host
        self.url = host.url
        self.record_dir = record_dir
        self.http = requests.Session()

    def start(
        self, orchestrator: str, payload: Any = None, instance_id: str | None = None, **params: Any
    ) -> requests.Response:
        path = f"{self.url}/api/toy/start/{orchestrator}" + (f"/{instance_id}" if instance_id else "")
        return self.http.post(path, params={"code": KEY, **params}, json=payload, timeout=30)

    def start_id(self, orchestrator: str, payload: Any = None, instance_id: str | None = None) -> str:
        response = self.start(orchestrator, payload, instance_id)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def status(self, instance_id: str, **params: Any) -> requests.Response:
        return self.http.get(
            f"{self.url}/runtime/webhooks/durabletask/instances/{instance_id}",
            params={"code": SYSTEM_KEY, **params},
            timeout=30,
        )

    def wait(self, instance_id: str, timeout: float = 20.0) -> dict[str, Any]:
        """Poll the status URL until it stops answering 202; return the status JSON."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.status(instance_id)
            if response.status_code != 202:
                assert response.status_code == 200, response.text
                return response.json()
            if time.monotonic() > deadline:
                raise TestTimeout(f"{instance_id} still {response.json()['runtimeStatus']} after {timeout} s")
            time.sleep(0.02)

    def wait_until(self, instance_id: str, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            payload = self.status(instance_id).json()
            if predicate(payload):
                return payload
            if time.monotonic() > deadline:
                raise TestTimeout(f"condition not met for {instance_id}: {payload}")
            time.sleep(0.02)

    def records(self, key: str) -> list[dict[str, Any]]:
        return read_records(self.record_dir, key)


@pytest.fixture
def toy(toy_host: FunctionsHost, record_dir: Path) -> ToyClient:
    return ToyClient(toy_host, record_dir)


@pytest.fixture
def key() -> str:
    return "k" + uuid.uuid4().hex[:12]
