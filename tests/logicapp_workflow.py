"""The sample Logic App workflow (infra/logicapp/weekly-report.workflow.json) and the small part
of the Workflow Definition Language it uses: ``@parameters('name')``, ``@body('Action')``
followed by ``?['key']`` lookups, whole or inside ``@{...}`` in a string. Enough to check
every expression the sample holds and to run its HTTP action and mail body against the app."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "infra" / "logicapp" / "weekly-report.workflow.json"
SCHEMA = "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#"

EXPRESSION = re.compile(r"^(parameters|body)\('([^']+)'\)((?:\?\['[^']+'\])*)$")
INTERPOLATION = re.compile(r"@\{([^}]*)\}")


def load() -> dict[str, Any]:
    return json.loads(WORKFLOW.read_text(encoding="utf-8"))


def expressions(node: Any) -> list[str]:
    """Every expression in ``node``: whole-string ``@expr`` and each ``@{expr}`` inside a string."""
    if isinstance(node, dict):
        return [e for value in node.values() for e in expressions(value)]
    if isinstance(node, list):
        return [e for value in node for e in expressions(value)]
    if not isinstance(node, str):
        return []
    if node.startswith("@") and not node.startswith(("@{", "@@")):
        return [node[1:]]
    return INTERPOLATION.findall(node)


def evaluate(expression: str, parameters: dict[str, Any], bodies: dict[str, Any]) -> Any:
    match = EXPRESSION.match(expression)
    if match is None:
        raise ValueError(f"not an expression this sample uses: {expression}")
    kind, name, lookups = match.groups()
    value = parameters[name] if kind == "parameters" else bodies[name]
    for key in re.findall(r"\?\['([^']+)'\]", lookups):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def resolve(node: Any, parameters: dict[str, Any], bodies: dict[str, Any]) -> Any:
    """``node`` with its expressions evaluated, as the Logic Apps runtime does before an action runs."""
    if isinstance(node, dict):
        return {k: resolve(v, parameters, bodies) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, parameters, bodies) for v in node]
    if not isinstance(node, str):
        return node
    if node.startswith("@") and not node.startswith(("@{", "@@")):
        return evaluate(node[1:], parameters, bodies)
    return INTERPOLATION.sub(lambda m: str(evaluate(m.group(1), parameters, bodies)), node)
