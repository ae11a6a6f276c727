"""Report callbacks (the "HTTP + Webhook" pattern): which URLs a caller may give, and how a
finished report is POSTed to one, signed.

A callback URL is a secret (a Logic App's ``listCallbackUrl`` carries its ``sig=`` in the
query): it is kept on the report entity only, and no message built here ever contains it.

Where a callback may go: ``https`` URLs whose host resolves only to public addresses. A host
is refused when any address it resolves to is loopback, private, link-local, shared (CGNAT),
multicast, reserved, unspecified or otherwise not globally routable, an IPv6 unique-local or
link-local address, or an IPv4 address of those kinds inside IPv6 (mapped, 6to4, NAT64).
Numeric hosts in other notations than the dotted quad (``2130706433``, ``0x7f.1``, ``0177.0.0.1``)
are refused outright: they exist to slip past filters. ``CALLBACK_ALLOW_PRIVATE_HOSTS`` lifts
the address rules (and allows ``http``) for local testing only.

Delivery checks again at the moment it connects (the name may resolve elsewhere by then: DNS
rebinding), connects to the address it checked (never resolving twice), and does not follow
redirects: a 3xx is a failed delivery, so a receiver cannot bounce the request to an address
the rules refuse.

Signature: ``X-Advisor-Timestamp: <unix seconds>`` and ``X-Advisor-Signature:
sha256=<hex HMAC-SHA256(CALLBACK_SIGNING_KEY, "<timestamp>." + raw body)>``. A receiver
recomputes it over the raw bytes it got, compares in constant time, and refuses a timestamp
more than ``SIGNATURE_TOLERANCE_SECONDS`` away from its clock (``verify_signature``).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import InvalidInputError

FIELD = "callbackUrl"
MAX_URL_LENGTH = 4096
SIGNATURE_HEADER = "X-Advisor-Signature"
TIMESTAMP_HEADER = "X-Advisor-Timestamp"
REPORT_ID_HEADER = "X-Advisor-Report-Id"
SIGNATURE_TOLERANCE_SECONDS = 300
DELIVERY_TIMEOUT_SECONDS = 10
USER_AGENT = "advisor-reports-callback/1"

# Hosts made of numbers only (each label decimal, octal or hex): an IP address in some notation.
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)
_HOST_NAME = re.compile(
    r"^(?=.{1,253}\.?$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}\.?$", re.I
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")  # IPv6 ULA (RFC 4193), fd00::/8 among them
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 inside IPv6 (RFC 6052)

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (``socket.getaddrinfo``), in its order, once each."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_problem(address: str) -> str | None:
    """Why a callback must not go to ``address`` ("a loopback address"...), or None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = address_problem(str(embedded))
            return f"{inner} inside an IPv6 address" if inner else None
    return _kind_problem(ip)


def _kind_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip in _SHARED, "a shared (carrier-grade NAT) address"),
        (ip in _UNIQUE_LOCAL, "a unique local (private IPv6) address"),
        (ip.is_private, "a private address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "an address that is not publicly routable"),
    )
    return next((reason for hit, reason in checks if hit), None)


@dataclass(frozen=True)
class Target:
    """Where a callback URL points: scheme, host (as written, without brackets), port."""

    scheme: str
    host: str
    port: int


def parse_target(url: str, *, allow_private: bool) -> Target:
    """The URL's target, or InvalidInputError naming what is wrong (never echoing the URL)."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInputError(f"{FIELD} is longer than {MAX_URL_LENGTH} characters", field=FIELD)
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise InvalidInputError(f"{FIELD} must not contain spaces or control characters", field=FIELD)
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in schemes:
        raise InvalidInputError(f"{FIELD} must be an https URL", field=FIELD)
    if "@" in parts.netloc:
        raise InvalidInputError(f"{FIELD} must not carry a user name or password", field=FIELD)
    host = parts.hostname or ""
    if not host:
        raise InvalidInputError(f"{FIELD} has no host", field=FIELD)
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise InvalidInputError(f"{FIELD} has an invalid port", field=FIELD) from None
    _check_host_form(host)
    return Target(parts.scheme.lower(), host, port)


def _check_host_form(host: str) -> None:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None and _NUMERIC_HOST.match(host):
        raise InvalidInputError(
            f"{FIELD}: host {host[:60]!r} is an IP address in a non-standard notation", field=FIELD
        )
    if literal is None and not _HOST_NAME.match(host):
        raise InvalidInputError(f"{FIELD}: host {host[:60]!r} is not a valid host name", field=FIELD)


def forbidden_address(addresses: list[str]) -> tuple[str, str] | None:
    """The first (address, reason) a callback must not go to; None when all are public."""
    for address in addresses:
        problem = address_problem(address)
        if problem:
            return address, problem
    return None


def check_callback_url(value: object, *, allow_private: bool, resolver: Resolver = resolve) -> str:
    """``value`` as a callback URL a report may be delivered to, or InvalidInputError (field
    ``callbackUrl``) naming the problem: not https, a literal or resolved address of a
    forbidden kind, a host that does not resolve. With ``allow_private`` the address rules are
    lifted (local testing), not the rest."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{FIELD} must be a non-empty string (an https URL)", field=FIELD)
    url = value.strip()
    target = parse_target(url, allow_private=allow_private)
    if allow_private:
        return url
    try:
        addresses = resolver(target.host, target.port)
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        raise InvalidInputError(f"{FIELD}: host {target.host[:60]!r} cannot be resolved", field=FIELD)
    refused = forbidden_address(addresses)
    if refused:
        address, reason = refused
        shown = "is" if address == target.host else f"resolves to {address},"
        raise InvalidInputError(
            f"{FIELD}: host {target.host[:60]!r} {shown} {reason}; callbacks go to public hosts only",
            field=FIELD,
        )
    return url


