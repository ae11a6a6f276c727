"""DTFx history events, shaped exactly as azure-functions-durable 1.x reads them.

Every event is a plain dict with ``EventType`` (the SDK's ``HistoryEventType`` value),
``EventId``, ``IsPlayed`` and an ISO 8601 ``Timestamp``; the remaining keys are the DTFx
property names the SDK reads (``TaskScheduledId``, ``TimerId``, ``Result``, ``Reason``...).
Scheduling events (TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated) carry the
sequence number in ``EventId``; all other events use ``-1``, as DTFx does.

The module also converts a raw history into the friendlier ``historyEvents`` list that the
Durable HTTP API returns with ``showHistory=true``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

from azure.durable_functions.models.history import HistoryEventType as T

Event = dict[str, Any]

# DTFx OrchestrationStatus values, as ExecutionCompleted carries them.
ORCHESTRATION_STATUS = {
    "Running": 0,
    "Completed": 1,
    "ContinuedAsNew": 2,
    "Failed": 3,
    "Canceled": 4,
    "Terminated": 5,
    "Pending": 6,
    "Suspended": 7,
}
_STATUS_NAMES = {v: k for k, v in ORCHESTRATION_STATUS.items()}

SCHEDULING_TYPES = (T.TASK_SCHEDULED, T.TIMER_CREATED, T.SUB_ORCHESTRATION_INSTANCE_CREATED)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 with microseconds and a ``Z``, the format the SDK itself writes (fireAt)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_seconds(moment: datetime) -> str:
    """``createdTime`` / ``lastUpdatedTime`` as the HTTP API writes them (``ToString("s") + "Z"``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _event(kind: T, moment: datetime, event_id: int = -1, **fields: Any) -> Event:
    return {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": iso(moment),
        **fields,
    }


def orchestrator_started(moment: datetime) -> Event:
    return _event(T.ORCHESTRATOR_STARTED, moment)


def orchestrator_completed(moment: datetime) -> Event:
    return _event(T.ORCHESTRATOR_COMPLETED, moment)


def execution_started(
    moment: datetime,
    *,
    instance_id: str,
    execution_id: str,
    name: str,
    input_json: str | None,
    parent: dict[str, Any] | None,
) -> Event:
    parent_instance = None
    if parent:
        parent_instance = {
            "Name": parent.get("name"),
            "OrchestrationInstance": {
                "InstanceId": parent["instance_id"],
                "ExecutionId": parent.get("execution_id"),
            },
            "TaskScheduleId": parent.get("task_id"),
            "Version": "",
        }
    return _event(
        T.EXECUTION_STARTED,
        moment,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        Name=name,
        Version="",
        Input=input_json,
        ParentInstance=parent_instance,
        Tags=None,
        Correlation=None,
        ScheduledStartTime=None,
        Generation=0,
    )


def task_scheduled(moment: datetime, event_id: int, name: str, input_json: str | None) -> Event:
    return _event(T.TASK_SCHEDULED, moment, event_id, Name=name, Version="", Input=input_json)


def task_completed(moment: datetime, scheduled_id: int, result_json: str | None) -> Event:
    return _event(T.TASK_COMPLETED, moment, TaskScheduledId=scheduled_id, Result=result_json)


def task_failed(moment: datetime, scheduled_id: int, reason: str, details: str | None) -> Event:
    return _event(T.TASK_FAILED, moment, TaskScheduledId=scheduled_id, Reason=reason, Details=details)


def timer_created(moment: datetime, event_id: int, fire_at: datetime) -> Event:
    return _event(T.TIMER_CREATED, moment, event_id, FireAt=iso(fire_at))


def timer_fired(moment: datetime, timer_id: int, fire_at: str) -> Event:
    return _event(T.TIMER_FIRED, moment, TimerId=timer_id, FireAt=fire_at)


def event_raised(moment: datetime, name: str, input_json: str | None, key: str | None = None) -> Event:
    event = _event(T.EVENT_RAISED, moment, Name=name, Input=input_json)
    if key:
        event["DevHostEventKey"] = key  # lets a restarted host drop inbox rows already in history
    return event


def sub_orchestration_created(
    moment: datetime, event_id: int, name: str, instance_id: str, input_json: str | None
) -> Event:
    return _event(
        T.SUB_ORCHESTRATION_INSTANCE_CREATED,
        moment,
        event_id,
        Name=name,
        Version="",
        InstanceId=instance_id,
        Input=input_json,
    )


def sub_orchestration_completed(moment: datetime, scheduled_id: int, result_json: str | None) -> Event:
    return _event(
        T.SUB_ORCHESTRATION_INSTANCE_COMPLETED, moment, TaskScheduledId=scheduled_id, Result=result_json
    )


def sub_orchestration_failed(moment: datetime, scheduled_id: int, reason: str, details: str | None) -> Event:
    return _event(
        T.SUB_ORCHESTRATION_INSTANCE_FAILED,
        moment,
        TaskScheduledId=scheduled_id,
        Reason=reason,
        Details=details,
    )


def execution_completed(
    moment: datetime, status: str, result_json: str | None, failure: dict[str, Any] | None = None
) -> Event:
    return _event(
        T.EXECUTION_COMPLETED,
        moment,
        OrchestrationStatus=ORCHESTRATION_STATUS[status],
        Result=result_json,
        FailureDetails=failure,
    )


def execution_terminated(moment: datetime, reason: str | None) -> Event:
    return _event(T.EXECUTION_TERMINATED, moment, Input=json.dumps(reason))


def execution_suspended(moment: datetime, reason: str | None) -> Event:
    return _event(T.EXECUTION_SUSPENDED, moment, Reason=reason)


def execution_resumed(moment: datetime, reason: str | None) -> Event:
    return _event(T.EXECUTION_RESUMED, moment, Reason=reason)


def type_name(event: Event) -> str:
    """``TaskCompleted`` for 5 and so on (the PascalCase DTFx names the HTTP API shows)."""
    return "".join(part.capitalize() for part in T(event["EventType"]).name.split("_"))


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def to_api_history(events: list[Event], *, show_output: bool) -> list[dict[str, Any]]:
    """The ``historyEvents`` list of the HTTP API: scheduling events are folded into their
    completions (``FunctionName``, ``ScheduledTime``), replay bookkeeping is left out, and
    inputs/results are shown only with ``showHistoryOutput=true``."""
    scheduled: dict[int, Event] = {
        e["EventId"]: e
        for e in events
        if e["EventType"] in (T.TASK_SCHEDULED, T.SUB_ORCHESTRATION_INSTANCE_CREATED)
    }
    hidden = (T.ORCHESTRATOR_STARTED, T.ORCHESTRATOR_COMPLETED, *SCHEDULING_TYPES)
    result: list[dict[str, Any]] = []
    for event in events:
        kind = event["EventType"]
        if kind in hidden:
            continue
        item: dict[str, Any] = {"EventType": type_name(event)}
        if kind == T.EXECUTION_STARTED:
            item["FunctionName"] = event.get("Name")
            item["Correlation"] = None
            if show_output:
                item["Input"] = _loads(event.get("Input"))
        elif kind in (
            T.TASK_COMPLETED,
            T.TASK_FAILED,
            T.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
            T.SUB_ORCHESTRATION_INSTANCE_FAILED,
        ):
            origin = scheduled.get(cast(int, event.get("TaskScheduledId")), {})
            item["FunctionName"] = origin.get("Name")
            if origin:
                item["ScheduledTime"] = origin["Timestamp"]
            if kind in (T.TASK_FAILED, T.SUB_ORCHESTRATION_INSTANCE_FAILED):
                item["Reason"] = event.get("Reason")
                item["Details"] = event.get("Details")
            elif show_output:
                item["Result"] = _loads(event.get("Result"))
        elif kind == T.TIMER_FIRED:
            item["TimerId"] = event.get("TimerId")
            item["FireAt"] = event.get("FireAt")
        elif kind == T.EVENT_RAISED:
            item["Name"] = event.get("Name")
            if show_output:
                item["Input"] = _loads(event.get("Input"))
        elif kind == T.EXECUTION_COMPLETED:
            item["OrchestrationStatus"] = _STATUS_NAMES.get(
                cast(int, event.get("OrchestrationStatus")), "Unknown"
            )
            if show_output:
                item["Result"] = _loads(event.get("Result"))
            if event.get("FailureDetails"):
                item["FailureDetails"] = event["FailureDetails"]
        elif kind == T.EXECUTION_TERMINATED:
            item["Reason"] = _loads(event.get("Input"))
        elif kind in (T.EXECUTION_SUSPENDED, T.EXECUTION_RESUMED):
            item["Reason"] = event.get("Reason")
        item["Timestamp"] = event["Timestamp"]
        result.append(item)
    return result
