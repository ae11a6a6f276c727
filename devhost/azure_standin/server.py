"""The stand-in itself, :class:`AzureStandIn`: lifecycle (TLS with a test CA, a threaded server
on loopback), the tenant's subscriptions and recommendations, accepted clients and issued tokens,
Key Vault secrets, scripted faults, the request log, and helpers that build SDK clients and app
settings pointing at it. The HTTP side is in :mod:`.handler`; the overview is the package's
docstring."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

from .constants import (
    _SECRET_NAME_RE,
    APP_IDENTITY_CLIENT_ID,
    APP_IDENTITY_SECRET,
    ARM_AUDIENCES,
    BUNDLED_TENANT,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SECRET_NAME,
    DEFAULT_TENANT_ID,
    READS_PER_BUCKET,
    READS_REFILL_PER_SECOND,
    VAULT_AUDIENCE,
)
from .faults import Fault
from .handler import _Handler
from .records import _Principal, _Request, _Secret, _Token

log = logging.getLogger(__name__)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AzureStandIn:
    """The HTTPS stand-in for ARM Advisor, Entra ID and Key Vault; see the package docstring.

    :param tenant: the tenant to serve: a JSON file path or a dict
        ``{"subscriptions": [{"subscriptionId", "displayName", "recommendations": [...]}]}``,
        optionally with ``"tenantId"``, ``"servicePrincipals"`` (``[{"tenantId", "clientId",
        "clientSecret", "subscriptions"?: [...]}]``: app registrations, possibly in other
        tenants, optionally holding a role on the listed subscriptions only), ``"clients"``
        ({client_id: secret}, in the stand-in's own tenant) and ``"secrets"`` ({name: value});
        None serves the bundled sample (devhost/sample_tenant.json). When the file names
        service principals, the token endpoint grants tokens to them and to the app's own
        identity alone.
    :param port: 0 picks a free port.
    :param ca_dir: where to write ``ca.pem`` (the test CA, for ``connection_verify`` /
        ``REQUESTS_CA_BUNDLE``); None uses a temporary folder removed by :meth:`stop`.
    :param tenant_id: the Entra tenant the stand-in is (default: the file's or DEFAULT_TENANT_ID).
    :param clients: accepted app registrations, client_id -> secret (added to the file's);
        default ``{DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}`` when neither gives any.
    :param secrets: Key Vault secrets, name -> value (added to the file's); default
        ``{DEFAULT_SECRET_NAME: DEFAULT_CLIENT_SECRET}`` when neither gives any.
    :param page_size: listing page size when the request has no ``$top``.
    :param token_lifetime: seconds an issued token is valid.
    :param generate_retry_after: the ``Retry-After`` of generateRecommendations answers.
    :param generate_polls: how many status polls answer 202 before one answers 204.
    :param vault_resource: the ``resource`` in Key Vault's challenge.
    :param request_log_size: how many requests :meth:`requests` keeps.
    """

    def __init__(
        self,
        tenant: str | Path | Mapping[str, Any] | None = None,
        *,
        port: int = 0,
        ca_dir: str | Path | None = None,
        tenant_id: str | None = None,
        clients: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        page_size: int = 100,
        token_lifetime: int = 3600,
        generate_retry_after: int = 1,
        generate_polls: int = 1,
        vault_resource: str = VAULT_AUDIENCE,
        request_log_size: int = 10_000,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.port = port
        self.page_size = page_size
        self.token_lifetime = token_lifetime
        self.generate_retry_after = generate_retry_after
        self.generate_polls = generate_polls
        self.vault_resource = vault_resource.rstrip("/")
        self._lock = threading.RLock()
        self._subscriptions: dict[str, dict[str, Any]] = {}
        self._clients: dict[str, _Principal] = {}
        self._secrets: dict[str, list[_Secret]] = {}
        # Soft-deleted secrets (name -> versions, deletion time) until purged, as in a vault
        # with soft-delete on (every vault since 2020).
        self._deleted: dict[str, tuple[list[_Secret], int]] = {}
        self._tokens: dict[str, _Token] = {}
        self._faults: list[Fault] = []
        self._log: deque[dict[str, Any]] = deque(maxlen=request_log_size)
        self._seq = 0
        self._counts: dict[str, int] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._operations: dict[str, dict[str, Any]] = {}

        data = self._read_tenant(tenant)
        self.tenant_id = tenant_id or str(data.get("tenantId") or DEFAULT_TENANT_ID)
        self.load_tenant(data)
        principals = data.get("servicePrincipals") or []
        if not isinstance(principals, list):
            raise ValueError("servicePrincipals must be a list")
        for sp in principals:
            try:
                self.add_client(
                    str(sp["clientId"]), str(sp["clientSecret"]), tenant_id=sp.get("tenantId"),
                    subscriptions=sp.get("subscriptions"),
                )  # fmt: skip
            except (KeyError, TypeError) as exc:
                raise ValueError("every service principal needs a clientId and a clientSecret") from exc
        all_clients = {**(data.get("clients") or {}), **(clients or {})}
        defaults = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET, APP_IDENTITY_CLIENT_ID: APP_IDENTITY_SECRET}
        for client_id, secret in (all_clients or ({} if principals else defaults)).items():
            self.add_client(client_id, secret)
        if principals:  # the app's own identity (a managed identity in Azure) is always there
            self.add_client(APP_IDENTITY_CLIENT_ID, APP_IDENTITY_SECRET)
        all_secrets = {**(data.get("secrets") or {}), **(secrets or {})}
        for name, value in (all_secrets or {DEFAULT_SECRET_NAME: DEFAULT_CLIENT_SECRET}).items():
            self.set_secret(name, value)

        self._ca_dir_arg = Path(ca_dir) if ca_dir else None
        self._tmp_dir: str | None = None
        self.ca_path: str = ""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("the stand-in is not running; call start() first")
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> AzureStandIn:
        if self._server is not None:
            return self
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        if self._ca_dir_arg is not None:
            ca_dir = self._ca_dir_arg
            ca_dir.mkdir(parents=True, exist_ok=True)
        else:
            self._tmp_dir = tempfile.mkdtemp(prefix="azure-standin-")
            ca_dir = Path(self._tmp_dir)
        ca_file = ca_dir / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        self.ca_path = str(ca_file)

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.standin = self
        # The TLS handshake happens on the handler's thread (first read), not in accept().
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="azure-standin", daemon=True
        )
        self._thread.start()
        log.info("Azure stand-in listening on %s (CA %s)", self.url, self.ca_path)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tmp_dir:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None

    def __enter__(self) -> AzureStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- tenant data -------------------------------------------------------------------------

    @staticmethod
    def _read_tenant(tenant: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
        if tenant is None:
            tenant = BUNDLED_TENANT
        if isinstance(tenant, (str, Path)):
            return json.loads(Path(tenant).read_text(encoding="utf-8"))
        return dict(tenant)

    def load_tenant(self, tenant: str | Path | Mapping[str, Any]) -> None:
        """Replace the subscriptions served (clients, secrets and tenant id stay)."""
        data = self._read_tenant(tenant)
        subs = data.get("subscriptions")
        if not isinstance(subs, list):
            raise ValueError("the tenant needs a 'subscriptions' list")
        new: dict[str, dict[str, Any]] = {}
        for sub in subs:
            sub_id = str(sub.get("subscriptionId") or "")
            if not sub_id:
                raise ValueError("every subscription needs a subscriptionId")
            recs = sub.get("recommendations") or []
            if not isinstance(recs, list):
                raise ValueError(f"recommendations of {sub_id} must be a list")
            new[sub_id.lower()] = {
                "subscriptionId": sub_id,
                "displayName": sub.get("displayName") or sub_id,
                "recommendations": list(recs),
            }
            if sub.get("tenantId"):  # a customer's tenant (reached through Lighthouse)
                new[sub_id.lower()]["tenantId"] = str(sub["tenantId"])
        with self._lock:
            self._subscriptions = new

    def set_recommendations(
        self,
        subscription_id: str,
        recommendations: Iterable[Mapping[str, Any]],
        display_name: str | None = None,
    ) -> None:
        """Add a subscription or replace its recommendations."""
        with self._lock:
            old = self._subscriptions.get(subscription_id.lower(), {})
            self._subscriptions[subscription_id.lower()] = {
                "subscriptionId": subscription_id,
                "displayName": display_name or old.get("displayName") or subscription_id,
                "recommendations": [dict(r) for r in recommendations],
            }

    def remove_subscription(self, subscription_id: str) -> None:
        with self._lock:
            self._subscriptions.pop(subscription_id.lower(), None)

    def recommendations(self, subscription_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._subscriptions[subscription_id.lower()]["recommendations"])

    @property
    def subscription_ids(self) -> list[str]:
        with self._lock:
            return [s["subscriptionId"] for s in self._subscriptions.values()]

    # -- identities and secrets -------------------------------------------------------------

    def add_client(
        self,
        client_id: str,
        secret: str,
        *,
        tenant_id: str | None = None,
        subscriptions: Iterable[str] | None = None,
    ) -> None:
        """Accept this app registration at the token endpoint of ``tenant_id`` (default: the
        stand-in's own tenant). ``subscriptions``: the only ones it may read (as a Reader role
        assignment on each would allow); ARM answers 403 AuthorizationFailed elsewhere."""
        if isinstance(subscriptions, str):
            raise ValueError("subscriptions must be a list of subscription ids")
        allowed = None if subscriptions is None else frozenset(s.lower() for s in subscriptions)
        principal = _Principal(client_id, str(tenant_id or self.tenant_id), secret, allowed)
        with self._lock:
            self._clients[client_id.lower()] = principal

    def principal(self, client_id: str) -> _Principal | None:
        with self._lock:
            return self._clients.get(client_id.lower())

    @property
    def tenant_ids(self) -> set[str]:
        """The stand-in's own tenant and every tenant a service principal lives in."""
        with self._lock:
            return {self.tenant_id.lower()} | {p.tenant_id.lower() for p in self._clients.values()}

    def remove_client(self, client_id: str) -> None:
        with self._lock:
            self._clients.pop(client_id.lower(), None)

    def issue_token(
        self,
        audience: str = ARM_AUDIENCES[0],
        client_id: str = DEFAULT_CLIENT_ID,
        tenant_id: str | None = None,
    ) -> str:
        """A valid bearer token without going through the token endpoint (for raw HTTP tests)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = _Token(
                client_id,
                tenant_id or self.tenant_id,
                audience.rstrip("/"),
                time.time() + self.token_lifetime,
            )
        return token

    def expire_tokens(self) -> None:
        """Make every issued token expired (ARM then answers ExpiredAuthenticationToken)."""
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = 0.0

    def set_secret(self, name: str, value: str, *, content_type: str | None = None) -> str:
        """Add a secret version; returns the version id."""
        if not _SECRET_NAME_RE.match(name):
            raise ValueError("secret names are 1-127 letters, digits and dashes")
        secret = _Secret(uuid.uuid4().hex, str(value), int(time.time()), content_type)
        with self._lock:
            self._deleted.pop(name.lower(), None)  # the test's own write replaces a deleted one
            self._secrets.setdefault(name.lower(), []).append(secret)
        return secret.version

    def secret_versions(self, name: str) -> list[str]:
        """The versions of a (not deleted) secret, oldest first."""
        with self._lock:
            return [s.version for s in self._secrets.get(name.lower(), [])]

    def secret_value(self, name: str) -> str | None:
        """The newest value of a (not deleted) secret, None if there is none."""
        with self._lock:
            versions = self._secrets.get(name.lower())
            return versions[-1].value if versions else None

    def deleted_secret_names(self) -> list[str]:
        """Soft-deleted secrets not purged yet."""
        with self._lock:
            return sorted(self._deleted)

    def delete_secret(self, name: str) -> bool:
        """Soft-delete a secret (all its versions), as Key Vault's DELETE does."""
        with self._lock:
            versions = self._secrets.pop(name.lower(), None)
            if versions is None:
                return False
            self._deleted[name.lower()] = (versions, int(time.time()))
            return True

    def purge_secret(self, name: str) -> bool:
        with self._lock:
            return self._deleted.pop(name.lower(), None) is not None

    # -- faults and the request log ---------------------------------------------------------

    def inject_fault(self, fault: Fault | None = None, **kwargs: Any) -> Fault:
        """Add a fault: ``inject_fault(status=429, retry_after=0, count=1)`` or a :class:`Fault`."""
        fault = fault or Fault(**kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove_fault(self, fault_id: str) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear_faults(self) -> int:
        with self._lock:
            count, self._faults = len(self._faults), []
            return count

    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def requests(
        self, *, target: str | None = None, subscription: str | None = None, since: int = 0
    ) -> list[dict[str, Any]]:
        """The request log, oldest first: seq, time, method, path, query, status, target,
        subscription, operation, page, fault, client_id, duration_ms. Never headers or bodies."""
        with self._lock:
            entries = list(self._log)
        return [
            e
            for e in entries
            if e["seq"] > since
            and (target is None or e["target"] == target)
            and (subscription is None or (e["subscription"] or "").lower() == subscription.lower())
        ]

    def request_counts(self) -> dict[str, int]:
        """ARM requests per subscription id (as the client spelled it), faulted ones included."""
        with self._lock:
            return dict(self._counts)

    def request_count(self, subscription_id: str) -> int:
        with self._lock:
            return sum(n for sub, n in self._counts.items() if sub.lower() == subscription_id.lower())

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()
            self._counts.clear()

    # -- helpers for clients ----------------------------------------------------------------

    def credential(
        self, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET, **kwargs: Any
    ) -> Any:
        """An azure-identity ``ClientSecretCredential`` against this stand-in."""
        from azure.identity import ClientSecretCredential

        kwargs.setdefault("authority", self.url)
        kwargs.setdefault("disable_instance_discovery", True)
        kwargs.setdefault("connection_verify", self.ca_path)
        return ClientSecretCredential(self.tenant_id, client_id, client_secret, **kwargs)

    def advisor_client(self, subscription_id: str, credential: Any = None, **kwargs: Any) -> Any:
        """An ``AdvisorManagementClient`` against this stand-in."""
        from azure.mgmt.advisor import AdvisorManagementClient

        kwargs.setdefault("credential_scopes", [self.url + "/.default"])
        kwargs.setdefault("connection_verify", self.ca_path)
        return AdvisorManagementClient(
            credential or self.credential(), subscription_id, base_url=self.url, **kwargs
        )

    def secret_client(self, credential: Any = None, **kwargs: Any) -> Any:
        """A Key Vault ``SecretClient`` against this stand-in."""
        from azure.keyvault.secrets import SecretClient

        kwargs.setdefault("verify_challenge_resource", False)
        kwargs.setdefault("connection_verify", self.ca_path)
        return SecretClient(vault_url=self.url, credential=credential or self.credential(), **kwargs)

    def settings_env(self) -> dict[str, str]:
        """Environment settings that point the app (shared/settings.py) at this stand-in."""
        return {
            "ARM_ENDPOINT": self.url,
            "AZURE_AUTHORITY_HOST": self.url,
            "KEY_VAULT_URL": self.url,
            "ADVISOR_TENANT_ID": self.tenant_id,
            "ADVISOR_CLIENT_ID": DEFAULT_CLIENT_ID,
            "ADVISOR_CLIENT_SECRET_NAME": DEFAULT_SECRET_NAME,
            "TLS_CA_BUNDLE": self.ca_path,
            # The app's own identity, read by EnvironmentCredential (a managed identity in Azure).
            "AZURE_TENANT_ID": self.tenant_id,
            "AZURE_CLIENT_ID": APP_IDENTITY_CLIENT_ID,
            "AZURE_CLIENT_SECRET": APP_IDENTITY_SECRET,
        }

    # -- internals used by the handler ---------------------------------------------------------

    def _record(self, req: _Request, status: int) -> None:
        log.info(
            "%s %s -> %s%s", req.method, req.path, status, f" (fault {req.fault.id})" if req.fault else ""
        )
        entry = {
            "method": req.method,
            "path": req.path,
            "query": req.query,
            "status": status,
            "target": req.target,
            "subscription": req.subscription,
            "operation": req.operation,
            "page": req.page,
            "fault": req.fault.id if req.fault else None,
            "client_id": req.client_id,
            "duration_ms": round((time.monotonic() - req.started) * 1000, 1),
            "time": _now_iso(),
        }
        with self._lock:
            if req.target == "control":  # the tests' own scripting is not part of the story
                return
            self._seq += 1
            entry["seq"] = self._seq
            self._log.append(entry)
            if req.target == "arm" and req.subscription:
                self._counts[req.subscription] = self._counts.get(req.subscription, 0) + 1

    def _take_fault(self, req: _Request) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(req.target, req.subscription, req.operation, req.page):
                    fault.hits += 1
                    if fault.count is not None and fault.hits >= fault.count:
                        self._faults.remove(fault)
                    return fault
        return None

    def _remaining_reads(self, subscription: str) -> int:
        """ARM's read bucket, for the x-ms-ratelimit header (informational, never enforced)."""
        now = time.monotonic()
        with self._lock:
            level, at = self._buckets.get(subscription.lower(), (float(READS_PER_BUCKET), now))
            level = min(float(READS_PER_BUCKET), level + (now - at) * READS_REFILL_PER_SECOND) - 1
            level = max(level, 0.0)
            self._buckets[subscription.lower()] = (level, now)
            return int(level)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    standin: AzureStandIn

    def server_activate(self) -> None:
        super().server_activate()
        self._connections: set[Any] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up on keep-alive clients, so a stopped stand-in really stops answering."""
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # TLS handshakes refused by clients that don't trust the CA, clients that hang up: noise.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)
