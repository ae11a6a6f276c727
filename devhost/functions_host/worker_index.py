"""What the Python worker refuses when it indexes a v2 app, so devhost refuses it too.

When a Python v2 app starts in Azure, the Python worker indexes it: it imports ``function_app``,
takes its one ``FunctionRegister`` and hands every function to ``Registry.add_indexed_function``
(Azure/azure-functions-python-worker, ``azure_functions_worker/loader.py`` and
``azure_functions_worker/functions.py``: the worker that runs Python 3.11 apps; the same code
ships on PyPI as azure-functions-runtime, ``azure_functions_runtime/loader.py`` and
``functions.py``, for 3.13+). A function the registry refuses fails the indexing of the whole
app, and the host then runs none of its functions.

``make setup`` installs azure-functions-runtime (pinned in ``requirements-worker.txt``) into
``.tools/worker``. When it is there, :func:`refusal` runs the worker's own ``Registry``; devhost
only supplies :data:`PROTOS`, the few gRPC message types and enum values the registry reads.
When it is not, devhost checks the worker's rules itself, with the worker's messages
(``Registry.validate_function_params``, ``get_function_return_type`` and
``is_context_required`` in those ``functions.py`` files):

- every parameter is bound, every binding (but ``$return``) has a parameter, and an unbound
  ``context`` parameter is annotated as ``azure.functions.Context`` (or not at all);
- a parameter's annotation, as ``typing.get_type_hints`` resolves it, is a class or a
  ``typing`` generic (``dict``, ``typing.Dict[str, Any]``, ``typing.List[int]``). A PEP 585
  alias (``dict[str, Any]``), ``X | None``, ``Optional[X]``, ``Union``, ``Tuple[...]`` and
  ``Callable[...]`` are refused: "binding payload has invalid non-type annotation ...";
- when the return value is bound (``$return``, as for HTTP functions), the return annotation
  is a class: "has invalid non-type return annotation ...".

Without the worker devhost does not check whether an annotation suits its binding's converter
(``-> dict`` on an HTTP function, say); the worker does.
"""

from __future__ import annotations

import collections.abc
import inspect
import logging
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

log = logging.getLogger("devhost.functions_host")

WORKER_TOOLS = Path(__file__).resolve().parents[2] / ".tools" / "worker"


class _Message:
    """A gRPC message as the worker builds one: keyword fields, read back as attributes."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__!r})"


class _BindingInfo(_Message):
    # BindingInfo.Direction and BindingInfo.DataType in the host's FunctionRpc.proto
    # (azure_functions_worker/protos/_src/src/proto/FunctionRpc.proto); azure.functions'
    # BindingDirection and DataType use the same numbers.
    out = 1
    inout = 2
    undefined = 0


#: What ``Registry.add_indexed_function`` and ``loader.process_indexed_function`` read from the
#: worker's ``protos`` module; the real one is generated from FunctionRpc.proto.
PROTOS = SimpleNamespace(
    BindingInfo=_BindingInfo,
    RpcFunctionMetadata=type("RpcFunctionMetadata", (_Message,), {}),
    RpcRetryOptions=type("RpcRetryOptions", (_Message,), {}),
)


@dataclass(frozen=True)
class Worker:
    """The worker's indexing code, imported from the tools folder."""

    version: str
    registry: type
    load_error: type
    loader: ModuleType


_installed: dict[Path, Worker] = {}
_warned: set[Path] = set()


def installed_worker(tools: Path | None = None) -> Worker | None:
    """azure-functions-runtime from ``tools`` (``.tools/worker``), imported once; ``None`` when
    ``make setup`` has not installed it. The folder goes at the end of ``sys.path``, after the
    app's own packages, as the worker's packages are in Azure."""
    tools = tools or WORKER_TOOLS
    if tools in _installed:
        return _installed[tools]
    if not (tools / "azure_functions_runtime" / "functions.py").is_file():
        if tools not in _warned:
            _warned.add(tools)
            log.warning(
                "The Python worker's indexing code is not in %s (make setup installs it): devhost checks "
                "the worker's annotation rules itself, but not the binding converters' type checks",
                tools,
            )
        return None
    if str(tools) not in sys.path:
        sys.path.append(str(tools))
    from azure_functions_runtime import functions, loader
    from azure_functions_runtime.bindings import meta
    from azure_functions_runtime.version import VERSION

    meta.load_binding_registry()  # what the worker does on its init request, before indexing
    worker = Worker(VERSION, functions.Registry, functions.FunctionLoadError, loader)
    _installed[tools] = worker
    return worker


