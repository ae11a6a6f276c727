"""Settings: the one place that reads the environment.

Read lazily, once per process (``get_settings()``), so importing the app never touches the
environment and tests can swap settings with ``reset_settings()``. Every setting is listed in
local.settings.sample.json and set in infra/ (or listed there as optional).

Storage is read the way the Functions host reads ``AzureWebJobsStorage``: a connection string
(Azurite, key-based accounts), or the identity-based form the host documents for a locked-down
account: ``AzureWebJobsStorage__accountName`` (public-cloud endpoints derived from the name) or
``AzureWebJobsStorage__blobServiceUri`` / ``__queueServiceUri`` / ``__tableServiceUri``, with
``AzureWebJobsStorage__credential`` (``managedidentity``) and ``AzureWebJobsStorage__clientId``
(a user-assigned identity). With none of them the emulator's well-known address is used; in
Azure that cannot happen silently, since the host itself does not start without the setting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

PUBLIC_ARM_ENDPOINT = "https://management.azure.com"
PUBLIC_AUTHORITY_HOST = "https://login.microsoftonline.com"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"setting {name} must be an integer, got {raw!r}") from exc


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"setting {name} must be a number, got {raw!r}") from exc


def _at_least_one(value: int, name: str) -> int:
    if value < 1:
        raise ValueError(f"setting {name} must be at least 1, got {value}")
    return value


def _bool(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise ValueError(f"setting {name} must be true or false, got {raw!r}")


STORAGE = "AzureWebJobsStorage"
# NCRONTAB (six fields, seconds first) for the Functions timer that starts scheduled reports.
DEFAULT_REPORT_SCHEDULE = "0 */15 * * * *"
# NCRONTAB (six fields, seconds first) for the report_retention timer: daily at 02:30 UTC.
DEFAULT_RETENTION_SCHEDULE = "0 30 2 * * *"
EMULATOR_CONNECTION = "UseDevelopmentStorage=true"


@dataclass(frozen=True)
class StorageSettings:
    """Where the app's storage is and how to authenticate to it."""

    connection_string: str = ""
    blob_endpoint: str = ""
    queue_endpoint: str = ""
    table_endpoint: str = ""
    credential: str = ""  # "managedidentity", or empty: the app's own identity (credentials.py)
    client_id: str = ""  # a user-assigned identity's client id

    @property
    def uses_identity(self) -> bool:
        return not self.connection_string


