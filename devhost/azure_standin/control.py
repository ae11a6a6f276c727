"""The control API tests script the stand-in with, from this or another process (no auth;
loopback only): faults, the request log, the tenant, secrets, clients, token expiry, health."""

from __future__ import annotations

import json
from typing import Any

from .base import _BaseHandler, _Reply
from .faults import Fault
from .records import _Request


class _ControlEndpoints(_BaseHandler):
    def _control(self, req: _Request, body: bytes) -> None:
        standin = self.standin
        path = req.path.rstrip("/")
        method = req.method

        def payload() -> Any:
            try:
                return json.loads(body or b"null")
            except ValueError as exc:
                raise _Reply(400, {"error": "the body is not valid JSON"}) from exc

        if path == "/_control/health" and method == "GET":
            return self._answer(req, 200, {"status": "ok", "url": standin.url, "tenantId": standin.tenant_id})
        if path == "/_control/faults":
            if method == "GET":
                return self._answer(req, 200, {"faults": [f.to_json() for f in standin.faults()]})
            if method == "DELETE":
                return self._answer(req, 200, {"cleared": standin.clear_faults()})
            if method == "POST":
                data = payload()
                items = data.get("faults") if isinstance(data, dict) and "faults" in data else data
                items = items if isinstance(items, list) else [items]
                try:
                    faults = [Fault.from_json(item) for item in items]
                except (TypeError, ValueError) as exc:
                    raise _Reply(400, {"error": str(exc)}) from exc
                for fault in faults:
                    standin.inject_fault(fault)
                return self._answer(req, 201, {"faults": [f.to_json() for f in faults]})
        if path.startswith("/_control/faults/") and method == "DELETE":
            removed = standin.remove_fault(path.rsplit("/", 1)[1])
            return self._answer(req, 200 if removed else 404, {"removed": removed})
        if path == "/_control/requests":
            if method == "GET":
                since = int(str(req.query.get("since") or 0))
                entries = standin.requests(
                    target=req.query.get("target"), subscription=req.query.get("subscription"), since=since
                )
                return self._answer(req, 200, {"requests": entries, "counts": standin.request_counts()})
            if method == "DELETE":
                standin.clear_requests()
                return self._answer(req, 200, {"cleared": True})
        if path == "/_control/tenant" and method == "PUT":
            try:
                standin.load_tenant(payload())
            except (TypeError, ValueError, AttributeError) as exc:
                raise _Reply(400, {"error": str(exc)}) from exc
            return self._answer(req, 200, {"subscriptions": standin.subscription_ids})
        if path.startswith("/_control/secrets/") and method == "PUT":
            data = payload()
            if not isinstance(data, dict) or "value" not in data:
                raise _Reply(400, {"error": 'expected {"value": ...}'})
            try:
                version = standin.set_secret(path.rsplit("/", 1)[1], str(data["value"]))
            except ValueError as exc:
                raise _Reply(400, {"error": str(exc)}) from exc
            return self._answer(req, 200, {"version": version})
        if path.startswith("/_control/clients/") and method == "PUT":
            data = payload()
            if not isinstance(data, dict) or not data.get("secret"):
                raise _Reply(400, {"error": 'expected {"secret": ...}'})
            try:
                standin.add_client(
                    path.rsplit("/", 1)[1], str(data["secret"]), tenant_id=data.get("tenantId"),
                    subscriptions=data.get("subscriptions"),
                )  # fmt: skip
            except (TypeError, ValueError) as exc:
                raise _Reply(400, {"error": str(exc)}) from exc
            return self._answer(req, 200, {"clientId": path.rsplit("/", 1)[1]})
        if path == "/_control/tokens/expire" and method == "POST":
            standin.expire_tokens()
            return self._answer(req, 200, {"expired": True})
        raise _Reply(404, {"error": f"no control endpoint {method} {path}"})