class FunctionLoadError(RuntimeError):
    """The worker's refusal, worded as the worker words it."""

    def __init__(self, function_name: str, message: str) -> None:
        super().__init__(f"cannot load the {function_name} function: {message}")


def refusal(fn: Any, *, worker: Worker | None) -> str | None:
    """Why the worker refuses to index ``fn`` (an ``azure.functions`` function builder's
    ``Function``), in the worker's words; ``None`` when it indexes it. With ``worker`` the
    worker's own ``Registry`` decides, else devhost's copy of its rules."""
    refused: tuple[type[BaseException], ...] = (FunctionLoadError,) + ((worker.load_error,) if worker else ())
    try:
        if worker is not None:
            worker.registry().add_indexed_function(fn, PROTOS)
        else:
            _check(fn)
    except refused as exc:
        return str(exc)
    except Exception as exc:  # e.g. get_type_hints on a name it cannot resolve: fails the worker too
        return f"cannot index the {fn.get_function_name()} function: {type(exc).__name__}: {exc}"
    return None


def app_refusals(functions: list[Any], *, worker: Worker | None) -> list[str]:
    return [reason for fn in functions if (reason := refusal(fn, worker=worker))]


# -- devhost's copy of the worker's rules (used when .tools/worker is missing) ------------------
# The classes of typing's generic aliases (typing.List[int], typing.List); the PEP 585 kind is
# another class, and that is the whole point.
_TYPING_GENERICS = (type(typing.List[int]), type(typing.List))  # noqa: UP006
_NOT_GENERIC_ORIGINS = (typing.Union, tuple, typing.ClassVar, collections.abc.Callable)


def _is_type_or_typing_generic(annotation: Any) -> bool:
    if isinstance(annotation, type):
        return True
    return (
        isinstance(annotation, _TYPING_GENERICS)
        and getattr(annotation, "__origin__", None) not in _NOT_GENERIC_ORIGINS
    )


def _is_out(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return isinstance(origin, type) and origin.__name__ == "Out"


def _check(fn: Any) -> None:
    name = fn.get_function_name()
    func = fn.get_user_function()
    params = dict(inspect.signature(func).parameters)
    hints = typing.get_type_hints(func)
    bindings = list(fn.get_bindings())
    bound = {b.name for b in bindings if b.name != "$return"}
    returns_bound = any(b.name == "$return" for b in bindings)

    if "context" in params and "context" not in bound:
        params.pop("context")
        context = hints.get("context")
        if "context" in hints and not (isinstance(context, type) and context.__name__ == "Context"):
            expected = 'the "context" parameter is expected to be of type azure.functions.Context'
            raise FunctionLoadError(name, f'{expected}, got "{context!r}"')
    if set(params) - bound:
        raise FunctionLoadError(
            name,
            "the following parameters are declared in Python but not in the function definition "
            f"(function.json or function decorators):  {set(params) - bound!r}",
        )
    if bound - set(params):
        raise FunctionLoadError(
            name,
            "Extra parameters in binding definition \u2014 the following parameters are declared as "
            f"bindings but are not present in Python: {bound - set(params)!r}",
        )
    for param in params:
        if param not in hints:
            continue
        annotation = checked = hints[param]
        if _is_out(annotation) or (isinstance(annotation, type) and annotation.__name__ == "Out"):
            if len(typing.get_args(annotation)) != 1:
                raise FunctionLoadError(name, f"binding {param} has invalid Out annotation {annotation!r}")
            checked = typing.get_args(annotation)[0]
        if not _is_type_or_typing_generic(checked):
            raise FunctionLoadError(name, f"binding {param} has invalid non-type annotation {annotation!r}")
    if returns_bound and "return" in hints:
        annotation = hints["return"]
        if _is_out(annotation):
            raise FunctionLoadError(name, "return annotation should not be azure.functions.Out")
        if not isinstance(annotation, type):
            raise FunctionLoadError(name, f"has invalid non-type return annotation {annotation!r}")
