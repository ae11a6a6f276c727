"""Load a Python v2 programming-model app and index its functions as the worker would.

``load_app("function_app")`` imports the module, takes its ``app`` (a ``df.DFApp`` or any
``FunctionRegister``) and reads ``app.get_functions()``: each function's name, trigger and
bindings from its function.json representation, and the user callable from
``get_user_function()`` (for an orchestration trigger that is the SDK's ``handle(context)``).
``%SETTING%`` values in binding properties are resolved from the environment.

Before that, every function goes through the Python worker's indexing rules
(``worker_index``: the worker's own ``Registry`` from ``.tools/worker`` when ``make setup`` has
installed it): an app the worker would refuse is refused here too, with the worker's message.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import worker_index
from .host_config import HostConfigError, read_host_json
from .routes import RouteTemplate, compile_route, precedence_key

_SETTING = re.compile(r"%([^%]+)%")
ALL_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"})


_FUNCTIONS: dict[int, tuple[Any, list[Any]]] = {}


def app_functions(app: Any) -> list[Any]:
    """``app.get_functions()``, once per app object: a second call raises (it re-validates the
    names it registered the first time and finds them duplicated)."""
    cached = _FUNCTIONS.get(id(app))
    if cached is None or cached[0] is not app:
        cached = (app, list(app.get_functions()))
        _FUNCTIONS[id(app)] = cached
    return cached[1]


class AppLoadError(Exception):
    """The app cannot be loaded or indexed."""


def resolve_settings(value: str, *, what: str) -> str:
    """Replace ``%NAME%`` with the app setting (environment variable) NAME."""

    def replace(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in os.environ:
            raise AppLoadError(
                f"{what}: '%{name}%' does not resolve to a value (app setting {name} is not set)"
            )
        return os.environ[name]

    return _SETTING.sub(replace, value)


@dataclass
class FunctionInfo:
    name: str
    trigger_type: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    func: Callable[..., Any]
    is_async: bool
    parameters: list[str]
    client_bindings: list[dict[str, Any]] = field(default_factory=list)
    # HTTP
    route: RouteTemplate | None = None
    methods: frozenset[str] = ALL_METHODS
    auth_level: str = "function"
    # timer
    schedule: str | None = None
    run_on_startup: bool = False
    error: str | None = None

    @property
    def trigger_param(self) -> str:
        return self.trigger["name"]

    @property
    def durable_name(self) -> str:
        return str(self.trigger.get("orchestration") or self.trigger.get("activity") or self.name)


@dataclass
class LoadedApp:
    module_name: str
    module: Any
    app: Any
    root: Path
    functions: dict[str, FunctionInfo]
    route_prefix: str
    host_json: dict[str, Any] = field(default_factory=dict)

    @property
    def http_functions(self) -> list[FunctionInfo]:
        routes = [
            (f, f.route) for f in self.functions.values() if f.trigger_type == "httpTrigger" and f.route
        ]
        return [f for f, _ in sorted(routes, key=lambda pair: precedence_key(pair[1]))]

    def of_type(self, trigger_type: str) -> dict[str, FunctionInfo]:
        return {n: f for n, f in self.functions.items() if f.trigger_type == trigger_type}

    @property
    def orchestrators(self) -> dict[str, FunctionInfo]:
        """By the name clients and orchestrators use: the trigger's ``orchestration`` property
        when set (as the Durable extension does), else the function name."""
        return {f.durable_name: f for f in self.of_type("orchestrationTrigger").values()}

    @property
    def activities(self) -> dict[str, FunctionInfo]:
        """By the trigger's ``activity`` property when set, else the function name."""
        return {f.durable_name: f for f in self.of_type("activityTrigger").values()}

    @property
    def timers(self) -> dict[str, FunctionInfo]:
        return self.of_type("timerTrigger")


def _parameters(func: Callable[..., Any]) -> list[str]:
    try:
        return list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return []


def _route_prefix(config: dict[str, Any]) -> str:
    prefix = (config.get("extensions") or {}).get("http", {}).get("routePrefix")
    return "api" if prefix is None else str(prefix).strip("/")


def index_function(fn: Any) -> FunctionInfo:
    raw = json.loads(fn.get_function_json())
    bindings = raw.get("bindings", [])
    trigger = next((b for b in bindings if b.get("type", "").endswith("Trigger")), None)
    if trigger is None:
        raise AppLoadError(f"function {fn.get_function_name()!r} has no trigger")
    func = fn.get_user_function()
    info = FunctionInfo(
        name=fn.get_function_name(),
        trigger_type=trigger["type"],
        trigger=trigger,
        bindings=bindings,
        func=func,
        is_async=inspect.iscoroutinefunction(func),
        parameters=_parameters(func),
        client_bindings=[b for b in bindings if b.get("type") == "durableClient"],
    )
    try:
        if info.trigger_type == "httpTrigger":
            info.route = compile_route(resolve_settings(trigger.get("route") or info.name, what=info.name))
            methods = trigger.get("methods")
            info.methods = frozenset(str(m).upper() for m in methods) if methods else ALL_METHODS
            info.auth_level = str(trigger.get("authLevel") or "function").lower()
        elif info.trigger_type == "timerTrigger":
            info.schedule = resolve_settings(str(trigger.get("schedule") or ""), what=info.name)
            info.run_on_startup = bool(trigger.get("runOnStartup"))
    except (AppLoadError, ValueError) as exc:
        info.error = str(exc)
    return info


def load_app(module_name: str, *, app_attr: str = "app", root: str | Path | None = None) -> LoadedApp:
    """Import ``module_name`` (with ``root``, default the current directory, on sys.path)."""
    root_path = Path(root or os.getcwd()).resolve()
    if str(root_path) not in sys.path:
        sys.path.insert(0, str(root_path))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise AppLoadError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from exc
    app = getattr(module, app_attr, None)
    if app is None or not hasattr(app, "get_functions"):
        raise AppLoadError(f"{module_name!r} has no function app named {app_attr!r}")
    # In Azure one function the worker refuses fails the indexing of the whole app.
    worker = worker_index.installed_worker()
    refused = worker_index.app_refusals(app_functions(app), worker=worker)
    if refused:
        raise AppLoadError("\n".join(refused))
    functions: dict[str, FunctionInfo] = {}
    for fn in app_functions(app):
        info = index_function(fn)
        if info.name in functions:
            raise AppLoadError(f"two functions are named {info.name!r}")
        functions[info.name] = info
    module_file = getattr(module, "__file__", None)
    folders = [Path(module_file).resolve().parent] if module_file else []
    try:
        config = read_host_json(*folders, root_path)
    except HostConfigError as exc:
        raise AppLoadError(str(exc)) from exc
    return LoadedApp(module_name, module, app, root_path, functions, _route_prefix(config), config)
