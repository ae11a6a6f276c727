"""HTTP API for registered subscriptions: ``POST/GET /api/subscriptions`` (``GET`` filterable
with ``?customerId=``), ``GET/PATCH/DELETE /api/subscriptions/{subscriptionId}``, and
``POST /api/subscriptions/{subscriptionId}/test``, the connection test, and ``GET
/api/subscriptions/{subscriptionId}/statistics[?refresh=true]`` (cached for an hour).

Thin adapters over ``shared.customer_service``. A client secret goes from the request to Key
Vault and nowhere else: answers show the auth type, tenant and client ids, never the secret or
its Key Vault name. The connection test runs as an activity (``activities/connection_test``);
this route waits for its result, which comes within seconds (its clients have short timeouts),
and answers 504 if it somehow does not within :data:`TEST_WAIT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import azure.durable_functions as df
import azure.functions as func

from activities.connection_test import ORCHESTRATOR as CONNECTION_TEST
from shared import clients, customer_service, statistics
from shared.customers import parse_guid, parse_subscription
from shared.errors import InvalidInputError, PermanentError

from .http import error_response, handle_errors, json_response

bp = df.Blueprint()
log = logging.getLogger(__name__)

TEST_WAIT_SECONDS = 27  # under the 30 s promised, whatever the fault
TEST_POLL_SECONDS = 0.1


def _json_body(req: func.HttpRequest) -> object:
    try:
        return req.get_json()
    except ValueError:
        raise InvalidInputError("The request body is not valid JSON", field="body") from None


def _subscription_id(req: func.HttpRequest) -> str:
    return parse_guid(req.route_params.get("subscriptionId", ""), "subscriptionId")


@bp.route(route="subscriptions", methods=["POST"])
@handle_errors
async def create_subscription(req: func.HttpRequest) -> func.HttpResponse:
    data = parse_subscription(_json_body(req))
    sub = await asyncio.to_thread(customer_service.create_subscription, clients.customer_registry(), data)
    return json_response(sub.to_dict(), 201)


@bp.route(route="subscriptions", methods=["GET"])
@handle_errors
async def list_subscriptions(req: func.HttpRequest) -> func.HttpResponse:
    customer = req.params.get("customerId")
    customer_id = parse_guid(customer, "customerId") if customer is not None else None
    registry = clients.customer_registry()
    if customer_id:
        await asyncio.to_thread(customer_service.get_customer, registry, customer_id)  # 404 if unknown
    subs = await asyncio.to_thread(registry.store.list_subscriptions, customer_id)
    return json_response({"subscriptions": [s.to_dict() for s in subs]})


@bp.route(route="subscriptions/{subscriptionId}", methods=["GET"])
@handle_errors
async def get_subscription(req: func.HttpRequest) -> func.HttpResponse:
    sub_id = _subscription_id(req)
    sub = await asyncio.to_thread(customer_service.get_subscription, clients.customer_registry(), sub_id)
    return json_response(sub.to_dict())


@bp.route(route="subscriptions/{subscriptionId}", methods=["PATCH"])
@handle_errors
async def update_subscription(req: func.HttpRequest) -> func.HttpResponse:
    sub_id = _subscription_id(req)
    data = parse_subscription(_json_body(req), partial=True)
    sub = await asyncio.to_thread(
        customer_service.update_subscription, clients.customer_registry(), sub_id, data
    )
    return json_response(sub.to_dict())


@bp.route(route="subscriptions/{subscriptionId}", methods=["DELETE"])
@handle_errors
async def delete_subscription(req: func.HttpRequest) -> func.HttpResponse:
    sub_id = _subscription_id(req)
    await asyncio.to_thread(customer_service.delete_subscription, clients.customer_registry(), sub_id)
    return json_response({"subscriptionId": sub_id, "deleted": True})


@bp.route(route="subscriptions/{subscriptionId}/test", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def test_subscription(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    sub_id = _subscription_id(req)
    await asyncio.to_thread(customer_service.get_subscription, clients.customer_registry(), sub_id)
    instance_id = f"connection-test-{sub_id}-{uuid.uuid4().hex}"
    await client.start_new(CONNECTION_TEST, instance_id, {"subscriptionId": sub_id})
    deadline = time.monotonic() + TEST_WAIT_SECONDS
    while True:
        status = await client.get_status(instance_id)
        state = status.runtime_status
        if state == df.OrchestrationRuntimeStatus.Completed and isinstance(status.output, dict):
            return json_response(status.output)
        if state in (df.OrchestrationRuntimeStatus.Failed, df.OrchestrationRuntimeStatus.Terminated):
            log.warning("Connection test %s ended %s", instance_id, state)
            return error_response(
                500, "test_failed", "The connection test could not run; the error was logged"
            )
        if time.monotonic() > deadline:
            body = {
                "success": False,
                "errorCode": "timeout",
                "message": f"The connection test did not finish within {TEST_WAIT_SECONDS} s",
            }
            return json_response(body, 504)
        await asyncio.sleep(TEST_POLL_SECONDS)


def refresh_flag(req: func.HttpRequest) -> bool:
    value = (req.params.get("refresh") or "false").strip().lower()
    if value not in ("true", "false"):
        raise InvalidInputError("refresh must be true or false", field="refresh")
    return value == "true"


@bp.route(route="subscriptions/{subscriptionId}/statistics", methods=["GET"])
@handle_errors
async def subscription_statistics(req: func.HttpRequest) -> func.HttpResponse:
    sub_id = _subscription_id(req)
    refresh = refresh_flag(req)
    await asyncio.to_thread(customer_service.get_subscription, clients.customer_registry(), sub_id)
    try:
        cached = await asyncio.to_thread(clients.statistics_cache().subscription, sub_id, refresh=refresh)
    except PermanentError as exc:  # Azure refused: the subscription's problem, not ours
        return error_response(502, exc.code, str(exc))
    return json_response(statistics.subscription_body(sub_id, cached))
