"""ARM: Microsoft.Advisor recommendations (list with ``$filter``, ``$top`` and ``nextLink``
paging, get, generateRecommendations and its status) and the Subscriptions API, behind ARM's
bearer-token checks, with ARM's error bodies for injected faults."""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .base import _arm_error, _BaseHandler, _Reply
from .constants import _ADVISOR, ADVISOR_API_VERSIONS, ARM_AUDIENCES, ARM_ERROR_CODES
from .faults import Fault
from .odata_filter import FilterError, parse_filter
from .records import _Request


def _encode_skip_token(offset: int, page: int) -> str:
    raw = json.dumps({"o": offset, "p": page}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_skip_token(token: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        offset, page = int(data["o"]), int(data["p"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise _arm_error(400, "InvalidSkipToken", "The $skipToken is not valid.") from exc
    if offset < 0 or page < 1:
        raise _arm_error(400, "InvalidSkipToken", "The $skipToken is not valid.")
    return offset, page


class _ArmEndpoints(_BaseHandler):
    def _arm(self, req: _Request) -> None:
        standin = self.standin
        segments = [s for s in req.path.split("/") if s]
        req.subscription = segments[1] if len(segments) > 1 else None
        lower = req.path.lower().rstrip("/")
        sub_prefix = f"/subscriptions/{(req.subscription or '').lower()}"
        operation_id = None
        if len(segments) <= 2:
            req.operation = "subscription"
        elif lower == sub_prefix + _ADVISOR + "recommendations":
            req.operation = "list"
        elif lower == sub_prefix + _ADVISOR + "generaterecommendations":
            req.operation = "generate"
        elif lower.startswith(sub_prefix + _ADVISOR + "generaterecommendations/") and len(segments) == 6:
            req.operation = "generate_status"
            operation_id = segments[5]
        elif (
            _ADVISOR + "recommendations/" in lower
            and len(lower.split(_ADVISOR + "recommendations/")[1].split("/")) == 1
        ):
            req.operation = "get"
        if req.operation == "list":
            token = req.query.get("$skipToken") or req.query.get("$skiptoken")
            req.page = _decode_skip_token(str(token))[1] if token else 1

        self._authenticate_arm(req)

        fault = standin._take_fault(req)
        if fault:
            req.fault = fault
            if fault.status is not None:
                raise self._arm_fault_reply(req, fault)
            if fault.malformed:
                return self._answer(req, 200, raw=b'{"value": [{"id": "/subscriptions/' + b"x" * 20)

        expected_method = {"generate": "POST"}.get(req.operation or "", "GET")
        if req.operation is None or req.method != expected_method:
            raise _arm_error(
                404 if req.operation is None else 405,
                "NotFound" if req.operation is None else "MethodNotAllowed",
                f"The Azure stand-in does not serve {req.method} {req.path}.",
            )
        if req.operation == "subscription" and req.subscription is None:
            return self._list_subscriptions(req)
        api_version = req.query.get("api-version")
        if not api_version:
            raise _arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        with standin._lock:
            sub = standin._subscriptions.get((req.subscription or "").lower())
        if sub is None:
            raise _arm_error(
                404, "SubscriptionNotFound", f"The subscription '{req.subscription}' could not be found."
            )
        self._authorize(req, sub)
        if req.operation == "subscription":
            return self._answer(req, 200, self._subscription_json(sub))
        if api_version not in ADVISOR_API_VERSIONS:
            raise _arm_error(
                400,
                "NoRegisteredProviderFound",
                f"No registered resource provider found for location 'global' and API version "
                f"'{api_version}' for type 'recommendations'. The supported api-versions are "
                f"'{', '.join(sorted(ADVISOR_API_VERSIONS))}'.",
            )
        reads = {
            "x-ms-ratelimit-remaining-subscription-reads": str(
                standin._remaining_reads(sub["subscriptionId"])
            )
        }
        if req.operation == "list":
            return self._list_recommendations(req, sub, reads)
        if req.operation == "get":
            return self._get_recommendation(req, sub, reads)
        if req.operation == "generate":
            return self._generate(req, sub)
        return self._generate_status(req, sub, operation_id or "")

    def _authenticate_arm(self, req: _Request) -> None:
        standin = self.standin
        challenge = f'Bearer authorization_uri="{standin.url}/{standin.tenant_id}", error="invalid_token"'
        token = self._bearer()
        if token is None:
            raise _arm_error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                {
                    "WWW-Authenticate": challenge
                    + ', error_description="The authentication failed because of missing '
                    "'Authorization' header.\""
                },
            )
        with standin._lock:
            issued = standin._tokens.get(token)
        if issued is None:
            raise _arm_error(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
                {"WWW-Authenticate": challenge + ', error_description="The access token is invalid."'},
            )
        req.client_id = issued.client_id
        if issued.expires_at <= time.time():
            expired = datetime.fromtimestamp(max(issued.expires_at, 0), UTC).strftime("%m/%d/%Y %H:%M:%S")
            now = datetime.now(UTC).strftime("%m/%d/%Y %H:%M:%S")
            raise _arm_error(
                401,
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{expired}' is earlier than current UTC time '{now}'.",
                {"WWW-Authenticate": challenge + ', error_description="The access token has expired."'},
            )
        allowed = {a.lower() for a in ARM_AUDIENCES} | {standin.url.lower()}
        if issued.audience.lower() not in allowed:
            raise _arm_error(
                401,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{issued.audience}'. "
                f"It should exactly match with one of the allowed audiences '{', '.join(sorted(allowed))}'.",
                {"WWW-Authenticate": challenge},
            )

    def _authorize(self, req: _Request, sub: Mapping[str, Any]) -> None:
        """A principal limited to some subscriptions (a Reader assignment on each) is refused
        elsewhere with ARM's AuthorizationFailed, naming the action it lacks."""
        principal = self.standin.principal(req.client_id or "")
        if principal is None or principal.may_read(sub["subscriptionId"]):
            return
        action = (
            "Microsoft.Resources/subscriptions/read"
            if req.operation == "subscription"
            else "Microsoft.Advisor/recommendations/read"
            if req.operation in ("list", "get")
            else "Microsoft.Advisor/generateRecommendations/action"
        )
        raise _arm_error(
            403,
            "AuthorizationFailed",
            f"The client '{principal.client_id}' with object id '{principal.client_id}' does not have "
            f"authorization to perform action '{action}' over scope '/subscriptions/{req.subscription}' "
            "or the scope is invalid. If access was recently granted, please refresh your credentials.",
        )

    def _arm_fault_reply(self, req: _Request, fault: Fault) -> _Reply:
        status = int(fault.status or 500)
        code = fault.code or ARM_ERROR_CODES.get(status, f"Http{status}")
        headers: dict[str, str] = {}
        if fault.retry_after is not None or status == 429:
            headers["Retry-After"] = f"{(1 if fault.retry_after is None else fault.retry_after):g}"
        if status == 429:
            headers["x-ms-ratelimit-remaining-subscription-reads"] = str(fault.remaining_reads or 0)
        if status == 401:
            headers["WWW-Authenticate"] = (
                f'Bearer authorization_uri="{self.standin.url}/{self.standin.tenant_id}", '
                'error="invalid_token", error_description="The access token is invalid."'
            )
        defaults = {
            401: "The access token is invalid.",
            403: f"The client '{req.client_id}' with object id '{req.client_id}' does not have "
            "authorization to perform action 'Microsoft.Advisor/recommendations/read' over scope "
            f"'/subscriptions/{req.subscription}' or the scope is invalid. If access was recently "
            "granted, please refresh your credentials.",
            404: f"The subscription '{req.subscription}' could not be found.",
            429: "The request is being throttled as the limit has been reached for operation type - "
            "Read_ObservationWindow_00:05:00. For more information, see - "
            "https://aka.ms/srpthrottlinglimits",
            500: "The server encountered an internal error. Please retry the request.",
            503: "The service is temporarily unavailable. Please retry the request.",
        }
        message = fault.message or defaults.get(status, f"Injected {status} from the stand-in.")
        return _arm_error(status, code, message, headers)

    def _subscription_json(self, sub: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{sub['subscriptionId']}",
            "authorizationSource": "RoleBased",
            # A subscription of another tenant is managed from the stand-in's (Lighthouse).
            "managedByTenants": [{"tenantId": self.standin.tenant_id}] if sub.get("tenantId") else [],
            "subscriptionId": sub["subscriptionId"],
            "tenantId": sub.get("tenantId") or self.standin.tenant_id,
            "displayName": sub["displayName"],
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "EnterpriseAgreement_2014-09-01",
                "spendingLimit": "Off",
            },
        }

    def _list_subscriptions(self, req: _Request) -> None:
        with self.standin._lock:
            subs = list(self.standin._subscriptions.values())
        principal = self.standin.principal(req.client_id or "")
        if principal is not None:  # a listing shows only what the principal may read
            subs = [s for s in subs if principal.may_read(s["subscriptionId"])]
        self._answer(req, 200, {"value": [self._subscription_json(s) for s in subs]})

    def _list_recommendations(self, req: _Request, sub: Mapping[str, Any], headers: dict[str, str]) -> None:
        standin = self.standin
        filter_text = req.query.get("$filter")
        if isinstance(filter_text, list):
            raise _arm_error(400, "BadRequest", "$filter is given more than once.")
        recs = sub["recommendations"]
        if filter_text and filter_text.strip():
            try:
                predicate = parse_filter(filter_text)
            except FilterError as exc:
                raise _arm_error(400, "BadRequest", f"Invalid $filter '{filter_text}': {exc}.") from exc
            recs = [r for r in recs if predicate(r)]
        top_text = req.query.get("$top")
        if top_text is not None:
            try:
                top = int(str(top_text))
            except ValueError:
                top = 0
            if top < 1:
                raise _arm_error(400, "BadRequest", f"$top must be a positive integer, got '{top_text}'.")
            page_size = top
        else:
            page_size = standin.page_size
        token = req.query.get("$skipToken") or req.query.get("$skiptoken")
        offset, page = _decode_skip_token(str(token)) if token else (0, 1)
        chunk = recs[offset : offset + page_size]
        body: dict[str, Any] = {"value": chunk}

        def link(to_offset: int, to_page: int) -> str:
            params = [("api-version", str(req.query["api-version"]))]
            if filter_text:
                params.append(("$filter", filter_text))
            if top_text is not None:
                params.append(("$top", str(top_text)))
            params.append(("$skipToken", _encode_skip_token(to_offset, to_page)))
            query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
            path = f"/subscriptions/{sub['subscriptionId']}/providers/Microsoft.Advisor/recommendations"
            return f"{standin.url}{path}?{query}"

        if offset + page_size < len(recs):
            body["nextLink"] = link(offset + page_size, page + 1)
        fault = req.fault
        if fault and fault.next_link == "empty":
            body["nextLink"] = ""
        elif fault and fault.next_link == "repeat":
            body["nextLink"] = link(offset, page)
        self._answer(req, 200, body, headers)

    def _get_recommendation(self, req: _Request, sub: Mapping[str, Any], headers: dict[str, str]) -> None:
        wanted = req.path.rstrip("/").lower()
        for rec in sub["recommendations"]:
            if str(rec.get("id", "")).lower() == wanted:
                return self._answer(req, 200, rec, headers)
        raise _arm_error(
            404, "ResourceNotFound", f"The recommendation '{req.path.rsplit('/', 1)[-1]}' was not found."
        )

    def _generate(self, req: _Request, sub: Mapping[str, Any]) -> None:
        operation_id = str(uuid.uuid4())
        with self.standin._lock:
            self.standin._operations[operation_id] = {
                "subscription": sub["subscriptionId"].lower(),
                "polls": 0,
            }
        self._answer(req, 202, None, self._generate_headers(sub, operation_id, str(req.query["api-version"])))

    def _generate_headers(
        self, sub: Mapping[str, Any], operation_id: str, api_version: str
    ) -> dict[str, str]:
        location = (
            f"{self.standin.url}/subscriptions/{sub['subscriptionId']}/providers/Microsoft.Advisor/"
            f"generateRecommendations/{operation_id}?api-version={api_version}"
        )
        return {"Location": location, "Retry-After": str(self.standin.generate_retry_after)}

    def _generate_status(self, req: _Request, sub: Mapping[str, Any], operation_id: str) -> None:
        with self.standin._lock:
            op = self.standin._operations.get(operation_id.lower())
            if op is None or op["subscription"] != sub["subscriptionId"].lower():
                op = None
            else:
                op["polls"] += 1
                polls = op["polls"]
        if op is None:
            raise _arm_error(404, "OperationNotFound", f"The operation '{operation_id}' could not be found.")
        if polls <= self.standin.generate_polls:
            headers = self._generate_headers(sub, operation_id, str(req.query["api-version"]))
            return self._answer(req, 202, None, headers)
        self._answer(req, 204)
