"""The connection test: can the app read a registered subscription's Advisor recommendations
with the credentials it has for it, and if not, why not.

One attempt with short timeouts on every client (token endpoint, ARM), so the answer comes
within seconds whatever the fault: a wrong secret (Entra's AADSTS7000215), an app registration
or tenant Entra does not know, a missing role (ARM's 403: the identity needs Reader on the
subscription), an unknown subscription (404), a secret missing from Key Vault, or an endpoint
that does not answer. Messages are written here, never copied from a response, so they cannot
carry a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from .errors import AdvisorReportsError, TransientError

CONNECT_TIMEOUT_SECONDS = 4
READ_TIMEOUT_SECONDS = 5
# One retry (a throttled or dropped request), with short back-off: a test must finish in time.
CLIENT_OPTIONS: dict[str, Any] = {
    "connection_timeout": CONNECT_TIMEOUT_SECONDS,
    "read_timeout": READ_TIMEOUT_SECONDS,
    "retry_total": 1,
    "retry_backoff_factor": 0.2,
    "retry_backoff_max": 1,
}
SUBSCRIPTION_API_VERSION = "2022-12-01"
_AADSTS = re.compile(r"AADSTS(\d+)")


@dataclass(frozen=True)
class ConnectionResult:
    success: bool
    message: str
    subscription_name: str | None = None
    recommendation_count: int | None = None
    error_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"success": self.success, "message": self.message}
        if self.subscription_name is not None:
            out["subscriptionName"] = self.subscription_name
        if self.recommendation_count is not None:
            out["recommendationCount"] = self.recommendation_count
        if self.error_code is not None:
            out["errorCode"] = self.error_code
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConnectionResult:
        return cls(
            bool(data["success"]), str(data.get("message") or ""), data.get("subscriptionName"),
            data.get("recommendationCount"), data.get("errorCode"),
        )  # fmt: skip


def _failure(code: str, message: str) -> ConnectionResult:
    return ConnectionResult(False, message, error_code=code)


def explain(exc: BaseException, subscription_id: str, identity: str) -> ConnectionResult:
    """Turn what the SDK raised into a result a person can act on."""
    where = f"subscription {subscription_id}"
    if isinstance(exc, AdvisorReportsError):
        code = exc.code
        if code == "secret_not_found":
            return _failure(code, f"The client secret of {where} is missing from Key Vault; set it again")
        return _failure(code, str(exc))
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, TimeoutError, ConnectionError)):
        return _failure(
            "unreachable",
            f"Azure did not answer in time for {where} ({type(exc).__name__}); check the network path "
            "to the Entra and Azure Resource Manager endpoints",
        )
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "status_code", None) is None:
        return _entra_refusal(exc, identity)
    if isinstance(exc, HttpResponseError):
        return _arm_refusal(exc, where, identity)
    raise exc


def _entra_refusal(exc: ClientAuthenticationError, identity: str) -> ConnectionResult:
    """Entra refused to issue a token (azure-identity raises without a status code)."""
    aadsts = _AADSTS.search(str(exc.message or exc))
    number = aadsts.group(1) if aadsts else ""
    if number in ("7000215", "7000222"):
        return _failure(
            "invalid_client_secret",
            f"Entra ID refused the client secret of {identity} (AADSTS{number}): it is wrong or has "
            "expired; set the current secret value (not its id)",
        )
    if number in ("700016",):
        return _failure(
            "unknown_client",
            f"Entra ID does not know {identity} in that tenant (AADSTS700016); check the tenant and "
            "client ids",
        )
    if number in ("90002",):
        return _failure(
            "unknown_tenant", "Entra ID does not know the tenant (AADSTS90002); check the tenant id"
        )
    return _failure(
        "authentication_failed",
        f"Could not get a token for {identity}" + (f" (AADSTS{number})" if number else ""),
    )


def _arm_refusal(exc: HttpResponseError, where: str, identity: str) -> ConnectionResult:
    """Azure Resource Manager answered with an error status."""
    status = exc.status_code or 0
    arm_code = getattr(getattr(exc, "error", None), "code", None) or ""
    if status == 403:
        return _failure(
            "authorization_failed",
            f"{identity[0].upper()}{identity[1:]} may not read {where} (HTTP 403 {arm_code}): assign it "
            "the Reader role on the subscription",
        )
    if status == 404:
        return _failure(
            "subscription_not_found",
            f"{where[0].upper()}{where[1:]} was not found (HTTP 404 {arm_code}); check the subscription "
            "id, and for another tenant, that the credentials belong to that tenant",
        )
    if status == 401:
        return _failure(
            "authentication_failed", f"Azure Resource Manager refused the token of {identity} (HTTP 401)"
        )
    if status == 429 or status >= 500:
        return _failure("unavailable", f"Azure Resource Manager is busy (HTTP {status}); try again shortly")
    return _failure("bad_request", f"Azure Resource Manager refused the request (HTTP {status} {arm_code})")


def probe(client: Any, subscription_id: str, identity: str) -> ConnectionResult:
    """Read the subscription's name and count its recommendations with ``client`` (an
    ``AdvisorManagementClient`` for the subscription, built with :data:`CLIENT_OPTIONS`)."""
    from azure.core.rest import HttpRequest

    try:
        request = HttpRequest(
            "GET", f"/subscriptions/{subscription_id}", params={"api-version": SUBSCRIPTION_API_VERSION}
        )
        response = client._send_request(request)  # the client's own authenticated pipeline
        response.raise_for_status()
        name = str(response.json().get("displayName") or "")
        count = sum(1 for _ in client.recommendations.list())
    except TransientError as exc:
        return explain(exc, subscription_id, identity)
    except Exception as exc:  # noqa: BLE001 - explain() re-raises what it does not know
        return explain(exc, subscription_id, identity)
    noun = "recommendation" if count == 1 else "recommendations"
    return ConnectionResult(
        True, f"Connected to {name or subscription_id} as {identity}: {count} {noun}", name, count
    )


def run(subscription: Any, *, settings: Any, secrets: Callable[[], Any]) -> ConnectionResult:
    """Test ``subscription`` (a registered :class:`~shared.customers.Subscription`) with its own
    credentials: its app registration (secret read from Key Vault now) or the app's identity."""
    from azure.mgmt.advisor import AdvisorManagementClient

    from .credentials import advisor_credential, client_secret_credential
    from .customers import AuthType

    sub_id = subscription.subscription_id
    auth = subscription.auth
    try:
        if auth.type is AuthType.CLIENT_SECRET:
            identity = f"app registration {auth.client_id}"
            secret = secrets().read(auth.secret_name)
            credential = client_secret_credential(
                settings, auth.tenant_id, auth.client_id, secret, **CLIENT_OPTIONS
            )
        else:
            identity = "the app's identity"
            credential = advisor_credential(settings)
    except AdvisorReportsError as exc:
        return explain(exc, sub_id, "the app")
    extra: dict[str, Any] = {"connection_verify": settings.ca_bundle} if settings.ca_bundle else {}
    client = AdvisorManagementClient(
        credential, sub_id, base_url=settings.arm_endpoint, credential_scopes=[settings.arm_scope],
        **CLIENT_OPTIONS, **extra,
    )  # fmt: skip
    return probe(client, sub_id, identity)
