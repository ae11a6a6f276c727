"""Customers and their subscriptions: the domain objects and the parsing of what a caller sends.

A customer is whom reports are prepared for (an MSP's client company; "client" is kept for
Entra applications): a name and optional branding (display name, accent colour, a small logo).
A subscription belongs to one customer and says how the app authenticates to it:

- ``{"type": "managedIdentity"}`` (the default): the app's own identity, which reaches other
  tenants through Azure Lighthouse delegation;
- ``{"type": "clientSecret", "tenantId", "clientId", "clientSecret"}``: an app registration in
  the customer's tenant. The secret goes to Key Vault; only the secret's name is kept here, so
  a :class:`SubscriptionAuth` never holds the secret itself (the parsed request carries it in a
  separate field, :attr:`SubscriptionInput.client_secret`, that nothing stores or prints).

Parsing raises :class:`~shared.errors.InvalidInputError` naming the field, before anything is
stored.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import InvalidInputError
from .models import is_guid

MAX_NAME_LENGTH = 200
MAX_LOGO_BYTES = 256 * 1024
MAX_SECRET_LENGTH = 1024
_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class SyncStatus(StrEnum):
    NEVER_SYNCED = "never_synced"
    SUCCESS = "success"
    FAILED = "failed"


class AuthType(StrEnum):
    MANAGED_IDENTITY = "managedIdentity"
    CLIENT_SECRET = "clientSecret"  # noqa: S105 - the auth type's name, not a secret


@dataclass(frozen=True)
class Logo:
    content_type: str
    size: int
    blob_name: str


@dataclass(frozen=True)
class Branding:
    display_name: str = ""
    accent_color: str = ""
    logo: Logo | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "displayName": self.display_name or None,
            "accentColor": self.accent_color or None,
            "logo": {"contentType": self.logo.content_type, "size": self.logo.size} if self.logo else None,
        }


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    branding: Branding = field(default_factory=Branding)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "customerId": self.customer_id,
            "name": self.name,
            "branding": self.branding.to_dict(),
            "createdAt": self.created_at.isoformat() if self.created_at else None,
            "updatedAt": self.updated_at.isoformat() if self.updated_at else None,
        }


@dataclass(frozen=True)
class SubscriptionAuth:
    """How to authenticate to a subscription. Never the secret: its Key Vault name at most."""

    type: AuthType = AuthType.MANAGED_IDENTITY
    tenant_id: str = ""
    client_id: str = ""
    secret_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        if self.type is AuthType.MANAGED_IDENTITY:
            return {"type": self.type.value}
        return {"type": self.type.value, "tenantId": self.tenant_id, "clientId": self.client_id}


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    display_name: str
    customer_id: str
    auth: SubscriptionAuth = field(default_factory=SubscriptionAuth)
    sync_status: SyncStatus = SyncStatus.NEVER_SYNCED
    last_checked: datetime | None = None
    last_check_message: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "subscriptionId": self.subscription_id,
            "displayName": self.display_name,
            "customerId": self.customer_id,
            "auth": self.auth.to_dict(),
            "syncStatus": self.sync_status.value,
            "lastChecked": self.last_checked.isoformat() if self.last_checked else None,
            "lastCheckMessage": self.last_check_message or None,
            "createdAt": self.created_at.isoformat() if self.created_at else None,
            "updatedAt": self.updated_at.isoformat() if self.updated_at else None,
        }


def secret_name_for(subscription_id: str) -> str:
    """The Key Vault secret holding a subscription's client secret (1-127 letters, digits and
    dashes: a GUID fits as it is)."""
    return f"sub-{subscription_id.lower()}-client-secret"


# -- parsing what callers send ----------------------------------------------------------------


def parse_guid(value: Any, field_name: str) -> str:
    if not isinstance(value, str) or not is_guid(value.strip()):
        raise InvalidInputError(f"{field_name} must be a GUID", field=field_name)
    return value.strip().lower()


def _text(value: Any, field_name: str, *, required: bool, limit: int = MAX_NAME_LENGTH) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInputError(f"{field_name} must be a non-empty string", field=field_name)
    text = value.strip()
    if len(text) > limit or any(ord(ch) < 32 for ch in text):
        raise InvalidInputError(
            f"{field_name} must be at most {limit} characters, without control characters", field=field_name
        )
    return text


def _object(body: Any, what: str = "body") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInputError(f"The {what} must be a JSON object", field=None if what == "body" else what)
    return body


def _unknown_fields(body: dict[str, Any], allowed: set[str], prefix: str = "") -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise InvalidInputError(f"Unknown field {prefix}{extra[0]}", field=f"{prefix}{extra[0]}")


@dataclass(frozen=True)
class LogoUpload:
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class BrandingInput:
    display_name: str | None = None  # None: unchanged (PATCH); "": cleared
    accent_color: str | None = None
    logo: LogoUpload | None = None
    remove_logo: bool = False


@dataclass(frozen=True)
class CustomerInput:
    name: str | None
    customer_id: str | None = None
    branding: BrandingInput | None = None


def sniff_logo(data: bytes) -> str:
    """The logo's content type from its first bytes (never the name or a declared type)."""
    if len(data) > MAX_LOGO_BYTES:
        raise InvalidInputError(
            f"branding.logo is {len(data)} bytes; the limit is {MAX_LOGO_BYTES}", field="branding.logo"
        )
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg")) and b"<svg" in data[:4096].lower():
        lowered = data.lower()
        # Reports embed the logo: an SVG that can run script has no place there.
        if b"<script" in lowered or b"javascript:" in lowered or re.search(rb"\son[a-z]+\s*=", lowered):
            raise InvalidInputError("branding.logo is an SVG with script in it", field="branding.logo")
        return "image/svg+xml"
    raise InvalidInputError("branding.logo must be a PNG, JPEG or SVG image", field="branding.logo")


