"""``python -m devhost``: run Advisor Reports locally, as ``func start`` would in Azure.

Starts its own Azurite, with its data in ``.devhost/azurite`` so a restart resumes in-flight
reports; the HTTPS Azure stand-in serving a tenant file (the bundled sample unless ``--tenant``);
and the Functions host on port 7071. Prints the URLs, the storage ports and the keys,
then serves until Ctrl+C or SIGTERM.

Azurite goes on its usual ports (10000-10002) only when they are free; when they are taken
(another checkout's Azurite, say, with its own data and task hub) it stops with an error saying
which and what to do: ``--azurite-ports auto`` for free ports, ``--azurite-ports B,Q,T`` for
given ones, or ``--join-azurite`` to use the emulator already listening there. devhost never
joins an emulator it did not start unless asked.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from devhost import azurite
from devhost.sample_tenant import resolve_tenant
from devhost.stack import ROOT, DevStack

AUTO = "auto"


def ports_option(value: str) -> str | tuple[int, int, int]:
    """``--azurite-ports``: ``auto``, or the blob, queue and table ports."""
    if value == AUTO:
        return AUTO
    try:
        ports = tuple(int(part) for part in value.split(","))
    except ValueError:
        ports = ()
    if len(ports) != 3 or len(set(ports)) != 3 or not all(0 < p < 65536 for p in ports):
        raise argparse.ArgumentTypeError(
            f"expected 'auto' or three different ports BLOB,QUEUE,TABLE, got {value!r}"
        )
    return ports[0], ports[1], ports[2]


def ports_taken_message(exc: azurite.PortsTaken, store: azurite.Azurite) -> str:
    listed = f"{store.blob_port},{store.queue_port},{store.table_port}"
    held = "holds it" if len(exc.taken) == 1 else "holds them"
    return f"""Cannot start Azurite: {exc}.
Another storage emulator (another checkout's, with its own data and task hubs) or another
program {held}, and devhost uses no emulator it did not start unless asked. Either:
  --azurite-ports auto     start Azurite on free ports
  --azurite-ports B,Q,T    start Azurite on these blob, queue and table ports
  --join-azurite           use the emulator already listening on {listed}, with its data"""


def main(argv: list[str] | None = None, *, stop: threading.Event | None = None) -> int:
    """``stop``: serve until it is set (tests); by default until Ctrl+C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m devhost", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=7071, help="HTTP port of the Functions host (7071)")
    parser.add_argument(
        "--tenant", default=None,
        help="tenant for the Azure stand-in: a JSON file, 'sample' (the bundled one, the default) or 'big'",
    )  # fmt: skip
    parser.add_argument("--data", default=str(ROOT / ".devhost" / "azurite"), help="Azurite's data folder")
    parser.add_argument(
        "--azurite-ports", type=ports_option, default=azurite.USUAL_PORTS, metavar="auto|BLOB,QUEUE,TABLE",
        help="Azurite's ports: 'auto' picks free ones; default 10000,10001,10002, which must be free",
    )  # fmt: skip
    parser.add_argument(
        "--join-azurite", action="store_true",
        help="use the storage emulator already on --azurite-ports, with its data, instead of starting one",
    )  # fmt: skip
    parser.add_argument("--key", default=None, help="host key (default: $DEVHOST_HOST_KEY or random)")
    parser.add_argument(
        "--workers", type=int, default=None, help="activity threads (the Python worker's default)"
    )
    parser.add_argument(
        "--processes", action="store_true", help="activities in worker processes instead of threads"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.join_azurite and args.azurite_ports == AUTO:
        parser.error("--join-azurite needs the ports of the emulator to join, not 'auto'")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDKs log every request at INFO
    if not args.join_azurite:
        Path(args.data).mkdir(parents=True, exist_ok=True)
    stack = DevStack(
        tenant=resolve_tenant(args.tenant), port=args.port, azurite_location=args.data,
        azurite_ports=None if args.azurite_ports == AUTO else args.azurite_ports,
        azurite_join=args.join_azurite,
        host_key=args.key, activity_workers=args.workers, use_processes=args.processes,
    )  # fmt: skip
    if stop is None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stack.start()
    except azurite.PortsTaken as exc:
        print(ports_taken_message(exc, stack.azurite), file=sys.stderr)
        return 2
    except azurite.NothingToJoin as exc:
        print(
            f"Cannot join a storage emulator: {exc}. Start one there, or drop --join-azurite.",
            file=sys.stderr,
        )
        return 2
    try:
        print(banner(stack, args), flush=True)
        stop.wait()
    finally:
        stack.stop()
    return 0


def banner(stack: DevStack, args: argparse.Namespace) -> str:
    store = stack.azurite
    ports = (
        f"127.0.0.1 ports {store.blob_port} (blob), {store.queue_port} (queue), {store.table_port} (table)"
    )
    if store.joined:
        storage = f"the emulator already on {ports}, joined as asked (--join-azurite); its data is its own"
    else:
        storage = f"Azurite on {ports}, started by devhost; data in {args.data}"
    subs = ", ".join(stack.standin.subscription_ids)
    return f"""
Advisor Reports is running.
  API:            {stack.url}/api/reports?code={stack.key}
  health:         {stack.url}/api/health
  host key:       {stack.key}
  master key:     {stack.master_key} (admin API and Durable webhooks; keep it to yourself)
  Azure stand-in: {stack.standin.url} (subscriptions: {subs})
  storage:        {storage}
Try:
  curl -s -X POST '{stack.url}/api/reports?code={stack.key}' -H 'Content-Type: application/json' \\
       -d '{{"subscriptionIds": ["{stack.standin.subscription_ids[0]}"], "reportType": "executive"}}'
Press Ctrl+C to stop."""


if __name__ == "__main__":
    sys.exit(main())
