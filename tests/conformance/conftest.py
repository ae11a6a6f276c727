"""Fixtures for the conformance tier: the Python worker's indexing code, installed by
``make setup`` into ``.tools/worker``. Where it is missing the tier fails in CI (CI=true) and
skips locally with the reason, never silently."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devhost.functions_host.worker_index import WORKER_TOOLS, Worker, installed_worker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def worker() -> Worker:
    found = installed_worker()
    if found is None:
        reason = f"the Python worker's indexing code is not installed in {WORKER_TOOLS}: run `make setup`"
        pytest.fail(reason)
    return found


def index_with_worker(app_dir: Path, script_file: str = "function_app.py") -> dict[str, Any]:
    """Run tests/conformance/worker_harness.py in a fresh process; return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.conformance.worker_harness", str(app_dir), script_file],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"the harness failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(lines[-1])


@pytest.fixture(scope="session")
def indexed_app(worker: Worker) -> dict[str, Any]:
    """What the worker made of ``function_app``."""
    return index_with_worker(ROOT)
