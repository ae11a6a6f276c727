"""Killing the host mid-run and starting a new one on the same storage resumes every
in-flight instance: replay from the stored history, activities scheduled but never completed
run again, unfired timers are re-armed. Uses a persistent Azurite in a temporary folder and the
``python -m devhost.functions_host`` CLI as the host that gets killed (SIGKILL of its whole
process group: the host and its activity threads die mid-activity, queued writes are lost)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.azurite import Azurite, free_port
from devhost.functions_host import FunctionsHost
from tests.conftest import start_or_fail

from .conftest import KEY, ROOT, SYSTEM_KEY, ToyClient, read_records

pytestmark = pytest.mark.azurite


@pytest.fixture(scope="module")
def disk_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    server = start_or_fail(Azurite(location=tmp_path_factory.mktemp("azurite-disk")))
    yield server
    server.stop()


def _start_cli_host(
    azurite: Azurite, hub: str, port: int, record_dir: Path
) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "DEVHOST_TOY_RECORD_DIR": str(record_dir), "TOY_TIMER_SCHEDULE": "0 0 0 1 1 *"}
    command = [
        sys.executable,
        "-m",
        "devhost.functions_host",
        "--app",
        "tests.devhost.toy_app",
        "--port",
        str(port),
        "--storage",
        azurite.connection_string,
        "--task-hub",
        hub,
        "--key",
        KEY,
        "--workers",
        "2",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output = process.stdout
    assert output is not None

    def pump() -> None:
        for line in output:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if line.startswith("Functions host ready: "):
            return process, line.split(": ", 1)[1].strip()
    process.kill()
    raise RuntimeError("the CLI host did not start")


def test_killed_host_resumes_on_a_new_host(disk_azurite: Azurite, record_dir: Path) -> None:
    hub, run = f"Restart{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8]
    process, url = _start_cli_host(disk_azurite, hub, free_port(), record_dir)
    try:
        started = requests.post(
            f"{url}/api/toy/start/durable_batch",
            params={"code": KEY},
            json={"run": run, "n": 8, "sleep": 1.0},
            timeout=10,
        )
        assert started.status_code == 202
        instance_id = started.json()["id"]

        def phases(item: int) -> list[str]:
            return [r["phase"] for r in read_records(record_dir, f"{run}-{item}")]

        deadline = time.monotonic() + 20
        while sum("done" in phases(i) for i in range(8)) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the host and its worker processes, mid-activity
        process.wait(10)
    before = {i: phases(i) for i in range(8)}
    assert 3 <= sum("done" in p for p in before.values()) < 8, before
    interrupted = [i for i, p in before.items() if "start" in p and "done" not in p]

    host = FunctionsHost(
        "tests.devhost.toy_app",
        storage_connection=disk_azurite.connection_string,
        port=0,
        task_hub=hub,
        host_key=KEY,
        system_key=SYSTEM_KEY,
        app_root=ROOT,
    )
    host.start()
    try:
        toy = ToyClient(host, record_dir)
        status = toy.wait(instance_id, timeout=20)
        assert status["runtimeStatus"] == "Completed"
        assert status["output"] == [i * 10 for i in range(8)]
        after = {i: phases(i) for i in range(8)}
        assert all("done" in p for p in after.values())  # no lost work
        # Killed mid-run, so run again: two starts, one done. (An item done just before the kill
        # may run again too, if its completion had not reached storage: activities are idempotent.)
        assert all(after[i].count("start") == 2 and after[i].count("done") == 1 for i in interrupted), after
        history = host.history(instance_id)
        scheduled = [e["EventId"] for e in history if e["EventType"] == 4]
        completed = [e["TaskScheduledId"] for e in history if e["EventType"] == 5]
        assert scheduled == list(range(8))
        assert sorted(completed) == list(range(8))
    finally:
        host.stop()


def test_graceful_restart_keeps_a_timer_and_a_pending_event(disk_azurite: Azurite, record_dir: Path) -> None:
    hub = f"Timers{uuid.uuid4().hex[:8]}"
    options: dict[str, Any] = dict(
        storage_connection=disk_azurite.connection_string,
        port=0,
        task_hub=hub,
        host_key=KEY,
        system_key=SYSTEM_KEY,
        app_root=ROOT,
    )
    first = FunctionsHost("tests.devhost.toy_app", **options).start()
    toy = ToyClient(first, record_dir)
    began = time.monotonic()
    timer_id = toy.start_id("timer_wait", {"seconds": 1.2})
    waiting_id = toy.start_id("approval")
    toy.wait_until(timer_id, lambda s: s["runtimeStatus"] == "Running")
    toy.wait_until(waiting_id, lambda s: s["runtimeStatus"] == "Running")
    raise_url = f"{first.url}/runtime/webhooks/durabletask/instances/{waiting_id}/raiseEvent/approval"
    raised = requests.post(raise_url, params={"code": SYSTEM_KEY}, json="yes", timeout=10)
    assert raised.status_code == 202
    first.stop(kill=True)  # the raised event was persisted before the 202; the episode may be lost

    second = FunctionsHost("tests.devhost.toy_app", **options).start()
    try:
        toy = ToyClient(second, record_dir)
        assert toy.wait(waiting_id)["output"] == {"decision": "yes"}
        assert toy.wait(timer_id)["runtimeStatus"] == "Completed"
        assert time.monotonic() - began >= 1.2
    finally:
        second.stop()
