"""Run activity functions as the Python worker does: threads in this one process by default.

The Python worker runs a sync function in its thread pool (``PYTHON_THREADPOOL_THREAD_COUNT``,
by default ``ThreadPoolExecutor``'s own size) and an async function on its one event loop
(Azure/azure-functions-python-worker, azure_functions_worker/dispatcher.py), all in one worker
process: activities share memory, must be thread-safe, and a blocking call inside an
``async def`` stalls every other async function. devhost does the same: sync activities in a
thread pool, async ones on the process-wide loop that also runs the HTTP triggers
(``invoker``). ``use_processes=True`` runs them in spawned worker processes instead - an
explicit option, not what Azure does.

The Durable extension hands out at most ``maxConcurrentActivityFunctions`` activities at once
(host.json; by default 10 per core); the rest wait. ``functionTimeout`` (host.json) runs from
the moment an activity is handed out: an activity still running then fails with the host's
``FunctionTimeoutException`` message (azure-webjobs-sdk FunctionExecutor.cs). The real host then
restarts the worker process, killing every other invocation in it; devhost cannot stop a
thread, so the late activity runs on and its result is dropped.

The input arrives as the JSON text of the ``TaskScheduled`` event and is decoded, and the
return value encoded, by the SDK's own ``ActivityTriggerConverter`` (as the worker does). The
outcome is a small picklable tuple:

- ``("completed", result_json, seconds)``
- ``("failed", reason, details, seconds)``, shaped as the extension's ``TaskActivityShim``
  writes TaskFailed: the reason is ``"Activity function 'x' failed: " + message`` where the
  message is what the extension cuts out of the host's ``RpcException`` text ("Result:
  Failure\\nException: <worker message>\\nStack: ...") - hence the double space before the
  worker's ``"Type: message"``; the details are that exception serialized as DTFx's
  ``Utils.SerializeCause`` does (a JSON object with ``$type``, ``ClassName``, ``Message`` and
  the ``RpcException`` as ``InnerException``, carrying the Python traceback).
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import importlib
import inspect
import json
import logging
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from .app_loader import app_functions

log = logging.getLogger("devhost.functions_host")

Outcome = tuple[Any, ...]

# app module -> activity name -> (callable, input parameter, passes context, is async, function name)
_Entry = tuple[Callable[..., Any], str, bool, bool, str]
_REGISTRIES: dict[str, dict[str, _Entry]] = {}
_REGISTRY_LOCK = threading.Lock()

# azure-functions-host Workers/Rpc/MessageExtensions/RpcException.cs and the extension's
# OutOfProcExceptionHelpers.cs (the labels it cuts the friendly message out with).
_MESSAGE_LABEL = "\nException:"
_STACK_LABEL = "\nStack:"
_OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"
_HRESULT_COR_E_EXCEPTION = -2146233088


def default_thread_count() -> int:
    """The worker's sync thread pool size: ``PYTHON_THREADPOOL_THREAD_COUNT`` or, on Python
    3.9+, ``ThreadPoolExecutor``'s default."""
    setting = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "").strip()
    if setting.isdigit() and int(setting) >= 1:
        return int(setting)
    return min(32, (os.cpu_count() or 1) + 4)


def default_max_concurrent() -> int:
    """``maxConcurrentActivityFunctions`` when host.json sets none (outside Consumption)."""
    return 10 * (os.cpu_count() or 1)


def _registry(app_module: str) -> dict[str, _Entry]:
    with _REGISTRY_LOCK:
        registry = _REGISTRIES.get(app_module)
        if registry is None:
            module = importlib.import_module(app_module)
            registry = {}
            for fn in app_functions(module.app):
                trigger = fn.get_trigger()
                if trigger is None or trigger.type != "activityTrigger":
                    continue
                user = fn.get_user_function()
                params = list(inspect.signature(user).parameters)
                name = getattr(trigger, "activity", None) or fn.get_function_name()
                registry[name] = (
                    user,
                    trigger.name,
                    "context" in params,
                    inspect.iscoroutinefunction(user),
                    fn.get_function_name(),
                )
            _REGISTRIES[app_module] = registry
        return registry


