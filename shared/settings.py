"""Settings: the one place that reads the environment.

Read lazily, once per process (``get_settings()``), so importing the app never touches the
environment and tests can swap settings with ``reset_settings()``. Every setting is listed in
local.settings.sample.json and set in infra/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

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


@dataclass(frozen=True)
class Settings:
    storage_connection: str
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
    public_base_url: str = ""
    report_link_key: str = ""
    report_link_hours: int = 24

    @property
    def arm_scope(self) -> str:
        return self.arm_endpoint.rstrip("/") + "/.default"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ.get
    return Settings(
        storage_connection=env("AzureWebJobsStorage", "") or "UseDevelopmentStorage=true",
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
        # Links are built from this, never from the request's Host header (shared/links.py).
        public_base_url=_public_base_url(),
        report_link_key=env("REPORT_LINK_KEY", ""),
        report_link_hours=_int("REPORT_LINK_HOURS", 24),
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
