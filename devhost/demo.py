"""``make demo``: a report end to end on the bundled sample tenant, the way a client uses it.

Starts the local stack (Azurite, the HTTPS Azure stand-in serving the sample tenant, and the
Functions host running ``function_app``), POSTs a report for every sample subscription, polls
the ``Location`` it gets back as a Logic App would (honouring ``Retry-After``), downloads the
HTML, the PDF and the action plan (xlsx, csv) through their short-lived links into ``out/``
under the names a browser saves them as, prints a summary, and stops what it started.
``--tenant big`` runs it on the big sample (45 subscriptions, names in seven scripts).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
import urllib.request
from email.message import Message
from email.utils import collapse_rfc2231_value
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from devhost.sample_tenant import resolve_tenant
from devhost.stack import DevStack

ROOT = Path(__file__).resolve().parent.parent


def _call(url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(  # noqa: S310 - the local host
        url,
        data=data,
        method="POST" if data else "GET",
        headers={"Content-Type": "application/json"} if data else {},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - the local host
        return resp.status, dict(resp.headers), resp.read()


def poll(location: str, timeout: float = 600) -> dict[str, Any]:
    """Follow ``Location`` until the answer is not 202, as the Logic Apps HTTP action does (a
    relative ``Location`` is resolved against the URL it came from)."""
    deadline = time.monotonic() + timeout
    last_stage = None
    while time.monotonic() < deadline:
        status, headers, body = _call(location)
        report = json.loads(body)
        if status != 202:
            return report
        progress = report.get("progress") or {}
        stage = (report["status"], progress.get("subscriptionsDone"))
        if stage != last_stage:
            print(
                f"  {report['status']}: {progress.get('subscriptionsDone', 0)}/"
                f"{progress.get('subscriptionsTotal', '?')} subscriptions fetched"
            )
            last_stage = stage
        location = urljoin(location, headers.get("Location", location))
        time.sleep(float(headers.get("Retry-After", "2")))
    raise TimeoutError(f"the report did not finish within {timeout:.0f} s")


def download(url: str, folder: Path, fallback: str) -> Path:
    """Download into ``folder`` under the name a browser would save it as (the answer's
    ``Content-Disposition``: ``filename*`` when given, else ``filename``), else ``fallback``."""
    with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - follows the 302 to the SAS URL
        name = saved_name(resp.headers.get("Content-Disposition", "")) or fallback
        target = folder / name
        target.write_bytes(resp.read())
    return target


def saved_name(header: str) -> str:
    """The file name in a ``Content-Disposition`` as a browser takes it (RFC 6266), without any
    folder part; "" when there is none."""
    message = Message()
    message["Content-Disposition"] = header
    names = [v for k, v in message.get_params(header="content-disposition") or () if k == "filename"]
    extended = [v for v in names if isinstance(v, tuple)]
    name = collapse_rfc2231_value(extended[0] if extended else names[0]) if names else ""
    return Path(name.replace("\\", "/")).name


def print_summary(report: dict[str, Any], paths: dict[str, Path], elapsed: float) -> None:
    counts = report["counts"]
    print(f"\nReport {report['reportId']}: {report['status']} ({report['reportType']})")
    if report["status"] == "failed":
        print(f"  reason: {report['failure']['code']}: {report['failure']['message']}")
    subscriptions = len(report["scope"]["subscriptionIds"])
    print(f"  subscriptions: {subscriptions}   Advisor API pages: {report['advisorApiPages']}")
    for left_out in report["scope"]["subscriptionsLeftOut"]:
        print(f"  left out: {left_out['subscriptionId']}: {left_out['reason']}")
    print(f"  recommendations: {counts['recommendations']}")
    print("  by category: " + ", ".join(f"{v['label']} {v['count']}" for v in counts["byCategory"].values()))
    print("  by impact:   " + ", ".join(f"{k} {v}" for k, v in counts["byImpact"].items()))
    for currency, amounts in report["savings"]["byCurrency"].items():
        if "monthly" in amounts:
            print(
                f"  savings {currency}: {float(amounts['monthly']):,.2f} per month, "
                f"{float(amounts['annual']):,.2f} per year ({amounts['count']} opportunities)"
            )
        else:
            print(f"  savings without a stated currency: {amounts['count']} (not added to any total)")
    for fmt, path in paths.items():
        print(f"  {fmt}: {path} ({path.stat().st_size:,} bytes)")
    print(
        f"  took {elapsed:.1f} s (report {report['durationsSeconds'].get('total', 0):.1f} s inside the app)"
    )


def _tenant_customer(tenant: str | dict[str, Any] | None) -> str:
    """The customer name a tenant file suggests for a report over all of it ("" when none)."""
    data = json.loads(Path(tenant).read_text(encoding="utf-8")) if isinstance(tenant, str) else tenant
    return str((data or {}).get("customer") or "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--report-type",
        default="detailed",
        choices=["detailed", "executive", "cost", "security", "operations"],
    )
    parser.add_argument(
        "--tenant", default=None,
        help="the stand-in's tenant: 'sample' (the bundled one, the default), 'big' or a JSON file",
    )  # fmt: skip
    parser.add_argument("--customer", default=None, help="default: the tenant's own, else Contoso Group")
    parser.add_argument("--out", default=str(ROOT / "out"))
    parser.add_argument(
        "--formats",
        default="html,pdf,xlsx,csv",
        help="what to render (default: all four, the action plan too)",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print("Starting Azurite, the Azure stand-in and the Functions host ...")
    # Links signed for one report (shared/links.py), as a Logic App is given them: the demo polls
    # and downloads without its function key.
    tenant = resolve_tenant(args.tenant)
    customer = args.customer or _tenant_customer(tenant) or "Contoso Group"
    with DevStack(tenant=tenant, settings={"REPORT_LINK_KEY": secrets.token_urlsafe(32)}) as stack:
        print(f"  Functions host at {stack.url}")
        body = {
            "subscriptionIds": stack.standin.subscription_ids,
            "reportType": args.report_type,
            "formats": args.formats.split(","),
            "customer": customer,
        }
        status, headers, answer = _call(f"{stack.url}/api/reports?code={stack.key}", body)
        print(f"POST /api/reports -> {status}, report {json.loads(answer)['reportId']}")
        report = poll(urljoin(stack.url, headers["Location"]))
        paths: dict[str, Path] = {}
        for fmt, link in (report.get("files") or {}).items():
            paths[fmt] = download(urljoin(stack.url, link), out, f"advisor-{args.report_type}.{fmt}")
    print_summary(report, paths, time.perf_counter() - started)
    return 0 if report["status"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