def _init_worker(app_module: str, paths: list[str]) -> None:
    for path in reversed(paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    _registry(app_module)


def _ping() -> int:
    return os.getpid()


def _dotnet_exception(class_name: str, assembly: str, message: str, **extra: Any) -> dict[str, Any]:
    """A .NET exception as Newtonsoft serializes it with type names (DTFx ``Utils.SerializeCause``)."""
    return {
        "$type": f"{class_name}, {assembly}",
        **extra,
        "ClassName": class_name,
        "Message": message,
        "Data": None,
        "InnerException": None,
        "HelpURL": None,
        "StackTraceString": None,
        "RemoteStackTraceString": None,
        "RemoteStackIndex": 0,
        "ExceptionMethod": None,
        "HResult": _HRESULT_COR_E_EXCEPTION,
        "Source": None,
        "WatsonBuckets": None,
    }


def failure_from_exception(name: str, exc: BaseException, seconds: float) -> Outcome:
    """The TaskFailed an activity exception becomes in Azure (see the module docstring)."""
    try:
        message = f"{type(exc).__name__}: {exc}"  # the worker's Dispatcher._serialize_exception
    except Exception:
        message = "Unhandled exception in function. Could not serialize original exception message."
    stack = "".join(traceback.extract_tb(exc.__traceback__).format())  # utils/tracing.py
    rpc_message = f"Result: Failure\nException: {message}\nStack: {stack}"
    start = rpc_message.index(_MESSAGE_LABEL) + len(_MESSAGE_LABEL)
    friendly = rpc_message[start : rpc_message.index(_STACK_LABEL)]
    friendly = friendly.split(_OUT_OF_PROC_LABEL, 1)[0]
    rpc = _dotnet_exception(
        "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException",
        "Microsoft.Azure.WebJobs.Script",
        rpc_message,
        IsUserException=False,
        RemoteStackTrace=stack,
    )
    cause = _dotnet_exception("System.Exception", "System.Private.CoreLib", friendly)
    cause["InnerException"] = rpc
    details = json.dumps(cause, separators=(",", ":"))
    return ("failed", f"Activity function '{name}' failed: {friendly}", details, seconds)


def timespan(seconds: float) -> str:
    """.NET ``TimeSpan.ToString()``: ``[d.]hh:mm:ss[.fffffff]``."""
    ticks = round(seconds * 10_000_000)
    whole, fraction = divmod(ticks, 10_000_000)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    text = f"{days}." if days else ""
    text += f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return text + (f".{fraction:07d}" if fraction else "")


def timeout_failure(name: str, function_name: str, limit: float, seconds: float) -> Outcome:
    """TaskFailed for an activity that overran ``functionTimeout``: the extension reports the
    WebJobs ``FunctionTimeoutException`` itself (it has no inner exception to unwrap)."""
    message = f"Timeout value of {timespan(limit)} was exceeded by function: Functions.{function_name}"
    cause = _dotnet_exception(
        "Microsoft.Azure.WebJobs.Host.FunctionTimeoutException", "Microsoft.Azure.WebJobs.Host", message
    )
    details = json.dumps(cause, separators=(",", ":"))
    return ("failed", f"Activity function '{name}' failed: {message}", details, seconds)


def _not_found(name: str) -> Outcome:
    return (
        "failed",
        f"The function '{name}' doesn't exist, is disabled, or is not an activity function.",
        None,
        0.0,
    )


def _arguments(entry: _Entry, name: str, input_json: str | None) -> dict[str, Any]:
    _, param, wants_context, _, function_name = entry
    value = ActivityTriggerConverter.decode(meta.Datum(type="json", value=input_json), trigger_metadata={})
    kwargs: dict[str, Any] = {param: value}
    if wants_context:
        from .invoker import Context

        kwargs["context"] = Context(function_name, os.getcwd())
    return kwargs


def _completed(name: str, result: Any, payload_cap: int, started: float) -> Outcome:
    result_json = ActivityTriggerConverter.encode(result, expected_type=None).value
    if result_json is not None and len(result_json) > payload_cap:
        return (
            "failed",
            f"Activity function '{name}' returned {len(result_json):,} characters of JSON; the "
            f"devhost caps history payloads at {payload_cap:,} (pass references, not data)",
            None,
            time.perf_counter() - started,
        )
    return ("completed", result_json, time.perf_counter() - started)


def execute(app_module: str, name: str, input_json: str | None, payload_cap: int) -> Outcome:
    """Run one activity in a worker thread or process and return its outcome."""
    started = time.perf_counter()
    entry = _registry(app_module).get(name)
    if entry is None:
        return _not_found(name)
    try:
        result = entry[0](**_arguments(entry, name, input_json))
        if inspect.isawaitable(result):  # an async activity in a worker process
            result = asyncio.run(_await(result))
        return _completed(name, result, payload_cap, started)
    except Exception as exc:  # decoding, the function, encoding: all inside the worker's try
        return failure_from_exception(name, exc, time.perf_counter() - started)


async def execute_async(app_module: str, name: str, input_json: str | None, payload_cap: int) -> Outcome:
    """Run one async activity on the worker loop, as the worker does."""
    started = time.perf_counter()
    entry = _registry(app_module).get(name)
    if entry is None:
        return _not_found(name)
    try:
        result = await entry[0](**_arguments(entry, name, input_json))
        return _completed(name, result, payload_cap, started)
    except Exception as exc:
        return failure_from_exception(name, exc, time.perf_counter() - started)


async def _await(awaitable: Any) -> Any:
    return await awaitable


class ActivityPool:
    """Hands activities out (at most ``max_concurrent`` at once) to threads or processes."""

    def __init__(
        self,
        app_module: str,
        *,
        workers: int | None = None,
        use_processes: bool = False,
        payload_cap: int = 150_000,
        paths: list[str] | None = None,
        function_timeout: float | None = None,
        max_concurrent: int | None = None,
    ) -> None:
        self.app_module = app_module
        self.use_processes = use_processes
        self.workers = max(1, workers or (2 if use_processes else default_thread_count()))
        self.max_concurrent = max(1, max_concurrent or default_max_concurrent())
        self.function_timeout = function_timeout
        self.payload_cap = payload_cap
        self.paths = paths or list(sys.path)
        self._lock = threading.Lock()
        self._executor: cf.Executor | None = None
        self._queue: deque[tuple[cf.Future[Outcome], str, str | None]] = deque()
        self._running = 0

    def _new_executor(self) -> cf.Executor:
        if self.use_processes:
            return cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.app_module, self.paths),
            )
        _registry(self.app_module)
        return cf.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="devhost-activity")

    def start(self, timeout: float = 60.0) -> None:
        """Start the workers now (each process imports the app) rather than on the first activity."""
        with self._lock:
            self._executor = self._new_executor()
            executor = self._executor
        if self.use_processes:
            futures = [executor.submit(_ping) for _ in range(self.workers)]
            for future in futures:
                future.result(timeout)

    def submit(self, name: str, input_json: str | None) -> cf.Future[Outcome]:
        outer: cf.Future[Outcome] = cf.Future()
        with self._lock:
            if self._executor is None:
                raise RuntimeError("activity pool is not running")
            self._queue.append((outer, name, input_json))
        self._pump()
        return outer

    def _pump(self) -> None:
        while True:
            with self._lock:
                if self._executor is None or self._running >= self.max_concurrent or not self._queue:
                    return
                outer, name, input_json = self._queue.popleft()
                if not outer.set_running_or_notify_cancel():
                    continue  # dropped while it waited (its instance ended)
                self._running += 1
            self._dispatch(outer, name, input_json)

    def _dispatch(self, outer: cf.Future[Outcome], name: str, input_json: str | None) -> None:
        released = threading.Event()
        entry = _registry(self.app_module).get(name) if not self.use_processes else None
        try:
            if entry is not None and entry[3]:
                from .invoker import submit_coroutine

                inner = submit_coroutine(execute_async(self.app_module, name, input_json, self.payload_cap))
            else:
                inner = self._submit(name, input_json)
        except Exception as exc:
            self._settle(outer, released, exception=exc)
            return
        timer: threading.Timer | None = None
        if self.function_timeout is not None:
            function_name = entry[4] if entry is not None else name
            timer = threading.Timer(
                self.function_timeout,
                partial(self._timed_out, outer, released, name, function_name, time.perf_counter()),
            )
            timer.daemon = True
            timer.start()
        inner.add_done_callback(partial(self._inner_done, outer, released, timer))

    def _submit(self, name: str, input_json: str | None) -> cf.Future[Outcome]:
        with self._lock:
            executor = self._executor
        if executor is None:
            raise RuntimeError("activity pool is not running")
        try:
            return executor.submit(execute, self.app_module, name, input_json, self.payload_cap)
        except cf.BrokenExecutor:
            log.error("activity worker pool broke (a worker died); starting a new one")
            with self._lock:
                if self._executor is executor:
                    executor.shutdown(wait=False, cancel_futures=True)
                    self._executor = self._new_executor()
                executor = self._executor
            if executor is None:
                raise RuntimeError("activity pool is not running") from None
            return executor.submit(execute, self.app_module, name, input_json, self.payload_cap)

    def _settle(
        self,
        outer: cf.Future[Outcome],
        released: threading.Event,
        *,
        outcome: Outcome | None = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            if released.is_set():
                return
            released.set()
            self._running -= 1
        try:
            if exception is not None:
                outer.set_exception(exception)
            else:
                outer.set_result(cast(Outcome, outcome))  # given whenever exception is not
        except cf.InvalidStateError:
            pass
        self._pump()

    def _inner_done(
        self,
        outer: cf.Future[Outcome],
        released: threading.Event,
        timer: threading.Timer | None,
        inner: cf.Future[Outcome],
    ) -> None:
        if timer is not None:
            timer.cancel()
        if inner.cancelled():
            self._settle(outer, released, exception=cf.CancelledError())
            return
        error = inner.exception()
        if error is not None:
            self._settle(outer, released, exception=error)
        else:
            self._settle(outer, released, outcome=inner.result())

    def _timed_out(
        self,
        outer: cf.Future[Outcome],
        released: threading.Event,
        name: str,
        function_name: str,
        started: float,
    ) -> None:
        assert self.function_timeout is not None
        if released.is_set():
            return
        log.error(
            "Timeout value of %s exceeded by function 'Functions.%s'; the devhost cannot stop its "
            "thread (the real host restarts the worker process)",
            timespan(self.function_timeout),
            function_name,
        )
        outcome = timeout_failure(name, function_name, self.function_timeout, time.perf_counter() - started)
        self._settle(outer, released, outcome=outcome)

    def shutdown(self, *, kill: bool = False) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
            queued = list(self._queue)
            self._queue.clear()
        for outer, _, _ in queued:
            outer.cancel()
        if executor is None:
            return
        processes = list(getattr(executor, "_processes", {}).values()) if kill else []
        executor.shutdown(wait=not kill, cancel_futures=True)
        for process in processes:  # a crash-like stop: running activities die with their worker
            if process.is_alive():
                process.kill()
