"""A local stand-in for the managed-identity token endpoint of App Service and Azure Functions.

In Azure the platform sets ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER``; azure-identity's
``ManagedIdentityCredential`` (through MSAL's ``_obtain_token_on_app_service``, msal/managed_identity.py)
then sends ``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...[&client_id=...]``
with the ``X-IDENTITY-HEADER`` header and reads ``access_token`` and ``expires_on`` (epoch
seconds) from the JSON answer. This server answers the same way, so the app's real credential
code runs unchanged on a developer machine.

Its tokens are unsigned JWTs with the claims Azurite's ``--oauth basic`` checks (issuer under
``https://sts.windows.net/``, audience = the resource asked for, ``iat``/``nbf``/``exp``); they
are worthless anywhere that verifies a signature, which is the point. A request without the
right header, or for another client id than the identity's, is refused as the platform does.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN_SECONDS = 3600


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_jwt(claims: dict[str, Any]) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


class IdentityEndpoint:
    """``with IdentityEndpoint(client_id) as mi: os.environ.update(mi.environment())``."""

    def __init__(self, client_id: str | None = None, tenant_id: str | None = None) -> None:
        self.client_id = client_id or str(uuid.uuid4())
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.header = secrets.token_hex(16)
        self.requests: list[dict[str, str]] = []  # what was asked for (resource, client_id)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the identity endpoint is not running; call start() first")
        return f"http://127.0.0.1:{self._server.server_address[1]}/msi/token"

    def environment(self) -> dict[str, str]:
        """What the platform sets for a function app with a managed identity."""
        return {"IDENTITY_ENDPOINT": self.url, "IDENTITY_HEADER": self.header}

    def token_for(self, resource: str) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + TOKEN_SECONDS,
            "appid": self.client_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.client_id)),
            "tid": self.tenant_id,
        }
        return {
            "access_token": unsigned_jwt(claims),
            "expires_on": str(claims["exp"]),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": self.client_id,
        }

    def start(self) -> IdentityEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                if self.headers.get("X-IDENTITY-HEADER") != endpoint.header:
                    return self._reply(
                        401, {"statusCode": 401, "message": "missing or wrong X-IDENTITY-HEADER"}
                    )
                resource = query.get("resource", "")
                asked_client = query.get("client_id")
                if not resource or query.get("api-version") != "2019-08-01":
                    return self._reply(
                        400, {"statusCode": 400, "message": "resource and api-version required"}
                    )
                if asked_client not in (None, endpoint.client_id):
                    return self._reply(400, {"statusCode": 400, "message": "no identity with that client id"})
                endpoint.requests.append({"resource": resource, "client_id": asked_client or ""})
                return self._reply(200, endpoint.token_for(resource))

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="identity-endpoint", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> IdentityEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