# -- signing ------------------------------------------------------------------------------------


def signature(key: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + the hex HMAC-SHA256 of ``timestamp + "." + body`` keyed with ``key``."""
    mac = hmac.new(key.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(key: str, report_id: str, body: bytes, *, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(key, timestamp, body),
        REPORT_ID_HEADER: report_id,
    }


def verify_signature(
    key: str,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    now: float,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: the timestamp is recent and the signature matches the raw body."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(key, timestamp, body), header or "")


# -- delivery -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """How one POST to a callback URL went. ``retry``: worth another attempt (5xx, 408, 429,
    no connection). ``error`` never contains the URL."""

    delivered: bool
    status: int | None = None
    retry: bool = False
    error: str = ""


def classify(status: int) -> Delivery:
    if 200 <= status < 300:
        return Delivery(True, status)
    if 300 <= status < 400:
        return Delivery(
            False,
            status,
            error=f"The receiver answered HTTP {status} (a redirect); callbacks do not follow redirects",
        )
    retry = status in (408, 429) or status >= 500
    return Delivery(False, status, retry=retry, error=f"The receiver answered HTTP {status}")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to an address checked beforehand (local testing only)."""

    def __init__(self, host: str, port: int, address: str, *, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address checked beforehand, the certificate checked for the host name."""

    def __init__(
        self, host: str, port: int, address: str, *, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def tls_context(ca_bundle: str = "") -> ssl.SSLContext:
    """The system's trust store, plus ``ca_bundle`` when given (a local stand-in's test CA)."""
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    ca_bundle: str = "",
    timeout: float = DELIVERY_TIMEOUT_SECONDS,
    resolver: Resolver = resolve,
) -> Delivery:
    """POST ``body`` to ``url`` once: the host resolved and checked now, the connection made to
    the address checked, no redirect followed."""
    try:
        target = parse_target(url, allow_private=allow_private)
    except InvalidInputError as exc:
        return Delivery(False, error=f"The callback URL is no longer accepted: {exc}")
    try:
        addresses = resolver(target.host, target.port)
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        return Delivery(False, retry=True, error="The callback host could not be resolved")
    refused = None if allow_private else forbidden_address(addresses)
    if refused:
        return Delivery(False, error=f"The callback host now resolves to {refused[1]}; not delivered")
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _send(target, addresses, path, body, headers, ca_bundle=ca_bundle, timeout=timeout)


def _send(
    target: Target,
    addresses: list[str],
    path: str,
    body: bytes,
    headers: dict[str, str],
    *,
    ca_bundle: str,
    timeout: float,
) -> Delivery:
    """POST to the first of ``addresses`` (all checked) that takes the connection."""
    failure = Delivery(False, retry=True, error="No connection to the receiver")
    for address in addresses[:4]:
        connection = _connection(target, address, ca_bundle=ca_bundle, timeout=timeout)
        try:
            connection.connect()
        except ssl.SSLCertVerificationError:
            connection.close()
            return Delivery(False, error="The receiver's TLS certificate is not valid for its host")
        except OSError as exc:
            connection.close()
            failure = Delivery(
                False, retry=True, error=f"No connection to the receiver ({type(exc).__name__})"
            )
            continue
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(64 * 1024)  # what the receiver says does not matter, only its status
            return classify(response.status)
        except (OSError, http.client.HTTPException) as exc:
            return Delivery(False, retry=True, error=f"No answer from the receiver ({type(exc).__name__})")
        finally:
            connection.close()
    return failure


def _connection(
    target: Target, address: str, *, ca_bundle: str, timeout: float
) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return _PinnedHTTPSConnection(
            target.host, target.port, address, timeout=timeout, context=tls_context(ca_bundle)
        )
    return _PinnedHTTPConnection(target.host, target.port, address, timeout=timeout)
