"""The Durable Functions HTTP API and the client binding that points to it.

``client_binding()`` is the JSON the Durable extension hands a ``durableClient`` binding;
``DurableOrchestrationClient`` (unmodified) reads ``rpcBaseUrl`` for its own calls and
``managementUrls`` (with the placeholder id ``INSTANCEID``) for the URLs it gives callers.

``DurableApi.handle()`` serves the same routes twice, as the real host does: on the local RPC
listener (``rpcBaseUrl``, loopback only, no key: what the SDK calls) and under
``/runtime/webhooks/durabletask/`` on the public port (the status and management URLs handed
out to callers, which carry ``code=<the durabletask_extension system key>``, as the
extension's ``HttpApiHandler`` builds them; the host admits only that key or the master key).
Status codes follow the extension's ``HttpApiHandler``: GET of an instance answers 202 +
``Location`` + ``Retry-After`` while it is Pending/Running/ContinuedAsNew (the devhost adds
Suspended), 200 when Completed, Terminated or Failed - 500 for Failed only with
``returnInternalServerErrorOnFailure=true`` - and 404 for an unknown instance. DELETE of an
instance (purge) answers 404 for an unknown one, 412 for one that has not ended, else 200 with
``instancesDeleted``; DELETE of ``instances`` with filters, 404 when nothing was purged.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from . import history as h
from .engine import TERMINAL, Engine, Instance, InstanceError

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask/"
CONNECTION_NAME = "Storage"
_RUNNING = ("Pending", "Running", "ContinuedAsNew", "Suspended")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(
            status,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def error(cls, status: int, message: str) -> Response:
        return cls.json(status, {"Message": message, "ExceptionMessage": message})


def management_urls(origin: str, instance_id: str, task_hub: str, key: str) -> dict[str, str]:
    encoded = instance_id if instance_id == "INSTANCEID" else quote(instance_id, safe="")
    prefix = f"{origin}{WEBHOOK_PATH}/instances/{encoded}"
    query = f"taskHub={quote(task_hub)}&connection={CONNECTION_NAME}&code={quote(key, safe='')}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{prefix}?{query}",
        "sendEventPostUri": f"{prefix}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{prefix}/terminate?reason={{text}}&{query}",
        "rewindPostUri": f"{prefix}/rewind?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{prefix}?{query}",
        "restartPostUri": f"{prefix}/restart?{query}",
        "suspendPostUri": f"{prefix}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{prefix}/resume?reason={{text}}&{query}",
    }


def client_binding(origin: str, rpc_base_url: str, task_hub: str, key: str) -> dict[str, Any]:
    """The binding JSON of a ``durableClient`` input (Durable extension 2.x shape)."""
    base = f"{origin}{WEBHOOK_PATH}"
    code = f"code={quote(key, safe='')}"
    return {
        "taskHubName": task_hub,
        "creationUrls": {
            "createNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?{code}",
            "createAndWaitOnNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
            f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{code}",
        },
        "managementUrls": management_urls(origin, "INSTANCEID", task_hub, key),
        "baseUrl": base,
        "requiredQueryStringParameters": code,
        "rpcBaseUrl": rpc_base_url,
        "httpBaseUrl": base,
        "maxGrpcMessageSizeInBytes": 0,
        "grpcHttpClientTimeout": "00:01:40",
    }


def _loads(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


def _truthy(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() == "true"


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return h.parse_iso(value)
    except ValueError:
        return None


_INVALID = "\0invalid"  # a sentinel no JSON text can equal


def _json_body(body: bytes) -> str | None:
    """A request body as canonical JSON text, None when empty, ``_INVALID`` when not JSON."""
    if not body.strip():
        return None
    try:
        return json.dumps(json.loads(body))
    except ValueError:
        return _INVALID


class DurableApi:
    def __init__(self, engine: Engine, *, task_hub: str, key: str, status_retry_after: int = 5) -> None:
        self.engine = engine
        self.task_hub = task_hub
        self.key = key
        self.status_retry_after = status_retry_after

    def status_json(
        self,
        inst: Instance,
        *,
        show_input: bool = True,
        show_history: bool = False,
        show_history_output: bool = False,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "name": inst.name,
            "instanceId": inst.instance_id,
            "runtimeStatus": inst.status,
            "input": _loads(inst.input) if show_input else None,
            "customStatus": _loads(inst.custom_status),
            "output": _loads(inst.output),
            "createdTime": h.iso_seconds(inst.created),
            "lastUpdatedTime": h.iso_seconds(inst.last_updated),
        }
        if show_history:
            payload["historyEvents"] = h.to_api_history(
                self.engine.history_of(inst), show_output=show_history_output
            )
        return payload

    def check_status_response(self, origin: str, instance_id: str) -> Response:
        links = management_urls(origin, instance_id, self.task_hub, self.key)
        body = {
            k: links[k]
            for k in (
                "id",
                "statusQueryGetUri",
                "sendEventPostUri",
                "terminatePostUri",
                "purgeHistoryDeleteUri",
                "restartPostUri",
                "suspendPostUri",
                "resumePostUri",
            )
        }
        return Response.json(202, body, {"Location": links["statusQueryGetUri"], "Retry-After": "10"})

    def handle(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: dict[str, str],
        body: bytes,
        *,
        origin: str,
        request_url: str,
    ) -> Response:
        query = {k: v[0] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        parts = [unquote(p) for p in path.split("/") if p]
        try:
            if parts and parts[0] == "orchestrators" and len(parts) in (2, 3) and method == "POST":
                return self._start(parts[1], parts[2] if len(parts) == 3 else None, query, body, origin)
            if parts and parts[0] == "instances":
                if len(parts) == 1:
                    if method == "GET":
                        return self._list(query, headers)
                    if method == "DELETE":
                        return self._purge_by(query)
                elif len(parts) == 2:
                    if method == "GET":
                        return self._status(parts[1], query, request_url)
                    if method == "DELETE":
                        return self._purge(parts[1])
                elif len(parts) >= 3 and method == "POST":
                    return self._operation(parts[1], parts[2], parts[3:], query, headers, body)
            if parts and parts[0] == "entities":
                return Response.error(501, "Durable Entities are not supported by the devhost")
        except InstanceError as exc:
            if exc.status == 404:
                return Response(404)
            if exc.status == 409:
                return Response.error(500, str(exc))
            return Response.error(exc.status, str(exc))
        return Response(404)

    def _start(
        self, name: str, instance_id: str | None, query: dict[str, str], body: bytes, origin: str
    ) -> Response:
        input_json = _json_body(body)
        if input_json is _INVALID:
            return Response.error(400, "Invalid JSON content")
        inst = self.engine.start_new(name, instance_id, input_json)
        timeout = query.get("timeout")
        if timeout and query.get("pollingInterval"):
            try:
                seconds = float(timeout)
            except ValueError:
                return Response.error(400, "timeout must be a number of seconds")
            if self.engine.wait(inst.instance_id, seconds):
                if inst.status == "Completed":
                    return Response.json(200, _loads(inst.output))
                return Response.json(200, self.status_json(inst))
        return self.check_status_response(origin, inst.instance_id)

    def _status(self, instance_id: str, query: dict[str, str], request_url: str) -> Response:
        inst = self.engine.get(instance_id)
        if inst is None:
            return Response(404)
        payload = self.status_json(
            inst,
            show_input=_truthy(query.get("showInput"), True),
            show_history=_truthy(query.get("showHistory"), False),
            show_history_output=_truthy(query.get("showHistoryOutput"), False),
        )
        status = payload["runtimeStatus"]
        if status in _RUNNING:
            return Response.json(
                202, payload, {"Location": request_url, "Retry-After": str(self.status_retry_after)}
            )
        if status == "Failed" and _truthy(query.get("returnInternalServerErrorOnFailure"), False):
            return Response.json(500, payload)
        return Response.json(200, payload)

    def _list(self, query: dict[str, str], headers: dict[str, str]) -> Response:
        statuses = {s.strip() for s in query.get("runtimeStatus", "").split(",") if s.strip()}
        found = self.engine.list(
            statuses=statuses or None,
            created_from=_when(query.get("createdTimeFrom")),
            created_to=_when(query.get("createdTimeTo")),
            prefix=query.get("instanceIdPrefix"),
        )
        token = headers.get("x-ms-continuation-token")
        if token:
            try:
                created, last_id = json.loads(base64.urlsafe_b64decode(token.encode()))
            except ValueError:
                return Response.error(400, "invalid x-ms-continuation-token")
            found = [i for i in found if (h.iso(i.created), i.instance_id) > (created, last_id)]
        extra: dict[str, str] = {}
        top = query.get("top")
        if top and top.isdigit() and int(top) > 0 and len(found) > int(top):
            found = found[: int(top)]
            last = found[-1]
            extra["x-ms-continuation-token"] = base64.urlsafe_b64encode(
                json.dumps([h.iso(last.created), last.instance_id]).encode()
            ).decode()
        show_input = _truthy(query.get("showInput"), True)
        return Response.json(200, [self.status_json(i, show_input=show_input) for i in found], extra)

    def _purge(self, instance_id: str) -> Response:
        # HttpApiHandler.HandleDeleteHistoryByIdRequestAsync: 404 for an unknown instance, 412
        # for an orchestration that has not ended (ids starting with "@" are entities and are
        # not checked), else 200 with what was purged.
        inst = self.engine.get(instance_id)
        if inst is None:
            return Response(404)
        if inst.status not in TERMINAL and not instance_id.startswith("@"):
            return Response.json(
                412,
                "Only orchestrations in a terminal state can be purged, but the orchestration with "
                f"instance ID {instance_id} has status {inst.status}",
            )
        return Response.json(200, {"instancesDeleted": self.engine.purge(instance_id)})

    def _purge_by(self, query: dict[str, str]) -> Response:
        created_from = _when(query.get("createdTimeFrom"))
        if created_from is None:
            return Response.json(400, "Please provide value for 'createdTimeFrom' parameter.")
        statuses = {s.strip() for s in query.get("runtimeStatus", "").split(",") if s.strip()}
        found = self.engine.list(
            statuses=(statuses & TERMINAL) if statuses else set(TERMINAL),
            created_from=created_from,
            created_to=_when(query.get("createdTimeTo")) or h.utcnow(),
        )
        deleted = sum(self.engine.purge(i.instance_id) for i in found)
        if not deleted:
            return Response(404)
        return Response.json(200, {"instancesDeleted": deleted})

    def _operation(
        self,
        instance_id: str,
        operation: str,
        rest: list[str],
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> Response:
        operation = operation.lower()
        if operation == "raiseevent" and len(rest) == 1:
            inst = self.engine.get(instance_id)
            if inst is None:
                return Response(404)
            if inst.status in TERMINAL:
                return Response(410)
            if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                return Response.error(400, "Only application/json request content is supported")
            input_json = _json_body(body)
            if input_json is _INVALID:
                return Response.error(400, "Invalid JSON content")
            self.engine.raise_event(instance_id, rest[0], input_json)
            return Response(202)
        if rest:
            return Response(404)
        actions = {
            "terminate": self.engine.terminate,
            "suspend": self.engine.suspend,
            "resume": self.engine.resume,
        }
        if operation in actions:
            try:
                actions[operation](instance_id, query.get("reason"))
            except InstanceError as exc:
                return Response(exc.status)
            return Response(202)
        if operation in ("rewind", "restart"):
            return Response.error(501, f"{operation} is not supported by the devhost")
        return Response(404)
