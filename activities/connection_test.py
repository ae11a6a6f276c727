"""The connection test's activity and the one-step orchestration that runs it.

``POST /api/subscriptions/{id}/test`` starts :data:`ORCHESTRATOR` and waits for it: the test
runs as an activity, like every call to Azure the app makes, on the same workers and with the
same identity a report's fetch uses. No retry policy: a test reports the first failure, and
its clients' short timeouts keep it within seconds. The input and output are small (the
subscription id; the result without any credential), so history holds nothing secret: the
activity reads the client secret from Key Vault itself.
"""

from __future__ import annotations

import logging

import azure.durable_functions as df

from shared import clients, connection_test, customer_service
from shared.customers import parse_guid
from shared.errors import NotFoundError
from shared.settings import get_settings

bp = df.Blueprint()
log = logging.getLogger(__name__)

ORCHESTRATOR = "connection_test"
ACTIVITY = "test_subscription_connection"


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def connection_test_orchestrator(context: df.DurableOrchestrationContext):
    result = yield context.call_activity(ACTIVITY, context.get_input())
    return result


@bp.activity_trigger(input_name="payload", activity=ACTIVITY)
def test_subscription_connection(payload: dict) -> dict:
    subscription_id = parse_guid(payload.get("subscriptionId"), "subscriptionId")
    registry = clients.customer_registry()
    try:
        subscription = customer_service.get_subscription(registry, subscription_id)
    except NotFoundError:
        return connection_test.ConnectionResult(
            False, "The subscription is not registered", error_code="not_registered"
        ).to_dict()
    result = connection_test.run(subscription, settings=get_settings(), secrets=clients.subscription_secrets)
    if not customer_service.record_check(registry, subscription_id, result.success, result.message):
        log.info("Subscription %s was deleted while its connection test ran", subscription_id)
    log.info("Connection test of %s: %s", subscription_id, "success" if result.success else result.error_code)
    return result.to_dict()
