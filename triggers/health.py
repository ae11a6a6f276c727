"""``GET /api/health``: anonymous liveness and storage reachability, for load balancers and
uptime checks. Says nothing about the configuration beyond up or down."""

from __future__ import annotations

import asyncio
import logging

import azure.durable_functions as df
import azure.functions as func

from shared import clients

from .http import json_response

bp = df.Blueprint()
log = logging.getLogger(__name__)


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:
    try:
        await asyncio.wait_for(asyncio.to_thread(clients.table_store().ping), timeout=5)
    except Exception as exc:  # any failure means "not healthy"; the detail goes to the log only
        log.warning("Health check: storage unreachable (%s)", type(exc).__name__)
        return json_response({"status": "unhealthy", "storage": "unreachable"}, 503)
    return json_response({"status": "healthy", "storage": "reachable"})
