"""Run activity functions in a worker pool, processes by default.

Activities can be CPU-heavy (PDF rendering), so by default they run in a
``ProcessPoolExecutor`` (spawned workers: no fork of a threaded host); each worker imports the
app module once (the pool initializer) and calls activities by name. ``use_processes=False``
runs them in threads of the host process instead (quicker to start; for tests and debugging).

The input arrives as the JSON text of the ``TaskScheduled`` event and is decoded, and the
return value encoded, by the SDK's own ``ActivityTriggerConverter`` (as the worker does). The
outcome is a small picklable tuple:

- ``("completed", result_json, seconds)``
- ``("failed", reason, details, seconds)``: reason is the exception's message; details name
  its type and the frames (file, line, function) of the traceback - no source lines and no
  local variables, which could hold secrets.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import importlib
import inspect
import logging
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from .app_loader import app_functions

log = logging.getLogger("devhost.functions_host")

Outcome = tuple[Any, ...]

# app module -> activity name -> (callable, input parameter, passes context, is async)
_REGISTRIES: dict[str, dict[str, tuple[Callable[..., Any], str, bool, bool]]] = {}
_REGISTRY_LOCK = threading.Lock()


def _registry(app_module: str) -> dict[str, tuple[Callable[..., Any], str, bool, bool]]:
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


def _details(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    lines = [f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")]
    lines += [f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames[-12:]]
    return "\n".join(lines)


def execute(app_module: str, name: str, input_json: str | None, payload_cap: int) -> Outcome:
    """Run one activity (in a worker process or thread) and return its outcome."""
    start = time.perf_counter()
    registry = _registry(app_module)
    if name not in registry:
        return (
            "failed",
            f"The function '{name}' doesn't exist, is disabled, or is not an activity function.",
            None,
            0.0,
        )
    user, param, wants_context, is_async = registry[name]
    try:
        value = ActivityTriggerConverter.decode(
            meta.Datum(type="json", value=input_json), trigger_metadata={}
        )
    except Exception as exc:
        return ("failed", f"Activity function '{name}' got an input it cannot decode: {exc}", None, 0.0)
    kwargs: dict[str, Any] = {param: value}
    if wants_context:
        from .invoker import Context

        kwargs["context"] = Context(name, os.getcwd())
    try:
        result = user(**kwargs)
        if is_async or inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        return ("failed", reason, _details(exc), time.perf_counter() - start)
    try:
        result_json = ActivityTriggerConverter.encode(result, expected_type=None).value
    except Exception:
        return (
            "failed",
            f"Activity function '{name}' returned a value that is not JSON-serializable "
            f"({type(result).__name__}); return JSON types (dict, list, str, int, float, bool, None)",
            None,
            time.perf_counter() - start,
        )
    if result_json is not None and len(result_json) > payload_cap:
        return (
            "failed",
            f"Activity function '{name}' returned {len(result_json):,} characters of JSON; the "
            f"devhost caps history payloads at {payload_cap:,} (pass references, not data)",
            None,
            time.perf_counter() - start,
        )
    return ("completed", result_json, time.perf_counter() - start)


async def _await(awaitable: Any) -> Any:
    return await awaitable


class ActivityPool:
    def __init__(
        self,
        app_module: str,
        *,
        workers: int = 2,
        use_processes: bool = True,
        payload_cap: int = 150_000,
        paths: list[str] | None = None,
    ) -> None:
        self.app_module = app_module
        self.workers = max(1, workers)
        self.use_processes = use_processes
        self.payload_cap = payload_cap
        self.paths = paths or list(sys.path)
        self._lock = threading.Lock()
        self._executor: cf.Executor | None = None

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
        """Start the workers now (each imports the app) rather than on the first activity."""
        with self._lock:
            self._executor = self._new_executor()
            executor = self._executor
        if self.use_processes:
            futures = [executor.submit(_ping) for _ in range(self.workers)]
            for future in futures:
                future.result(timeout)

    def submit(self, name: str, input_json: str | None) -> cf.Future[Outcome]:
        with self._lock:
            if self._executor is None:
                raise RuntimeError("activity pool is not running")
            try:
                return self._executor.submit(execute, self.app_module, name, input_json, self.payload_cap)
            except cf.BrokenExecutor:
                log.error("activity worker pool broke (a worker died); starting a new one")
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
                return self._executor.submit(execute, self.app_module, name, input_json, self.payload_cap)

    def shutdown(self, *, kill: bool = False) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list(getattr(executor, "_processes", {}).values()) if kill else []
        executor.shutdown(wait=not kill, cancel_futures=True)
        for process in processes:  # a crash-like stop: running activities die with their worker
            if process.is_alive():
                process.kill()
