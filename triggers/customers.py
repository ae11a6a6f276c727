"""HTTP API for customers: ``POST/GET /api/customers``, ``GET/PATCH/DELETE
/api/customers/{customerId}``, ``GET /api/customers/{customerId}/statistics[?refresh=true]``.

Thin adapters: parse and validate (everything, before anything is stored), call
``shared.customer_service``, shape the answer. ``DELETE`` of a customer that still has
subscriptions answers 409 unless ``?cascade=true``, which deletes them (and their Key Vault
secrets) too.
"""

from __future__ import annotations

import asyncio

import azure.durable_functions as df
import azure.functions as func

from shared import clients, customer_service
from shared.customers import parse_customer, parse_guid
from shared.errors import InvalidInputError

from .http import handle_errors, json_response

bp = df.Blueprint()


def _json_body(req: func.HttpRequest) -> object:
    try:
        return req.get_json()
    except ValueError:
        raise InvalidInputError("The request body is not valid JSON", field="body") from None


def _customer_id(req: func.HttpRequest) -> str:
    return parse_guid(req.route_params.get("customerId", ""), "customerId")


def _flag(req: func.HttpRequest, name: str) -> bool:
    value = (req.params.get(name) or "false").strip().lower()
    if value not in ("true", "false"):
        raise InvalidInputError(f"{name} must be true or false", field=name)
    return value == "true"


@bp.route(route="customers", methods=["POST"])
@handle_errors
async def create_customer(req: func.HttpRequest) -> func.HttpResponse:
    data = parse_customer(_json_body(req))
    customer = await asyncio.to_thread(customer_service.create_customer, clients.customer_registry(), data)
    return json_response(customer.to_dict(), 201)


@bp.route(route="customers", methods=["GET"])
@handle_errors
async def list_customers(req: func.HttpRequest) -> func.HttpResponse:
    customers = await asyncio.to_thread(clients.customer_store().list_customers)
    return json_response(
        {"customers": [c.to_dict() for c in sorted(customers, key=lambda c: c.name.lower())]}
    )


@bp.route(route="customers/{customerId}", methods=["GET"])
@handle_errors
async def get_customer(req: func.HttpRequest) -> func.HttpResponse:
    customer_id = _customer_id(req)
    registry = clients.customer_registry()
    customer = await asyncio.to_thread(customer_service.get_customer, registry, customer_id)
    subs = await asyncio.to_thread(registry.store.list_subscriptions, customer_id)
    body = customer.to_dict()
    body["subscriptionIds"] = sorted(s.subscription_id for s in subs)
    return json_response(body)


@bp.route(route="customers/{customerId}", methods=["PATCH"])
@handle_errors
async def update_customer(req: func.HttpRequest) -> func.HttpResponse:
    customer_id = _customer_id(req)
    data = parse_customer(_json_body(req), partial=True)
    customer = await asyncio.to_thread(
        customer_service.update_customer, clients.customer_registry(), customer_id, data
    )
    return json_response(customer.to_dict())


@bp.route(route="customers/{customerId}", methods=["DELETE"])
@handle_errors
async def delete_customer(req: func.HttpRequest) -> func.HttpResponse:
    customer_id = _customer_id(req)
    cascade = _flag(req, "cascade")
    deleted = await asyncio.to_thread(
        customer_service.delete_customer, clients.customer_registry(), customer_id, cascade=cascade
    )
    return json_response({"customerId": customer_id, "deleted": True, "subscriptionsDeleted": deleted})


@bp.route(route="customers/{customerId}/statistics", methods=["GET"])
@handle_errors
async def customer_statistics(req: func.HttpRequest) -> func.HttpResponse:
    customer_id = _customer_id(req)
    refresh = _flag(req, "refresh")
    registry = clients.customer_registry()
    await asyncio.to_thread(customer_service.get_customer, registry, customer_id)
    subs = await asyncio.to_thread(registry.store.list_subscriptions, customer_id)
    body = await asyncio.to_thread(
        clients.statistics_cache().customer, [s.subscription_id for s in subs], refresh=refresh
    )
    return json_response({"customerId": customer_id, **body})