def _storage(env: Any) -> StorageSettings:
    connection = env("AzureWebJobsStorage", "").strip()
    if connection:
        return StorageSettings(connection_string=connection)
    credential = env(f"{STORAGE}__credential", "").strip().lower()
    client_id = env(f"{STORAGE}__clientId", "").strip()
    account = env(f"{STORAGE}__accountName", "").strip()
    if account:
        # As the host does with __accountName: the public cloud's endpoints for that account.
        return StorageSettings(
            blob_endpoint=f"https://{account}.blob.core.windows.net",
            queue_endpoint=f"https://{account}.queue.core.windows.net",
            table_endpoint=f"https://{account}.table.core.windows.net",
            credential=credential,
            client_id=client_id,
        )
    kinds = ("blob", "queue", "table")
    uris = {kind: env(f"{STORAGE}__{kind}ServiceUri", "").strip().rstrip("/") for kind in kinds}
    if any(uris.values()):
        missing = [f"{STORAGE}__{kind}ServiceUri" for kind in ("blob", "table") if not uris[kind]]
        if missing:
            # The app keeps reports in tables and files in blobs: it needs both endpoints.
            raise ValueError(f"identity-based storage needs {' and '.join(missing)} as well")
        return StorageSettings(
            blob_endpoint=uris["blob"],
            queue_endpoint=uris["queue"],
            table_endpoint=uris["table"],
            credential=credential,
            client_id=client_id,
        )
    return StorageSettings(connection_string=EMULATOR_CONNECTION)


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings
    arm_endpoint: str
    authority_host: str
    key_vault_url: str
    advisor_tenant_id: str
    advisor_client_id: str
    advisor_client_secret_name: str
    reports_container: str
    uploads_container: str
    reports_table: str
    recommendations_table: str
    advisor_page_size: int
    sas_minutes: int
    pdf_rows_per_part: int
    ca_bundle: str
    table_write_workers: int
    retry_attempts: int
    retry_interval_ms: int
    fetch_timeout_seconds: int
    azure_client_id: str = ""
    appinsights_connection_string: str = ""
    public_base_url: str = ""
    report_link_key: str = ""
    report_link_hours: int = 24
    provider_name: str = ""
    provider_logo_blob: str = ""
    retention_days: int = 90
    report_schedule: str = DEFAULT_REPORT_SCHEDULE
    retention_schedule: str = DEFAULT_RETENTION_SCHEDULE
    callback_signing_key: str = ""
    callback_allow_private_hosts: bool = False

    @property
    def storage_connection(self) -> str:
        """The connection string, when storage is reached with one (Azurite, key-based)."""
        return self.storage.connection_string

    @property
    def arm_scope(self) -> str:
        return self.arm_endpoint.rstrip("/") + "/.default"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ.get
    return Settings(
        storage=_storage(env),
        arm_endpoint=(env("ARM_ENDPOINT", "") or PUBLIC_ARM_ENDPOINT).rstrip("/"),
        authority_host=(env("AZURE_AUTHORITY_HOST", "") or PUBLIC_AUTHORITY_HOST).rstrip("/"),
        key_vault_url=env("KEY_VAULT_URL", ""),
        advisor_tenant_id=env("ADVISOR_TENANT_ID", ""),
        advisor_client_id=env("ADVISOR_CLIENT_ID", ""),
        advisor_client_secret_name=env("ADVISOR_CLIENT_SECRET_NAME", ""),
        reports_container=env("REPORTS_CONTAINER", "") or "reports",
        uploads_container=env("UPLOADS_CONTAINER", "") or "uploads",
        reports_table=env("REPORTS_TABLE", "") or "reports",
        recommendations_table=env("RECOMMENDATIONS_TABLE", "") or "recommendations",
        advisor_page_size=_int("ADVISOR_PAGE_SIZE", 100),
        sas_minutes=_int("DOWNLOAD_SAS_MINUTES", 15),
        pdf_rows_per_part=_int("PDF_ROWS_PER_PART", 1000),
        # A CA bundle for Azure endpoints signed by a private CA (the local stand-in); passed to
        # the SDK clients as connection_verify. Empty: the system's trust store.
        ca_bundle=env("TLS_CA_BUNDLE", ""),
        table_write_workers=_int("TABLE_WRITE_WORKERS", 4),
        # The durable retry policy (as the Celery system it replaces: 3 attempts, 60 s apart)
        # and how long the fetch stage may take before the report fails instead of hanging.
        retry_attempts=_int("RETRY_ATTEMPTS", 3),
        retry_interval_ms=int(_float("RETRY_INTERVAL_SECONDS", 60.0) * 1000),
        fetch_timeout_seconds=_int("FETCH_TIMEOUT_SECONDS", 600),
        # The user-assigned managed identity the app uses for Key Vault (and for Advisor when
        # no service principal is configured); empty: the system-assigned one.
        azure_client_id=env("AZURE_CLIENT_ID", ""),
        # Set by infra; shared/telemetry.py exports through OpenTelemetry when it is set and
        # azure-monitor-opentelemetry is installed (the Functions host forwards logs anyway).
        appinsights_connection_string=env("APPLICATIONINSIGHTS_CONNECTION_STRING", ""),
        # Links are built from this, never from the request's Host header (shared/links.py).
        public_base_url=_public_base_url(),
        report_link_key=env("REPORT_LINK_KEY", ""),
        report_link_hours=_int("REPORT_LINK_HOURS", 24),
        # Who prepares the reports (an MSP, say): named, with its logo, on every report's cover.
        # The logo is a blob the operator puts in the branding container.
        provider_name=env("REPORT_PROVIDER_NAME", "").strip()[:120],
        provider_logo_blob=env("REPORT_PROVIDER_LOGO_BLOB", "").strip(),
        # How long a report's data is kept (a report's own retention_days, when set, wins: a
        # schedule may keep its reports longer, never shorter); the report_retention timer
        # deletes what is older on REPORT_RETENTION_SCHEDULE, which the host reads as the timer's
        # %REPORT_RETENTION_SCHEDULE% (read here for the log only).
        retention_days=_at_least_one(_int("REPORT_RETENTION_DAYS", 90), "REPORT_RETENTION_DAYS"),
        retention_schedule=env("REPORT_RETENTION_SCHEDULE", "").strip() or DEFAULT_RETENTION_SCHEDULE,
        # The scheduled_reports timer binds "%REPORT_SCHEDULE%": the host reads it, not this
        # module; it is here so the setting is documented and checked with the others.
        report_schedule=env("REPORT_SCHEDULE", "").strip() or DEFAULT_REPORT_SCHEDULE,
        # Signs every report callback (shared/callbacks.py); callbacks are refused without it.
        callback_signing_key=env("CALLBACK_SIGNING_KEY", ""),
        # Local testing only: callbacks to loopback and private hosts, and over plain http.
        callback_allow_private_hosts=_bool("CALLBACK_ALLOW_PRIVATE_HOSTS"),
    )


def _public_base_url() -> str:
    """PUBLIC_BASE_URL; else, on Azure, the app's default host name (WEBSITE_HOSTNAME, set by
    the platform, not by a caller); else "" (relative links)."""
    configured = os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    if configured:
        if not configured.startswith(("https://", "http://")):
            raise ValueError(f"setting PUBLIC_BASE_URL must start with https://, got {configured!r}")
        return configured
    host = os.environ.get("WEBSITE_HOSTNAME", "").strip()
    return f"https://{host}" if host else ""


def reset_settings() -> None:
    """Forget the cached settings (tests, or after changing the environment)."""
    get_settings.cache_clear()
