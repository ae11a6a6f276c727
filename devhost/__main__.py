"""``python -m devhost``: run Advisor Reports locally, as ``func start`` would in Azure.

Starts Azurite on its usual ports (or reuses one already listening there), with its data in
``.devhost/azurite`` so a restart resumes in-flight reports; the HTTPS Azure stand-in serving a
tenant file (the bundled sample unless ``--tenant``); and the Functions host on port 7071.
Prints the URLs and the keys, then serves until Ctrl+C or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from devhost.stack import ROOT, DevStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=7071, help="HTTP port of the Functions host (7071)")
    parser.add_argument(
        "--tenant", default=None, help="tenant JSON for the Azure stand-in (the bundled sample)"
    )
    parser.add_argument("--data", default=str(ROOT / ".devhost" / "azurite"), help="Azurite's data folder")
    parser.add_argument("--key", default=None, help="host key (default: $DEVHOST_HOST_KEY or random)")
    parser.add_argument(
        "--workers", type=int, default=None, help="activity threads (the Python worker's default)"
    )
    parser.add_argument(
        "--processes", action="store_true", help="activities in worker processes instead of threads"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDKs log every request at INFO
    Path(args.data).mkdir(parents=True, exist_ok=True)
    stack = DevStack(
        tenant=args.tenant, port=args.port, azurite_location=args.data, azurite_ports=(10000, 10001, 10002),
        host_key=args.key, activity_workers=args.workers, use_processes=args.processes,
    )  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with stack:
        subs = ", ".join(stack.standin.subscription_ids)
        print(
            f"""
Advisor Reports is running.
  API:            {stack.url}/api/reports?code={stack.key}
  health:         {stack.url}/api/health
  host key:       {stack.key}
  master key:     {stack.master_key} (admin API and Durable webhooks; keep it to yourself)
  Azure stand-in: {stack.standin.url} (subscriptions: {subs})
  storage:        Azurite on 127.0.0.1:10000-10002, data in {args.data}
Try:
  curl -s -X POST '{stack.url}/api/reports?code={stack.key}' -H 'Content-Type: application/json' \\
       -d '{{"subscriptionIds": ["{stack.standin.subscription_ids[0]}"], "reportType": "executive"}}'
Press Ctrl+C to stop.""",
            flush=True,
        )
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
