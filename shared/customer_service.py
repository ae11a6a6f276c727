"""Registering customers and subscriptions: the operations behind the HTTP routes.

Each operation validates everything it can before writing anything, so a refused request
leaves nothing behind. Where two stores are written (Key Vault and Table Storage, Blob and
Table Storage), the order is chosen so a failure in between leaves nothing a caller can see:
a secret is written before the row that names it (and deleted again if the row cannot be
written); on deletion the secret goes first, so a retried DELETE finishes the job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from .customer_store import AlreadyExistsError, CustomerStore, logo_blob_name
from .customers import (
    AuthInput,
    AuthType,
    Branding,
    BrandingInput,
    Customer,
    CustomerInput,
    Logo,
    Subscription,
    SubscriptionAuth,
    SubscriptionInput,
    SyncStatus,
    new_customer_id,
    secret_name_for,
)
from .errors import ConflictError, InvalidInputError, NotFoundError
from .report_service import report_logo_blob

log = logging.getLogger(__name__)


class SecretStore(Protocol):
    def write(self, name: str, value: str, *, tags: dict[str, str] | None = None) -> str: ...
    def delete(self, name: str) -> bool: ...


class LogoStore(Protocol):
    def upload(self, blob_name: str, data: bytes, *, content_type: str | None = None) -> str: ...
    def delete_prefix(self, prefix: str) -> int: ...


@dataclass
class Registry:
    """What the operations need: the tables, Key Vault (built only when a secret is written or
    deleted, so an app without a vault still registers managed-identity subscriptions) and the
    logo container."""

    store: CustomerStore
    secrets: Callable[[], SecretStore]
    logos: LogoStore
    forget_statistics: Callable[[str], None] = lambda _subscription_id: None

    def secret_store(self) -> SecretStore:
        return self.secrets()


def _now() -> datetime:
    return datetime.now(UTC)


# -- customers --------------------------------------------------------------------------------


def _apply_branding(
    customer_id: str, old: Branding, given: BrandingInput | None, logos: LogoStore
) -> Branding:
    if given is None:
        return old
    logo = old.logo
    if given.remove_logo:
        logo = None
    if given.logo is not None:
        name = logo_blob_name(customer_id)
        logos.upload(name, given.logo.data, content_type=given.logo.content_type)
        logo = Logo(given.logo.content_type, len(given.logo.data), name)
    return Branding(
        old.display_name if given.display_name is None else given.display_name,
        old.accent_color if given.accent_color is None else given.accent_color,
        logo,
    )


def create_customer(reg: Registry, data: CustomerInput) -> Customer:
    customer_id = data.customer_id or new_customer_id()
    if reg.store.get_customer(customer_id) is not None:
        raise ConflictError(f"Customer {customer_id} already exists")
    now = _now()
    branding = _apply_branding(customer_id, Branding(), data.branding, reg.logos)
    customer = Customer(customer_id, data.name or "", branding, now, now)
    try:
        reg.store.create_customer(customer)
    except AlreadyExistsError:
        raise ConflictError(f"Customer {customer_id} already exists") from None
    return customer


def get_customer(reg: Registry, customer_id: str) -> Customer:
    customer = reg.store.get_customer(customer_id)
    if customer is None:
        raise NotFoundError(f"No customer {customer_id}")
    return customer


def update_customer(reg: Registry, customer_id: str, data: CustomerInput) -> Customer:
    old = get_customer(reg, customer_id)
    branding = _apply_branding(customer_id, old.branding, data.branding, reg.logos)
    customer = replace(
        old, name=data.name if data.name is not None else old.name, branding=branding, updated_at=_now()
    )
    reg.store.put_customer(customer)
    if old.branding.logo and branding.logo is None:
        reg.logos.delete_prefix(f"{customer_id}/")
    return customer


def delete_customer(reg: Registry, customer_id: str, *, cascade: bool) -> list[str]:
    """Delete a customer; with ``cascade`` its subscriptions (and their secrets) too. Returns
    the subscriptions deleted. Refused while it has subscriptions and ``cascade`` is off."""
    get_customer(reg, customer_id)
    subs = reg.store.list_subscriptions(customer_id)
    if subs and not cascade:
        raise ConflictError(
            f"Customer {customer_id} has {len(subs)} subscription(s); delete them first or pass cascade=true"
        )
    for sub in subs:
        delete_subscription(reg, sub.subscription_id)
    reg.logos.delete_prefix(f"{customer_id}/")
    reg.store.delete_customer(customer_id)
    return [s.subscription_id for s in subs]


# -- subscriptions ----------------------------------------------------------------------------


def _require_customer(reg: Registry, customer_id: str) -> None:
    if reg.store.get_customer(customer_id) is None:
        raise NotFoundError(f"No customer {customer_id}")


def _write_secret(reg: Registry, subscription_id: str, secret: str) -> str:
    name = secret_name_for(subscription_id)
    reg.secret_store().write(name, secret, tags={"subscriptionId": subscription_id})
    return name


def create_subscription(reg: Registry, data: SubscriptionInput) -> Subscription:
    assert data.subscription_id and data.customer_id and data.auth
    _require_customer(reg, data.customer_id)
    if reg.store.get_subscription(data.subscription_id) is not None:
        raise ConflictError(f"Subscription {data.subscription_id} is already registered")
    auth = SubscriptionAuth(data.auth.type, data.auth.tenant_id or "", data.auth.client_id or "")
    now = _now()
    if data.auth.type is AuthType.CLIENT_SECRET:
        auth = replace(
            auth, secret_name=_write_secret(reg, data.subscription_id, data.auth.client_secret or "")
        )
    sub = Subscription(
        data.subscription_id, data.display_name or "", data.customer_id, auth, created_at=now, updated_at=now
    )
    try:
        reg.store.create_subscription(sub)
    except Exception as exc:
        if auth.secret_name:  # nothing may stay behind for a refused registration
            _delete_secret_quietly(reg, auth.secret_name)
        if isinstance(exc, AlreadyExistsError):
            raise ConflictError(f"Subscription {data.subscription_id} is already registered") from None
        raise
    return sub


def get_subscription(reg: Registry, subscription_id: str) -> Subscription:
    sub = reg.store.get_subscription(subscription_id)
    if sub is None:
        raise NotFoundError(f"No subscription {subscription_id}")
    return sub


def _new_auth(reg: Registry, sub: Subscription, given: AuthInput) -> SubscriptionAuth:
    if given.type is AuthType.MANAGED_IDENTITY:
        return SubscriptionAuth()
    old = sub.auth if sub.auth.type is AuthType.CLIENT_SECRET else SubscriptionAuth(AuthType.CLIENT_SECRET)
    tenant = given.tenant_id or old.tenant_id
    client = given.client_id or old.client_id
    missing = [
        f
        for f, v in (
            ("auth.tenantId", tenant),
            ("auth.clientId", client),
            ("auth.clientSecret", given.client_secret or old.secret_name),
        )
        if not v
    ]
    if missing:
        raise InvalidInputError(f"{missing[0]} is required for clientSecret auth", field=missing[0])
    name = old.secret_name
    if given.client_secret:
        name = _write_secret(reg, sub.subscription_id, given.client_secret)  # a new version
    return SubscriptionAuth(AuthType.CLIENT_SECRET, tenant, client, name)


def update_subscription(reg: Registry, subscription_id: str, data: SubscriptionInput) -> Subscription:
    sub = get_subscription(reg, subscription_id)
    if data.customer_id and data.customer_id != sub.customer_id:
        _require_customer(reg, data.customer_id)
    updated = replace(
        sub,
        display_name=sub.display_name if data.display_name is None else data.display_name,
        customer_id=data.customer_id or sub.customer_id,
        updated_at=_now(),
    )
    if data.auth is not None:
        auth = _new_auth(reg, sub, data.auth)
        # New credentials have not been tested yet.
        updated = replace(updated, auth=auth, sync_status=SyncStatus.NEVER_SYNCED, last_check_message="")
    reg.store.put_subscription(updated)
    if sub.auth.secret_name and not updated.auth.secret_name:
        _delete_secret_quietly(reg, sub.auth.secret_name)  # switched to the managed identity
    return updated


def delete_subscription(reg: Registry, subscription_id: str) -> None:
    sub = get_subscription(reg, subscription_id)
    if sub.auth.secret_name:
        reg.secret_store().delete(sub.auth.secret_name)
    reg.store.delete_subscription(sub.subscription_id)
    reg.forget_statistics(sub.subscription_id)


def _delete_secret_quietly(reg: Registry, name: str) -> None:
    try:
        reg.secret_store().delete(name)
    except Exception as exc:  # noqa: BLE001 - the caller's own outcome matters more
        log.warning("Could not delete Key Vault secret %r: %s", name, type(exc).__name__)


@dataclass(frozen=True)
class ReportScope:
    """What a report asked for by customer covers: the customer's registered subscriptions
    (each fetched with its own credentials) and the name its cover shows."""

    customer_id: str
    customer_name: str
    subscription_ids: tuple[str, ...]
    accent_color: str = ""
    logo_blob: str = ""  # in the branding container
    logo_content_type: str = ""


def report_scope(store: CustomerStore, customer_id: str, *, limit: int) -> ReportScope:
    """Refused (404 for an unknown customer, 400 for one without subscriptions or with more
    than ``limit``) before any report is stored."""
    customer = store.get_customer(customer_id)
    if customer is None:
        raise NotFoundError(f"No customer {customer_id}", field="customerId")
    ids = tuple(sorted({s.subscription_id.lower() for s in store.list_subscriptions(customer_id)}))
    if not ids:
        raise InvalidInputError(
            f"Customer {customer_id} has no subscriptions registered; register one with "
            "POST /api/subscriptions first",
            field="customerId",
        )
    if len(ids) > limit:
        raise InvalidInputError(
            f"Customer {customer_id} has {len(ids)} subscriptions; a report may cover at most {limit}",
            field="customerId",
        )
    name = customer.branding.display_name or customer.name
    logo = customer.branding.logo
    return ReportScope(
        customer_id, name, ids, customer.branding.accent_color,
        logo.blob_name if logo else "", logo.content_type if logo else "",
    )  # fmt: skip


def copy_logo(scope: ReportScope, report_id: str, *, branding: Any, report_files: Any) -> str:
    """Copy the customer's logo into the report's own files, so the report keeps the logo it
    was asked with (like its name and colour); the content type, or "" without a logo."""
    if not scope.logo_blob:
        return ""
    report_files.upload(
        report_logo_blob(report_id), branding.download(scope.logo_blob), content_type=scope.logo_content_type
    )
    return scope.logo_content_type


def record_check(reg: Registry, subscription_id: str, success: bool, message: str) -> bool:
    status = SyncStatus.SUCCESS if success else SyncStatus.FAILED
    return reg.store.update_sync_status(subscription_id, status, _now(), message)
