"""Run the devhost Functions host alone:

    python -m devhost.functions_host --app function_app --port 7071 --storage "$AzureWebJobsStorage"

Like ``func start``, it first loads the ``Values`` of ``local.settings.json`` (in ``--root``,
or ``--settings PATH``) into the environment; variables already set win. The storage
connection defaults to ``AzureWebJobsStorage`` (``UseDevelopmentStorage=true`` means Azurite
on its default ports). The task hub is what host.json's ``extensions.durableTask.hubName`` says,
``%SETTING%`` resolved from the settings; like the Durable extension, the host does not start
when that fails (``--task-hub`` overrides it: a devhost-only convenience). Activities run in
threads of this process, as the Python worker runs them (``--processes`` for worker processes).
It serves until interrupted (Ctrl+C or SIGTERM); when ready it prints ``Functions host ready:
<url>``, so a parent process can wait for that line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from .host import FunctionsHost


def load_settings(path: Path) -> list[str]:
    """Put ``Values`` from a local.settings.json into os.environ (without overriding)."""
    values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    applied = []
    for name, value in values.items():
        if name not in os.environ and value is not None:
            os.environ[name] = str(value)
            applied.append(name)
    return applied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devhost.functions_host", description="Run the devhost Functions host alone."
    )
    parser.add_argument(
        "--app", default="function_app", help="import path of the module with `app` (function_app)"
    )
    parser.add_argument("--root", default=os.getcwd(), help="folder put on sys.path to import the app (cwd)")
    parser.add_argument("--port", type=int, default=7071, help="public HTTP port (7071; 0 picks a free one)")
    parser.add_argument(
        "--storage", default=None, help="storage connection string (default: $AzureWebJobsStorage)"
    )
    parser.add_argument(
        "--settings", default=None, help="a local.settings.json (default: ROOT/local.settings.json)"
    )
    parser.add_argument(
        "--task-hub",
        default=None,
        help="override host.json's hubName (devhost only; default: host.json, %%SETTING%% resolved)",
    )
    parser.add_argument("--key", default=None, help="host key (default: $DEVHOST_HOST_KEY or random)")
    parser.add_argument(
        "--master-key", default=None, help="master key (default: $DEVHOST_MASTER_KEY or random)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="activity threads (default: $PYTHON_THREADPOOL_THREAD_COUNT or the worker's default)",
    )
    parser.add_argument(
        "--processes", action="store_true", help="run activities in worker processes, not threads"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    settings = Path(args.settings) if args.settings else Path(args.root) / "local.settings.json"
    if args.settings or settings.exists():
        applied = load_settings(settings)
        logging.getLogger("devhost.functions_host").info("Loaded %d settings from %s", len(applied), settings)
    storage = args.storage or os.environ.get("AzureWebJobsStorage")
    if not storage:
        parser.error("--storage (or the AzureWebJobsStorage setting) is required")
    host = FunctionsHost(
        args.app,
        storage_connection=storage,
        port=args.port,
        task_hub=args.task_hub,
        host_key=args.key,
        master_key=args.master_key,
        activity_workers=args.workers,
        use_processes=args.processes,
        app_root=args.root,
    )
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        host.start()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"Functions host ready: {host.url}", flush=True)
    print(f"Task hub: {host.task_hub}", flush=True)
    print(f"Host key: {host.host_key}", flush=True)
    print(f"Master key: {host.master_key}", flush=True)
    try:
        stopping.wait()
    finally:
        host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
