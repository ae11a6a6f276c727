"""A local HTTPS stand-in for the parts of Azure the app talks to, so the real SDK clients
(azure-mgmt-advisor, azure-identity, azure-keyvault-secrets) run unmodified against loopback.

One server on ``https://127.0.0.1:PORT`` serves:

- ARM, Microsoft.Advisor as azure-mgmt-advisor 9.0.1 calls it (api-version 2020-01-01):
  ``GET /subscriptions/{sub}/providers/Microsoft.Advisor/recommendations`` with ``$filter``
  (Category, ResourceGroup, ResourceId, RecommendationTypeGuid; ``eq``, ``and``, ``or``,
  parentheses; ``'...'`` strings with ``''`` for a quote), ``$top`` and ``nextLink`` paging
  (an absolute URL carrying an opaque ``$skipToken``);
  ``GET {resourceUri}/providers/Microsoft.Advisor/recommendations/{name}``;
  ``POST .../generateRecommendations`` (202 + Location + Retry-After) and
  ``GET .../generateRecommendations/{operationId}`` (202 the first time, then 204);
  ``GET /subscriptions`` and ``GET /subscriptions/{sub}`` (the Subscriptions API).
  Every ARM request needs ``Authorization: Bearer <token issued here>``.
- Entra ID (v2 endpoints) for ``ClientSecretCredential``: ``GET /{tenant}/v2.0/.well-known/
  openid-configuration`` and ``POST /{tenant}/oauth2/v2.0/token`` (client_credentials with a
  client secret). Tokens are opaque random strings, remembered with their audience.
- Key Vault secrets: ``GET /secrets/{name}[/{version}]`` and ``PUT /secrets/{name}``, with Key
  Vault's challenge (401 + ``WWW-Authenticate: Bearer authorization="{url}/{tenant}",
  resource="https://vault.azure.net"``) on a request without a token.
- A control API for tests in this or another process (no auth; loopback only):
  ``GET|POST|DELETE /_control/faults``, ``DELETE /_control/faults/{id}``,
  ``GET|DELETE /_control/requests``, ``PUT /_control/tenant``, ``PUT /_control/secrets/{name}``,
  ``PUT /_control/clients/{clientId}``, ``POST /_control/tokens/expire``, ``GET /_control/health``.

Pointing the SDK clients at it (``s`` is a running :class:`AzureStandIn`)::

    cred = ClientSecretCredential(s.tenant_id, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
                                  authority=s.url,
                                  disable_instance_discovery=True,  # required, see below
                                  connection_verify=s.ca_path)
    advisor = AdvisorManagementClient(cred, subscription_id, base_url=s.url,
                                      credential_scopes=[s.url + "/.default"],
                                      connection_verify=s.ca_path)
    vault = SecretClient(vault_url=s.url, credential=cred,
                         verify_challenge_resource=False,  # required, see below
                         connection_verify=s.ca_path)

(:meth:`AzureStandIn.credential`, :meth:`~AzureStandIn.advisor_client` and
:meth:`~AzureStandIn.secret_client` build exactly these.)

- ``disable_instance_discovery=True``: MSAL validates an authority host it does not know by
  calling ``https://login.microsoftonline.com/common/discovery/instance`` (the real internet)
  before anything else; with discovery disabled it goes straight to the stand-in's
  ``/{tenant}/v2.0/.well-known/openid-configuration``. Real clouds' hosts (public, US Gov,
  China) are on MSAL's well-known list, so production code needs the flag only for hosts like
  this one.
- ``verify_challenge_resource=False``: SecretClient checks that the request host ends with
  ``.`` + the challenge's resource host (``*.vault.azure.net``); ``127.0.0.1`` cannot.
- Trust: ``connection_verify=s.ca_path`` on each client (credential included) keeps the test CA
  local to those clients; azure-core passes it to requests per request, so it wins over any
  ``REQUESTS_CA_BUNDLE`` already in the environment. Setting ``REQUESTS_CA_BUNDLE=s.ca_path``
  works too (azure-core's requests transport trusts the environment by default), but it
  replaces the system CA bundle for every requests-based client in the process. For plain
  ``requests``, pass ``verify=s.ca_path`` on each call: a ``REQUESTS_CA_BUNDLE`` in the
  environment overrides ``Session.verify``.
- Token audience: ARM accepts tokens for ``https://management.azure.com``,
  ``https://management.core.windows.net`` or the stand-in's own URL (what the app asks for
  when ``ARM_ENDPOINT`` is the stand-in); Key Vault accepts ``https://vault.azure.net`` or the
  stand-in's URL. Anything else gets ``InvalidAuthenticationTokenAudience`` / AKV10022.

Faults (see :class:`Fault`), per subscription or ``"*"``, for the next ``count`` matching
requests or always (``count`` omitted), optionally only on listing page ``page``: an error
status with ARM's real error code (401 InvalidAuthenticationToken, 403 AuthorizationFailed,
404 SubscriptionNotFound, 429 TooManyRequests with ``Retry-After`` and
``x-ms-ratelimit-remaining-subscription-reads``, 500 InternalServerError, 503
ServiceUnavailable), a delay, a page of invalid JSON, a page whose ``nextLink`` is ``""`` or
points back at the page itself. Only Retry-After-carrying faults (429, and 503 when asked)
send ``Retry-After``: azure-core retries *any* status >= 400 that has one.

Nothing logged or recorded here contains an Authorization header, a token, a client secret or
a secret value. The request log and the per-subscription counters leave out ``/_control``
calls. ``python -m devhost.azure_standin --tenant FILE --port N --ca-out DIR`` runs it
in the foreground (``--help`` for more).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import re
import secrets
import shutil
import signal
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import trustme

log = logging.getLogger(__name__)

# Fixed, made-up identities of the stand-in's tenant and its default app registration. They are
# not secrets: nothing outside this loopback server accepts them.
DEFAULT_TENANT_ID = "6b1f3c2e-9d4a-4e7b-8a51-0c2d3e4f5a6b"
DEFAULT_CLIENT_ID = "3f9a7c1d-2b4e-4d6f-9e8a-7b6c5d4e3f2a"
DEFAULT_CLIENT_SECRET = "standin-client-secret-value"
# The secret name the demo settings use for the Advisor client's secret (ADVISOR_CLIENT_SECRET_NAME).
DEFAULT_SECRET_NAME = "advisor-client-secret"
# The app's own identity (what a managed identity is in Azure): reads Key Vault, nothing else
# holds its secret. Registered alongside the default client unless a caller names clients.
APP_IDENTITY_CLIENT_ID = "9c4d2e1f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
APP_IDENTITY_SECRET = "standin-app-identity-secret"

BUNDLED_TENANT = Path(__file__).with_name("sample_tenant.json")

ADVISOR_API_VERSIONS = frozenset(
    {
        "2017-03-31",
        "2017-04-19",
        "2020-01-01",
        "2020-07-01-preview",
        "2022-09-01",
        "2022-10-01",
        "2023-01-01",
        "2023-09-01-preview",
        "2024-11-18-preview",
        "2025-01-01",
    }
)
ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")
VAULT_AUDIENCE = "https://vault.azure.net"
READS_PER_BUCKET = 250  # ARM's read bucket per subscription and principal
READS_REFILL_PER_SECOND = 25

ARM_ERROR_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "AuthorizationFailed",
    404: "SubscriptionNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
VAULT_ERROR_CODES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "SecretNotFound",
    429: "Throttled",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}
_ADVISOR = "/providers/microsoft.advisor/"
_SECRET_NAME_RE = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_MAX_BODY = 32 * 1024 * 1024
_RESERVED_SCOPES = {"openid", "profile", "offline_access", "email"}


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------------------------
# $filter (api-version 2020-01-01 grammar)
# --------------------------------------------------------------------------------------------


class FilterError(ValueError):
    """A malformed or unsupported ``$filter``; the message says where."""


def recommendation_resource_group(rec: Mapping[str, Any]) -> str:
    """The resource group in a recommendation's id ("" for subscription-level ones)."""
    match = re.search(r"/resourceGroups/([^/]+)/", rec.get("id", ""), re.IGNORECASE)
    return match.group(1) if match else ""


