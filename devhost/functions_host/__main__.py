"""Run the devhost Functions host alone:

    python -m devhost.functions_host --app function_app --port 7071 --storage "$AzureWebJobsStorage"

Like ``func start``, it first loads the ``Values`` of ``local.settings.json`` (in ``--root``,
or ``--settings PATH``) into the environment; variables already set win. The storage
connection defaults to ``AzureWebJobsStorage`` (``UseDevelopmentStorage=true`` means Azurite
on its default ports) and the task hub to ``DURABLE_TASK_HUB``. It serves until interrupted
(Ctrl+C or SIGTERM); when ready it prints ``Functions host ready: <url>``, so a parent process
can wait for that line.
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
        "--task-hub", default=None, help="task hub name (default: $DURABLE_TASK_HUB or DevHostHub)"
    )
    parser.add_argument(
        "--key", default=None, help="function/master key (default: $DEVHOST_FUNCTION_KEY or random)"
    )
    parser.add_argument("--workers", type=int, default=2, help="activity workers (2)")
    parser.add_argument("--threads", action="store_true", help="run activities in threads, not processes")
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
        task_hub=args.task_hub or os.environ.get("DURABLE_TASK_HUB") or "DevHostHub",
        function_key=args.key,
        activity_workers=args.workers,
        use_processes=not args.threads,
        app_root=args.root,
    )
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    host.start()
    print(f"Functions host ready: {host.url}", flush=True)
    if args.key is None and not os.environ.get("DEVHOST_FUNCTION_KEY"):
        print(f"Function key (generated): {host.function_key}", flush=True)
    try:
        stopping.wait()
    finally:
        host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
