"""The OpenAPI definition (openapi/): it is valid Swagger 2.0, it is what its source builds, it
names every route the app registers and nothing else, it follows the custom-connector
conventions Logic Apps and Power Automate import by, its error body is the one the app answers,
and ``GET /api/openapi.json`` serves it with the host from the public base URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import jsonschema
import pytest
from openapi_spec_validator import OpenAPIV2SpecValidator

from openapi.__main__ import FILE, build, render
from shared.settings import reset_settings

# Routes the definition describes that the app does not register yet: they are being added
# beside this work (openapi/pending.py). Empty this set as each lands; the route test fails
# for an entry that is registered by then, so the set cannot go stale.
NOT_YET_REGISTERED: set[tuple[str, str]] = set()
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
VISIBILITIES = {"important", "advanced", "internal", "none"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(FILE.read_text(encoding="utf-8"))


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def registered_routes() -> dict[tuple[str, str], str]:
    """(path, method) -> auth level, for every HTTP route of ``function_app`` as the host indexes it."""
    from devhost.functions_host.app_loader import load_app

    app = load_app("function_app")
    routes = {}
    for info in app.http_functions:
        assert info.error is None, (info.name, info.error)
        for method in info.methods:
            routes[("/" + info.trigger["route"], method.lower())] = info.auth_level
    return routes


# -- the file ------------------------------------------------------------------------------------


def test_the_committed_file_is_what_the_source_builds() -> None:
    assert FILE.read_text(encoding="utf-8") == render(), "run `python -m openapi` and commit the file"


def test_it_is_valid_swagger_2(document: dict[str, Any]) -> None:
    OpenAPIV2SpecValidator(document).validate()
    assert document["swagger"] == "2.0"
    assert "host" not in document and "schemes" not in document  # filled in when served
    assert document["basePath"] == "/api"


def test_no_definition_is_left_unused(document: dict[str, Any]) -> None:
    text = json.dumps(document["paths"]) + json.dumps(document["definitions"])
    unused = [name for name in document["definitions"] if f'"#/definitions/{name}"' not in text]
    assert unused == []


# -- routes --------------------------------------------------------------------------------------


def test_every_registered_route_is_described_and_nothing_else() -> None:
    routes = registered_routes()
    described = {(path, method) for path, method, _ in operations(build())}
    assert sorted(NOT_YET_REGISTERED & set(routes)) == [], "registered now: remove from NOT_YET_REGISTERED"
    assert sorted(set(routes) - described) == [], "registered but not in the definition"
    assert sorted(described - set(routes) - NOT_YET_REGISTERED) == [], "in the definition, not registered"


def test_anonymous_routes_and_only_those_declare_no_security(document: dict[str, Any]) -> None:
    routes = registered_routes()
    for path, method, op in operations(document):
        if (path, method) in NOT_YET_REGISTERED:
            assert "security" not in op
            continue
        anonymous = routes[(path, method)] == "anonymous"
        assert ("security" in op) == anonymous, (path, method)
        if anonymous:
            assert op["security"] == [] and "401" not in op["responses"]
        else:
            assert op["responses"]["401"] == {"$ref": "#/responses/Unauthorized"}


# -- connector conventions -----------------------------------------------------------------------


def test_every_operation_and_parameter_is_named_for_a_flow_designer(document: dict[str, Any]) -> None:
    ids = []
    for path, method, op in operations(document):
        where = f"{method.upper()} {path}"
        ids.append(op["operationId"])
        assert op["operationId"].isidentifier() and op["operationId"][0].isupper(), where
        for key in ("summary", "description", "x-ms-summary"):
            assert op.get(key), (where, key)
        assert len(op["summary"]) <= 80, where  # the connector importer's limit
        assert op["responses"], where
        for parameter in op["parameters"]:
            assert parameter.get("x-ms-summary") and parameter.get("description"), (where, parameter["name"])
    assert len(ids) == len(set(ids)), "operation ids must be unique"


def test_visibility_values_are_the_ones_the_designer_knows(document: dict[str, Any]) -> None:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "x-ms-visibility" in node:
                found.append(node["x-ms-visibility"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert found and set(found) <= VISIBILITIES
    assert {"important", "advanced", "internal"} <= set(found)


def _nodes_with(node: Any, key: str) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if key in node:
            yield node
        for value in node.values():
            yield from _nodes_with(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes_with(value, key)


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_every_picker_lists_values_from_an_operation_that_has_them(document: dict[str, Any]) -> None:
    by_id = {op["operationId"]: (method, op) for _, method, op in operations(document)}
    pickers = [node["x-ms-dynamic-values"] for node in _nodes_with(document, "x-ms-dynamic-values")]
    assert len(pickers) >= 5  # every place a customer id is asked for
    for picker in pickers:
        method, op = by_id[picker["operationId"]]
        assert method == "get" and [p for p in op["parameters"] if p["required"]] == []
        answer = _resolve(document, op["responses"]["200"]["schema"])
        items = _resolve(document, answer["properties"][picker["value-collection"]]["items"])
        assert {picker["value-path"], picker["value-title"]} <= set(items["properties"])


def test_the_connection_test_is_an_authenticated_get(document: dict[str, Any]) -> None:
    capability = document["x-ms-capabilities"]["testConnection"]
    matches = [
        (p, m, op) for p, m, op in operations(document) if op["operationId"] == capability["operationId"]
    ]
    assert len(matches) == 1
    path, method, op = matches[0]
    assert method == "get"
    assert "security" not in op and document["security"] == [{"functionKey": []}]  # the key is needed
    assert op["x-ms-visibility"] == "internal"
    assert [p for p in op["parameters"] if p["required"]] == []
    assert registered_routes()[(path, method)] == "function"


def test_the_function_key_is_the_security_definition(document: dict[str, Any]) -> None:
    assert document["securityDefinitions"] == {
        "functionKey": {
            "type": "apiKey",
            "in": "header",
            "name": "x-functions-key",
            "description": document["securityDefinitions"]["functionKey"]["description"],
        }
    }
    assert "`code` query parameter" in document["securityDefinitions"]["functionKey"]["description"]


@pytest.mark.parametrize("path", ["/reports", "/reports/csv"])
def test_starting_a_report_is_long_running_with_202_and_location(document: dict[str, Any], path: str) -> None:
    op = document["paths"][path]["post"]
    assert op["x-ms-long-running-operation"] is True
    codes = set(op["responses"])
    assert "202" in codes and "201" not in codes  # a 201 stops Logic Apps from polling
    # The final result (what polling ends with) is the report, for the designer's outputs.
    assert op["responses"]["200"]["schema"] == {"$ref": "#/definitions/Report"}
    headers = op["responses"]["202"]["headers"]
    assert headers["Location"]["type"] == "string" and headers["Retry-After"]["type"] == "integer"
    assert op["responses"]["202"]["schema"] == {"$ref": "#/definitions/ReportStarted"}


def test_the_report_answers_202_while_it_runs_and_200_when_done(document: dict[str, Any]) -> None:
    for path in ("/reports/{reportId}", "/links/reports/{reportId}"):
        responses = document["paths"][path]["get"]["responses"]
        assert set(responses["202"]["headers"]) == {"Location", "Retry-After"}
        assert responses["202"]["schema"] == responses["200"]["schema"] == {"$ref": "#/definitions/Report"}


def test_every_json_answer_has_a_schema_and_every_4xx_is_the_error_body(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        for code, response in op["responses"].items():
            where = f"{method.upper()} {path} {code}"
            if code in ("204", "302") or "$ref" in response:
                assert "schema" not in response, where
                continue
            assert "schema" in response, where
            if code.startswith("4"):
                assert response["schema"] == {"$ref": "#/definitions/Error"}, where


def json_schema(node: Any) -> Any:
    """A Swagger schema as plain JSON Schema: ``x-nullable`` becomes a ``null`` type."""
    if isinstance(node, list):
        return [json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: json_schema(v) for k, v in node.items()}
    if out.pop("x-nullable", False):
        out["type"] = [out["type"], "null"] if "type" in out else out.get("type")
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _validator(document: dict[str, Any], name: str) -> jsonschema.Draft4Validator:
    schema = json_schema({**document["definitions"][name], "definitions": document["definitions"]})
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def test_the_error_schema_is_what_the_app_answers(document: dict[str, Any]) -> None:
    from triggers.http import error_response

    validator = _validator(document, "Error")
    for response in (
        error_response(400, "invalid_input", "bad", "reportType"),
        error_response(404, "x", "y"),
    ):
        validator.validate(json.loads(response.get_body()))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"error": {"code": "x"}})


def test_the_report_schema_takes_a_report_as_the_app_shows_it(document: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    from shared.links import ReportLinks
    from shared.models import Report, ReportStatus, ReportType
    from shared.report_service import report_resource

    report = Report(
        "8e0c4a2e-4f7e-4a53-9a39-1b3a1a1b3a1a", ReportType.COST, ["0" * 8 + "-0000-0000-0000-" + "0" * 12]
    )
    report.requested_at = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    validator = _validator(document, "Report")
    validator.validate(
        report_resource(
            report,
            progress_info={"subscriptionsTotal": 1, "subscriptionsDone": 0, "recommendationsFetched": 0},
        )
    )
    report.status, report.files = ReportStatus.COMPLETED, {"html": "a.html", "pdf": "a.pdf"}
    report.savings_by_currency = {
        "USD": {"monthly": "1.00", "annual": "12.00", "count": 1},
        "unknown": {"count": 2},
    }
    validator.validate(
        report_resource(report, links=ReportLinks("https://r.example", report.report_id, "1.x"))
    )
    report.status, report.failure_code, report.failure_message = (
        ReportStatus.FAILED,
        "orchestration_failed",
        "m",
    )
    validator.validate(report_resource(report))


# -- GET /api/openapi.json -----------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from triggers import openapi

    def get(**env: str) -> dict[str, Any]:
        for name in ("PUBLIC_BASE_URL", "WEBSITE_HOSTNAME"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        handler = openapi.openapi_definition.build().get_user_function()
        response = handler(func.HttpRequest("GET", "http://caller.example/api/openapi.json", body=b""))
        assert response.status_code == 200 and response.mimetype == "application/json"
        return {"text": response.get_body().decode("utf-8"), "json": json.loads(response.get_body())}

    yield get
    reset_settings()


def test_served_relative_without_a_public_base_url_is_the_committed_file(served: Any) -> None:
    answer = served()
    assert answer["text"] == FILE.read_text(encoding="utf-8")
    assert "host" not in answer["json"]  # never the request's Host (caller.example)


def test_served_with_the_host_of_public_base_url(served: Any) -> None:
    document = served(
        PUBLIC_BASE_URL="https://reports.contoso.example/advisor/", WEBSITE_HOSTNAME="x.azurewebsites.net"
    )
    assert document["json"]["host"] == "reports.contoso.example"
    assert document["json"]["schemes"] == ["https"]
    assert document["json"]["basePath"] == "/advisor/api"
    assert {k: v for k, v in document["json"].items() if k not in ("host", "schemes", "basePath")} == {
        k: v for k, v in json.loads(FILE.read_text(encoding="utf-8")).items() if k != "basePath"
    }
    OpenAPIV2SpecValidator(document["json"]).validate()


def test_served_with_the_platform_host_name_on_azure(served: Any) -> None:
    document = served(WEBSITE_HOSTNAME="advisor-reports.azurewebsites.net")["json"]
    assert (document["host"], document["schemes"], document["basePath"]) == (
        "advisor-reports.azurewebsites.net", ["https"], "/api",
    )  # fmt: skip


def test_served_without_secrets(served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORT_LINK_KEY", "link-key-that-must-not-show")
    text = served(PUBLIC_BASE_URL="https://r.example")["text"]
    assert "link-key-that-must-not-show" not in text
    assert "AccountKey" not in text and "code=" not in text