def recommendation_resource_id(rec: Mapping[str, Any]) -> str:
    """The id of the resource a recommendation is about."""
    meta = (rec.get("properties") or {}).get("resourceMetadata") or {}
    if meta.get("resourceId"):
        return str(meta["resourceId"])
    rec_id = str(rec.get("id", ""))
    cut = rec_id.lower().rfind(_ADVISOR + "recommendations/")
    return rec_id[:cut] if cut >= 0 else rec_id


_FILTER_PROPERTIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "category": lambda r: str((r.get("properties") or {}).get("category") or ""),
    "resourcegroup": recommendation_resource_group,
    "resourceid": recommendation_resource_id,
    "recommendationtypeguid": lambda r: str((r.get("properties") or {}).get("recommendationTypeId") or ""),
}
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<str>'(?:[^']|'')*'?)|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)

Predicate = Callable[[Mapping[str, Any]], bool]


def parse_filter(text: str) -> Predicate:
    """Compile a ``$filter`` into a predicate over ARM recommendation objects.

    ``or`` binds looser than ``and``; property names, keywords and values compare
    case-insensitively. Raises :class:`FilterError` for anything else.
    """
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    stripped_end = len(text.rstrip())
    while pos < stripped_end:
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise FilterError(f"unexpected character {text[pos:].lstrip()[:1]!r} at position {pos}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            if len(value) < 2 or not value.endswith("'") or (value.endswith("''") and _unbalanced(value)):
                raise FilterError(f"unterminated string literal at position {match.start(kind)}")
            value = value[1:-1].replace("''", "'")
        tokens.append((kind, value, match.start(kind)))
        pos = match.end()
    if not tokens:
        raise FilterError("empty filter")
    parser = _FilterParser(tokens, text)
    predicate = parser.parse_or()
    if parser.index != len(tokens):
        _, value, at = tokens[parser.index]
        raise FilterError(f"unexpected {value!r} at position {at}")
    return predicate


def _unbalanced(literal: str) -> bool:
    # "'abc''" is an unterminated literal containing an escaped quote; "'abc'''" is not.
    body = literal[1:]
    quotes = len(body) - len(body.rstrip("'"))
    return quotes % 2 == 0


class _FilterParser:
    def __init__(self, tokens: list[tuple[str, str, int]], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.index = 0

    def _peek_word(self, word: str) -> bool:
        if self.index < len(self.tokens):
            kind, value, _ = self.tokens[self.index]
            return kind == "word" and value.lower() == word
        return False

    def _expect(self, kind: str, what: str) -> str:
        if self.index >= len(self.tokens):
            raise FilterError(f"expected {what} at the end of the filter")
        got_kind, value, at = self.tokens[self.index]
        if got_kind != kind:
            raise FilterError(f"expected {what} at position {at}, got {value!r}")
        self.index += 1
        return value

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self._peek_word("or"):
            self.index += 1
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda rec: any(p(rec) for p in parts)

    def parse_and(self) -> Predicate:
        parts = [self.parse_primary()]
        while self._peek_word("and"):
            self.index += 1
            parts.append(self.parse_primary())
        if len(parts) == 1:
            return parts[0]
        return lambda rec: all(p(rec) for p in parts)

    def parse_primary(self) -> Predicate:
        if self.index < len(self.tokens) and self.tokens[self.index][0] == "lp":
            self.index += 1
            inner = self.parse_or()
            self._expect("rp", "')'")
            return inner
        name = self._expect("word", "a property name")
        getter = _FILTER_PROPERTIES.get(name.lower())
        if getter is None:
            raise FilterError(
                f"'{name}' cannot be filtered on; "
                "use Category, ResourceGroup, ResourceId or RecommendationTypeGuid"
            )
        operator = self._expect("word", "'eq'")
        if operator.lower() != "eq":
            raise FilterError(f"operator '{operator}' is not supported; use 'eq'")
        wanted = self._expect("str", "a quoted value").lower()
        return lambda rec: getter(rec).lower() == wanted


# --------------------------------------------------------------------------------------------
# Faults and the request log
# --------------------------------------------------------------------------------------------

_FAULT_FIELDS = {
    "subscription",
    "target",
    "operation",
    "status",
    "code",
    "message",
    "retry_after",
    "remaining_reads",
    "count",
    "page",
    "delay",
    "malformed",
    "next_link",
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass
class Fault:
    """Something to go wrong, scripted by a test.

    - ``subscription``: a subscription id or ``"*"`` (ARM only; case-insensitive).
    - ``target``: ``"arm"`` (default), ``"token"`` (the Entra token endpoint) or ``"keyvault"``.
    - ``operation``: only for one ARM operation: ``list``, ``get``, ``generate``,
      ``generate_status``, ``subscription`` (None: any).
    - ``status``: answer with this error status and the service's error body; ``code`` and
      ``message`` override the defaults. 429 always carries ``Retry-After`` (``retry_after``,
      default 1) and ``x-ms-ratelimit-remaining-subscription-reads`` (``remaining_reads``,
      default 0); other statuses carry ``Retry-After`` only when ``retry_after`` is given.
    - ``malformed``: answer 200 with a body that is not valid JSON.
    - ``next_link``: ``"empty"`` (the page says ``"nextLink": ""``) or ``"repeat"`` (the page's
      nextLink points back at the page itself, so a client sees the same link again).
    - ``delay``: seconds to wait before answering (alone: a slow but correct answer).
    - ``page``: only on this listing page (1-based); implies ``operation="list"``.
    - ``count``: how many matching requests it affects; None means every one.

    A request gets the first active fault that matches it.
    """

    subscription: str = "*"
    target: str = "arm"
    operation: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    remaining_reads: int | None = None
    count: int | None = None
    page: int | None = None
    delay: float = 0.0
    malformed: bool = False
    next_link: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    hits: int = 0

    def __post_init__(self) -> None:
        self.status = None if self.status is None else int(self.status)
        self.count = None if self.count is None else int(self.count)
        self.page = None if self.page is None else int(self.page)
        self.retry_after = None if self.retry_after is None else float(self.retry_after)
        self.remaining_reads = None if self.remaining_reads is None else int(self.remaining_reads)
        self.delay = float(self.delay or 0)
        self.malformed = bool(self.malformed)
        if self.target not in ("arm", "token", "keyvault"):
            raise ValueError("target must be 'arm', 'token' or 'keyvault'")
        if self.operation not in (None, "list", "get", "generate", "generate_status", "subscription"):
            raise ValueError("operation must be list, get, generate, generate_status or subscription")
        effects = [self.status is not None, bool(self.malformed), self.next_link is not None]
        if sum(effects) > 1:
            raise ValueError("a fault has at most one of status, malformed, next_link")
        if not any(effects) and not self.delay:
            raise ValueError("a fault needs status, malformed, next_link or delay")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if self.next_link not in (None, "empty", "repeat"):
            raise ValueError("next_link must be 'empty' or 'repeat'")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (omit it for 'always')")
        if self.page is not None and self.page < 1:
            raise ValueError("page is 1-based")
        if (self.page is not None or self.next_link is not None) and self.operation in (None, "list"):
            self.operation = "list"
        elif self.page is not None or self.next_link is not None:
            raise ValueError("page and next_link apply to the 'list' operation only")
        if self.delay < 0:
            raise ValueError("delay must not be negative")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Accepts the keyword names (``retry_after``) or camelCase (``retryAfter``)."""
        if not isinstance(data, Mapping):
            raise ValueError("a fault is a JSON object")
        kwargs = {}
        for key, value in data.items():
            name = _CAMEL.sub("_", key).lower()
            if name not in _FAULT_FIELDS:
                raise ValueError(f"unknown fault field {key!r}")
            kwargs[name] = value
        return cls(**kwargs)

    def matches(self, target: str, subscription: str | None, operation: str | None, page: int | None) -> bool:
        if self.target != target:
            return False
        if target == "arm" and self.subscription != "*":
            if not subscription or subscription.lower() != self.subscription.lower():
                return False
        if self.operation is not None and self.operation != operation:
            return False
        if self.page is not None and self.page != page:
            return False
        return True

    @property
    def remaining(self) -> int | None:
        return None if self.count is None else self.count - self.hits

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in sorted(_FAULT_FIELDS)}
        data.update(id=self.id, hits=self.hits, remaining=self.remaining)
        return data


@dataclass
class _Token:
    client_id: str
    tenant_id: str
    audience: str
    expires_at: float


@dataclass
class _Secret:
    version: str
    value: str
    created: int
    content_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    enabled: bool = True


@dataclass
class _Request:
    """What one handler is working on; becomes a log entry when answered."""

    method: str
    path: str
    query: dict[str, Any]
    target: str = "other"
    subscription: str | None = None
    operation: str | None = None
    page: int | None = None
    client_id: str | None = None
    fault: Fault | None = None
    started: float = field(default_factory=time.monotonic)


class _Reply(Exception):
    """Raised inside a handler to answer at once (errors, mostly)."""

    def __init__(self, status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class _Handled(_Reply):
    """The answer has already been sent."""

    def __init__(self) -> None:
        super().__init__(0)


# --------------------------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------------------------


class AzureStandIn:
    """The HTTPS stand-in for ARM Advisor, Entra ID and Key Vault; see the module docstring.

    :param tenant: the tenant to serve: a JSON file path or a dict
        ``{"subscriptions": [{"subscriptionId", "displayName", "recommendations": [...]}]}``,
        optionally with ``"tenantId"``, ``"clients"`` ({client_id: secret}) and ``"secrets"``
        ({name: value}); None serves the bundled sample (devhost/sample_tenant.json).
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
        self._clients: dict[str, str] = {}
        self._secrets: dict[str, list[_Secret]] = {}
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
        all_clients = {**(data.get("clients") or {}), **(clients or {})}
        defaults = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET, APP_IDENTITY_CLIENT_ID: APP_IDENTITY_SECRET}
        for client_id, secret in (all_clients or defaults).items():
            self.add_client(client_id, secret)
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

    def add_client(self, client_id: str, secret: str) -> None:
        """Accept this app registration (client id and secret) at the token endpoint."""
        with self._lock:
            self._clients[client_id.lower()] = secret

    def remove_client(self, client_id: str) -> None:
        with self._lock:
            self._clients.pop(client_id.lower(), None)

    def issue_token(self, audience: str = ARM_AUDIENCES[0], client_id: str = DEFAULT_CLIENT_ID) -> str:
        """A valid bearer token without going through the token endpoint (for raw HTTP tests)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = _Token(
                client_id, self.tenant_id, audience.rstrip("/"), time.time() + self.token_lifetime
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
            self._secrets.setdefault(name.lower(), []).append(secret)
        return secret.version

    def delete_secret(self, name: str) -> None:
        with self._lock:
            self._secrets.pop(name.lower(), None)

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


def _arm_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> _Reply:
    return _Reply(status, {"error": {"code": code, "message": message}}, headers)


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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AzureStandIn/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this
    # Headers and body go out in separate writes; with Nagle's algorithm on, the client's delayed
    # ACK stalls every answer by ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    # Logging goes through _record (never headers); silence the base class's stderr lines.
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    @property
    def standin(self) -> AzureStandIn:
        return self.server.standin

    # -- plumbing ------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        # ARM tolerates doubled slashes; recommendations.get() sends "//subscriptions/...".
        path = re.sub(r"/{2,}", "/", unquote(parts.path))
        raw_query = parse_qs(parts.query, keep_blank_values=True)
        query = {k: (v[0] if len(v) == 1 else v) for k, v in raw_query.items()}
        req = _Request(self.command, path, query)
        try:
            body = self._read_body()
            self._route(req, body)
        except _Handled:
            pass
        except _Reply as reply:
            self._answer(req, reply.status, reply.body, reply.headers)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
        except Exception:
            log.exception("the stand-in failed on %s %s", req.method, req.path)
            self._answer(req, 500, {"error": {"code": "InternalServerError", "message": "stand-in failure"}})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            raise _Reply(413, {"error": {"code": "RequestTooLarge", "message": "body too large"}})
        return self.rfile.read(length) if length else b""

    def _answer(
        self,
        req: _Request,
        status: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        raw: bytes | None = None,
    ) -> None:
        if req.fault and req.fault.delay:
            time.sleep(req.fault.delay)
        if raw is not None:
            payload = raw
        elif body is None:
            payload = b""
        else:
            payload = json.dumps(body).encode()
        self.standin._record(req, status)
        try:
            self.send_response(status)
            out = {"x-ms-request-id": str(uuid.uuid4())}
            if req.target == "arm":
                out["x-ms-correlation-request-id"] = str(uuid.uuid4())
            if payload or raw is not None:
                out["Content-Type"] = "application/json; charset=utf-8"
            out.update(headers or {})
            for name, value in out.items():
                self.send_header(name, value)
            if status != 204 and not 100 <= status < 200:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and status != 204:
                self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def _bearer(self) -> str | None:
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    # -- routing -------------------------------------------------------------------------------

    def _route(self, req: _Request, body: bytes) -> None:
        path = req.path
        lower = path.lower()
        if lower.startswith("/_control/") or lower == "/_control":
            req.target = "control"
            return self._control(req, body)
        match = re.fullmatch(r"/([^/]+)/v2\.0/\.well-known/openid-configuration", path)
        if match and req.method == "GET":
            req.target = "openid"
            return self._openid_configuration(req, match.group(1))
        match = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", path)
        if match and req.method == "POST":
            req.target = "token"
            return self._token(req, match.group(1), body)
        match = re.fullmatch(r"/secrets/([^/]+)(?:/([^/]*))?/?", path, re.IGNORECASE)
        if match:
            req.target = "keyvault"
            return self._keyvault(req, match.group(1), match.group(2) or None, body)
        if lower == "/subscriptions" or lower.startswith("/subscriptions/"):
            req.target = "arm"
            return self._arm(req)
        raise _arm_error(404, "NotFound", f"The Azure stand-in does not serve {req.method} {path}.")

    # -- Entra ID ------------------------------------------------------------------------------

    def _check_tenant(self, tenant: str, error: str = "invalid_request") -> None:
        if tenant.lower() != self.standin.tenant_id.lower():
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
        base = f"{self.standin.url}/{self.standin.tenant_id}"
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
        with self.standin._lock:
            expected = self.standin._clients.get(client_id.lower())
        if expected is None:
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
        if not secrets.compare_digest(presented.encode(), expected.encode()):
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
        token = self.standin.issue_token(resources[0], client_id)
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

    # -- Key Vault ---------------------------------------------------------------------------------

    def _keyvault(self, req: _Request, name: str, version: str | None, body: bytes) -> None:
        standin = self.standin
        challenge = {
            "WWW-Authenticate": f'Bearer authorization="{standin.url}/{standin.tenant_id}", '
            f'resource="{standin.vault_resource}"'
        }
        token = self._bearer()
        if token is None:
            raise _arm_error(
                401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", challenge
            )
        with standin._lock:
            issued = standin._tokens.get(token)
        if issued is None or issued.expires_at <= time.time():
            raise _arm_error(401, "Unauthorized", "AKV10032: Invalid issuer or token expired.", challenge)
        if issued.audience.lower() not in (standin.vault_resource.lower(), standin.url.lower()):
            raise _arm_error(
                401,
                "Unauthorized",
                f"AKV10022: Invalid audience. Expected {standin.vault_resource}, found: {issued.audience}.",
                challenge,
            )
        req.client_id = issued.client_id
        fault = standin._take_fault(req)
        if fault:
            req.fault = fault
            if fault.malformed:
                self._answer(req, 200, raw=b'{"value": "')
                return
            if fault.status is not None:
                status = int(fault.status)
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                if status == 429 and "Retry-After" not in headers:
                    headers["Retry-After"] = "1"
                code = fault.code or VAULT_ERROR_CODES.get(status, f"Http{status}")
                raise _arm_error(
                    status, code, fault.message or f"Injected {status} from the stand-in.", headers
                )
        if "api-version" not in req.query:
            raise _arm_error(400, "BadParameter", "The 'api-version' query parameter is missing.")
        if not _SECRET_NAME_RE.match(name):
            raise _arm_error(
                400, "BadParameter", "The secret name is not valid: use 1-127 letters, digits and dashes."
            )
        if req.method == "PUT" and version is None:
            try:
                data = json.loads(body or b"{}")
                value = data["value"]
            except (ValueError, KeyError, TypeError) as exc:
                raise _arm_error(
                    400, "BadParameter", "The request body must be JSON with a 'value'."
                ) from exc
            new_version = standin.set_secret(name, str(value), content_type=data.get("contentType"))
            with standin._lock:
                secret = next(s for s in standin._secrets[name.lower()] if s.version == new_version)
                secret.tags = dict(data.get("tags") or {})
            return self._answer(req, 200, self._secret_bundle(name, secret, include_value=True))
        if req.method != "GET":
            raise _arm_error(
                405, "MethodNotAllowed", f"{req.method} is not supported on secrets by the stand-in."
            )
        with standin._lock:
            versions = list(standin._secrets.get(name.lower(), []))
        found = (
            versions[-1]
            if versions and not version
            else next((s for s in versions if s.version == version), None)
        )
        if found is None:
            shown = f"{name}/{version}" if version else name
            raise _arm_error(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {shown} was not found in this key vault. If you recently "
                "deleted this secret you may be able to recover it using the correct recovery command. "
                "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
            )
        self._answer(req, 200, self._secret_bundle(name, found, include_value=True))

    def _secret_bundle(self, name: str, secret: _Secret, *, include_value: bool) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "id": f"{self.standin.url}/secrets/{name}/{secret.version}",
            "attributes": {
                "enabled": secret.enabled,
                "created": secret.created,
                "updated": secret.created,
                "recoveryLevel": "Recoverable+Purgeable",
                "recoverableDays": 90,
            },
            "tags": secret.tags,
        }
        if include_value:
            bundle["value"] = secret.value
        if secret.content_type:
            bundle["contentType"] = secret.content_type
        return bundle

    # -- ARM -------------------------------------------------------------------------------------

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
            "managedByTenants": [],
            "subscriptionId": sub["subscriptionId"],
            "tenantId": self.standin.tenant_id,
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

    # -- control -----------------------------------------------------------------------------------

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
            standin.add_client(path.rsplit("/", 1)[1], str(data["secret"]))
            return self._answer(req, 200, {"clientId": path.rsplit("/", 1)[1]})
        if path == "/_control/tokens/expire" and method == "POST":
            standin.expire_tokens()
            return self._answer(req, 200, {"expired": True})
        raise _Reply(404, {"error": f"no control endpoint {method} {path}"})


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    result = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--{what} takes NAME=VALUE, got {item!r}")
        result[key] = value
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devhost.azure_standin",
        description="Serve ARM Advisor, Entra ID and Key Vault stand-ins over HTTPS on 127.0.0.1.",
    )
    parser.add_argument(
        "--tenant", type=Path, default=BUNDLED_TENANT, help="tenant JSON (default: the bundled sample)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    parser.add_argument(
        "--ca-out", type=Path, help="folder for ca.pem and standin.json (default: a temp folder)"
    )
    parser.add_argument("--tenant-id", help=f"Entra tenant id (default: the file's or {DEFAULT_TENANT_ID})")
    parser.add_argument("--client", action="append", metavar="ID=SECRET", help="accept this app registration")
    parser.add_argument("--secret", action="append", metavar="NAME=VALUE", help="a Key Vault secret")
    parser.add_argument("--page-size", type=int, default=100, help="listing page size without $top")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(message)s"
    )

    standin = AzureStandIn(
        args.tenant,
        port=args.port,
        ca_dir=args.ca_out,
        tenant_id=args.tenant_id,
        clients=_pairs(args.client, "client") or None,
        secrets=_pairs(args.secret, "secret") or None,
        page_size=args.page_size,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with standin:
        info = {
            "url": standin.url,
            "caPath": standin.ca_path,
            "tenantId": standin.tenant_id,
            "clientIds": sorted(standin._clients),
            "subscriptions": standin.subscription_ids,
            "port": standin.port,
        }
        if args.ca_out:
            (Path(args.ca_out) / "standin.json").write_text(
                json.dumps(info, indent=1) + "\n", encoding="utf-8"
            )
        print(json.dumps(info), flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
