"""``FunctionsHost``: the local Functions host + Durable extension, for the demo and the tests.

It loads the app (``app_loader``), serves its HTTP triggers under ``/{routePrefix}`` (``api``
unless host.json says otherwise) with the real host's key rules, fires its timer triggers on
their schedule or on ``POST /admin/functions/{name}``, and runs orchestrations (``engine``)
with activities in a worker pool, state in Azurite tables, and the Durable HTTP API
(``durable_api``) on a loopback RPC port for the SDK's client plus the public webhook URLs.

Keys by role, as the real host has them (azure-functions-host, WebJobs.Script.WebHost/Security:
``AuthorizationOptionsExtensions``, ``AuthUtility.PrincipalHasAuthLevelClaim``), each given as
``?code=`` or an ``x-functions-key`` header:

- a function key (``function_keys[name]``, the function's "default" key) opens that function;
- the host key (``host_key``, the "default" host key) opens every ``function``-level route;
- the master key (``master_key``) opens everything: ``admin``-level routes, ``/admin/...`` and
  the extension webhooks;
- the system key ``durabletask_extension`` (``system_key``) opens the Durable webhooks
  (``/runtime/webhooks/durabletask/...``) and nothing else; the management URLs the durable
  client hands out (``create_check_status_response``...) carry it, as in Azure. A function or
  host key on a webhook URL is refused with 401.

The task hub comes from host.json ``extensions.durableTask.hubName`` (``%SETTING%`` resolved
from the app settings, see ``host_config``); the host refuses to start when the extension would.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import azure.functions as func
from azure.functions import meta
from azure.functions.timer import TimerRequestConverter

from . import history as h
from .activities import ActivityPool
from .app_loader import FunctionInfo, LoadedApp, load_app
from .durable_api import RPC_PATH, WEBHOOK_PATH, DurableApi, Response, client_binding
from .engine import Engine
from .host_config import (
    HostConfigError,
    check_hub_name,
    function_timeout,
    max_concurrent_activities,
    resolve_hub_name,
)
from .http_server import HttpListener
from .invoker import Context, UnsupportedBinding, build_kwargs, call, close_client_session, run_coroutine
from .store import Store
from .timers import CronSchedule, Scheduler, TimerHandle

log = logging.getLogger("devhost.functions_host")

SYSTEM_KEY_NAME = "durabletask_extension"  # DefaultScriptWebHookProvider.GetKeyName("durabletask")


def _new_key() -> str:
    return secrets.token_urlsafe(32)


def _ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.0f} ms"


def timer_request(past_due: bool, scheduled: datetime | None) -> Any:
    """The timer argument as the Python worker builds it: the host sends its ``TimerInfo`` as
    JSON (``Schedule``, ``ScheduleStatus``, ``IsPastDue``) and the worker decodes it with
    azure-functions' ``TimerRequestConverter``. An admin-API invocation is never past due
    (azure-webjobs-sdk-extensions ``TimerTriggerBinding.BindAsync`` builds a fresh ``TimerInfo``)."""
    now = h.utcnow()
    info = {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": {"Last": h.iso(scheduled or now), "Next": None, "LastUpdated": h.iso(now)},
        "IsPastDue": past_due,
    }
    return TimerRequestConverter.decode(meta.Datum(json.dumps(info), "json"), trigger_metadata={})


class FunctionsHost:
    """A local Functions host for one app module.

    ``start()`` returns once the host serves; ``url`` is its public base URL
    (``http://127.0.0.1:PORT``); ``port=0`` picks a free port. One host per task hub and
    storage account at a time.
    """

    def __init__(
        self,
        app_module: str,
        *,
        storage_connection: str,
        port: int = 7071,
        task_hub: str | None = None,
        host_key: str | None = None,
        master_key: str | None = None,
        system_key: str | None = None,
        activity_workers: int | None = None,
        use_processes: bool = False,
        host: str = "127.0.0.1",
        app_root: str | Path | None = None,
        status_retry_after: int = 5,
        orchestrator_timeout: float = 60.0,
        function_timeout: float | None = None,
        batch_window: float = 0.01,
        payload_cap: int = 150_000,
        enable_timer_schedules: bool = True,
    ) -> None:
        if task_hub is not None:  # a devhost-only override (tests isolate themselves with it)
            check_hub_name(task_hub, why=" (the task_hub passed to FunctionsHost)")
        self.app_module = app_module
        self.storage_connection = storage_connection
        self._task_hub_override = task_hub
        self.task_hub = task_hub or ""
        self.host_key = host_key or os.environ.get("DEVHOST_HOST_KEY") or _new_key()
        self.master_key = master_key or os.environ.get("DEVHOST_MASTER_KEY") or _new_key()
        self.system_key = system_key or _new_key()
        self.function_keys: dict[str, str] = {}
        self.activity_workers = activity_workers
        self.use_processes = use_processes
        self.bind_host = host
        self.app_root = Path(app_root or os.getcwd()).resolve()
        self.status_retry_after = status_retry_after
        self.orchestrator_timeout = orchestrator_timeout
        self._function_timeout_override = function_timeout
        self.function_timeout: float | None = function_timeout
        self.batch_window = batch_window
        self.payload_cap = payload_cap
        self.enable_timer_schedules = enable_timer_schedules
        self._requested_port = port
        self.app: LoadedApp | None = None
        self.engine: Engine | None = None
        self.store: Store | None = None
        self.durable: DurableApi | None = None
        self._pool: ActivityPool | None = None
        self._scheduler: Scheduler | None = None
        self._public: HttpListener | None = None
        self._rpc: HttpListener | None = None
        self._timer_handles: dict[str, TimerHandle] = {}
        self._timer_running: set[str] = set()
        self._timer_lock = threading.Lock()
        self._started_at = time.monotonic()
        self._ports: tuple[int, int] | None = None
        self._running = False

    # -- public API -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The public base URL, ``http://127.0.0.1:PORT`` (kept after ``stop()``)."""
        if self._ports is None:
            raise RuntimeError("the host is not started")
        return f"http://{self.bind_host}:{self._ports[0]}"

    @property
    def port(self) -> int:
        return self._ports[0] if self._ports else self._requested_port

    @property
    def activity_pool_size(self) -> int:
        """How many activity threads (or processes) run at once."""
        if self._pool is None:
            raise RuntimeError("the host is not started")
        return self._pool.workers

    @property
    def rpc_base_url(self) -> str:
        """Where the durable client's own calls go (loopback, no key), as ``rpcBaseUrl``."""
        if self._ports is None:
            raise RuntimeError("the host is not started")
        return f"http://127.0.0.1:{self._ports[1]}{RPC_PATH}"

    def start(self) -> FunctionsHost:
        started = time.perf_counter()
        try:
            self._start()
        except BaseException:
            self._running = True
            self.stop(kill=True)
            raise
        assert self.app is not None and self._pool is not None
        log.info(
            "Functions host for %s listening on %s (task hub %s, %d activity %s; started in %s). "
            "Functions: %s",
            self.app_module,
            self.url,
            self.task_hub,
            self._pool.workers,
            "processes" if self.use_processes else "threads",
            _ms(started),
            ", ".join(sorted(self.app.functions)),
        )
        return self

    def _start(self) -> None:
        self.app = load_app(self.app_module, root=self.app_root)
        try:
            self.task_hub = self._task_hub_override or resolve_hub_name(self.app.host_json)
            if self._function_timeout_override is None:
                self.function_timeout = function_timeout(self.app.host_json)
            max_concurrent = max_concurrent_activities(self.app.host_json)
        except HostConfigError as exc:
            raise RuntimeError(f"The Functions host cannot start: {exc}") from exc
        for info in self.app.functions.values():
            self.function_keys.setdefault(info.name, _new_key())
            if info.error:
                log.error("The '%s' function is in error: %s", info.name, info.error)
        try:  # bind first: a busy port should fail before anything else starts
            self._public = HttpListener(
                self.bind_host, self._requested_port, self._handle_public, name="devhost-http"
            )
            self._rpc = HttpListener("127.0.0.1", 0, self._handle_rpc, name="devhost-rpc", keep_alive=False)
        except OSError as exc:
            raise RuntimeError(f"cannot listen on {self.bind_host}:{self._requested_port}: {exc}") from exc
        self._ports = (self._public.port, self._rpc.port)
        self._scheduler = Scheduler()
        self._scheduler.start()
        self.store = Store(self.storage_connection, self.task_hub)
        self.store.open()
        self._pool = ActivityPool(
            self.app_module,
            workers=self.activity_workers,
            use_processes=self.use_processes,
            payload_cap=self.payload_cap,
            paths=[str(self.app_root), *sys.path],
            function_timeout=self.function_timeout,
            max_concurrent=max_concurrent,
        )
        self._pool.start()
        self.engine = Engine(
            self.app,
            self.store,
            self._pool,
            self._scheduler,
            payload_cap=self.payload_cap,
            orchestrator_timeout=self.orchestrator_timeout,
            batch_window=self.batch_window,
        )
        self.durable = DurableApi(
            self.engine,
            task_hub=self.task_hub,
            key=self.system_key,
            status_retry_after=self.status_retry_after,
        )
        self._running = True
        self._rpc.start()
        self._public.start()
        self.engine.start()
        self._arm_timer_triggers()

    def stop(self, *, kill: bool = False) -> None:
        """Stop serving. ``kill=True`` imitates a crash: running activities die with their
        worker processes and writes still queued for storage are dropped."""
        if not self._running:
            return
        self._running = False
        for listener in (self._public, self._rpc):
            if listener:
                listener.close()
        self._public = self._rpc = None
        for handle in self._timer_handles.values():
            handle.cancel()
        if self.engine:
            self.engine.stop()
        if self._pool:
            self._pool.shutdown(kill=kill)
        if self.store:
            self.store.close(flush=not kill)
        if self._scheduler:
            self._scheduler.stop()
        close_client_session()
        log.info("Functions host stopped%s", " (killed)" if kill else "")

    def __enter__(self) -> FunctionsHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_idle(self, timeout: float = 30.0, *, include_timers: bool = True) -> bool:
        """Wait until no episode, activity, storage write (and, by default, durable timer) is
        pending. Instances waiting for an external event do not count. False on timeout."""
        assert self.engine is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.engine.idle(include_timers=include_timers):
                return True
            time.sleep(0.01)
        return False

    def client_binding(self) -> str:
        """The durable client binding JSON this host hands to ``durableClient`` parameters."""
        return json.dumps(client_binding(self.url, self.rpc_base_url, self.task_hub, self.system_key))

    def client(self) -> Any:
        """A ``DurableOrchestrationClient`` for this host; drive its coroutines with ``run()``."""
        import azure.durable_functions as df

        return df.DurableOrchestrationClient(self.client_binding())

    @staticmethod
    def run(coro: Coroutine[Any, Any, Any], timeout: float | None = 60.0) -> Any:
        """Run a coroutine on the worker event loop (the SDK's aiohttp session lives there)."""
        return run_coroutine(coro, timeout)

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """The DTFx history of an instance as stored in Azurite (after flushing writes)."""
        assert self.engine is not None and self.store is not None
        self.store.flush()
        inst = self.engine.get(instance_id)
        if inst is None:
            raise KeyError(instance_id)
        return self.store.load_history(instance_id, inst.history_count)

    def timers_running(self) -> set[str]:
        """The timer-triggered functions running now (on schedule or through the admin API)."""
        with self._timer_lock:
            return set(self._timer_running)

    def trigger(self, function_name: str, *, wait: bool = True) -> None:
        """Run a timer-triggered function now, as ``POST /admin/functions/{name}`` does."""
        assert self.app is not None
        thread = self._fire_timer(self.app.functions[function_name], False, None)
        if wait and thread is not None:
            thread.join()

    # -- HTTP: public port ------------------------------------------------------------------
    def key_role(self, query: dict[str, str], headers: dict[str, str]) -> str | None:
        """Which key a request carries: ``master``, ``host``, ``system:<name>``,
        ``function:<name>`` or None."""
        given = query.get("code") or next(
            (v for k, v in headers.items() if k.lower() == "x-functions-key"), ""
        )
        if not given:
            return None
        candidates = [("master", self.master_key), ("host", self.host_key)]
        candidates.append((f"system:{SYSTEM_KEY_NAME}", self.system_key))
        candidates += [(f"function:{name}", key) for name, key in self.function_keys.items()]
        found = None
        for role, key in candidates:  # compare with every key, in constant time each
            if hmac.compare_digest(given.encode(), key.encode()) and found is None:
                found = role
        return found

    def _allowed(self, role: str | None, *, level: str, function: str | None = None) -> bool:
        if level == "anonymous":
            return True
        if role is None:
            return False
        if role == "master":  # an Admin claim satisfies every level
            return True
        if level == "function":
            return role == "host" or role == f"function:{function}"
        if level == "system":
            return role == f"system:{SYSTEM_KEY_NAME}"
        return False  # admin: the master key only

    def _origin(self, headers: dict[str, str]) -> str:
        host = next((v for k, v in headers.items() if k.lower() == "host"), None)
        return f"http://{host}" if host else self.url

    def _handle_public(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        if not self._running:
            return Response(503)
        parts = urlsplit(target)
        path, query_string = parts.path, parts.query
        query = {k: v[0] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        assert self.app is not None and self.durable is not None
        if path == WEBHOOK_PATH or path.startswith(WEBHOOK_PATH + "/"):
            if not self._allowed(self.key_role(query, headers), level="system"):
                return Response(401)
            origin = self._origin(headers)
            lowered = {k.lower(): v for k, v in headers.items()}
            return self.durable.handle(
                method,
                path[len(WEBHOOK_PATH) :],
                query_string,
                lowered,
                body,
                origin=origin,
                request_url=origin + target,
            )
        if path == "/admin" or path.startswith("/admin/"):
            return self._admin(method, path, query, headers, body)
        prefix = f"/{self.app.route_prefix}" if self.app.route_prefix else ""
        if path == prefix or path.startswith(prefix + "/"):
            return self._http_function(method, target, path[len(prefix) :].lstrip("/"), query, headers, body)
        if path == "/" and method in ("GET", "HEAD"):
            return Response(
                200,
                b"Your Functions app is up and running (devhost).",
                {"Content-Type": "text/plain; charset=utf-8"},
            )
        return Response(404)

    def _http_function(
        self,
        method: str,
        target: str,
        relative: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> Response:
        assert self.app is not None
        match: tuple[FunctionInfo, dict[str, str]] | None = None
        for info in self.app.http_functions:
            if info.error or info.route is None:
                continue
            params = info.route.match(relative)
            if params is not None and method.upper() in info.methods:
                match = (info, params)
                break
        if match is None:
            return Response(404)
        info, params = match
        if not self._allowed(self.key_role(query, headers), level=info.auth_level, function=info.name):
            log.info(
                "HTTP %s /%s/%s -> %s: 401 (no valid key)", method, self.app.route_prefix, relative, info.name
            )
            return Response(401)
        started = time.perf_counter()
        origin = self._origin(headers)
        request = func.HttpRequest(
            method=method.upper(),
            url=origin + target,
            headers=headers,
            params=query,
            route_params=params,
            body=body,
        )
        try:
            result = self._invoke(info, request)
            response = self._to_response(info, result)
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed)", info.name)
            response = Response(500, b"Internal Server Error", {"Content-Type": "text/plain; charset=utf-8"})
        shown = f"{self.app.route_prefix}/{relative}".lstrip("/")
        log.info("HTTP %s /%s -> %s: %d (%s)", method, shown, info.name, response.status, _ms(started))
        return response

    def _invoke(self, info: FunctionInfo, trigger_value: Any) -> Any:
        context = Context(info.name, str(self.app_root))
        kwargs = build_kwargs(info, trigger_value, client_json=self._binding_for, context=context)
        return call(info, kwargs)

    def _binding_for(self, binding: dict[str, Any]) -> str:
        hub = binding.get("taskHub")
        if hub and hub != self.task_hub:
            log.warning(
                "durable client binding asks for task hub %r; the devhost serves only %r", hub, self.task_hub
            )
        return self.client_binding()

    @staticmethod
    def _to_response(info: FunctionInfo, result: Any) -> Response:
        if isinstance(result, func.HttpResponse):
            headers = {k: v for k, v in result.headers.items()}
            if not any(k.lower() == "content-type" for k in headers) and result.mimetype:
                headers["Content-Type"] = f"{result.mimetype}; charset={result.charset or 'utf-8'}"
            return Response(result.status_code, result.get_body() or b"", headers)
        if isinstance(result, str):
            return Response(200, result.encode(), {"Content-Type": "text/plain; charset=utf-8"})
        if isinstance(result, bytes | bytearray):
            return Response(200, bytes(result), {"Content-Type": "application/octet-stream"})
        if result is None:
            return Response(204)
        raise TypeError(
            f"function {info.name!r} returned {type(result).__name__}; return a func.HttpResponse"
        )

    # -- HTTP: admin API --------------------------------------------------------------------
    def _admin(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Response:
        assert self.app is not None
        if not self._allowed(self.key_role(query, headers), level="admin"):
            return Response(401)
        if path == "/admin/host/status" and method == "GET":
            return Response.json(
                200,
                {
                    "id": self.task_hub,
                    "state": "Running",
                    "version": "devhost",
                    "processUptime": int((time.monotonic() - self._started_at) * 1000),
                },
            )
        if path in ("/admin/functions", "/admin/functions/") and method == "GET":
            return Response.json(
                200,
                [
                    {"name": f.name, "trigger": f.trigger_type, "error": f.error}
                    for f in self.app.functions.values()
                ],
            )
        found = re.fullmatch(r"/admin/functions/([^/]+)", path)
        if found and method == "POST":
            info = self.app.functions.get(found.group(1))
            if info is None:
                return Response(404)
            if info.trigger_type != "timerTrigger":
                return Response.error(
                    400,
                    f"'{info.name}' has a {info.trigger_type}; the devhost invokes only "
                    "timer-triggered functions through the admin API",
                )
            self._fire_timer(info, False, None)
            return Response(202)
        return Response(404)

    # -- timers -----------------------------------------------------------------------------
    def _arm_timer_triggers(self) -> None:
        assert self.app is not None and self._scheduler is not None
        for info in self.app.timers.values():
            if info.error:
                continue
            try:
                schedule = CronSchedule(info.schedule or "")
            except ValueError as exc:
                info.error = str(exc)
                log.error("The '%s' function is in error: %s", info.name, exc)
                continue
            if info.run_on_startup:
                self._fire_timer(info, False, None)
            if self.enable_timer_schedules:
                self._arm_next(info, schedule, h.utcnow())

    def _arm_next(self, info: FunctionInfo, schedule: CronSchedule, after: datetime) -> None:
        assert self._scheduler is not None
        moment = schedule.next_after(after)
        if moment is None or not self._running:
            return

        def fire() -> None:
            self._arm_next(info, schedule, moment)
            past_due = (h.utcnow() - moment).total_seconds() > 5
            self._fire_timer(info, past_due, moment)

        self._timer_handles[info.name] = self._scheduler.call_at(moment.timestamp(), fire)
        log.debug("timer %s next fires at %s", info.name, h.iso(moment))

    def _fire_timer(
        self, info: FunctionInfo, past_due: bool, scheduled: datetime | None
    ) -> threading.Thread | None:
        """Run a timer-triggered function in its own thread (the scheduler must not wait);
        None, and nothing run, while the function is still running from an earlier occurrence.
        It counts as running from here on, so ``timers_running`` sees an admin-API invocation
        as soon as the 202 is answered."""
        with self._timer_lock:
            if info.name in self._timer_running:
                log.warning("timer %s is still running; skipping this occurrence", info.name)
                return None
            self._timer_running.add(info.name)
        thread = threading.Thread(
            target=self._run_timer,
            args=(info, past_due, scheduled),
            daemon=True,
            name=f"devhost-timer-{info.name}",
        )
        thread.start()
        return thread

    def _run_timer(self, info: FunctionInfo, past_due: bool, scheduled: datetime | None) -> None:
        """Run a claimed timer function (``_fire_timer``) and release it."""
        started = time.perf_counter()
        invocation = str(uuid.uuid4())
        try:
            log.info(
                "Executing 'Functions.%s' (Reason='%s', Id=%s)",
                info.name,
                "Timer fired" if scheduled else "Invoked through the admin API",
                invocation,
            )
            self._invoke(info, timer_request(past_due, scheduled))
            log.info(
                "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%s)", info.name, invocation, _ms(started)
            )
        except UnsupportedBinding as exc:
            log.error("Executed 'Functions.%s' (Failed): %s", info.name, exc)
        except Exception:
            log.exception(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%s)", info.name, invocation, _ms(started)
            )
        finally:
            with self._timer_lock:
                self._timer_running.discard(info.name)

    # -- HTTP: RPC port ---------------------------------------------------------------------
    def _handle_rpc(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        if not self._running:
            return Response(503)
        assert self.durable is not None
        parts = urlsplit(target)
        if not parts.path.startswith(RPC_PATH):
            return Response(404)
        lowered = {k.lower(): v for k, v in headers.items()}
        return self.durable.handle(
            method,
            parts.path[len(RPC_PATH) :],
            parts.query,
            lowered,
            body,
            origin=self.url,
            request_url=self.rpc_base_url.removesuffix(RPC_PATH) + target,
        )
