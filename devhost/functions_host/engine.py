"""The orchestration engine: instances, episodes, activities, timers, sub-orchestrations.

Each instance has an inbox of new history events (ExecutionStarted, TaskCompleted,
TimerFired, EventRaised...). One dispatcher thread takes an instance whose inbox is ready,
runs one *episode* with everything in it - OrchestratorStarted, the new events, the scheduling
events the replay decides on, OrchestratorCompleted - by calling the orchestrator's registered
``handle`` (the SDK's own replay) with the whole history, replays the actions it returns as
the Durable extension does (``shim``: that decides the scheduling events and can fail the
instance as non-deterministic), and carries out the result: new activities go to the activity
pool, timers to the scheduler, sub-orchestrations start as child instances. As in DTFx, an
instance completes (or fails with the orchestrator's error) only once the replay of its
actions has finished and none of its tasks is still open.

Every episode replays the whole history (~30-45 us per event), so while an instance still has
activities running its inbox waits after the first new event - twice as long as the
instance's previous episode took (at least ``batch_window``, at most ``MAX_BATCH_WAIT``) - and
the results that arrive meanwhile are delivered in the same episode: replays then take at
most about a third of the time, and a fan-out of N does not cost N replays.

State is persisted through ``Store`` after every episode; ``start()`` reloads it, so a new host
on the same storage resumes every Pending/Running instance: activities that were scheduled but
never completed run again (activities are idempotent by design), unfired timers are re-armed,
raised events still in the inbox table are delivered.
"""

from __future__ import annotations

import builtins  # Engine has a method named list: annotations in it say builtins.list
import ctypes
import json
import logging
import threading
import time
import uuid
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from azure.durable_functions.models.history import HistoryEventType as T
from azure.functions._durable_functions import OrchestrationContext

from . import history as h
from .activities import ActivityPool, Outcome
from .app_loader import LoadedApp
from .shim import (
    Leaf,
    NonDeterministicError,
    Shim,
    ShimError,
    ShimResult,
    scheduling_event,
    top_level_actions,
)
from .store import Store
from .timers import Scheduler, TimerHandle

log = logging.getLogger("devhost.functions_host")

TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
MAX_BATCH_WAIT = 1.0
CUSTOM_STATUS_CAP = 16_000  # the real extension refuses a custom status above 16 KB
_CONTROL = (T.EXECUTION_SUSPENDED, T.EXECUTION_RESUMED)
_OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"
_FORBIDDEN_ID_CHARS = set("/\\#?")


class OrchestratorTimeout(BaseException):
    """Raised inside the dispatcher thread when one replay runs longer than allowed.

    A BaseException, so the SDK's ``except Exception`` around user code does not swallow it."""


class InstanceError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def validate_instance_id(instance_id: str) -> None:
    if not instance_id or len(instance_id) > 256:
        raise InstanceError(400, "An instance ID must be 1 to 256 characters long.")
    if any(c in _FORBIDDEN_ID_CHARS or ord(c) < 32 or 127 <= ord(c) < 160 for c in instance_id):
        raise InstanceError(400, "An instance ID must not contain /, \\, #, ? or control characters.")


@dataclass(eq=False)
class Instance:
    instance_id: str
    name: str
    created: datetime
    last_updated: datetime
    execution_id: str
    status: str = "Pending"
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    parent: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    history: list[h.Event] | None = None
    history_json: list[str] = field(default_factory=list)
    history_count: int = 0
    inbox: list[h.Event] = field(default_factory=list)
    inbox_keys: list[str] = field(default_factory=list)
    ready_at: float | None = None
    in_flight: dict[int, Future[Outcome]] = field(default_factory=dict)
    timers: dict[int, TimerHandle] = field(default_factory=dict)
    episodes: int = 0
    replay_seconds: float = 0.0
    episode_seconds: float = 0.0
    started_mono: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)

    def record(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "name": self.name,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "custom_status": self.custom_status,
            "created": h.iso(self.created),
            "last_updated": h.iso(self.last_updated),
            "history_count": self.history_count,
            "execution_id": self.execution_id,
            "parent": self.parent,
            "failure": self.failure,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Instance:
        inst = cls(
            instance_id=record["instance_id"],
            name=record["name"],
            created=h.parse_iso(record["created"]),
            last_updated=h.parse_iso(record["last_updated"]),
            execution_id=record["execution_id"],
            status=record["status"],
            input=record["input"],
            output=record["output"],
            custom_status=record["custom_status"],
            parent=record["parent"],
            failure=record["failure"],
            history_count=record["history_count"],
        )
        if inst.status in TERMINAL:
            inst.done.set()
        return inst


class Engine:
    def __init__(
        self,
        app: LoadedApp,
        store: Store,
        pool: ActivityPool,
        scheduler: Scheduler,
        *,
        payload_cap: int = 150_000,
        orchestrator_timeout: float = 60.0,
        batch_window: float = 0.01,
    ) -> None:
        self.app = app
        self.store = store
        self.pool = pool
        self.scheduler = scheduler
        self.payload_cap = payload_cap
        self.orchestrator_timeout = orchestrator_timeout
        self.batch_window = batch_window
        self.instances: dict[str, Instance] = {}
        self._cond = threading.Condition(threading.RLock())
        self._ready: dict[str, None] = {}
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._watch_lock = threading.Lock()
        self._watch: tuple[object, int] | None = None
        self._watch_fired = False
        self.stats = {"episodes": 0, "replay_seconds": 0.0, "activities": 0, "history_events": 0}

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._resume_from_store()
        self._thread = threading.Thread(
            target=self._dispatch_loop, name="devhost-orchestrations", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            for inst in self.instances.values():
                for handle in inst.timers.values():
                    handle.cancel()
        if self._thread is not None:
            self._thread.join(10)

    # -- queries ----------------------------------------------------------------------------
    def get(self, instance_id: str) -> Instance | None:
        with self._cond:
            return self.instances.get(instance_id)

    def history_of(self, inst: Instance) -> list[h.Event]:
        with self._cond:
            if inst.history is not None:
                return [dict(e) for e in inst.history]
        return self.store.load_history(inst.instance_id, inst.history_count)

    def list(
        self,
        *,
        statuses: set[str] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        prefix: str | None = None,
    ) -> list[Instance]:
        with self._cond:
            found = [
                i
                for i in self.instances.values()
                if (not statuses or i.status in statuses)
                and (not prefix or i.instance_id.startswith(prefix))
                and (created_from is None or i.created >= created_from)
                and (created_to is None or i.created <= created_to)
            ]
        return sorted(found, key=lambda i: (i.created, i.instance_id))

    def wait(self, instance_id: str, timeout: float) -> bool:
        inst = self.get(instance_id)
        return bool(inst and inst.done.wait(timeout))

    def idle(self, *, include_timers: bool = True) -> bool:
        with self._cond:
            if self._busy:
                return False
            for inst in self.instances.values():
                if inst.status in TERMINAL:
                    continue
                if inst.in_flight or (inst.inbox and inst.status != "Suspended"):
                    return False
                if include_timers and inst.timers:
                    return False
        return not self.store.busy

    # -- client operations ------------------------------------------------------------------
    def start_new(self, name: str, instance_id: str | None, input_json: str | None) -> Instance:
        if name not in self.app.orchestrators:
            raise InstanceError(
                400, f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
            )
        instance_id = instance_id or uuid.uuid4().hex
        validate_instance_id(instance_id)
        self._check_cap(input_json, f"the input of orchestration '{name}'")
        inst = self._create(name, instance_id, input_json, parent=None)
        self.store.put_instance(inst.record(), wait=True)
        with self._cond:
            self._enqueue(inst, self._execution_started(inst))
        return inst

    def raise_event(self, instance_id: str, name: str, input_json: str | None) -> None:
        with self._cond:
            inst = self._live_instance(instance_id)
        self._check_cap(input_json, f"the data of event '{name}'")
        key = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        event = h.event_raised(h.utcnow(), name, input_json, key)
        self.store.put_inbox(instance_id, key, event)
        with self._cond:
            if inst.status not in TERMINAL:
                self._enqueue(inst, event, key=key)

    def _live_instance(self, instance_id: str) -> Any:
        """The instance, if it exists and has not finished (404 / 410 otherwise). Hold _cond."""
        inst = self.instances.get(instance_id)
        if inst is None:
            raise InstanceError(404, f"No instance with ID {instance_id} found.")
        if inst.status in TERMINAL:
            raise InstanceError(410, f"Instance with ID {instance_id} is {inst.status}.")
        return inst

    def _control(self, instance_id: str, event: h.Event) -> None:
        with self._cond:
            self._enqueue(self._live_instance(instance_id), event, immediate=True)

    def terminate(self, instance_id: str, reason: str | None) -> None:
        self._control(instance_id, h.execution_terminated(h.utcnow(), reason))

    def suspend(self, instance_id: str, reason: str | None) -> None:
        self._control(instance_id, h.execution_suspended(h.utcnow(), reason))

    def resume(self, instance_id: str, reason: str | None) -> None:
        self._control(instance_id, h.execution_resumed(h.utcnow(), reason))

    def purge(self, instance_id: str) -> int:
        with self._cond:
            inst = self.instances.get(instance_id)
            if inst is None or inst.status not in TERMINAL:
                return 0
            del self.instances[instance_id]
        self.store.purge(instance_id)
        return 1

    # -- internals: creating and enqueuing --------------------------------------------------
    def _check_cap(self, text: str | None, what: str) -> None:
        if text is not None and len(text) > self.payload_cap:
            raise InstanceError(
                400,
                f"{what} is {len(text):,} characters of JSON; the devhost caps history "
                f"payloads at {self.payload_cap:,} (pass references, not data)",
            )

    def _create(
        self, name: str, instance_id: str, input_json: str | None, parent: dict[str, Any] | None
    ) -> Instance:
        now = h.utcnow()
        with self._cond:
            existing = self.instances.get(instance_id)
            # The extension's default OverridableExistingInstanceStates (NonRunningStates,
            # DurableTaskOptions.cs): an ended instance is overwritten, a live one refused.
            if existing is not None and existing.status not in TERMINAL:
                raise InstanceError(
                    409, f"An Orchestration instance with the status {existing.status} already exists."
                )
            inst = Instance(
                instance_id=instance_id,
                name=name,
                created=now,
                last_updated=now,
                execution_id=uuid.uuid4().hex,
                input=input_json,
                parent=parent,
                history=[],
            )
            self.instances[instance_id] = inst
        log.info("Orchestration %s (%s) scheduled", name, instance_id)
        return inst

    @staticmethod
    def _execution_started(inst: Instance) -> h.Event:
        return h.execution_started(
            inst.created,
            instance_id=inst.instance_id,
            execution_id=inst.execution_id,
            name=inst.name,
            input_json=inst.input,
            parent=inst.parent,
        )

    def _enqueue(
        self, inst: Instance, event: h.Event, *, key: str | None = None, immediate: bool = False
    ) -> None:
        """Add a new event to an instance's inbox (the caller holds the lock)."""
        inst.inbox.append(event)
        if key:
            inst.inbox_keys.append(key)
        delay = 0.0
        if inst.in_flight and not immediate:
            delay = max(self.batch_window, min(2 * inst.episode_seconds, MAX_BATCH_WAIT))
        ready = time.monotonic() + delay
        if inst.ready_at is None or ready < inst.ready_at:
            inst.ready_at = ready
        self._ready[inst.instance_id] = None
        self._cond.notify_all()

    # -- the dispatcher ---------------------------------------------------------------------
    def _pick(self) -> tuple[Instance | None, float | None]:
        now = time.monotonic()
        soonest: float | None = None
        for instance_id in list(self._ready):
            inst = self.instances.get(instance_id)
            if inst is None or not inst.inbox:
                self._ready.pop(instance_id, None)
                continue
            if inst.status == "Suspended" and not any(
                e["EventType"] in (T.EXECUTION_RESUMED, T.EXECUTION_TERMINATED) for e in inst.inbox
            ):
                continue
            ready_at = inst.ready_at or now
            if ready_at <= now:
                return inst, None
            soonest = ready_at if soonest is None else min(soonest, ready_at)
        return None, (None if soonest is None else max(0.0, soonest - now))

    def _take_events(self, inst: Instance) -> tuple[builtins.list[h.Event], builtins.list[str]]:
        events, keys = inst.inbox, inst.inbox_keys
        # Stop after a suspension: what arrives later waits for the resume.
        for index, event in enumerate(events):
            if event["EventType"] == T.EXECUTION_SUSPENDED and inst.status != "Suspended":
                taken = events[: index + 1]
                inst.inbox = events[index + 1 :]
                taken_keys = {e.get("DevHostEventKey") for e in taken}
                inst.inbox_keys = [k for k in keys if k not in taken_keys]
                return taken, [k for k in keys if k in taken_keys]
        inst.inbox, inst.inbox_keys = [], []
        return events, keys

    def _dispatch_loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    inst, wait = self._pick()
                    if inst is not None:
                        break
                    self._cond.wait(wait)
                events, keys = self._take_events(inst)
                inst.ready_at = None
                # Round robin: an instance whose inbox refills goes to the back of the queue.
                self._ready.pop(inst.instance_id, None)
                if inst.inbox:
                    self._ready[inst.instance_id] = None
                    inst.ready_at = time.monotonic()
                self._busy = True
            try:
                self._process(inst, events, keys)
            except OrchestratorTimeout:  # pragma: no cover - raised late; the replay is already handled
                log.warning("orchestrator watchdog fired after the replay had finished")
            except Exception:
                log.exception("internal error processing orchestration %s", inst.instance_id)
                try:
                    self._fail(
                        inst,
                        [h.orchestrator_started(h.utcnow())],
                        "devhost internal error (see host log)",
                        keys,
                    )
                except Exception:
                    log.exception("could not mark %s as failed", inst.instance_id)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _episode_time(self, inst: Instance) -> datetime:
        now = h.utcnow()
        for event in reversed(inst.history or []):
            if event["EventType"] == T.ORCHESTRATOR_STARTED:
                last = h.parse_iso(event["Timestamp"])
                if now <= last:
                    now = last + timedelta(microseconds=1)
                break
        return now

    def _process(self, inst: Instance, events: builtins.list[h.Event], keys: builtins.list[str]) -> None:
        if self._stopping:
            return
        if inst.status in TERMINAL:
            self.store.delete_inbox(inst.instance_id, keys)
            return
        if inst.history is None:
            inst.history = self.store.load_history(inst.instance_id, inst.history_count)
            inst.history_json = [json.dumps(e) for e in inst.history]
        started = time.perf_counter()
        now = self._episode_time(inst)
        episode = [h.orchestrator_started(now)]
        kinds = {e["EventType"] for e in events}
        if T.EXECUTION_TERMINATED in kinds:
            reason_event = next(e for e in events if e["EventType"] == T.EXECUTION_TERMINATED)
            if not inst.history:
                episode.append(self._execution_started(inst))
            episode.append(reason_event)
            self._finish(inst, episode, "Terminated", reason_event.get("Input"), None, keys)
            return
        episode.extend(events)
        if T.EXECUTION_SUSPENDED in kinds:
            inst.status = "Suspended"
        elif T.EXECUTION_RESUMED in kinds:
            inst.status = "Running"
        if kinds <= set(_CONTROL):  # nothing for the orchestrator: just record it
            episode.append(h.orchestrator_completed(now))
            self._commit(inst, episode, keys)
            return
        state = self._invoke(inst, episode)
        inst.episodes += 1
        self.stats["episodes"] += 1
        custom = state.get("customStatus")
        inst.custom_status = json.dumps(custom) if custom is not None else inst.custom_status
        try:
            if inst.custom_status is not None and len(inst.custom_status) > CUSTOM_STATUS_CAP:
                raise ShimError(
                    f"the custom status is {len(inst.custom_status):,} characters of JSON; "
                    f"it must not exceed {CUSTOM_STATUS_CAP:,}"
                )
            shim = Shim(inst.instance_id, top_level_actions(state), execution_id=inst.execution_id)
            result = shim.run(inst.history + episode)
            self._check_leaves(result)
        except NonDeterministicError as exc:
            # DTFx's TaskOrchestrationExecutor fails the instance at once with the exception's message.
            self._fail(inst, episode, str(exc), keys, error_type="NonDeterministicOrchestrationException")
            return
        except ShimError as exc:
            self._fail(inst, episode, f"Orchestrator function '{inst.name}' failed: {exc}", keys)
            return
        # The extension's shim sets the output (or raises the SDK's error) only once its replay of
        # the actions has finished, and DTFx completes an instance only when no task is still
        # open (TaskOrchestrationExecutor: "if (!this.context.HasOpenTasks)"): until then the
        # instance keeps running, whatever the SDK decided.
        ending = bool(state.get("error")) or bool(state.get("isDone"))
        if ending and result.finished and not result.open_leaves:
            if state.get("error"):
                message = f"Orchestrator function '{inst.name}' failed: {state['error']}"
                self._fail(inst, episode, message, keys)
                return
            if result.continued:
                self._continue_as_new(inst, episode, result, keys)
                return
            output = json.dumps(state["output"]) if "output" in state else None
            if output is not None and len(output) > self.payload_cap:
                self._fail(
                    inst,
                    episode,
                    f"Orchestrator function '{inst.name}' failed: its output is "
                    f"{len(output):,} characters of JSON; the devhost caps payloads at {self.payload_cap:,}",
                    keys,
                )
                return
            self._finish(inst, episode, "Completed", output, None, keys)
            return
        episode.extend(scheduling_event(leaf, now) for leaf in result.new_leaves)
        episode.append(h.orchestrator_completed(now))
        if inst.status == "Pending":
            inst.status = "Running"
            log.info("Orchestration %s (%s) started", inst.name, inst.instance_id)
        if ending:
            log.debug(
                "%s (%s): the orchestrator returned; waiting for %d open tasks%s",
                inst.name,
                inst.instance_id,
                len(result.open_leaves),
                "" if result.finished else " and the replay of its actions",
            )
        self._commit(inst, episode, keys)
        self._carry_out(inst, result)
        inst.episode_seconds = time.perf_counter() - started
        log.debug(
            "episode %d of %s: %d events in, %d scheduled, %.1f ms",
            inst.episodes,
            inst.instance_id,
            len(events),
            len(result.new_leaves),
            (time.perf_counter() - started) * 1000,
        )

    def _check_leaves(self, result: ShimResult) -> None:
        for leaf in result.new_leaves:
            if leaf.input is not None and len(leaf.input) > self.payload_cap:
                raise ShimError(
                    f"the input of {leaf.kind} '{leaf.name}' is {len(leaf.input):,} characters of "
                    f"JSON; the devhost caps history payloads at {self.payload_cap:,} "
                    "(pass references, not data)"
                )

    # -- calling the orchestrator -----------------------------------------------------------
    def _context_json(self, inst: Instance, episode: builtins.list[h.Event]) -> str:
        parts = inst.history_json + [json.dumps(e) for e in episode]
        return (
            '{"history":['
            + ",".join(parts)
            + "]"
            + ',"instanceId":'
            + json.dumps(inst.instance_id)
            + ',"isReplaying":'
            + ("true" if inst.history else "false")
            + ',"parentInstanceId":'
            + json.dumps(inst.parent["instance_id"] if inst.parent else None)
            + ',"input":'
            + (inst.input if inst.input is not None else "null")
            + ',"upperSchemaVersion":2}'
        )

    def _invoke(self, inst: Instance, episode: builtins.list[h.Event]) -> dict[str, Any]:
        function = self.app.orchestrators.get(inst.name)
        if function is None:
            return {
                "error": f"The function '{inst.name}' doesn't exist, is disabled, or is not an orchestrator "
                "function."
            }
        context = OrchestrationContext(self._context_json(inst, episode))
        started = time.perf_counter()
        try:
            return self._invoke_watched(function.func, context)
        except OrchestratorTimeout:
            self._unwatch()
            return {
                "error": f"one replay ran longer than {self.orchestrator_timeout:g} s (the devhost's "
                "orchestrator_timeout); orchestrator code must not block or loop forever"
            }
        finally:
            spent = time.perf_counter() - started
            inst.replay_seconds += spent
            self.stats["replay_seconds"] += spent

    def _invoke_watched(self, handle: Any, context: OrchestrationContext) -> dict[str, Any]:
        token = object()
        with self._watch_lock:
            self._watch = (token, threading.get_ident())
            self._watch_fired = False
        timer = self.scheduler.call_later(self.orchestrator_timeout, partial(self._expire, token))
        try:
            try:
                return json.loads(handle(context))
            except OrchestratorTimeout:
                raise
            except Exception as exc:
                text = str(exc)
                if _OUT_OF_PROC_LABEL in text:
                    message, _, data = text.partition(_OUT_OF_PROC_LABEL)
                    state = json.loads(data)
                    state["error"] = state.get("error") or message
                    return state
                log.exception("the orchestrator raised outside the SDK's replay")
                return {"error": f"{type(exc).__name__}: {text}"}
        finally:
            timer.cancel()
            self._unwatch()

    def _unwatch(self) -> None:
        with self._watch_lock:
            self._watch = None
            if self._watch_fired:  # drop a timeout that fired but was not raised yet
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(threading.get_ident()), None)
                self._watch_fired = False

    def _expire(self, token: object) -> None:
        with self._watch_lock:
            if self._watch is None or self._watch[0] is not token:
                return
            self._watch_fired = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._watch[1]), ctypes.py_object(OrchestratorTimeout)
            )

    # -- results of an episode --------------------------------------------------------------
    def _commit(self, inst: Instance, episode: builtins.list[h.Event], keys: builtins.list[str]) -> None:
        for event in episode:
            event["IsPlayed"] = True
        encoded = [json.dumps(e) for e in episode]
        with self._cond:
            assert inst.history is not None
            start = len(inst.history)
            inst.history.extend(episode)
            inst.history_json.extend(encoded)
            inst.history_count = len(inst.history)
            inst.last_updated = h.parse_iso(episode[-1]["Timestamp"])
            self.stats["history_events"] += len(episode)
        self.store.put_history(inst.instance_id, start, episode)
        self.store.put_instance(inst.record())
        self.store.delete_inbox(inst.instance_id, keys)

    def _finish(
        self,
        inst: Instance,
        episode: builtins.list[h.Event],
        status: str,
        output: str | None,
        failure: dict[str, Any] | None,
        keys: builtins.list[str],
    ) -> None:
        now = h.parse_iso(episode[0]["Timestamp"])
        episode.append(h.execution_completed(now, status, output, failure))
        episode.append(h.orchestrator_completed(now))
        with self._cond:
            inst.status = status
            inst.output = output
            inst.failure = failure
            self._drop_work(inst)
        self._commit(inst, episode, keys)
        inst.done.set()
        seconds = time.monotonic() - inst.started_mono
        text = (
            f"Orchestration {inst.name} ({inst.instance_id}) {status.lower()} in {seconds:.2f} s "
            f"({inst.episodes} episodes, {inst.history_count} history events)"
        )
        if status == "Failed":
            log.warning("%s: %s", text, json.loads(output) if output else "")
        else:
            log.info(text)
        if inst.parent:
            self._notify_parent(inst)

    def _fail(
        self,
        inst: Instance,
        episode: builtins.list[h.Event],
        message: str,
        keys: builtins.list[str],
        *,
        error_type: str = "OrchestrationFailureException",
    ) -> None:
        failure = {"ErrorType": error_type, "ErrorMessage": message}
        self._finish(inst, episode, "Failed", json.dumps(message), failure, keys)

    def _drop_work(self, inst: Instance) -> None:
        for handle in inst.timers.values():
            handle.cancel()
        inst.timers.clear()
        for future in inst.in_flight.values():
            future.cancel()  # a queued activity is dropped; a running one finishes and is ignored
        inst.in_flight.clear()

    def _continue_as_new(
        self, inst: Instance, episode: builtins.list[h.Event], result: ShimResult, keys: builtins.list[str]
    ) -> None:
        """Start a new execution with a new input and an empty history. One instance-row write
        (HistoryCount 0) is the whole switch, so a crash leaves either execution, never half.
        Events that reached the replay after the continue-as-new are carried over, keeping their
        inbox rows (DTFx ``AddEventToNextIteration``); events that had been buffered before it are
        dropped, as the extension's ``ContinueAsNew(input)`` does (``preserveUnprocessedEvents``
        is false for out-of-process apps)."""
        new_input = json.dumps(result.continue_as_new) if result.continue_as_new is not None else None
        carried = [dict(e, IsPlayed=False) for e in result.carried_events]
        carried_keys = [e["DevHostEventKey"] for e in carried if e.get("DevHostEventKey")]
        with self._cond:
            self._drop_work(inst)
            inst.execution_id = uuid.uuid4().hex
            inst.input = new_input
            inst.history, inst.history_json, inst.history_count = [], [], 0
            inst.status = "Running"
            inst.last_updated = h.parse_iso(episode[0]["Timestamp"])
            pending, pending_keys = inst.inbox, inst.inbox_keys
            inst.inbox, inst.inbox_keys = [], []
            self._enqueue(inst, self._execution_started(inst))
            for event in carried + pending:
                self._enqueue(inst, event)
            inst.inbox_keys = carried_keys + pending_keys
        self.store.put_instance(inst.record())
        self.store.delete_inbox(inst.instance_id, [k for k in keys if k not in carried_keys])
        log.info("Orchestration %s (%s) continued as new", inst.name, inst.instance_id)

    def _carry_out(self, inst: Instance, result: ShimResult) -> None:
        with self._cond:
            if inst.status in TERMINAL or self._stopping:
                return
            for leaf in result.new_leaves:
                if leaf.kind == "activity":
                    self._schedule_activity(inst, leaf.id, leaf.name, leaf.input)
                elif leaf.kind == "timer":
                    # A cancelled timer is armed too: DTFx keeps its action, so the timer message
                    # is sent and fires later (TimerFired then finds no open task and is ignored).
                    assert leaf.fire_at is not None
                    self._arm_timer(inst, leaf.id, leaf.fire_at)
                else:
                    self._start_child(inst, leaf)

    def _schedule_activity(self, inst: Instance, task_id: int, name: str, input_json: str | None) -> None:
        if name not in self.app.activities:
            self._enqueue(
                inst,
                h.task_failed(
                    h.utcnow(),
                    task_id,
                    f"The function '{name}' doesn't exist, is disabled, or is not an activity function.",
                    None,
                ),
            )
            return
        future = self.pool.submit(name, input_json)
        inst.in_flight[task_id] = future
        self.stats["activities"] += 1
        future.add_done_callback(
            partial(self._activity_done, inst.instance_id, inst.execution_id, task_id, name)
        )

    def _activity_done(
        self, instance_id: str, execution_id: str, task_id: int, name: str, future: Future[Outcome]
    ) -> None:
        try:
            outcome = future.result()
        except CancelledError:
            return
        except Exception as exc:  # the worker process died, the pool broke...
            outcome = (
                "failed",
                f"Activity function '{name}' could not run: {type(exc).__name__}: {exc}",
                None,
                0.0,
            )
        now = h.utcnow()
        if outcome[0] == "completed":
            event = h.task_completed(now, task_id, outcome[1])
            log.debug(
                "Activity %s (%s #%d) completed in %.0f ms", name, instance_id, task_id, outcome[2] * 1000
            )
        else:
            event = h.task_failed(now, task_id, outcome[1], outcome[2])
            log.info("Activity %s (%s #%d) failed: %s", name, instance_id, task_id, outcome[1])
        with self._cond:
            inst = self.instances.get(instance_id)
            if (
                inst is None
                or inst.execution_id != execution_id
                or inst.status in TERMINAL
                or self._stopping
                or inst.in_flight.pop(task_id, None) is None
            ):
                return
            self._enqueue(inst, event)

    def _arm_timer(self, inst: Instance, timer_id: int, fire_at: datetime) -> None:
        callback = partial(self._timer_fired, inst.instance_id, inst.execution_id, timer_id, h.iso(fire_at))
        inst.timers[timer_id] = self.scheduler.call_at(fire_at.timestamp(), callback)

    def _timer_fired(self, instance_id: str, execution_id: str, timer_id: int, fire_at: str) -> None:
        with self._cond:
            inst = self.instances.get(instance_id)
            if (
                inst is None
                or inst.execution_id != execution_id
                or inst.status in TERMINAL
                or inst.timers.pop(timer_id, None) is None
            ):
                return
            self._enqueue(inst, h.timer_fired(h.utcnow(), timer_id, fire_at), immediate=True)

    def _start_child(self, parent: Instance, leaf: Leaf) -> None:
        assert leaf.instance_id is not None
        link = {
            "instance_id": parent.instance_id,
            "execution_id": parent.execution_id,
            "task_id": leaf.id,
            "name": parent.name,
        }
        input_json = json.dumps(leaf.input) if leaf.input is not None else None
        try:
            if leaf.name not in self.app.orchestrators:
                raise InstanceError(
                    400,
                    f"The function '{leaf.name}' doesn't exist, is disabled, or is not an "
                    "orchestrator function.",
                )
            validate_instance_id(leaf.instance_id)
            child = self._create(leaf.name, leaf.instance_id, input_json, parent=link)
        except InstanceError as exc:
            self._enqueue(parent, h.sub_orchestration_failed(h.utcnow(), leaf.id, str(exc), None))
            return
        self.store.put_instance(child.record())
        self._enqueue(child, self._execution_started(child))

    def _notify_parent(self, child: Instance) -> None:
        link = child.parent
        assert link is not None
        with self._cond:
            parent = self.instances.get(link["instance_id"])
            if parent is None or parent.execution_id != link["execution_id"] or parent.status in TERMINAL:
                return
            now = h.utcnow()
            if child.status == "Completed":
                event = h.sub_orchestration_completed(now, link["task_id"], child.output)
            else:
                reason = json.loads(child.output) if child.output else child.status
                event = h.sub_orchestration_failed(now, link["task_id"], str(reason), None)
            self._enqueue(parent, event)

    # -- restart ----------------------------------------------------------------------------
    def _resume_from_store(self) -> None:
        records = self.store.load_instances()
        inbox = self.store.load_inbox()
        with self._cond:
            for record in records:
                self.instances[record["instance_id"]] = Instance.from_record(record)
        resumed = 0
        for inst in list(self.instances.values()):
            rows = inbox.get(inst.instance_id, [])
            if inst.status in TERMINAL:
                self.store.delete_inbox(inst.instance_id, [key for key, _ in rows])
                continue
            try:
                self._resume(inst, rows)
                resumed += 1
            except Exception:
                log.exception("could not resume orchestration %s", inst.instance_id)
        if records:
            log.info("Loaded %d orchestration instances from storage; resumed %d", len(records), resumed)

    def _resume(self, inst: Instance, inbox_rows: builtins.list[tuple[str, h.Event]]) -> None:
        inst.history = self.store.load_history(inst.instance_id, inst.history_count)
        inst.history_json = [json.dumps(e) for e in inst.history]
        seen_keys: set[str] = set()
        scheduled: dict[int, h.Event] = {}
        finished: set[tuple[str, int]] = set()
        for event in inst.history:
            kind = event["EventType"]
            if kind in h.SCHEDULING_TYPES:
                scheduled[event["EventId"]] = event
            elif kind in (
                T.TASK_COMPLETED,
                T.TASK_FAILED,
                T.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
                T.SUB_ORCHESTRATION_INSTANCE_FAILED,
            ):
                finished.add(("task", event["TaskScheduledId"]))
            elif kind == T.TIMER_FIRED:
                finished.add(("timer", event["TimerId"]))
            elif kind == T.EVENT_RAISED and event.get("DevHostEventKey"):
                seen_keys.add(event["DevHostEventKey"])
        with self._cond:
            if not inst.history:
                self._enqueue(inst, self._execution_started(inst))
            for seq, event in scheduled.items():
                kind = event["EventType"]
                if kind == T.TASK_SCHEDULED and ("task", seq) not in finished:
                    self._schedule_activity(inst, seq, event["Name"], event.get("Input"))
                elif kind == T.TIMER_CREATED and ("timer", seq) not in finished:
                    self._arm_timer(inst, seq, h.parse_iso(event["FireAt"]))
                elif kind == T.SUB_ORCHESTRATION_INSTANCE_CREATED and ("task", seq) not in finished:
                    child = self.instances.get(event["InstanceId"])
                    if child is None:
                        self._start_child(
                            inst,
                            Leaf(
                                "suborch",
                                seq,
                                name=event["Name"],
                                input_=event.get("Input"),
                                instance_id=event["InstanceId"],
                            ),
                        )
                    elif child.status in TERMINAL:
                        self._notify_parent(child)
            stale = [key for key, _ in inbox_rows if key in seen_keys]
            for key, event in inbox_rows:
                if key not in seen_keys:
                    self._enqueue(inst, event, key=key)
        self.store.delete_inbox(inst.instance_id, stale)
        log.info(
            "Resuming orchestration %s (%s): %d history events, %d activities to run again",
            inst.name,
            inst.instance_id,
            len(inst.history),
            len(inst.in_flight),
        )
