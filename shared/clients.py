"""Process-wide clients, built lazily on first use and then shared (docs/architecture.md, rule 6).

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
