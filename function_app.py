"""Azure Functions entry point: creates the Durable Functions app and registers blueprints.

Nothing else belongs here (DESIGN.md). The HTTP triggers, orchestrator and activities arrive
with the durable app; until then the app registers no functions and the report core in
``shared/`` is used directly (see ``devhost/demo.py``).
"""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
