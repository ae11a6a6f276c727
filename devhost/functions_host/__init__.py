"""A local Azure Functions host with the Durable Functions extension, for the demo and tests.

Azure Functions Core Tools cannot be installed on our machines, so this package runs a
Python v2 programming-model app (``function_app.app``, a ``df.DFApp``) unmodified: it serves
the HTTP triggers under ``/api`` with the real host's keys by role, fires timer triggers, runs
orchestrations through the SDK's own replay while writing the history by the Durable
extension's rules (``shim``), runs activities in threads of this process as the Python worker
does, keeps state in Azurite tables, and serves the Durable HTTP API that
``DurableOrchestrationClient`` calls. In Azure the real host takes its place; the app code is
the same. Where the real host and the SDK disagree, devhost follows the real host (README.md).

    from devhost.functions_host import FunctionsHost
    with FunctionsHost("function_app", storage_connection=azurite.connection_string) as host:
        ...  # host.url, host.host_key, host.client(), host.wait_for_idle()

or ``python -m devhost.functions_host --app function_app --port 7071 --storage CONN``.
"""

from .host import FunctionsHost

__all__ = ["FunctionsHost"]
