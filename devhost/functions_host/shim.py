"""Host-side replay of an orchestrator's actions against its history.

This mirrors what the Durable extension does with the state an out-of-process orchestrator
returns (``OutOfProcOrchestrationShim.ProcessAsyncActionsV2`` replayed by DTFx): the
top-level actions are awaited one after the other; ``WhenAll``/``WhenAny`` issue all their
children at once; every activity, timer and sub-orchestration takes the next sequence number
when it is issued; a ``-WithRetry`` call schedules the task, and after each failure creates a
retry timer (FireAt = the orchestration's current time + first retry interval, backoff 1) and,
when that timer fires, schedules the task again or, once ``maxNumberOfAttempts`` is reached,
fails. History events are processed in order, so every sequence number is handed out at the
same point as the SDK's own replay (``RetryAbleTask`` in azure/durable_functions/models/Task.py)
hands it out - which is what makes ``TaskScheduledId``/``TimerId`` match on both sides.

Where the extension's C# shim and the Python SDK disagree, this follows the SDK, because the
sequence numbers must match what the SDK expects: ``task_all`` fails as soon as one child fails
(the C# shim's ``Task.WhenAll`` would wait for every child), a cancelled timer stays pending
(the C# shim ends it at once on replay), several waiters for one event name are served last
first, and an event raised before anyone waits for it stays buffered for later waiters.

The result says which scheduling events are new in this episode (to be appended to history
and executed), which timers are cancelled, and whether the orchestrator continued as new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from azure.durable_functions.models.actions.ActionType import ActionType as A
from azure.durable_functions.models.history import HistoryEventType as T

from . import history as h


class ShimError(Exception):
    """The actions cannot be carried out: unsupported action or non-deterministic replay."""


_UNSUPPORTED = {
    A.CALL_ENTITY: "call_entity (Durable Entities)",
    A.CALL_HTTP: "call_http (durable HTTP)",
    A.SIGNAL_ENTITY: "signal_entity (Durable Entities)",
    10: "signal_entity with a schedule (Durable Entities)",
}


class _Node:
    __slots__ = ("parent", "done", "failed")

    def __init__(self) -> None:
        self.parent: _Node | None = None
        self.done = False
        self.failed = False

    def finish(self, shim: Shim, failed: bool) -> None:
        if self.done:
            return
        self.done = True
        self.failed = failed
        if self.parent is not None:
            self.parent.child_done(shim, self)

    def child_done(self, shim: Shim, child: _Node) -> None:  # pragma: no cover - leaves have no children
        raise NotImplementedError


class Leaf(_Node):
    """An activity, a timer or a sub-orchestration: one sequence number, one scheduling event."""

    __slots__ = ("kind", "id", "name", "input", "fire_at", "instance_id", "cancelled", "scheduled", "retry")

    def __init__(
        self,
        kind: str,
        seq: int,
        *,
        name: str = "",
        input_: str | None = None,
        fire_at: datetime | None = None,
        instance_id: str | None = None,
        retry: bool = False,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.id = seq
        self.name = name
        self.input = input_
        self.fire_at = fire_at
        self.instance_id = instance_id
        self.cancelled = False
        self.scheduled = False
        self.retry = retry


class _EventWait(_Node):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class _All(_Node):
    """``task_all``: done when every child succeeded, or failed as soon as one child failed."""

    __slots__ = ("remaining",)

    def __init__(self, children: list[_Node]) -> None:
        super().__init__()
        self.remaining = 0
        for child in children:
            child.parent = self
            if not child.done:
                self.remaining += 1
            elif child.failed:
                self.done = self.failed = True
        if self.remaining == 0:
            self.done = True

    def child_done(self, shim: Shim, child: _Node) -> None:
        self.remaining -= 1
        if child.failed:
            self.finish(shim, True)
        elif self.remaining == 0:
            self.finish(shim, False)


class _Any(_Node):
    """``task_any``: done when the first child is done (succeeded or failed)."""

    __slots__ = ()

    def __init__(self, children: list[_Node]) -> None:
        super().__init__()
        for child in children:
            child.parent = self
        if not children or any(child.done for child in children):
            self.done = True

    def child_done(self, shim: Shim, child: _Node) -> None:
        self.finish(shim, False)


class _Retry(_Node):
    __slots__ = (
        "kind",
        "name",
        "input",
        "instance_id",
        "interval",
        "max_attempts",
        "attempts",
        "current",
        "timer",
    )

    def __init__(self, kind: str, action: dict[str, Any]) -> None:
        super().__init__()
        options = action.get("retryOptions") or {}
        self.kind = kind
        self.name = action["functionName"]
        self.input = action.get("input")
        self.instance_id = action.get("instanceId")
        self.interval = timedelta(milliseconds=int(options.get("firstRetryIntervalInMilliseconds", 1000)))
        self.max_attempts = max(1, int(options.get("maxNumberOfAttempts", 1)))
        self.attempts = 0
        self.current: Leaf | None = None
        self.timer: Leaf | None = None

    def start(self, shim: Shim) -> None:
        self.attempts += 1
        self.current = shim.alloc(self.kind, name=self.name, input_=self.input, instance_id=self.instance_id)
        self.current.parent = self

    def child_done(self, shim: Shim, child: _Node) -> None:
        if child is self.current:
            if not child.failed:
                self.finish(shim, False)
                return
            # DTFx RetryInterceptor: a timer after every failed attempt, the last one included.
            self.timer = shim.alloc("timer", fire_at=shim.current_time + self.interval, retry=True)
            self.timer.parent = self
        elif child is self.timer:
            if self.attempts >= self.max_attempts:
                self.finish(shim, True)
            else:
                self.start(shim)


@dataclass
class ShimResult:
    new_events: list[h.Event] = field(default_factory=list)
    new_leaves: list[Leaf] = field(default_factory=list)
    cancelled_timers: set[int] = field(default_factory=set)
    continue_as_new: str | None = None
    continued: bool = False
    unconsumed_events: list[h.Event] = field(default_factory=list)
    open_leaves: list[Leaf] = field(default_factory=list)


def top_level_actions(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The actions of an orchestrator state, as one top-level list (schema V2/V3 nest them in a
    one-element list; the original schema has one list per yield, awaited with WhenAny)."""
    actions = state.get("actions") or []
    if state.get("schemaVersion", 0) >= 1:
        if len(actions) > 1:
            raise ShimError(
                f"expected one action list with schemaVersion {state['schemaVersion']}, got {len(actions)}"
            )
        return list(actions[0]) if actions else []
    return [{"actionType": int(A.WHEN_ANY), "compoundActions": list(group)} for group in actions]


