"""End-to-end benchmark on devhost: a report over HTTP for many subscriptions, the share of it
that is orchestration overhead, and the orchestration history's size.

- ``e2e``: POST /api/reports for S subscriptions x R recommendations (detailed, HTML + PDF) on a
  fresh stack, poll until done; wall seconds. Activities run as in Azure: threads of one
  process (the Python worker's thread pool), so Table writes and PDF parts share one GIL and
  the render lock serializes PDF parts. ``processes=True`` measures the worker-process option.
- ``alone``: the same work without the app around it, in the same run and on the same stack's
  storage and stand-in: the pipeline steps (fetch + Table writes, summarize, render HTML and
  the PDF parts, assemble) called directly, with the same parallelism as the host (as many
  threads, or processes, as its activity pool). Overhead = (e2e - alone) / e2e.
- ``history``: bytes of the orchestration history (inputs, outputs, events) as the Durable
  HTTP API returns it with showHistory/showHistoryOutput/showInput, per subscription, for 1 and
  50 subscriptions and for 30 to 3,000 recommendations per subscription (HTML only, so the PDF
  part count, which rightly grows with rows, does not mix in).
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
import urllib.request
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any
from urllib.parse import urljoin

from devhost.sample_tenant import build_tenant
from devhost.stack import DevStack

# REPORT_LINK_KEY: Location is a signed link, polled without the function key.
SETTINGS = {
    "RETRY_INTERVAL_SECONDS": "1",
    "FETCH_TIMEOUT_SECONDS": "600",
    "REPORT_LINK_KEY": "bench-link-key",
}


def _request(url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(  # noqa: S310 - the local host
        url, data=data, method="POST" if data else "GET", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310
        return resp.status, dict(resp.headers), json.loads(resp.read())


def run_report(stack: DevStack, formats: list[str]) -> tuple[float, dict[str, Any], int]:
    """POST a report for every subscription; poll tightly (we measure, not behave like a Logic App)."""
    started = time.perf_counter()
    body = {"subscriptionIds": stack.standin.subscription_ids, "reportType": "detailed", "formats": formats}
    _, headers, accepted = _request(f"{stack.url}/api/reports?code={stack.key}", body)
    while True:
        status, _, report = _request(urljoin(stack.url, headers["Location"]))
        if status == 200:
            break
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    assert stack.host is not None
    # The host's own Durable API (loopback RPC listener): callers get no management URL.
    status_uri = f"{stack.host.rpc_base_url}instances/{accepted['reportId']}"
    with urllib.request.urlopen(  # noqa: S310
        status_uri + "?showHistory=true&showHistoryOutput=true&showInput=true", timeout=60
    ) as resp:
        history_bytes = len(resp.read())
    if report["status"] != "completed":
        raise RuntimeError(f"benchmark report failed: {report.get('failure')}")
    return elapsed, report, history_bytes


# -- the same work without the app: module-level functions (picklable for worker processes) ------


def _fetch(report_id: str, sub: str) -> int:
    from shared import clients, pipeline
    from shared.models import ReportFilters

    out = pipeline.fetch_subscription(report_id, sub, ReportFilters(), store=clients.table_store(),
                                      client_for=clients.advisor_clients())  # fmt: skip
    return out.count


def _render(report_id: str, fmt: str, part: int) -> str:
    from shared import clients, pipeline

    store, files = clients.table_store(), clients.report_files()
    if fmt == "html":
        return pipeline.render_html_file(report_id, store=store, files=files).blob
    return pipeline.render_pdf_part_file(report_id, part, store=store, files=files).blob


def run_alone(stack: DevStack) -> float:
    from shared import clients, pipeline, report_service
    from shared.models import Report, ReportType

    store, files = clients.table_store(), clients.report_files()
    subs = stack.standin.subscription_ids
    report = Report(
        report_id=report_service.new_report_id(), report_type=ReportType.DETAILED, subscription_ids=subs
    )
    report_service.create_report(store, report)
    rid = report.report_id
    assert stack.host is not None
    workers = stack.host.activity_pool_size
    pool: Executor
    if stack.host.use_processes:
        # spawn, as the host does: forked children would share the parent's open connections
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    else:
        pool = ThreadPoolExecutor(workers)
    started = time.perf_counter()
    with pool:
        list(pool.map(_fetch, [rid] * len(subs), subs))
        summary = pipeline.summarize_report(rid, store=store, files=files)
        jobs = [("html", 0)] + [("pdf", p) for p in range(summary.pdf_parts)]
        blobs = list(pool.map(_render, [rid] * len(jobs), [j[0] for j in jobs], [j[1] for j in jobs]))
    pipeline.assemble_pdf_file(rid, blobs[1:], store=store, files=files)
    return time.perf_counter() - started


def end_to_end(
    subscriptions: int = 50, per_subscription: int = 300, *, processes: bool = False
) -> dict[str, Any]:
    tenant = build_tenant(subscriptions, per_subscription)
    with DevStack(tenant=tenant, settings=SETTINGS, use_processes=processes) as stack:
        run_report(stack, ["html"])  # warm up the host's workers and the clients
        elapsed, report, history = run_report(stack, ["html", "pdf"])
        alone = run_alone(stack)
        assert stack.host is not None
        workers = stack.host.activity_pool_size
    return {
        "mode": f"{workers} {'processes' if processes else 'threads'}",
        "subscriptions": subscriptions,
        "per_subscription": per_subscription,
        "recommendations": report["counts"]["recommendations"],
        "e2e_s": elapsed,
        "alone_s": alone,
        "overhead": max(0.0, (elapsed - alone) / elapsed),
        "history_bytes": history,
        "app_durations": report["durationsSeconds"],
    }


def history_series() -> list[dict[str, Any]]:
    rows = []
    for subs, per in ((1, 300), (50, 300), (4, 30), (4, 300), (4, 3000)):
        with DevStack(tenant=build_tenant(subs, per), settings=SETTINGS) as stack:
            _, report, history = run_report(stack, ["html"])
        rows.append(
            {
                "subscriptions": subs,
                "per_subscription": per,
                "history_bytes": history,
                "per_sub": history / subs,
                "recommendations": report["counts"]["recommendations"],
            }
        )
    return rows


def print_e2e(row: dict[str, Any]) -> None:
    print(
        f"\nEnd to end on devhost, activities in {row['mode']}: {row['subscriptions']} subscriptions x "
        f"{row['per_subscription']} recommendations (detailed, HTML + PDF, {row['recommendations']} after "
        "folding variants)"
    )
    print(f"  POST to completed:              {row['e2e_s']:6.1f} s   (target < 60 s)")
    alone = row["alone_s"]
    print(
        f"  same work without the app:      {alone:6.1f} s   (fetch + Table writes + render, {row['mode']})"
    )
    print(f"  orchestration overhead:         {row['overhead']:6.0%}     (target < 25%)")
    print(f"  orchestration history:          {row['history_bytes']:,} bytes")
    print(f"  stages inside the app (s):      {row['app_durations']}")


def print_history(rows: list[dict[str, Any]]) -> None:
    print("\nOrchestration history size (HTML only; bytes from the Durable status API with history)")
    print(f"{'subs':>5} {'recs/sub':>9} {'history bytes':>14} {'bytes/sub':>10}")
    for r in rows:
        subs, per = r["subscriptions"], r["per_subscription"]
        print(f"{subs:>5} {per:>9} {r['history_bytes']:>14,} {r['per_sub']:>10,.0f}")


if __name__ == "__main__":
    # python -m bench.e2e_bench [--processes]: the threaded figures by default, as Azure runs them
    print_e2e(end_to_end(processes="--processes" in sys.argv[1:]))
    print_history(history_series())
