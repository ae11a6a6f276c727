"""Host-side replay of an orchestrator's actions against its history, as the Durable extension
does it - not as the Python SDK imagines it.

The extension writes the history, not the SDK. Every episode the SDK returns the whole list of
actions its orchestrator has yielded so far; the extension's ``OutOfProcOrchestrationShim``
(Azure/azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/Listener/
OutOfProcOrchestrationShim.cs) replays that list through the C# orchestration context while
DurableTask.Core feeds it the history, event by event (``TaskOrchestrationExecutor``):

- ``ProcessAsyncActionsV2`` invokes the top-level actions one after the other, awaiting each
  before the next is invoked; every activity, timer and sub-orchestration takes the next
  sequence number when it is invoked.
- A ``CreateTimer`` action with ``isCanceled`` is created (it takes its sequence number and its
  TimerCreated is recorded) and cancelled on the spot: a ``WhenAny`` holding it completes at
  once on replay and the next top-level action is invoked at that moment - possibly before
  retry timers that the history already holds, whose sequence numbers it then takes
  (DurableTask.Core ``TaskOrchestrationContext.CreateTimer`` registers the cancellation).
- ``WhenAll`` is ``Task.WhenAll``: it completes when every child has completed, even after
  one failed (the SDK's ``task_all`` fails fast). ``WhenAny`` is ``Task.WhenAny``.
- ``-WithRetry`` calls are DurableTask.Core's ``RetryInterceptor``: after a failed attempt a
  timer at the current orchestration time + the (backoff) interval, then the next attempt;
  after the last failed attempt a "dummy" timer at the current time, which fires at once,
  and only then the failure.
- Several waiters for one event name are a stack (the last waiter gets the next event);
  events raised while nobody waits are queued and taken first-in first-out.
- A scheduling event in the history (TaskScheduled, TimerCreated,
  SubOrchestrationInstanceCreated) must match the action that holds its sequence number in
  this replay; otherwise DurableTask.Core throws ``NonDeterministicOrchestrationException``
  and the instance fails. :class:`NonDeterministicError` carries DTFx's message.

When the extension's numbering and the SDK's disagree (a timer cancelled after retries, a
``task_all`` whose failure the orchestrator handles while a sibling still retries), the SDK
matches results to the wrong tasks or the replay above fails: devhost shows what Azure would,
because the history it writes is the extension's.

The result says which scheduling events are new in this episode (to be appended to history
and executed), whether the top-level replay has finished (the C# orchestrator function
returned), which tasks are still open (DTFx completes an instance only when none is), and
whether the orchestrator continued as new.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from azure.durable_functions.models.actions.ActionType import ActionType as A
from azure.durable_functions.models.history import HistoryEventType as T

from . import history as h


class ShimError(Exception):
    """The actions cannot be carried out (an action the devhost does not support)."""


class NonDeterministicError(ShimError):
    """DTFx's ``NonDeterministicOrchestrationException``: the replay does not match the history."""


_UNSUPPORTED = {
    A.CALL_ENTITY: "call_entity (Durable Entities)",
    A.CALL_HTTP: "call_http (durable HTTP)",
    A.SIGNAL_ENTITY: "signal_entity (Durable Entities)",
    10: "signal_entity with a schedule (Durable Entities)",
}