class Shim:
    def __init__(self, instance_id: str, actions: list[dict[str, Any]]) -> None:
        self.instance_id = instance_id
        self.actions = actions
        self.index = 0
        self.current: _Node | None = None
        self.started = False
        self.seq = 0
        self.by_id: dict[int, Leaf] = {}
        self.allocated: list[Leaf] = []
        self.waiters: dict[str, list[_EventWait]] = {}
        # name -> [last event raised while nobody waited, whether a waiter has taken it]
        self.buffered: dict[str, list[Any]] = {}
        self.current_time = datetime.min
        self.result = ShimResult()

    # -- allocation -------------------------------------------------------------------------
    def alloc(self, kind: str, **kwargs: Any) -> Leaf:
        leaf = Leaf(kind, self.seq, **kwargs)
        if kind == "suborch" and not leaf.instance_id:
            leaf.instance_id = f"{self.instance_id}:{self.seq:04d}"
        self.seq += 1
        self.by_id[leaf.id] = leaf
        self.allocated.append(leaf)
        return leaf

    def issue(self, action: dict[str, Any]) -> _Node:
        kind = action.get("actionType")
        if kind == A.CALL_ACTIVITY:
            return self.alloc("activity", name=action["functionName"], input_=action.get("input"))
        if kind == A.CALL_SUB_ORCHESTRATOR:
            return self.alloc(
                "suborch",
                name=action["functionName"],
                input_=action.get("input"),
                instance_id=action.get("instanceId"),
            )
        if kind in (A.CALL_ACTIVITY_WITH_RETRY, A.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            node = _Retry("activity" if kind == A.CALL_ACTIVITY_WITH_RETRY else "suborch", action)
            node.start(self)
            return node
        if kind == A.CREATE_TIMER:
            leaf = self.alloc("timer", fire_at=h.parse_iso(action["fireAt"]))
            if action.get("isCanceled"):
                # Never armed; the task stays pending, as the SDK's cancelled TimerTask does.
                leaf.cancelled = True
                self.result.cancelled_timers.add(leaf.id)
            return leaf
        if kind == A.WAIT_FOR_EXTERNAL_EVENT:
            wait = _EventWait(action["externalEventName"])
            buffered = self.buffered.get(wait.name)
            if buffered is not None:
                buffered[1] = True
                wait.done = True
            else:
                self.waiters.setdefault(wait.name, []).append(wait)
            return wait
        if kind == A.CONTINUE_AS_NEW:
            self.result.continued = True
            self.result.continue_as_new = action.get("input")
            node = _Node()
            node.done = True
            return node
        if kind in (A.WHEN_ALL, A.WHEN_ANY):
            children = [self.issue(child) for child in action.get("compoundActions") or []]
            return _All(children) if kind == A.WHEN_ALL else _Any(children)
        if kind in _UNSUPPORTED:
            raise ShimError(f"{_UNSUPPORTED[kind]} is not supported by the devhost Functions host")
        raise ShimError(f"unknown action type {kind!r} is not supported by the devhost Functions host")

    def advance(self) -> None:
        """Continue the top-level loop: await the next action once the current one is done."""
        while self.current is None or self.current.done:
            if self.index >= len(self.actions):
                self.current = None
                return
            action = self.actions[self.index]
            self.index += 1
            self.current = self.issue(action)

    # -- replay -----------------------------------------------------------------------------
    def _leaf(self, event: h.Event, key: str, kinds: tuple[str, ...]) -> Leaf | None:
        leaf = self.by_id.get(event.get(key))
        if leaf is None or leaf.kind not in kinds or leaf.done:
            return None  # a completion for a task the orchestrator no longer waits on: ignored, like DTFx
        return leaf

    def _check_scheduled(self, event: h.Event) -> None:
        kind = {
            T.TASK_SCHEDULED: "activity",
            T.TIMER_CREATED: "timer",
            T.SUB_ORCHESTRATION_INSTANCE_CREATED: "suborch",
        }[event["EventType"]]
        leaf = self.by_id.get(event["EventId"])
        label = f"{h.type_name(event)} #{event['EventId']} {event.get('Name') or ''}".strip()
        if leaf is None:
            raise ShimError(
                f"Non-deterministic orchestrator: history has {label}, but the orchestrator "
                "code did not schedule it on replay"
            )
        if leaf.kind != kind or (kind != "timer" and leaf.name != event.get("Name")):
            raise ShimError(
                f"Non-deterministic orchestrator: history has {label}, but on replay sequence "
                f"number {leaf.id} is {leaf.kind} {leaf.name}".rstrip()
            )
        leaf.scheduled = True
        if kind == "suborch":
            leaf.instance_id = event.get("InstanceId") or leaf.instance_id
        if kind == "timer":
            leaf.fire_at = h.parse_iso(event["FireAt"])

    def run(self, history: list[h.Event]) -> ShimResult:
        for event in history:
            kind = event["EventType"]
            if kind == T.ORCHESTRATOR_STARTED:
                self.current_time = h.parse_iso(event["Timestamp"])
                continue
            if kind == T.EXECUTION_STARTED:
                self.started = True
            elif kind in h.SCHEDULING_TYPES:
                self._check_scheduled(event)
            elif kind in (T.TASK_COMPLETED, T.TASK_FAILED):
                leaf = self._leaf(event, "TaskScheduledId", ("activity",))
                if leaf:
                    leaf.finish(self, kind == T.TASK_FAILED)
            elif kind == T.TIMER_FIRED:
                leaf = self._leaf(event, "TimerId", ("timer",))
                if leaf:
                    leaf.finish(self, False)
            elif kind in (T.SUB_ORCHESTRATION_INSTANCE_COMPLETED, T.SUB_ORCHESTRATION_INSTANCE_FAILED):
                leaf = self._leaf(event, "TaskScheduledId", ("suborch",))
                if leaf:
                    leaf.finish(self, kind == T.SUB_ORCHESTRATION_INSTANCE_FAILED)
            elif kind == T.EVENT_RAISED:
                waiting = self.waiters.get(event.get("Name"))
                if waiting:
                    waiting.pop().finish(self, False)
                else:
                    self.buffered[event.get("Name")] = [event, False]
            else:
                continue
            if self.started:
                self.advance()
        result = self.result
        result.new_leaves = [leaf for leaf in self.allocated if not leaf.scheduled]
        result.open_leaves = [leaf for leaf in self.allocated if not leaf.done]
        result.unconsumed_events = [event for event, taken in self.buffered.values() if not taken]
        return result


def scheduling_event(leaf: Leaf, moment: datetime) -> h.Event:
    if leaf.kind == "activity":
        return h.task_scheduled(moment, leaf.id, leaf.name, leaf.input)
    if leaf.kind == "timer":
        assert leaf.fire_at is not None
        return h.timer_created(moment, leaf.id, leaf.fire_at)
    assert leaf.instance_id is not None
    return h.sub_orchestration_created(moment, leaf.id, leaf.name, leaf.instance_id, leaf.input)
