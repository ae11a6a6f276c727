"""Conformance: Microsoft's Python worker indexes the app, with its own code.

In Azure, the Python worker indexes a v2 app when it starts, and one function it refuses fails
the whole app: the host then runs nothing. devhost is our code, so these tests run the worker's:
azure-functions-runtime (pinned in requirements-worker.txt, installed by ``make setup`` into
``.tools/worker``; it declares Python 3.13+, its indexing is pure Python). In a fresh process
(tests/conformance/worker_harness.py) the app is imported by ``loader.index_function_app``,
every function goes through ``functions.Registry.add_indexed_function``, and the whole list
through ``loader.process_indexed_function``, as the worker's start-up does
(``azure_functions_runtime/handle_event.py``: ``worker_init_request`` -> ``index_functions``).

The only stand-in is the ``protos`` object those functions are handed:
``devhost.functions_host.worker_index.PROTOS`` supplies what they read of the worker's gRPC
module, namely ``BindingInfo``'s enum values (``out``, ``inout``, ``undefined``, as numbered in
the host's FunctionRpc.proto) and plain constructors for the ``BindingInfo``,
``RpcFunctionMetadata`` and ``RpcRetryOptions`` messages. Nothing of the checks is replaced.

Python 3.11 apps run on the 4.x worker (Azure/azure-functions-python-worker), not on
azure-functions-runtime. Its checks are the same code (read at commit 7e6acf36):
``azure_functions_worker/loader.py`` ``index_function_app`` imports the script and takes its
one ``FunctionRegister``; ``azure_functions_worker/functions.py``
``Registry.add_indexed_function`` reads the annotations with ``typing.get_type_hints`` and
``validate_function_params`` refuses a parameter annotation that is neither a ``type`` nor a
``typing`` generic ("binding NAME has invalid non-type annotation ..."), and
``get_function_return_type`` a bound return annotation that is not a ``type``, with the same
wording as azure_functions_runtime/functions.py. The differences are outside these checks: the
4.x worker imports its ``protos`` module instead of taking it as an argument, and words the
parameter/binding mismatch messages a little differently.
"""

# The cases below spell annotations the way the worker refuses or accepts them, typing's old
# forms included, so pyupgrade's rules do not apply to this module.
# ruff: noqa: UP006, UP007, UP045

from __future__ import annotations

import typing
from collections.abc import Callable
from functools import partial
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from devhost.functions_host import worker_index
from devhost.functions_host.app_loader import AppLoadError, load_app
from devhost.functions_host.worker_index import Worker
from tests.devhost.toy_bad_annotation import WORKER_MESSAGE

from .conftest import ROOT, index_with_worker

pytestmark = pytest.mark.conformance


def test_every_function_of_the_app_loads(indexed_app: dict[str, Any]) -> None:
    refused = {f["name"]: f["error"] for f in indexed_app["functions"] if f["error"]}
    assert refused == {}
    assert indexed_app["error"] is None
    names = [f["name"] for f in indexed_app["functions"]]
    assert [m["name"] for m in indexed_app["metadata"]] == names


def test_the_worker_sees_every_kind_of_function(indexed_app: dict[str, Any]) -> None:
    types = {b["type"] for f in indexed_app["functions"] for b in f["bindings"]}
    assert {"httpTrigger", "durableClient", "orchestrationTrigger", "activityTrigger"} <= types


def test_devhost_serves_the_functions_the_worker_indexes(indexed_app: dict[str, Any]) -> None:
    assert sorted(load_app("function_app").functions) == sorted(f["name"] for f in indexed_app["functions"])


def test_the_devhost_toy_app_loads_on_the_worker(worker: Worker) -> None:
    indexed = index_with_worker(ROOT / "tests" / "devhost", "toy_app.py")
    assert indexed["error"] is None
    assert [f for f in indexed["functions"] if f["error"]] == []


def test_the_worker_refuses_a_pep_585_annotation(worker: Worker) -> None:
    indexed = index_with_worker(ROOT / "tests" / "devhost", "toy_bad_annotation.py")
    assert {f["name"]: f["error"] for f in indexed["functions"]} == {
        "toy_orchestrator": None,
        "annotated_wrongly": WORKER_MESSAGE,
    }
    assert indexed["error"] == WORKER_MESSAGE  # so the worker indexes nothing of that app


def test_devhost_refuses_it_with_the_workers_message(worker: Worker) -> None:
    assert worker_index.installed_worker() is worker  # devhost runs the worker's own Registry
    with pytest.raises(AppLoadError) as refused:
        load_app("tests.devhost.toy_bad_annotation")
    assert str(refused.value) == WORKER_MESSAGE


# -- devhost's own copy of the rules (used without .tools/worker) says what the worker says --
def _activity(annotation: Any) -> Any:
    def activity(payload):
        return payload

    activity.__annotations__ = {"payload": annotation}
    app = df.DFApp()
    app.activity_trigger(input_name="payload")(activity)
    return app.get_functions()[0]


def _http(returns: Any, *, out: Any = None) -> Any:
    def route(req: func.HttpRequest, msg):
        return func.HttpResponse("ok")

    route.__annotations__.update({"return": returns, "msg": out or func.Out[str]})
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.route(route="x")(app.queue_output(arg_name="msg", queue_name="q", connection="QUEUE")(route))
    return app.get_functions()[0]


def _signature(kind: str) -> Any:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    def extra(req: func.HttpRequest, other: int) -> func.HttpResponse:
        return func.HttpResponse("ok")

    def context_int(req: func.HttpRequest, context: int) -> func.HttpResponse:
        return func.HttpResponse("ok")

    def context_ok(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        return func.HttpResponse("ok")

    def no_parameter() -> None:
        return None

    if kind == "unbound binding":
        df_app = df.DFApp()
        df_app.activity_trigger(input_name="payload")(no_parameter)
        return df_app.get_functions()[0]
    app.route(route="x")({"extra": extra, "context int": context_int, "context ok": context_ok}[kind])
    return app.get_functions()[0]


CASES: dict[str, Callable[[], Any]] = {
    **{
        f"param {a!r}": partial(_activity, a)
        for a in [
            dict,
            typing.Dict[str, Any],
            typing.Dict,
            typing.List[int],
            typing.Mapping[str, int],
            typing.Any,
            str,
            bytes,
            object,
            None,
            typing.Literal["a"],
            typing.Annotated[int, "x"],
            dict[str, Any],
            list[int],
            dict | None,
            typing.Optional[dict],
            typing.Union[int, str],
            typing.Tuple[int],
            typing.Callable[[int], int],
            "Undefined",
        ]
    },
    **{
        f"return {r!r}": partial(_http, r)
        for r in [func.HttpResponse, str, dict[str, Any], typing.Optional[func.HttpResponse]]
    },
    "Out[str]": lambda: _http(func.HttpResponse, out=func.Out[str]),
    "Out[dict[str, Any]]": lambda: _http(func.HttpResponse, out=func.Out[dict[str, Any]]),
    "bare Out": lambda: _http(func.HttpResponse, out=func.Out),
    **{kind: partial(_signature, kind) for kind in ["extra", "context int", "context ok", "unbound binding"]},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_devhosts_own_rules_agree_with_the_worker(worker: Worker, case: str) -> None:
    expected = worker_index.refusal(CASES[case](), worker=worker)
    assert worker_index.refusal(CASES[case](), worker=None) == expected
