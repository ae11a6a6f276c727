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
