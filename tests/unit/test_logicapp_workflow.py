"""The sample Logic App workflow (infra/logicapp/weekly-report.workflow.json) has the shape of a
Logic Apps workflow definition and does what the README says: every Monday, start a report for
a customer with the function key from a secure parameter, wait for it through the HTTP
action's asynchronous pattern, and mail the PDF link with Office 365 Outlook's "Send an email
(V2)". tests/e2e_openapi/test_logicapp_workflow.py runs it against the app."""

from __future__ import annotations

from typing import Any

import pytest

from tests.logicapp_workflow import SCHEMA, evaluate, expressions, load


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load()


def all_actions(actions: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for name, action in actions.items():
        found[name] = action
        found.update(all_actions(action.get("actions", {})))
        found.update(all_actions(action.get("else", {}).get("actions", {})))
    return found


def test_it_has_the_shape_of_a_workflow_definition(workflow: dict[str, Any]) -> None:
    assert set(workflow) == {"definition", "parameters"}
    definition = workflow["definition"]
    assert definition["$schema"] == SCHEMA
    assert definition["contentVersion"] == "1.0.0.0"
    assert {"parameters", "triggers", "actions", "outputs"} <= set(definition)
    for name, declared in definition["parameters"].items():
        assert declared["type"] in {"String", "SecureString", "Object", "Int", "Bool", "Array"}, name
    assert set(workflow["parameters"]) <= set(definition["parameters"])


def test_it_runs_every_monday(workflow: dict[str, Any]) -> None:
    (trigger,) = workflow["definition"]["triggers"].values()
    assert trigger["type"] == "Recurrence"
    recurrence = trigger["recurrence"]
    assert (recurrence["frequency"], recurrence["interval"]) == ("Week", 1)
    assert recurrence["schedule"]["weekDays"] == ["Monday"]


def test_it_starts_a_report_for_a_customer_and_waits_for_it(workflow: dict[str, Any]) -> None:
    definition = workflow["definition"]
    start = definition["actions"]["Start_report"]
    assert start["type"] == "Http" and start["runAfter"] == {}
    inputs = start["inputs"]
    assert inputs["method"] == "POST" and inputs["uri"].endswith("/api/reports")
    assert inputs["body"]["customerId"] == "@{parameters('customerId')}"
    # The key comes from a secure parameter, as a header, hidden from the run history.
    assert inputs["headers"]["x-functions-key"] == "@{parameters('functionKey')}"
    assert definition["parameters"]["functionKey"]["type"] == "SecureString"
    assert "defaultValue" not in definition["parameters"]["functionKey"]
    assert "functionKey" not in workflow["parameters"]
    assert "code=" not in inputs["uri"]
    assert start["runtimeConfiguration"]["secureData"]["properties"] == ["inputs"]
    # The asynchronous pattern (follow Location until the answer is not 202) is the default.
    assert "DisableAsyncPattern" not in str(start.get("operationOptions", ""))


def test_it_mails_the_pdf_link_when_the_report_is_completed(workflow: dict[str, Any]) -> None:
    condition = workflow["definition"]["actions"]["Report_completed"]
    assert condition["type"] == "If" and condition["runAfter"] == {"Start_report": ["Succeeded"]}
    assert condition["expression"] == {"and": [{"equals": ["@body('Start_report')?['status']", "completed"]}]}
    for branch in (condition["actions"], condition["else"]["actions"]):
        (mail,) = branch.values()
        assert mail["type"] == "ApiConnection"
        assert (mail["inputs"]["method"], mail["inputs"]["path"]) == (
            "post",
            "/v2/Mail",
        )  # Send an email (V2)
        assert (
            mail["inputs"]["host"]["connection"]["name"]
            == "@parameters('$connections')['office365']['connectionId']"
        )
        assert {"To", "Subject", "Body"} <= set(mail["inputs"]["body"])
    (mail,) = condition["actions"].values()
    assert "@{body('Start_report')?['files']?['pdf']}" in mail["inputs"]["body"]["Body"]


def test_every_expression_names_a_declared_parameter_or_an_earlier_action(workflow: dict[str, Any]) -> None:
    definition = workflow["definition"]
    actions = all_actions(definition["actions"])
    parameters = {name: {"office365": {"connectionId": "x"}} for name in definition["parameters"]}
    found = expressions(definition["actions"])
    assert found
    for expression in found:
        if expression.startswith("parameters('$connections')"):
            continue  # the managed connection's id, resolved by the runtime
        evaluate(expression, parameters, {name: {} for name in actions})  # raises on anything else
    for name, action in actions.items():
        assert set(action["runAfter"]) <= set(actions), name
