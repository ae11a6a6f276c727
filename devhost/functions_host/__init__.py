"""A local Azure Functions host with the Durable Functions extension, for the demo and tests.

Azure Functions Core Tools cannot be installed on our machines, so this package runs a
Python v2 programming-model app (``function_app.app``, a ``df.DFApp``) unmodified: it serves
the HTTP triggers under ``/api``, fires timer triggers, runs orchestrations through the SDK's
own replay with activities in a worker pool and state in Azurite tables, and serves the
Durable HTTP API that ``DurableOrchestrationClient`` calls. In Azure the real host takes its
place; the app code is the same.

    from devhost.functions_host import FunctionsHost
    with FunctionsHost("function_app", storage_connection=azurite.connection_string) as host:
        ...  # host.url, host.function_key, host.client(), host.wait_for_idle()

or ``python -m devhost.functions_host --app function_app --port 7071 --storage CONN``.
"""

from .host import FunctionsHost

__all__ = ["FunctionsHost"]
