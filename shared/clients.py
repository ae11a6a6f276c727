"""Process-wide clients, built lazily on first use and then shared (STYLE.md rule 6).

Activities and triggers ask here instead of building SDK clients per call; tests call
``reset_clients()`` after changing settings.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .blob_store import BlobStore
from .settings import get_settings
from .table_store import TableStore


@lru_cache(maxsize=1)
def table_store() -> TableStore:
    s = get_settings()
    return TableStore(
        s.storage_connection,
        reports_table=s.reports_table,
        recommendations_table=s.recommendations_table,
        write_workers=s.table_write_workers,
    )


@lru_cache(maxsize=1)
def report_files() -> BlobStore:
    s = get_settings()
    return BlobStore.from_connection_string(s.storage_connection, s.reports_container)


@lru_cache(maxsize=1)
def uploads() -> BlobStore:
    s = get_settings()
    return BlobStore.from_connection_string(s.storage_connection, s.uploads_container)


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


def reset_clients() -> None:
    for cached in (table_store, report_files, uploads, advisor_clients):
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

    return BlobStore.from_connection_string(get_settings().storage_connection, BRANDING_CONTAINER)


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


def reset_customer_clients() -> None:
    for cached in (
        customer_store,
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
