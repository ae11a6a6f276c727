"""Entra ID (v2 endpoints) for ``ClientSecretCredential``: each tenant's OpenID configuration and
token endpoint (client_credentials with a client secret), with Entra's AADSTS error bodies.

The tenants served are the stand-in's own and those its service principals live in (a
customer's tenant, reached with an app registration there). A principal gets tokens from its
own tenant's endpoint only; elsewhere it is unknown (AADSTS700016), as in Entra. A wrong
secret is AADSTS7000215 with 401, which azure-identity raises as ClientAuthenticationError."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qs

from .base import _BaseHandler, _Handled, _Reply
from .faults import Fault
from .records import _Request

_RESERVED_SCOPES = {"openid", "profile", "offline_access", "email"}


def _aad_error(
    base_url: str,
    status: int,
    error: str,
    aadsts: int,
    description: str,
    headers: Mapping[str, str] | None = None,
) -> _Reply:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error,
        "error_description": (
            f"AADSTS{aadsts}: {description} Trace ID: {trace} Correlation ID: {correlation} "
            f"Timestamp: {stamp}"
        ),
        "error_codes": [aadsts],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"{base_url}/error?code={aadsts}",
    }
    return _Reply(status, body, headers)


class _EntraEndpoints(_BaseHandler):
    def _check_tenant(self, tenant: str, error: str = "invalid_request") -> None:
        if tenant.lower() not in self.standin.tenant_ids:
            raise _aad_error(
                self.standin.url,
                400,
                error,
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )

    def _openid_configuration(self, req: _Request, tenant: str) -> None:
        self._check_tenant(tenant, "invalid_tenant")
        base = f"{self.standin.url}/{tenant}"
        config = {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.standin.url}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }
        self._answer(req, 200, config)

    def _token(self, req: _Request, tenant: str, body: bytes) -> None:
        base = self.standin.url
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        client_id = form.get("client_id", "")
        req.client_id = client_id or None
        fault = self.standin._take_fault(req)
        if fault:
            req.fault = fault
            self._token_fault(req, fault)
        self._check_tenant(tenant)
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            raise _aad_error(
                base,
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        principal = self.standin.principal(client_id)
        if principal is None or principal.tenant_id.lower() != tenant.lower():
            raise _aad_error(
                base,
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may have "
                "sent your authentication request to the wrong tenant.",
            )
        presented = form.get("client_secret")
        if presented is None:
            raise _aad_error(
                base,
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the "
                "'client_credentials' grant type.",
            )
        if not secrets.compare_digest(presented.encode(), principal.secret.encode()):
            raise _aad_error(
                base,
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the "
                f"client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        scopes = [s for s in form.get("scope", "").split() if s.lower() not in _RESERVED_SCOPES]
        resources = [s[: -len("/.default")] for s in scopes if s.endswith("/.default")]
        if len(resources) != 1 or len(scopes) != 1:
            raise _aad_error(
                base,
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope', '')} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        token = self.standin.issue_token(resources[0], client_id, principal.tenant_id)
        lifetime = self.standin.token_lifetime
        self._answer(
            req,
            200,
            {
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": token,
            },
            {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
        )

    def _token_fault(self, req: _Request, fault: Fault) -> None:
        if fault.malformed:
            self._answer(req, 200, raw=b'{"token_type": "Bearer", "access_tok')
            raise _Handled
        if fault.status is None:
            return
        status = int(fault.status)
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        if status == 401:
            error, code = "invalid_client", 7000215
            text = fault.message or "Invalid client secret provided."
        elif status >= 500 or status == 429:
            error, code = "temporarily_unavailable", 90033
            text = fault.message or "A transient error has occurred. Please try again."
        else:
            error, code = fault.code or "invalid_request", 900144
            text = fault.message or "The request is not valid."
        raise _aad_error(self.standin.url, status, fault.code or error, code, text, headers)