def _parse_logo(value: Any) -> LogoUpload:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(
            "branding.logo must be the image as base64 (or a data: URL)", field="branding.logo"
        )
    text = value.strip()
    if text.startswith("data:"):
        text = text.split(",", 1)[1] if "," in text else ""
    if len(text) > (MAX_LOGO_BYTES * 4) // 3 + 8:
        raise InvalidInputError(f"branding.logo is larger than {MAX_LOGO_BYTES} bytes", field="branding.logo")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError("branding.logo is not valid base64", field="branding.logo") from None
    return LogoUpload(sniff_logo(data), data)


def _parse_branding(value: Any) -> BrandingInput:
    body = _object(value, "branding")
    _unknown_fields(body, {"displayName", "accentColor", "logo"}, "branding.")
    colour = body.get("accentColor")
    if colour is not None and (not isinstance(colour, str) or not _COLOUR_RE.match(colour)):
        raise InvalidInputError(
            "branding.accentColor must be a colour like #0078d4", field="branding.accentColor"
        )
    name = body.get("displayName")
    return BrandingInput(
        display_name=None
        if "displayName" not in body
        else _text(name, "branding.displayName", required=False),
        accent_color=None if "accentColor" not in body else (colour or "").lower(),
        logo=_parse_logo(body["logo"]) if body.get("logo") is not None else None,
        remove_logo="logo" in body and body["logo"] is None,
    )


def parse_customer(body: Any, *, partial: bool = False) -> CustomerInput:
    """A customer from ``POST`` (``partial=False``) or ``PATCH`` (only what is given)."""
    body = _object(body)
    _unknown_fields(body, {"name", "branding"} | (set() if partial else {"customerId"}))
    name = _text(body.get("name"), "name", required=True) if (not partial or "name" in body) else None
    customer_id = parse_guid(body["customerId"], "customerId") if body.get("customerId") is not None else None
    branding = _parse_branding(body["branding"]) if body.get("branding") is not None else None
    return CustomerInput(name=name, customer_id=customer_id, branding=branding)


@dataclass(frozen=True)
class AuthInput:
    type: AuthType
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SubscriptionInput:
    subscription_id: str | None
    display_name: str | None
    customer_id: str | None
    auth: AuthInput | None

    @property
    def client_secret(self) -> str | None:
        return self.auth.client_secret if self.auth else None


def parse_auth(value: Any, *, partial: bool = False) -> AuthInput:
    """``auth``. With ``partial`` (PATCH of a subscription that already has a client secret)
    the client secret fields may be given one at a time."""
    body = _object(value, "auth")
    kind = body.get("type", AuthType.MANAGED_IDENTITY.value)
    try:
        auth_type = AuthType(kind)
    except ValueError:
        known = ", ".join(t.value for t in AuthType)
        raise InvalidInputError(f"auth.type must be one of {known}", field="auth.type") from None
    if auth_type is AuthType.MANAGED_IDENTITY:
        _unknown_fields(body, {"type"}, "auth.")
        return AuthInput(auth_type)
    _unknown_fields(body, {"type", "tenantId", "clientId", "clientSecret"}, "auth.")
    tenant = parse_guid(body.get("tenantId"), "auth.tenantId") if "tenantId" in body or not partial else None
    client = parse_guid(body.get("clientId"), "auth.clientId") if "clientId" in body or not partial else None
    secret = body.get("clientSecret")
    if secret is not None or not partial:
        if not isinstance(secret, str) or not secret.strip():
            raise InvalidInputError(
                "auth.clientSecret is required for clientSecret auth", field="auth.clientSecret"
            )
        if len(secret) > MAX_SECRET_LENGTH or any(ord(ch) < 32 for ch in secret):
            raise InvalidInputError(
                "auth.clientSecret is not a valid client secret", field="auth.clientSecret"
            )
    return AuthInput(auth_type, tenant, client, secret)


def parse_subscription(body: Any, *, partial: bool = False) -> SubscriptionInput:
    """A subscription from ``POST`` (``partial=False``) or ``PATCH``."""
    body = _object(body)
    allowed = {"displayName", "customerId", "auth"} | (set() if partial else {"subscriptionId"})
    _unknown_fields(body, allowed)
    sub_id = None if partial else parse_guid(body.get("subscriptionId"), "subscriptionId")
    display = _text(body.get("displayName"), "displayName", required=False) if "displayName" in body else None
    customer = (
        parse_guid(body.get("customerId"), "customerId") if (not partial or "customerId" in body) else None
    )
    auth: AuthInput | None
    if "auth" in body:
        auth = parse_auth(body["auth"], partial=partial)
    else:
        auth = None if partial else AuthInput(AuthType.MANAGED_IDENTITY)
    return SubscriptionInput(sub_id, display, customer, auth)


def new_customer_id() -> str:
    return str(uuid.uuid4())


__all__ = [
    "AuthInput",
    "AuthType",
    "Branding",
    "BrandingInput",
    "Customer",
    "CustomerInput",
    "Logo",
    "LogoUpload",
    "Subscription",
    "SubscriptionAuth",
    "SubscriptionInput",
    "SyncStatus",
    "new_customer_id",
    "parse_auth",
    "parse_customer",
    "parse_guid",
    "parse_subscription",
    "secret_name_for",
    "sniff_logo",
]
