"""devhost's app loader refuses an app the Python worker would refuse, with the worker's message.

These run without the worker's code: they pin devhost's own copy of the worker's rules
(``devhost/functions_host/worker_index.py``), which it uses when ``.tools/worker`` is missing.
tests/conformance checks the same toy app, and these rules, against the worker itself.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from devhost.functions_host import FunctionsHost, worker_index
from devhost.functions_host.app_loader import AppLoadError, app_functions, load_app
from tests.devhost.toy_bad_annotation import WORKER_MESSAGE

BAD_APP = "tests.devhost.toy_bad_annotation"


@pytest.fixture
def without_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_index, "installed_worker", lambda tools=None: None)


def activity_with(annotation: Any) -> Any:
    def activity(payload):
        return payload

    activity.__annotations__ = {"payload": annotation}
    app = df.DFApp()
    app.activity_trigger(input_name="payload")(activity)
    return app.get_functions()[0]


def http_returning(annotation: Any) -> Any:
    def route(req: func.HttpRequest):
        return func.HttpResponse("ok")

    route.__annotations__["return"] = annotation
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.route(route="x")(route)
    return app.get_functions()[0]


def own_rule(fn: Any) -> str | None:
    return worker_index.refusal(fn, worker=None)


def test_devhost_refuses_the_toy_app_with_the_workers_message(without_worker: None) -> None:
    with pytest.raises(AppLoadError) as refused:
        load_app(BAD_APP)
    assert str(refused.value) == WORKER_MESSAGE


def test_a_host_with_that_app_does_not_start(without_worker: None) -> None:
    host = FunctionsHost(BAD_APP, storage_connection="UseDevelopmentStorage=true", port=0)
    with pytest.raises(AppLoadError, match="invalid non-type annotation"):
        host.start()


def test_the_app_and_the_toy_app_pass_devhosts_rules() -> None:
    for module in ("function_app", "tests.devhost.toy_app"):
        loaded = load_app(module)
        assert worker_index.app_refusals(app_functions(loaded.app), worker=None) == []


@pytest.mark.parametrize(
    "annotation",
    [dict, typing.Dict[str, Any], typing.Dict, typing.List[int], typing.Any, str, object],  # noqa: UP006
)
def test_classes_and_typing_generics_are_accepted(annotation: Any) -> None:
    assert own_rule(activity_with(annotation)) is None


@pytest.mark.parametrize(
    ("annotation", "shown"),
    [
        (dict[str, Any], "dict[str, typing.Any]"),
        (list[int], "list[int]"),
        (dict | None, "dict | None"),
        (typing.Optional[dict], "typing.Optional[dict]"),  # noqa: UP045 - the worker refuses these
        (typing.Union[int, str], "typing.Union[int, str]"),  # noqa: UP007
    ],
)
def test_other_annotations_are_refused_as_the_worker_words_it(annotation: Any, shown: str) -> None:
    assert own_rule(activity_with(annotation)) == (
        f"cannot load the activity function: binding payload has invalid non-type annotation {shown}"
    )


def test_a_bound_return_needs_a_class() -> None:
    assert own_rule(http_returning(func.HttpResponse)) is None
    assert own_rule(http_returning(dict[str, Any])) == (
        "cannot load the route function: has invalid non-type return annotation dict[str, typing.Any]"
    )


def test_parameters_and_bindings_must_match() -> None:
    def extra(req: func.HttpRequest, other: int) -> func.HttpResponse:
        return func.HttpResponse("ok")

    def unbound() -> None:
        return None

    def build(register: Callable[[Any], Any], function: Any) -> Any:
        register(function)
        return app.get_functions()[0]

    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    assert own_rule(build(app.route(route="x"), extra)) == (
        "cannot load the extra function: the following parameters are declared in Python but not in "
        "the function definition (function.json or function decorators):  {'other'}"
    )
    app = df.DFApp()
    assert own_rule(build(app.activity_trigger(input_name="payload"), unbound)) == (
        "cannot load the unbound function: Extra parameters in binding definition \u2014 the following "
        "parameters are declared as bindings but are not present in Python: {'payload'}"
    )
