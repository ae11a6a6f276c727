"""A toy app the Python worker refuses to index: its activity's parameter is annotated with a PEP
585 generic (``dict[str, Any]``), which the worker's registry calls an "invalid non-type
annotation". The conformance tests check that the worker refuses it and devhost refuses it too,
with the same message. Standalone on purpose: the worker imports it as a top-level module."""

from typing import Any

import azure.durable_functions as df

# What the worker says when it refuses this app (pinned against the worker by tests/conformance).
WORKER_MESSAGE = (
    "cannot load the annotated_wrongly function: binding payload has invalid non-type annotation "
    "dict[str, typing.Any]"
)

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def toy_orchestrator(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("annotated_wrongly", {"n": 1}))


@app.activity_trigger(input_name="payload")
def annotated_wrongly(payload: dict[str, Any]) -> dict[str, Any]:
    return payload
