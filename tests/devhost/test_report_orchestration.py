"""The app's report orchestrator under the Durable extension's replay rules, on devhost, with
scripted activities (tests/devhost/report_flow_app.py): retries racing the fetch timeout,
retries that run out, a render part retrying while another fails for good. Every report must
end (completed, or failed with a reason); the orchestration itself must never fail, and the
report's own history must hold no retry timers and no failed task.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.durable_functions.models.RpcManagementOptions import RpcManagementOptions

from devhost.azurite import Azurite
from devhost.functions_host import FunctionsHost
from tests.devhost import report_flow_app as flow
from tests.devhost.report_flow_app import Scenario

pytestmark = pytest.mark.azurite

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def host(azurite: Azurite) -> Iterator[FunctionsHost]:
    h = FunctionsHost(
        "tests.devhost.report_flow_app",
        storage_connection=azurite.connection_string,
        port=0,
        task_hub=f"Flow{uuid.uuid4().hex[:10]}",
        activity_workers=4,
        use_processes=False,
        app_root=ROOT,
    )
    h.start()
    yield h
    h.stop()


def subs(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def run(host: FunctionsHost, scenario: Scenario, timeout: float = 30.0) -> tuple[str, dict[str, Any]]:
    """Start the real orchestrator for a new report, wait until it ends, return its status."""
    rid = str(uuid.uuid4())
    flow.SCENARIOS[rid] = scenario
    client = host.client()
    host.run(client.start_new("report_orchestrator", rid, {"report_id": rid}))
    assert host.engine is not None and host.engine.wait(rid, timeout), f"{rid} did not end"
    return rid, status_of(host, rid)


def status_of(host: FunctionsHost, instance_id: str) -> dict[str, Any]:
    """The instance's status JSON with its history, from the Durable HTTP API at rpcBaseUrl
    (the SDK's own ``get_status`` drops ``historyEvents``)."""
    options = RpcManagementOptions(instance_id=instance_id, show_history=True, show_history_output=True)
    response = requests.get(options.to_url(host.rpc_base_url), timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["historyEvents"], body
    return body


def child(host: FunctionsHost, instance_id: str) -> dict[str, Any]:
    return status_of(host, instance_id)


def stored(host: FunctionsHost, instance_id: str, event_type: int) -> list[dict[str, Any]]:
    """Events of one type from the DTFx history as the host stored it (the status API folds
    scheduling events and timers away)."""
    return [e for e in host.history(instance_id) if e["EventType"] == event_type]


TASK_FAILED, SUB_FAILED, TIMER_CREATED = 6, 9, 10


def assert_clean_parent(host: FunctionsHost, rid: str, status: dict[str, Any]) -> None:
    """The report's own history: completed orchestration, no failed task, no retry timer (the
    only timer is the fetch deadline)."""
    assert status["runtimeStatus"] == "Completed", status.get("output")
    assert stored(host, rid, TASK_FAILED) == []
    assert stored(host, rid, SUB_FAILED) == []
    assert len(stored(host, rid, TIMER_CREATED)) == 1


def test_a_fetch_that_retries_while_the_others_finish(host: FunctionsHost) -> None:
    a, b, c = ids = subs(3)
    scenario = Scenario(ids, fetch={a: ["fail", "fail"], b: [0.3]})
    rid, status = run(host, scenario)

    assert_clean_parent(host, rid, status)
    assert status["output"]["status"] == "completed"
    assert scenario.count("fetch_subscription", a) == 3
    assert scenario.count("fetch_subscription", c) == 1
    assert len(stored(host, f"{rid}:fetch:{a}", TASK_FAILED)) == 2
    assert child(host, f"{rid}:fetch:{a}")["output"]["ok"] is True
    assert scenario.recorded == [] and scenario.statuses == []


def test_a_fetch_whose_retries_run_out_is_left_out_and_named(host: FunctionsHost) -> None:
    a, b = ids = subs(2)
    scenario = Scenario(ids, fetch={a: ["fail"] * 3})
    rid, status = run(host, scenario)

    assert_clean_parent(host, rid, status)
    assert status["output"]["status"] == "completed"
    assert scenario.count("fetch_subscription", a) == 3
    assert [r["subscription_id"] for r in scenario.recorded] == [a]
    reason = scenario.recorded[0]["failure_message"]
    assert "after 3 attempts" in reason and "Advisor answered 500" in reason
    for noise in ("Activity function", "ScriptedFault", "Traceback", 'File "'):
        assert noise not in reason, noise
    assert scenario.count("finalize_report") == 1


def test_every_fetch_failing_fails_the_report_with_the_reasons(host: FunctionsHost) -> None:
    a, b = ids = subs(2)
    scenario = Scenario(ids, fetch={a: ["fail"] * 3, b: ["forbidden"]})
    rid, status = run(host, scenario)

    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["status"] == "failed"
    [failed] = scenario.statuses
    assert failed["status"] == "failed"
    assert a in failed["failure_message"] and b in failed["failure_message"]
    assert scenario.count("summarize_report") == 0


def test_a_render_part_retrying_while_another_fails_for_good(host: FunctionsHost) -> None:
    ids = subs(2)
    scenario = Scenario(ids, pdf_parts=3, render={"pdf:0": ["fail"], "pdf:2": ["fail"] * 3, "html": [0.2]})
    rid, status = run(host, scenario)

    assert status["runtimeStatus"] == "Completed", status.get("output")
    assert stored(host, rid, TASK_FAILED) == []
    assert status["output"]["status"] == "failed"
    assert status["output"]["failureCode"] == "render_failed"
    assert "1 of 4 report files" in status["output"]["failureMessage"]
    assert scenario.count("render_pdf_part", "pdf:0") == 2
    assert scenario.count("render_pdf_part", "pdf:2") == 3
    assert scenario.count("assemble_pdf") == 0 and scenario.count("finalize_report") == 0
    assert [s["status"] for s in scenario.statuses] == ["failed"]


def test_render_parts_that_retry_still_assemble_in_order(host: FunctionsHost) -> None:
    scenario = Scenario(subs(1), pdf_parts=4, render={"pdf:1": ["fail", "fail"], "pdf:3": [0.2]})
    rid, status = run(host, scenario)

    assert_clean_parent(host, rid, status)
    assert status["output"]["status"] == "completed"
    [(_, blobs)] = [call for call in scenario.calls if call[0] == "assemble_pdf"]
    assert blobs == ",".join(f"{rid}/pdf:{n}" for n in range(4))


def test_a_fetch_that_outlasts_the_timeout_fails_the_report(host: FunctionsHost) -> None:
    a, b = ids = subs(2)
    scenario = Scenario(ids, fetch={a: ["fail", 3]}, fetch_timeout_s=1)
    rid, status = run(host, scenario)

    assert status["runtimeStatus"] == "Completed", status.get("output")
    assert status["output"]["failureCode"] == "fetch_timeout"
    assert [s["status"] for s in scenario.statuses] == ["failed"]
    assert scenario.count("summarize_report") == 0


def test_a_start_for_a_report_that_is_not_stored_acts_on_nothing(host: FunctionsHost) -> None:
    scenario = Scenario(subs(1), begin="missing")
    rid, status = run(host, scenario)

    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["status"] == "ignored"
    assert [a for a, _ in scenario.calls] == []
    assert scenario.statuses == []


def test_a_start_with_made_up_input_acts_on_nothing(host: FunctionsHost) -> None:
    rid = str(uuid.uuid4())
    client = host.client()
    host.run(client.start_new("report_orchestrator", rid, {"subscription_ids": subs(3)}))
    assert host.engine is not None and host.engine.wait(rid, 20)
    status = status_of(host, rid)
    assert status["output"]["status"] == "ignored"
    assert stored(host, rid, 4) == []  # no TaskScheduled


def test_a_callback_that_retries_after_the_report_completed(host: FunctionsHost) -> None:
    """The callback's retries live in its step sub-orchestration: the report's own history
    keeps no retry timer and no failed task, after the fetch deadline was cancelled."""
    a, b = ids = subs(2)
    scenario = Scenario(ids, fetch={a: ["fail"]}, callback=["fail", "fail"])
    rid, status = run(host, scenario)

    assert_clean_parent(host, rid, status)
    assert status["output"]["status"] == "completed"
    assert scenario.count("deliver_callback") == 3
    assert scenario.calls[-1][0] == "deliver_callback"
    assert len(stored(host, f"{rid}:callback", TASK_FAILED)) == 2
    assert child(host, f"{rid}:callback")["output"]["ok"] is True


def test_a_callback_after_the_fetch_timed_out(host: FunctionsHost) -> None:
    a, b = ids = subs(2)
    scenario = Scenario(ids, fetch={a: ["fail", 2]}, fetch_timeout_s=1, callback=["fail"])
    rid, status = run(host, scenario)

    assert status["runtimeStatus"] == "Completed", status.get("output")
    assert status["output"]["failureCode"] == "fetch_timeout"
    assert stored(host, rid, TASK_FAILED) == [] and stored(host, rid, SUB_FAILED) == []
    assert scenario.count("deliver_callback") == 2
    assert [s["status"] for s in scenario.statuses] == ["failed"]


def test_a_callback_whose_retries_run_out_leaves_the_report_as_it_ended(host: FunctionsHost) -> None:
    scenario = Scenario(subs(1), callback=["fail"] * 3)
    rid, status = run(host, scenario)

    assert_clean_parent(host, rid, status)
    assert status["output"]["status"] == "completed"
    assert scenario.count("deliver_callback") == 3 and scenario.statuses == []
    outcome = child(host, f"{rid}:callback")["output"]
    assert outcome["ok"] is False and "Advisor answered 500" in outcome["error"]
