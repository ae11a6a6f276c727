"""Settings: read lazily from the environment, every one documented in the sample file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.settings import PUBLIC_ARM_ENDPOINT, get_settings, reset_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_settings():
    reset_settings()
    yield
    reset_settings()


def test_defaults_target_public_cloud_and_azurite(monkeypatch):
    for name in ("ARM_ENDPOINT", "AzureWebJobsStorage", "ADVISOR_PAGE_SIZE"):
        monkeypatch.delenv(name, raising=False)
    s = get_settings()
    assert s.arm_endpoint == PUBLIC_ARM_ENDPOINT
    assert s.storage_connection == "UseDevelopmentStorage=true"
    assert s.advisor_page_size == 100
    assert s.arm_scope == "https://management.azure.com/.default"


IDENTITY_FORMS = (
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
)


@pytest.fixture
def no_storage_settings(monkeypatch):
    for name in ("AzureWebJobsStorage", *IDENTITY_FORMS):
        monkeypatch.delenv(name, raising=False)


def test_account_name_form_derives_the_public_endpoints(monkeypatch, no_storage_settings):
    monkeypatch.setenv("AzureWebJobsStorage__accountName", "stadvisor")
    monkeypatch.setenv("AzureWebJobsStorage__credential", "managedidentity")
    monkeypatch.setenv("AzureWebJobsStorage__clientId", "1111")
    st = get_settings().storage
    assert st.uses_identity and st.connection_string == ""
    assert st.blob_endpoint == "https://stadvisor.blob.core.windows.net"
    assert st.table_endpoint == "https://stadvisor.table.core.windows.net"
    assert (st.credential, st.client_id) == ("managedidentity", "1111")


def test_service_uri_form_needs_blob_and_table(monkeypatch, no_storage_settings):
    monkeypatch.setenv("AzureWebJobsStorage__blobServiceUri", "https://x.blob.core.usgovcloudapi.net/")
    monkeypatch.setenv("AzureWebJobsStorage__queueServiceUri", "https://x.queue.core.usgovcloudapi.net")
    with pytest.raises(ValueError, match="AzureWebJobsStorage__tableServiceUri"):
        get_settings()
    reset_settings()
    monkeypatch.setenv("AzureWebJobsStorage__tableServiceUri", "https://x.table.core.usgovcloudapi.net")
    st = get_settings().storage
    assert st.blob_endpoint == "https://x.blob.core.usgovcloudapi.net"
    assert st.table_endpoint == "https://x.table.core.usgovcloudapi.net"
    assert st.credential == ""  # no __credential: the app's own identity (credentials.py)


def test_a_connection_string_wins_over_identity_forms(monkeypatch, no_storage_settings):
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    monkeypatch.setenv("AzureWebJobsStorage__accountName", "stadvisor")
    s = get_settings()
    assert s.storage_connection == "UseDevelopmentStorage=true" and not s.storage.uses_identity


def test_managed_identity_credential_uses_the_client_id(monkeypatch, no_storage_settings):
    from azure.identity import ManagedIdentityCredential

    from shared.credentials import storage_credential

    monkeypatch.setenv("AzureWebJobsStorage__accountName", "stadvisor")
    monkeypatch.setenv("AzureWebJobsStorage__credential", "managedidentity")
    monkeypatch.setenv("AzureWebJobsStorage__clientId", "2222")
    credential = storage_credential(get_settings())
    assert isinstance(credential, ManagedIdentityCredential)


def test_sovereign_cloud_endpoint_and_read_once(monkeypatch):
    monkeypatch.setenv("ARM_ENDPOINT", "https://management.chinacloudapi.cn/")
    s = get_settings()
    assert s.arm_endpoint == "https://management.chinacloudapi.cn"
    monkeypatch.setenv("ARM_ENDPOINT", "https://elsewhere")
    assert get_settings() is s  # read once, lazily


def test_bad_integer_names_the_setting(monkeypatch):
    monkeypatch.setenv("ADVISOR_PAGE_SIZE", "lots")
    with pytest.raises(ValueError, match="ADVISOR_PAGE_SIZE"):
        get_settings()


def test_every_setting_read_is_in_the_sample_file():
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    source = (ROOT / "shared" / "settings.py").read_text()
    read = set(re.findall(r'(?:env|_int|_float)\("([A-Za-z_]+)"', source))
    assert read, "no settings found: the pattern is out of date"
    assert read <= set(sample), f"undocumented settings: {sorted(read - set(sample))}"


def test_public_base_url_is_configured_or_the_platform_host_or_relative(monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("WEBSITE_HOSTNAME", raising=False)
    assert get_settings().public_base_url == ""  # relative links
    reset_settings()
    monkeypatch.setenv("WEBSITE_HOSTNAME", "advisor-reports.azurewebsites.net")
    assert get_settings().public_base_url == "https://advisor-reports.azurewebsites.net"
    reset_settings()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://reports.contoso.com/")
    assert get_settings().public_base_url == "https://reports.contoso.com"
    reset_settings()
    monkeypatch.setenv("PUBLIC_BASE_URL", "reports.contoso.com")
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        get_settings()


def test_report_retention_defaults_to_90_days_and_refuses_less_than_one(monkeypatch):
    monkeypatch.delenv("REPORT_RETENTION_DAYS", raising=False)
    assert get_settings().retention_days == 90
    reset_settings()
    monkeypatch.setenv("REPORT_RETENTION_DAYS", "365")
    assert get_settings().retention_days == 365
    reset_settings()
    monkeypatch.setenv("REPORT_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="REPORT_RETENTION_DAYS"):
        get_settings()


def test_the_retention_timer_schedule_default_is_the_sample_files(monkeypatch):
    from shared.settings import DEFAULT_RETENTION_SCHEDULE

    monkeypatch.delenv("REPORT_RETENTION_SCHEDULE", raising=False)
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    assert (
        sample["REPORT_RETENTION_SCHEDULE"] == DEFAULT_RETENTION_SCHEDULE == get_settings().retention_schedule
    )
    assert len(DEFAULT_RETENTION_SCHEDULE.split()) == 6  # NCRONTAB: seconds first
