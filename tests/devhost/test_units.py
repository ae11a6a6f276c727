"""Pure parts of the devhost Functions host: NCRONTAB, route templates, the action shim (the
extension's replay rules), the client binding JSON. No Azurite, no HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import pytest
from azure.durable_functions.models.DurableOrchestrationBindings import DurableOrchestrationBindings

from devhost.functions_host import history as h
from devhost.functions_host.durable_api import client_binding
from devhost.functions_host.routes import compile_route
from devhost.functions_host.shim import NonDeterministicError, Shim, ShimError
from devhost.functions_host.timers import CronSchedule

T0 = datetime(2025, 3, 3, 10, 0, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/15 * * * * *", T0, T0 + timedelta(seconds=15)),
        ("0 30 9 * * *", T0, datetime(2025, 3, 4, 9, 30, tzinfo=UTC)),
        ("0 0 7 * * Mon-Fri", datetime(2025, 3, 7, 8, tzinfo=UTC), datetime(2025, 3, 10, 7, tzinfo=UTC)),
        ("0 0 6 * * 0", T0, datetime(2025, 3, 9, 6, tzinfo=UTC)),
        ("0 0 0 1 Jan *", T0, datetime(2026, 1, 1, tzinfo=UTC)),
        ("0 0 0 13 * 5", T0, datetime(2025, 6, 13, tzinfo=UTC)),  # NCrontab: day AND weekday
        ("5 4 * * *", T0, datetime(2025, 3, 4, 4, 5, tzinfo=UTC)),  # five fields: second 0
        ("00:05:00", T0, T0 + timedelta(minutes=5)),
    ],
)
def test_ncrontab_next_occurrence(expression: str, after: datetime, expected: datetime) -> None:
    assert CronSchedule(expression).next_after(after) == expected


def test_ncrontab_rejects_bad_expressions() -> None:
    for bad in ("* * *", "61 * * * * *", "0 0 0 * * Funday"):
        with pytest.raises(ValueError):
            CronSchedule(bad)
    assert CronSchedule("0 0 0 31 2 *").next_after(T0) is None  # never


def test_route_templates() -> None:
    route = compile_route("reports/{report_id:guid}/files/{name?}")
    guid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    assert route.match(f"reports/{guid}/files/summary.pdf") == {"report_id": guid, "name": "summary.pdf"}
    assert route.match(f"REPORTS/{guid}/files") == {"report_id": guid}
    assert route.match("reports/not-a-guid/files") is None
    assert compile_route("n/{n:int:range(1,5)}").match("n/7") is None
    assert compile_route("files/{*path}").match("files/a/b%20c.txt") == {"path": "a/b c.txt"}
    assert compile_route("x/{id=latest}").match("x") == {"id": "latest"}


def _history(*events: h.Event) -> list[h.Event]:
    start = h.orchestrator_started(T0)
    started = h.execution_started(
        T0, instance_id="i", execution_id="e", name="o", input_json=None, parent=None
    )
    return [start, started, *events]


RETRY = {
    "actionType": 1,
    "functionName": "flaky",
    "input": "1",
    "retryOptions": {"firstRetryIntervalInMilliseconds": 300, "maxNumberOfAttempts": 2},
}
T1 = T0 + timedelta(seconds=1)


def _leaves(result) -> list[tuple[str, int]]:
    return [(leaf.kind, leaf.id) for leaf in result.new_leaves]


def test_shim_retries_like_retry_interceptor() -> None:
    after_one = Shim("i", [RETRY]).run(
        _history(h.task_scheduled(T0, 0, "flaky", "1"), h.task_failed(T0, 0, "x", None))
    )
    assert _leaves(after_one) == [("timer", 1)]
    assert after_one.new_leaves[0].fire_at == T0 + timedelta(milliseconds=300)
    second = [
        h.task_scheduled(T0, 0, "flaky", "1"),
        h.task_failed(T0, 0, "x", None),
        h.timer_created(T0, 1, T0 + timedelta(milliseconds=300)),
        h.timer_fired(T0, 1, h.iso(T0)),
    ]
    assert _leaves(Shim("i", [RETRY]).run(_history(*second))) == [("activity", 2)]
    # The last attempt fails: a "dummy" timer at the current time, and the task fails only when it fires.
    last = [
        *second,
        h.task_scheduled(T0, 2, "flaky", "1"),
        h.orchestrator_started(T1),
        h.task_failed(T1, 2, "x", None),
    ]
    result = Shim("i", [RETRY]).run(_history(*last))
    assert _leaves(result) == [("timer", 3)] and result.new_leaves[0].fire_at == T1
    assert not result.finished
    fired = [*last, h.timer_created(T1, 3, T1), h.timer_fired(T1, 3, h.iso(T1))]
    assert Shim("i", [RETRY]).run(_history(*fired)).finished


def test_shim_when_all_waits_for_every_child() -> None:
    fan = {
        "actionType": 12,
        "compoundActions": [{"actionType": 0, "functionName": "a"}, {"actionType": 0, "functionName": "b"}],
    }
    after = {"actionType": 0, "functionName": "cleanup"}
    one_failed = [
        h.task_scheduled(T0, 0, "a", None),
        h.task_scheduled(T0, 1, "b", None),
        h.task_failed(T0, 0, "boom", None),
    ]
    result = Shim("i", [fan, after]).run(_history(*one_failed))
    assert result.new_leaves == [] and [leaf.id for leaf in result.open_leaves] == [1]
    both = Shim("i", [fan, after]).run(_history(*one_failed, h.task_completed(T0, 1, "1")))
    assert [(leaf.name, leaf.id) for leaf in both.new_leaves] == [("cleanup", 2)]


def test_shim_a_cancelled_timer_ends_the_race_at_once() -> None:
    race = {
        "actionType": 11,
        "compoundActions": [
            {"actionType": 12, "compoundActions": [RETRY]},
            {"actionType": 5, "fireAt": h.iso(T0 + timedelta(seconds=30)), "isCanceled": True},
        ],
    }
    after = {"actionType": 0, "functionName": "summary"}
    scheduled = [h.task_scheduled(T0, 0, "flaky", "1"), h.timer_created(T0, 1, T0 + timedelta(seconds=30))]
    # Without a retry in history the next activity takes #2 at once: consistent.
    fine = Shim("i", [race, after]).run(_history(*scheduled))
    assert _leaves(fine) == [("activity", 2)] and fine.new_leaves[0].name == "summary"
    assert [leaf.id for leaf in fine.open_leaves] == [0, 2]  # the cancelled timer is not open
    # With a retry timer already at #2, the replay gives #2 to the summary: DTFx's exception.
    retried = [*scheduled, h.task_failed(T0, 0, "x", None), h.timer_created(T0, 2, T0)]
    with pytest.raises(NonDeterministicError) as raised:
        Shim("i", [race, after]).run(_history(*retried))
    assert str(raised.value) == (
        "Non-Deterministic workflow detected: A previous execution of this orchestration scheduled a timer "
        "task with sequence number 2 named but the current orchestration replay instead produced a "
        "ScheduleTaskOrchestratorAction action with this sequence number. Was a change made to the "
        "orchestrator code after this instance had already started running?"
    )


def test_shim_event_waiters_are_a_stack_and_early_events_a_queue() -> None:
    wait = {"actionType": 6, "externalEventName": "go"}
    both = {"actionType": 12, "compoundActions": [wait, wait]}
    after = {"actionType": 0, "functionName": "next"}
    one = Shim("i", [both, after]).run(_history(h.event_raised(T0, "go", '"1"')))
    assert not one.finished and one.new_leaves == []
    two = Shim("i", [both, after]).run(
        _history(h.event_raised(T0, "go", '"1"'), h.event_raised(T0, "go", '"2"'))
    )
    assert _leaves(two) == [("activity", 0)]
    # Raised before anyone waits: queued, each event taken once.
    sequence = [wait, wait, after]
    early = Shim("i", sequence).run(_history(h.event_raised(T0, "go", '"1"')))
    assert early.new_leaves == []
    shim = Shim("i", [{"actionType": 6, "externalEventName": "go"}])
    shim.run(_history(h.event_raised(T0, "go", '"1"'), h.event_raised(T0, "go", '"2"')))
    assert len(shim.buffered["go"]) == 1


def test_shim_refuses_unsupported_and_nondeterministic_replays() -> None:
    with pytest.raises(ShimError, match="call_http"):
        Shim("i", [{"actionType": 8, "httpRequest": {}}]).run(_history())
    with pytest.raises(NonDeterministicError) as raised:
        Shim("i", [{"actionType": 0, "functionName": "b"}]).run(_history(h.task_scheduled(T0, 0, "a", None)))
    assert str(raised.value).startswith(
        "Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an "
        "activity task with sequence number 0 named 'a', but the current orchestration replay instead "
        "scheduled an activity task named 'b' with this sequence number.  Was a change"
    )
    with pytest.raises(NonDeterministicError, match="hasn't \\(yet\\?\\) scheduled this task"):
        Shim("i", []).run(_history(h.task_scheduled(T0, 0, "a", None)))
    # DTFx compares names ignoring case.
    Shim("i", [{"actionType": 0, "functionName": "A"}]).run(_history(h.task_scheduled(T0, 0, "a", None)))


def test_client_binding_is_what_the_sdk_reads() -> None:
    binding = client_binding("http://127.0.0.1:7071", "http://127.0.0.1:17071/durabletask/", "Hub", "s3cret")
    parsed = DurableOrchestrationBindings.from_json(json.dumps(binding))
    assert parsed.task_hub_name == "Hub"
    assert parsed.rpc_base_url == "http://127.0.0.1:17071/durabletask/"
    assert parsed.management_urls["id"] == "INSTANCEID"
    assert binding["requiredQueryStringParameters"] == "code=s3cret"
    client = df.DurableOrchestrationClient(json.dumps(binding))
    links = client.create_http_management_payload("abc-1")
    assert links["statusQueryGetUri"] == (
        "http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/abc-1?taskHub=Hub&connection=Storage&code=s3cret"
    )
    assert "INSTANCEID" not in json.dumps(links)
