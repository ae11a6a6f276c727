"""``python -m devhost.azure_standin``: run the stand-in in the foreground; prints one JSON line
(url, caPath, tenantId, clientIds, subscriptions, port) once it listens, and serves until SIGTERM
or Ctrl+C."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from pathlib import Path

from .constants import BUNDLED_TENANT, DEFAULT_TENANT_ID
from .server import AzureStandIn


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    result = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--{what} takes NAME=VALUE, got {item!r}")
        result[key] = value
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devhost.azure_standin",
        description="Serve ARM Advisor, Entra ID and Key Vault stand-ins over HTTPS on 127.0.0.1.",
    )
    parser.add_argument(
        "--tenant", type=Path, default=BUNDLED_TENANT, help="tenant JSON (default: the bundled sample)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    parser.add_argument(
        "--ca-out", type=Path, help="folder for ca.pem and standin.json (default: a temp folder)"
    )
    parser.add_argument("--tenant-id", help=f"Entra tenant id (default: the file's or {DEFAULT_TENANT_ID})")
    parser.add_argument("--client", action="append", metavar="ID=SECRET", help="accept this app registration")
    parser.add_argument("--secret", action="append", metavar="NAME=VALUE", help="a Key Vault secret")
    parser.add_argument("--page-size", type=int, default=100, help="listing page size without $top")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(message)s"
    )

    standin = AzureStandIn(
        args.tenant,
        port=args.port,
        ca_dir=args.ca_out,
        tenant_id=args.tenant_id,
        clients=_pairs(args.client, "client") or None,
        secrets=_pairs(args.secret, "secret") or None,
        page_size=args.page_size,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with standin:
        info = {
            "url": standin.url,
            "caPath": standin.ca_path,
            "tenantId": standin.tenant_id,
            "clientIds": sorted(standin._clients),
            "subscriptions": standin.subscription_ids,
            "port": standin.port,
        }
        if args.ca_out:
            (Path(args.ca_out) / "standin.json").write_text(
                json.dumps(info, indent=1) + "\n", encoding="utf-8"
            )
        print(json.dumps(info), flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
