"""``GET /api/openapi.json``: the API's OpenAPI 2.0 definition, anonymous, for importing the app
as a Logic Apps / Power Automate custom connector; and ``GET /api/connection``, the function-key
check that the connector's connection test calls.

The definition is the file kept in the repository (``openapi/advisor-reports.swagger.json``,
built by ``python -m openapi``), with ``host``, ``schemes`` and ``basePath`` taken from the
public base URL the way the app's links are (``shared/links.py``): ``PUBLIC_BASE_URL``, else
``WEBSITE_HOSTNAME`` on Azure, else left out so the definition is relative to where it was
fetched. Never from the request's ``Host`` header, which a caller controls. It holds no key
and no setting beyond that URL.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from shared.links import public_base_url
from shared.settings import get_settings

from .http import json_response

bp = df.Blueprint()

DEFINITION_FILE = Path(__file__).resolve().parent.parent / "openapi" / "advisor-reports.swagger.json"
API_PREFIX = "/api"


@functools.cache
def _stored_definition() -> str:
    return DEFINITION_FILE.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=4)
def definition_for(base_url: str) -> bytes:
    """The definition as served for ``base_url`` (the public base URL, "" when there is none)."""
    document: dict[str, Any] = json.loads(_stored_definition())
    if base_url:
        parts = urlsplit(base_url)
        document = {
            "swagger": document.pop("swagger"),
            "info": document.pop("info"),
            "host": parts.netloc,
            "schemes": [parts.scheme],
            **document,
        }
        document["basePath"] = parts.path.rstrip("/") + API_PREFIX
    return json.dumps(document, indent=2, ensure_ascii=True).encode("utf-8") + b"\n"


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_definition(req: func.HttpRequest) -> func.HttpResponse:
    body = definition_for(public_base_url(get_settings()))
    return func.HttpResponse(body, status_code=200, mimetype="application/json")


@bp.route(route="connection", methods=["GET"])
def connection(req: func.HttpRequest) -> func.HttpResponse:
    """Reached only with a valid function key (the host checks it): that is the whole test."""
    return json_response({"connected": True})
