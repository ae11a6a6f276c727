"""Killing devhost mid-report and starting it again: the report completes, with every
recommendation stored exactly once and nothing lost (the real app, not a toy).

The stand-in answers slowly, so the crash lands while subscriptions are still being fetched;
the new host replays the stored history and re-runs the activities that never completed,
which is safe because every activity is idempotent.
"""

from __future__ import annotations

import time

import pytest
import requests

from devhost.sample_tenant import build_tenant
from devhost.stack import DevStack

pytestmark = [pytest.mark.e2e, pytest.mark.azurite]

SUBSCRIPTIONS, PER_SUBSCRIPTION = 6, 120


@pytest.fixture(scope="module")
def stack():
    dev = DevStack(
        tenant=build_tenant(SUBSCRIPTIONS, PER_SUBSCRIPTION, seed=11),
        settings={"RETRY_INTERVAL_SECONDS": "0.3", "FETCH_TIMEOUT_SECONDS": "60", "ADVISOR_PAGE_SIZE": "20"},
        # Two activities at a time, so the subscriptions finish in rounds and the crash can land
        # between two of them (with a thread per subscription they would all finish together).
        activity_workers=2,
    )
    with dev:
        yield dev


def _report(stack: DevStack, location_path: str) -> tuple[int, dict]:
    resp = requests.get(f"{stack.url}{location_path}", params={"code": stack.key}, timeout=30)
    return resp.status_code, resp.json()


def test_report_survives_a_host_crash(stack: DevStack):
    from shared import clients

    subs = stack.standin.subscription_ids
    expected_rows = sum(len(stack.standin.recommendations(s)) for s in subs)
    # Every page takes 0.4 s: 6 subscriptions x 6 pages keep the fetch stage busy for seconds.
    stack.standin.inject_fault(delay=0.4)
    resp = requests.post(
        f"{stack.url}/api/reports", params={"code": stack.key}, timeout=30,
        json={"subscriptionIds": subs, "reportType": "detailed", "formats": ["html", "pdf"]},
    )  # fmt: skip
    assert resp.status_code == 202
    report_id = resp.json()["reportId"]
    path = f"/api/reports/{report_id}"

    deadline = time.monotonic() + 30
    while True:  # crash once some, but not all, subscriptions are in
        status, body = _report(stack, path)
        done = (body.get("progress") or {}).get("subscriptionsDone", 0)
        if 1 <= done < len(subs):
            break
        assert status == 202 and time.monotonic() < deadline, f"never caught the fetch mid-way: {body}"
        time.sleep(0.05)
    stack.stop_host(kill=True)
    stack.standin.clear_faults()
    stack.restart_host()

    deadline = time.monotonic() + 60
    while True:
        status, body = _report(stack, path)
        if status == 200:
            break
        assert time.monotonic() < deadline, f"the report did not finish after the restart: {body}"
        time.sleep(0.2)
    assert body["status"] == "completed", body
    assert set(body["files"]) == {"html", "pdf"}
    # every recommendation stored exactly once: deterministic keys made the re-run overwrite
    assert clients.table_store().count_recommendations(report_id) == expected_rows
    # Links are relative (no PUBLIC_BASE_URL on devhost) and carry no key: the caller adds its own.
    pdf = requests.get(f"{stack.url}{body['files']['pdf']}", params={"code": stack.key}, timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
