"""Azure Functions entry point: creates the Durable Functions app and registers the blueprints.
Nothing else belongs here (docs/architecture.md, Layers)."""

import azure.durable_functions as df
import azure.functions as func

from activities.connection_test import bp as connection_test
from activities.report_steps import bp as report_steps
from orchestrators.report import bp as report_orchestration
from orchestrators.steps import bp as report_step_orchestrations
from triggers.customers import bp as customers_api
from triggers.health import bp as health
from triggers.openapi import bp as openapi_definition
from triggers.reports import bp as reports_api
from triggers.retention import bp as report_retention
from triggers.schedules import bp as schedules_api
from triggers.subscriptions import bp as subscriptions_api

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (reports_api, health, report_orchestration, report_step_orchestrations, report_steps):
    app.register_functions(blueprint)
for blueprint in (customers_api, subscriptions_api, connection_test, schedules_api):
    app.register_functions(blueprint)
for blueprint in (report_retention, openapi_definition):
    app.register_functions(blueprint)
