"""Process-wide clients, built lazily on first use and then shared (docs/architecture.md, rule 6).

Activities and triggers ask here instead of building SDK clients per call; tests call
``reset_clients()`` after changing settings.

Storage clients come from the connection string when there is one (Azurite, key-based
accounts) and otherwise from the endpoints of the identity-based settings plus a token
credential (the managed identity in Azure), as the host itself connects (shared/settings.py).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from .blob_store import BlobStore
from .settings import Settings, get_settings
from .table_store import TableStore


def _transport_kwargs(s: Settings) -> dict[str, Any]:
    # A private CA (the local HTTPS emulator) for storage endpoints too, as for ARM and Key Vault.
    return {"connection_verify": s.ca_bundle} if s.ca_bundle else {}


@lru_cache(maxsize=1)
def storage_credential() -> Any:
    """One token credential for every identity-based storage client (its token cache shared)."""
    from .credentials import storage_credential as build

    return build(get_settings())


def table_service(s: Settings) -> Any:
    from azure.data.tables import TableServiceClient

    if s.storage.connection_string:
        return TableServiceClient.from_connection_string(s.storage.connection_string, **_transport_kwargs(s))
    credential = storage_credential()
    return TableServiceClient(s.storage.table_endpoint, credential=credential, **_transport_kwargs(s))


def blob_service(s: Settings) -> Any:
    from azure.storage.blob import BlobServiceClient

    if s.storage.connection_string:
        return BlobServiceClient.from_connection_string(s.storage.connection_string, **_transport_kwargs(s))
    return BlobServiceClient(s.storage.blob_endpoint, credential=storage_credential(), **_transport_kwargs(s))


@lru_cache(maxsize=1)
def table_store() -> TableStore:
    s = get_settings()
    return TableStore(
        table_service(s),
        reports_table=s.reports_table,
        recommendations_table=s.recommendations_table,
        write_workers=s.table_write_workers,
    )


@lru_cache(maxsize=1)
def _blobs() -> Any:
    return blob_service(get_settings())


@lru_cache(maxsize=1)
def report_files() -> BlobStore:
    return BlobStore(_blobs(), get_settings().reports_container)


@lru_cache(maxsize=1)
def uploads() -> BlobStore:
    return BlobStore(_blobs(), get_settings().uploads_container)


@lru_cache(maxsize=1)
def advisor_clients() -> Any:
    """``subscription_id -> AdvisorManagementClient``, all sharing one credential."""
    from .advisor import advisor_client_factory
    from .credentials import advisor_credential

    s = get_settings()
    factory = advisor_client_factory(
        advisor_credential(s), arm_endpoint=s.arm_endpoint, ca_bundle=s.ca_bundle
    )
    return lru_cache(maxsize=512)(factory)


_renewing = threading.Lock()


def renew_advisor_credential(stale: Any) -> None:
    """Build a new Advisor credential (and clients) after ARM refused a token from ``stale``
    (what ``advisor_clients()`` returned to the caller).

    azure-core's bearer policy drops its token on a 401, but asks the same credential again,
    whose own cache (MSAL's) hands back the same refused token until its stated expiry: a token
    expired or revoked early would fail every report until a restart. A new credential has an
    empty cache (and reads the secret from Key Vault again, so a rotated secret is picked up).
    Callers that saw the 401 on the same clients renew them once between them."""
    with _renewing:
        if advisor_clients() is stale:
            advisor_clients.cache_clear()
            _registered_advisor_client.cache_clear()  # subscriptions with their own app registration


def reset_clients() -> None:
    for cached in (table_store, report_files, uploads, _blobs, storage_credential, advisor_clients):
        cached.cache_clear()
    reset_customer_clients()


# -- customers and subscriptions ---------------------------------------------------------------


@lru_cache(maxsize=1)
def customer_store() -> Any:
    from .customer_store import CustomerStore

    return CustomerStore(table_store())


@lru_cache(maxsize=1)
def branding_files() -> BlobStore:
    from .customer_store import BRANDING_CONTAINER

    return BlobStore(_blobs(), BRANDING_CONTAINER)  # identity-based storage, like every other container


@lru_cache(maxsize=1)
def subscription_secrets() -> Any:
    """Key Vault, where subscriptions' client secrets live, reached with the app's identity."""
    from .credentials import app_identity_credential
    from .errors import PermanentError
    from .secret_store import SubscriptionSecrets

    s = get_settings()
    if not s.key_vault_url:
        raise PermanentError(
            "KEY_VAULT_URL is not set, so client secrets cannot be stored", code="configuration"
        )
    return SubscriptionSecrets(s.key_vault_url, app_identity_credential(s), ca_bundle=s.ca_bundle)


@lru_cache(maxsize=256)
def _registered_advisor_client(
    subscription_id: str, tenant_id: str, client_id: str, secret_name: str, stamp: str
) -> Any:
    # ``stamp`` (the row's updatedAt) changes whenever the credentials do, so a new secret
    # version is read on the next fetch instead of the cached one being used until restart.
    from .advisor import advisor_client_factory
    from .credentials import client_secret_credential

    s = get_settings()
    secret = subscription_secrets().read(secret_name)
    credential = client_secret_credential(s, tenant_id, client_id, secret)
    return advisor_client_factory(credential, arm_endpoint=s.arm_endpoint, ca_bundle=s.ca_bundle)(
        subscription_id
    )


def advisor_client_for(subscription_id: str) -> Any:
    """The Advisor client for one subscription: with its own app registration when it is
    registered with a client secret, with the app's default credential otherwise."""
    from .customers import AuthType

    registered = customer_store().get_subscription(subscription_id)
    if registered is None or registered.auth.type is not AuthType.CLIENT_SECRET:
        return advisor_clients()(subscription_id)
    auth = registered.auth
    stamp = registered.updated_at.isoformat() if registered.updated_at else ""
    return _registered_advisor_client(
        subscription_id.lower(), auth.tenant_id, auth.client_id, auth.secret_name, stamp
    )


@lru_cache(maxsize=1)
def schedule_store() -> Any:
    from .schedule_store import ScheduleStore

    return ScheduleStore(table_store())


def reset_customer_clients() -> None:
    for cached in (
        customer_store,
        schedule_store,
        branding_files,
        subscription_secrets,
        _registered_advisor_client,
        statistics_cache,
    ):
        cached.cache_clear()


def customer_registry() -> Any:
    from .customer_service import Registry

    return Registry(
        customer_store(), subscription_secrets, branding_files(), lambda sub: statistics_cache().forget(sub)
    )


@lru_cache(maxsize=1)
def statistics_cache() -> Any:
    """Statistics per subscription, cached in Table Storage; fetched with each subscription's
    own credentials."""
    from .statistics import StatisticsCache

    return StatisticsCache(table_store(), advisor_client_for, page_size=get_settings().advisor_page_size)
