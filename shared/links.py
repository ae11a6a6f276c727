"""The links the API hands out: the report's URL (``Location``, ``statusUrl``) and its file links.

- Built from a configured public base URL (``PUBLIC_BASE_URL``; on Azure, when it is unset,
  ``https://`` + the platform's ``WEBSITE_HOSTNAME``), never from the request's ``Host`` header,
  which a caller controls. With neither, links are relative (``/api/reports/{id}``), which
  HTTP allows in ``Location``.
- They never carry the caller's function key (``?code=``): a key copied into a link ends up in
  Logic App run history and logs, and it opens every report, not one.
- A poller that cannot send a key header (a Logic App following ``Location``) is given a link
  scoped to one report that expires: ``/api/links/reports/{id}?token=EXPIRY.SIGNATURE``, an
  HMAC-SHA256 over the report id and the expiry with ``REPORT_LINK_KEY`` (an app setting,
  typically a Key Vault reference). Only the anonymous ``links/`` routes accept such a token
  and they accept nothing else; the ``/api/reports`` routes stay function-level. Without
  ``REPORT_LINK_KEY`` no such link is handed out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from .settings import Settings

LINK_PREFIX = "/api/links"
_DIGITS = frozenset("0123456789")
_ROUND_SECONDS = 3600


def public_base_url(settings: Settings) -> str:
    """Where callers reach the app, without a trailing slash; "" for relative links."""
    return settings.public_base_url.rstrip("/")


@dataclass(frozen=True)
class LinkSigner:
    """Signs and checks report-scoped link tokens (see the module docstring)."""

    key: bytes
    lifetime_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkSigner | None:
        if not settings.report_link_key:
            return None
        return cls(settings.report_link_key.encode("utf-8"), settings.report_link_hours * 3600)

    def _signature(self, report_id: str, expires: int) -> str:
        mac = hmac.new(self.key, f"report-link\n{report_id}\n{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")

    def sign(self, report_id: str, *, now: float | None = None) -> str:
        """A token valid for the lifetime, rounded up to the next full hour so that answers
        given within the same hour hand out the same links."""
        earliest = int(now if now is not None else time.time()) + self.lifetime_seconds
        expires = -(-earliest // _ROUND_SECONDS) * _ROUND_SECONDS
        return f"{expires}.{self._signature(report_id, expires)}"

    def verify(self, report_id: str, token: str, *, now: float | None = None) -> bool:
        """Whether ``token`` was signed for this report and has not expired."""
        expires_text, _, signature = (token or "").partition(".")
        if not expires_text or len(expires_text) > 12 or not set(expires_text) <= _DIGITS:
            return False
        expires = int(expires_text)
        if expires < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(signature, self._signature(report_id, expires))


@dataclass(frozen=True)
class ReportLinks:
    """The links of one report as handed to one caller: plain (the caller has a function key)
    or signed with ``token``."""

    base: str
    report_id: str
    token: str = ""

    @property
    def report(self) -> str:
        if self.token:
            return f"{self.base}{LINK_PREFIX}/reports/{self.report_id}?token={self.token}"
        return f"{self.base}/api/reports/{self.report_id}"

    def file(self, fmt: str) -> str:
        if self.token:
            return f"{self.base}{LINK_PREFIX}/reports/{self.report_id}/files/{fmt}?token={self.token}"
        return f"{self.base}/api/reports/{self.report_id}/files/{fmt}"


def report_links(settings: Settings, report_id: str, *, token: str | None = None) -> ReportLinks:
    """The report's links: signed with ``token`` if given (the caller came with one), else with
    a new token when a link key is configured, else plain."""
    if token is None:
        signer = LinkSigner.from_settings(settings)
        token = signer.sign(report_id) if signer else ""
    return ReportLinks(public_base_url(settings), report_id, token)