# The DTFx orchestrator action type that holds a sequence number, by leaf kind.
_DTFX_ACTION = {
    "activity": "ScheduleTaskOrchestratorAction",
    "timer": "CreateTimerOrchestratorAction",
    "suborch": "CreateSubOrchestrationAction",
}
_CHANGED = "Was a change made to the orchestrator code after this instance had already started running?"
# RetryOptions.MaxRetryInterval when the SDK sends none (azure-functions-durable-extension RetryOptions.cs).
_DEFAULT_MAX_RETRY_INTERVAL = timedelta(days=6)


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

    __slots__ = ("kind", "id", "name", "input", "fire_at", "instance_id", "cancelled", "scheduled")

    def __init__(
        self,
        kind: str,
        seq: int,
        *,
        name: str = "",
        input_: str | None = None,
        fire_at: datetime | None = None,
        instance_id: str | None = None,
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


class _EventWait(_Node):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class _All(_Node):
    """``Task.WhenAll``: done when every child is done; failed if any child failed."""

    __slots__ = ("remaining", "any_failed")

    def __init__(self, children: list[_Node]) -> None:
        super().__init__()
        self.remaining = 0
        self.any_failed = False
        for child in children:
            child.parent = self
            if child.done:
                self.any_failed = self.any_failed or child.failed
            else:
                self.remaining += 1
        if self.remaining == 0:
            self.done, self.failed = True, self.any_failed

    def child_done(self, shim: Shim, child: _Node) -> None:
        self.remaining -= 1
        self.any_failed = self.any_failed or child.failed
        if self.remaining == 0:
            self.finish(shim, self.any_failed)


class _Any(_Node):
    """``Task.WhenAny``: done when the first child is done (succeeded, failed or cancelled)."""

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
    """DurableTask.Core ``RetryInterceptor.Invoke`` (the extension's ``Call*WithRetryAsync``)."""

    __slots__ = (
        "kind",
        "name",
        "input",
        "instance_id",
        "first_interval",
        "backoff",
        "max_interval",
        "retry_timeout",
        "max_attempts",
        "retry_count",
        "first_attempt",
        "current",
        "timer",
        "last",
    )

    def __init__(self, kind: str, action: dict[str, Any], now: datetime) -> None:
        super().__init__()
        options = action.get("retryOptions") or {}
        self.kind = kind
        self.name = action["functionName"]
        self.input = action.get("input")
        self.instance_id = action.get("instanceId")
        # The fields the extension's RetryOptionsConverter reads; the SDK 1.x sends the first two.
        first_ms = int(options.get("firstRetryIntervalInMilliseconds", 1000))
        self.first_interval = timedelta(milliseconds=first_ms)
        self.backoff = float(options.get("backoffCoefficient", 1.0))
        max_ms = options.get("maxRetryIntervalInMilliseconds")
        self.max_interval = timedelta(milliseconds=int(max_ms)) if max_ms else _DEFAULT_MAX_RETRY_INTERVAL
        timeout_ms = options.get("retryTimeoutInMilliseconds")
        self.retry_timeout = timedelta(milliseconds=int(timeout_ms)) if timeout_ms else None
        self.max_attempts = int(options.get("maxNumberOfAttempts", 1))
        self.retry_count = 0
        self.first_attempt = now
        self.current: Leaf | None = None
        self.timer: Leaf | None = None
        self.last = False

    def start(self, shim: Shim) -> None:
        if self.retry_count >= self.max_attempts:  # no attempt at all (maxNumberOfAttempts <= 0)
            self.finish(shim, False)
            return
        instance_id = self.instance_id
        self.current = shim.alloc(self.kind, name=self.name, input_=self.input, instance_id=instance_id)
        self.current.parent = self

    def _next_delay(self, shim: Shim) -> timedelta:
        """``RetryInterceptor.ComputeNextDelay`` (every exception is handled: the SDK has no filter)."""
        if self.retry_timeout is not None and shim.current_time >= self.first_attempt + self.retry_timeout:
            return timedelta(0)
        delay = self.first_interval * (self.backoff**self.retry_count)
        return delay if delay < self.max_interval else self.max_interval

    def child_done(self, shim: Shim, child: _Node) -> None:
        if child is self.current:
            if not child.failed:
                self.finish(shim, False)
                return
            if self.retry_count + 1 == self.max_attempts:
                # "Dummy timer for back-compat": fires at the current time, then the failure surfaces.
                self.last = True
                fire_at = shim.current_time
            else:
                delay = self._next_delay(shim)
                if delay <= timedelta(0):
                    self.finish(shim, True)
                    return
                fire_at = shim.current_time + delay
            self.timer = shim.alloc("timer", fire_at=fire_at)
            self.timer.parent = self
        elif child is self.timer:
            if self.last:
                self.finish(shim, True)
            else:
                self.retry_count += 1
                self.start(shim)


@dataclass
class ShimResult:
    new_leaves: list[Leaf] = field(default_factory=list)
    finished: bool = False
    open_leaves: list[Leaf] = field(default_factory=list)
    continue_as_new: str | None = None
    continued: bool = False
    carried_events: list[h.Event] = field(default_factory=list)


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
    def __init__(self, instance_id: str, actions: list[dict[str, Any]], *, execution_id: str = "") -> None:
        self.instance_id = instance_id
        self.execution_id = execution_id or instance_id
        self.actions = actions
        self.index = 0
        self.current: _Node | None = None
        self.started = False
        self.finished = False
        self.seq = 0
        self.by_id: dict[int, Leaf] = {}
        self.allocated: list[Leaf] = []
        self.waiters: dict[str, list[_EventWait]] = {}
        self.buffered: dict[str, deque[h.Event]] = {}
        self.current_time = datetime.min
        self.result = ShimResult()

    # -- allocation -------------------------------------------------------------------------
    def alloc(self, kind: str, **kwargs: Any) -> Leaf:
        leaf = Leaf(kind, self.seq, **kwargs)
        if kind == "suborch" and not leaf.instance_id:
            # DTFx CreateSubOrchestrationInstanceCore: "{ExecutionId}:{sequence number}".
            leaf.instance_id = f"{self.execution_id}:{self.seq}"
        self.seq += 1
        self.by_id[leaf.id] = leaf
        self.allocated.append(leaf)
        return leaf

    def issue(self, action: dict[str, Any]) -> _Node:
        """``InvokeAPIFromAction``."""
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
            node = _Retry(
                "activity" if kind == A.CALL_ACTIVITY_WITH_RETRY else "suborch", action, self.current_time
            )
            node.start(self)
            return node
        if kind == A.CREATE_TIMER:
            leaf = self.alloc("timer", fire_at=h.parse_iso(action["fireAt"]))
            if action.get("isCanceled"):
                # CreateTimer, then cts.Cancel() on the spot: the task ends (cancelled) now; the
                # timer itself was still created, so its TimerCreated is recorded and it fires later.
                leaf.cancelled = True
                leaf.done = True
            return leaf
        if kind == A.WAIT_FOR_EXTERNAL_EVENT:
            wait = _EventWait(action["externalEventName"])
            queue = self.buffered.get(wait.name)
            if queue:
                queue.popleft()
                wait.done = True
            else:
                self.waiters.setdefault(wait.name, []).append(wait)
            return wait
        if kind == A.CONTINUE_AS_NEW:
            self.result.continued = True
            self.result.continue_as_new = action.get("input")
            ended = _Node()
            ended.done = True
            return ended
        if kind in (A.WHEN_ALL, A.WHEN_ANY):
            children = [self.issue(child) for child in action.get("compoundActions") or []]
            return _All(children) if kind == A.WHEN_ALL else _Any(children)
        if kind in _UNSUPPORTED:
            raise ShimError(f"{_UNSUPPORTED[kind]} is not supported by the devhost Functions host")
        raise ShimError(f"unknown action type {kind!r} is not supported by the devhost Functions host")

    def advance(self) -> None:
        """``ProcessAsyncActionsV2``: await the current action; once done, invoke the next."""
        while self.current is None or self.current.done:
            if self.index >= len(self.actions):
                self.current = None
                self.finished = True
                return
            action = self.actions[self.index]
            self.index += 1
            self.current = self.issue(action)

    # -- replay -----------------------------------------------------------------------------
    def _leaf(self, event: h.Event, key: str, kinds: tuple[str, ...]) -> Leaf | None:
        leaf = self.by_id.get(cast(int, event.get(key)))
        if leaf is None or leaf.kind not in kinds or leaf.done:
            return None  # a completion for a task nobody waits on: ignored, as DTFx does
        return leaf

    def _check_scheduled(self, event: h.Event) -> None:
        """DTFx ``TaskOrchestrationContext.Handle*Event`` for the three scheduling events."""
        kind = {
            T.TASK_SCHEDULED: "activity",
            T.TIMER_CREATED: "timer",
            T.SUB_ORCHESTRATION_INSTANCE_CREATED: "suborch",
        }[event["EventType"]]
        seq = event["EventId"]
        leaf = self.by_id.get(seq)
        if leaf is not None and leaf.scheduled:
            leaf = None  # DTFx removes a matched action from its map: a second event finds nothing
        if (
            leaf is None
            or leaf.kind != kind
            or (kind != "timer" and leaf.name.casefold() != str(event.get("Name") or "").casefold())
        ):
            raise NonDeterministicError(_non_deterministic(event, kind, seq, leaf))
        leaf.scheduled = True
        if kind == "suborch":
            leaf.instance_id = event.get("InstanceId") or leaf.instance_id
        if kind == "timer":
            leaf.fire_at = h.parse_iso(event["FireAt"])

    def _raise_event(self, event: h.Event) -> None:
        """``DurableOrchestrationContext.RaiseEvent``: the newest waiter first, else queue it."""
        name = event.get("Name") or ""
        if self.result.continued:
            self.result.carried_events.append(event)  # DTFx carries it to the next execution
            return
        waiting = self.waiters.get(name)
        if waiting:
            waiting.pop().finish(self, False)
        else:
            self.buffered.setdefault(name, deque()).append(event)

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
                self._raise_event(event)
            else:
                continue
            if self.started:
                self.advance()
        result = self.result
        result.finished = self.finished
        result.new_leaves = [leaf for leaf in self.allocated if not leaf.scheduled]
        result.open_leaves = [leaf for leaf in self.allocated if not leaf.done]
        return result


def _non_deterministic(event: h.Event, kind: str, seq: int, leaf: Leaf | None) -> str:
    """DTFx's message (DurableTask.Core 2.17, TaskOrchestrationContext.cs), word for word."""
    name = event.get("Name") or ""
    if kind == "activity":
        if leaf is None:
            detail = (
                f"A previous execution of this orchestration scheduled an activity task with sequence ID "
                f"{seq} and name '{name}' (version ''), but the current replay execution hasn't (yet?) "
                f"scheduled this task. {_CHANGED}"
            )
        elif leaf.kind != kind:
            detail = (
                f"A previous execution of this orchestration scheduled an activity task with sequence number "
                f"{seq} named '{name}', but the current orchestration replay instead produced a "
                f"{_DTFX_ACTION[leaf.kind]} action with this sequence number. {_CHANGED}"
            )
        else:
            detail = (
                f"A previous execution of this orchestration scheduled an activity task with sequence number "
                f"{seq} named '{name}', but the current orchestration replay instead scheduled an activity "
                f"task named '{leaf.name}' with this sequence number.  {_CHANGED}"
            )
    elif kind == "timer":
        if leaf is None:
            detail = (
                f"A previous execution of this orchestration scheduled a timer task with sequence number "
                f"{seq} but the current replay execution hasn't (yet?) scheduled this task. {_CHANGED}"
            )
        else:
            detail = (
                f"A previous execution of this orchestration scheduled a timer task with sequence number "
                f"{seq} named but the current orchestration replay instead produced a "
                f"{_DTFX_ACTION[leaf.kind]} action with this sequence number. {_CHANGED}"
            )
    else:
        described = (
            f"A previous execution of this orchestration scheduled a sub-orchestration task with sequence ID "
            f"{seq} and name '{name}' (version '', instance ID '{event.get('InstanceId') or ''}'), but the "
        )
        if leaf is None:
            detail = described + f"current replay execution hasn't (yet?) scheduled this task. {_CHANGED}"
        elif leaf.kind != kind:
            detail = (
                described + f"current orchestration replay instead produced a {_DTFX_ACTION[leaf.kind]} "
                f"action at this sequence number. {_CHANGED}"
            )
        else:
            detail = (
                described + f"current orchestration replay instead scheduled a sub-orchestration task with "
                f"name {leaf.name} at this sequence number. {_CHANGED}"
            )
    return "Non-Deterministic workflow detected: " + detail


def scheduling_event(leaf: Leaf, moment: datetime) -> h.Event:
    if leaf.kind == "activity":
        return h.task_scheduled(moment, leaf.id, leaf.name, leaf.input)
    if leaf.kind == "timer":
        assert leaf.fire_at is not None
        return h.timer_created(moment, leaf.id, leaf.fire_at)
    assert leaf.instance_id is not None
    return h.sub_orchestration_created(moment, leaf.id, leaf.name, leaf.instance_id, leaf.input)
