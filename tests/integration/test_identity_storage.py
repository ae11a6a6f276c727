"""Identity-based storage against Azurite with OAuth: no key anywhere.

Azurite runs over HTTPS with ``--oauth basic`` (it checks a bearer token's issuer, audience and
lifetime); the app is configured only with the ``AzureWebJobsStorage__*ServiceUri`` /
``__credential`` / ``__clientId`` settings the host reads in Azure, and its real
``ManagedIdentityCredential`` gets tokens from devhost's stand-in of the platform's identity
endpoint. The same round trip runs with a connection string, the form kept for Azurite.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.storage.blob import BlobServiceClient

from devhost.azurite import Azurite
from devhost.identity_endpoint import IdentityEndpoint, unsigned_jwt
from shared import clients
from shared.settings import get_settings, reset_settings
from tests.conftest import make_recommendation, start_or_fail

pytestmark = pytest.mark.azurite

STORAGE_VARS = (
    "AzureWebJobsStorage",
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "TLS_CA_BUNDLE",
)


@pytest.fixture(scope="module")
def oauth_azurite() -> Iterator[Azurite]:
    server = start_or_fail(Azurite(in_memory=True, oauth=True))
    yield server
    server.stop()


@pytest.fixture
def identity() -> Iterator[IdentityEndpoint]:
    with IdentityEndpoint() as endpoint:
        yield endpoint


@pytest.fixture
def app_env(monkeypatch, unique_name) -> Iterator[Any]:
    """Set the app's environment, then drop the cached settings and clients around the test."""
    for name in STORAGE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPORTS_CONTAINER", unique_name + "files")
    monkeypatch.setenv("REPORTS_TABLE", unique_name + "reports")
    monkeypatch.setenv("RECOMMENDATIONS_TABLE", unique_name + "recs")

    def apply(values: dict[str, str]) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        clients.reset_clients()

    yield apply
    reset_settings()
    clients.reset_clients()


def _round_trip(ca_bundle: str) -> str:
    """Write and read recommendations and a report file through the app's own clients; return
    the download link it hands out, after checking that the link serves the file."""
    store = clients.table_store()
    recs = [make_recommendation(i) for i in range(30)]
    assert store.save_recommendations("rep-identity", recs) == 30
    assert store.count_recommendations("rep-identity") == 30
    files = clients.report_files()
    name = files.upload("rep-identity/advisor-report.html", b"<html>identity</html>")
    assert files.download(name) == b"<html>identity</html>"
    url = files.sas_url(name, minutes=5, download_name="report.html")
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
    with urllib.request.urlopen(url, timeout=10, context=context) as resp:  # noqa: S310 - loopback Azurite
        assert resp.read() == b"<html>identity</html>"
    return url


def test_identity_based_settings_reach_azurite_with_the_managed_identity(oauth_azurite, identity, app_env):
    app_env(
        {
            **oauth_azurite.identity_settings(client_id=identity.client_id),
            **identity.environment(),
            "TLS_CA_BUNDLE": oauth_azurite.ca_bundle,
        }
    )
    s = get_settings()
    assert s.storage.uses_identity and s.storage_connection == ""
    assert s.storage.table_endpoint == oauth_azurite.endpoint("table")
    url = _round_trip(oauth_azurite.ca_bundle)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    # No account key: the link is a user-delegation SAS (signed-object-id and key fields).
    assert {"skoid", "sktid", "skt", "ske"} <= set(query), sorted(query)
    assert query["sp"] == ["r"]
    # Every token came from the managed identity named in __clientId, for Storage.
    assert identity.requests, "no token was asked for"
    assert {r["client_id"] for r in identity.requests} == {identity.client_id}
    assert {r["resource"] for r in identity.requests} == {"https://storage.azure.com"}


def test_connection_string_form_still_works_against_azurite(azurite, app_env):
    app_env({"AzureWebJobsStorage": azurite.connection_string})
    s = get_settings()
    assert not s.storage.uses_identity
    url = _round_trip("")
    assert "skoid" not in urllib.parse.parse_qs(urllib.parse.urlparse(url).query)  # signed with the key


def test_clientid_must_name_the_identity(oauth_azurite, identity, app_env):
    """A wrong ``__clientId`` gets no token, so no storage call succeeds (as in Azure)."""
    app_env(
        {
            **oauth_azurite.identity_settings(client_id=str(uuid.uuid4())),
            **identity.environment(),
            "TLS_CA_BUNDLE": oauth_azurite.ca_bundle,
        }
    )
    # (Asked directly: through a storage client, azure-core would retry for over a minute.)
    with pytest.raises(ClientAuthenticationError, match="no identity with that client id"):
        clients.storage_credential().get_token("https://storage.azure.com/.default")
    assert not identity.requests


class _Token:
    def __init__(self, audience: str) -> None:
        self.audience = audience

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        import time

        now = int(time.time())
        claims = {
            "aud": self.audience,
            "iss": "https://sts.windows.net/t/",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        return AccessToken(unsigned_jwt(claims), now + 600)


def test_azurite_checks_the_token_so_these_tests_mean_something(oauth_azurite, unique_name):
    """A token for another audience is refused: Azurite is not accepting any bearer string."""
    service = BlobServiceClient(
        oauth_azurite.endpoint("blob"),
        credential=_Token("https://management.azure.com"),
        connection_verify=oauth_azurite.ca_bundle,
    )
    with pytest.raises(HttpResponseError) as err:
        service.create_container(unique_name)
    assert err.value.status_code in (401, 403)
    good = BlobServiceClient(
        oauth_azurite.endpoint("blob"),
        credential=_Token("https://storage.azure.com"),
        connection_verify=oauth_azurite.ca_bundle,
    )
    good.create_container(unique_name)
