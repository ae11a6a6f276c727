"""Call user functions the way the Python worker does.

Async functions (every durable-client function: the SDK wraps it in an async middleware) run
on one event loop per process, in a daemon thread: the SDK keeps a process-wide aiohttp
session, which must stay on one loop. Sync functions run in the calling thread. Parameters are
filled from the trigger and bindings by name: the trigger value, each durable client binding
(the binding JSON string; the SDK middleware turns it into a ``DurableOrchestrationClient``)
and ``context`` (a ``func.Context``) when the function declares it.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import azure.functions as func

from .app_loader import FunctionInfo


class Context(func.Context):
    """The ``context`` parameter: invocation id, function name and directory."""

    def __init__(self, function_name: str, function_directory: str, invocation_id: str | None = None) -> None:
        self._invocation_id = invocation_id or str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._thread_local_storage = threading.local()
        self._thread_local_storage.invocation_id = self._invocation_id

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def thread_local_storage(self) -> Any:
        return self._thread_local_storage

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


class _LoopThread:
    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def loop(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=run, name="devhost-worker-loop", daemon=True).start()
                ready.wait()
                cls._loop = loop
            return cls._loop


def run_coroutine(coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
    """Run ``coro`` on the process-wide worker loop and wait for its result (from any thread
    but the loop's own). Tests use it to drive a ``DurableOrchestrationClient``."""
    future = asyncio.run_coroutine_threadsafe(coro, _LoopThread.loop())
    return future.result(timeout)


def submit_coroutine(coro: Coroutine[Any, Any, Any]) -> Any:
    """Schedule ``coro`` on the worker loop; return a ``concurrent.futures.Future``."""
    return asyncio.run_coroutine_threadsafe(coro, _LoopThread.loop())


def close_client_session() -> None:
    """Close the SDK's process-wide aiohttp session (it is re-created on the next use)."""
    loop = _LoopThread._loop
    if loop is None or loop.is_closed():
        return
    from azure.durable_functions.models.utils import http_utils

    try:
        asyncio.run_coroutine_threadsafe(http_utils._close_session(), loop).result(5)
    except Exception:  # noqa: S110 - best effort at shutdown
        pass


class UnsupportedBinding(Exception):
    pass


def build_kwargs(
    info: FunctionInfo, trigger_value: Any, *, client_json: Callable[[dict[str, Any]], str], context: Context
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {info.trigger_param: trigger_value}
    for binding in info.client_bindings:
        kwargs[binding["name"]] = client_json(binding)
    known = set(kwargs)
    for name in info.parameters:
        if name in known:
            continue
        if name == "context":
            kwargs["context"] = context
            continue
        named: dict[str, Any] | None = next((b for b in info.bindings if b.get("name") == name), None)
        what = f"binding {named.get('type')!r}" if named else "parameter"
        raise UnsupportedBinding(f"function {info.name!r}: {what} {name!r} is not supported by the devhost")
    return kwargs


def call(info: FunctionInfo, kwargs: dict[str, Any], timeout: float | None = None) -> Any:
    if info.is_async:
        return run_coroutine(info.func(**kwargs), timeout)
    result = info.func(**kwargs)
    if inspect.isawaitable(result):
        return run_coroutine(_await(result), timeout)
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable
