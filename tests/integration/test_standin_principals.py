"""The stand-in's service principals and Key Vault writes, driven by the real SDK clients.

A tenant file's ``servicePrincipals`` (app registrations, possibly in a customer's tenant,
possibly limited to some subscriptions as Reader assignments are) are the only identities the
token endpoint serves besides the app's own; a wrong secret fails as Entra fails it. Key Vault
keeps every version written, soft-deletes, and refuses to reuse a deleted name until purged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from devhost.azure_standin import (
    APP_IDENTITY_CLIENT_ID,
    APP_IDENTITY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    AzureStandIn,
)
from devhost.sample_tenant import build_tenant

pytestmark = pytest.mark.standin

HOME_TENANT = "0c0ffee0-1111-4222-8333-444455556666"
CUSTOMER_TENANT = "c0570000-aaaa-4bbb-8ccc-dddddddddddd"
WIDE = {"clientId": "11111111-2222-4333-8444-555555555555", "clientSecret": "wide-secret-value"}
NARROW = {"clientId": "66666666-7777-4888-8999-000000000000", "clientSecret": "narrow-secret-value"}
NO_RETRY: dict[str, Any] = {"retry_total": 0}


@pytest.fixture(scope="module")
def tenant() -> dict[str, Any]:
    return build_tenant(3, 5, seed=77)


@pytest.fixture(scope="module")
def standin(tenant: dict[str, Any]) -> Iterator[AzureStandIn]:
    subs = [s["subscriptionId"] for s in tenant["subscriptions"]]
    data = {
        **tenant,
        "tenantId": HOME_TENANT,
        "servicePrincipals": [
            {**WIDE, "tenantId": HOME_TENANT},
            {**NARROW, "tenantId": CUSTOMER_TENANT, "subscriptions": [subs[0].upper()]},
        ],
    }
    with AzureStandIn(data) as running:
        yield running


def cred(standin: AzureStandIn, tenant_id: str, client_id: str, secret: str) -> Any:
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(
        tenant_id, client_id, secret, authority=standin.url, disable_instance_discovery=True,
        connection_verify=standin.ca_path,
    )  # fmt: skip


def test_principals_get_tokens_from_their_own_tenant(standin):
    scope = standin.url + "/.default"
    assert standin.tenant_id == HOME_TENANT
    assert cred(standin, HOME_TENANT, WIDE["clientId"], WIDE["clientSecret"]).get_token(scope).token
    assert cred(standin, CUSTOMER_TENANT, NARROW["clientId"], NARROW["clientSecret"]).get_token(scope).token
    # The app's own identity is always there.
    assert cred(standin, HOME_TENANT, APP_IDENTITY_CLIENT_ID, APP_IDENTITY_SECRET).get_token(scope).token
    # A principal asked for in another tenant's directory is unknown there.
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        cred(standin, HOME_TENANT, NARROW["clientId"], NARROW["clientSecret"]).get_token(scope)
    # The file names principals, so the default app registration is not one of them.
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        cred(standin, HOME_TENANT, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).get_token(scope)


def test_a_wrong_secret_is_aadsts7000215_with_401(standin):
    since = standin.requests()[-1]["seq"] if standin.requests() else 0
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        cred(standin, CUSTOMER_TENANT, NARROW["clientId"], "not-the-secret").get_token(
            standin.url + "/.default"
        )
    assert [e["status"] for e in standin.requests(target="token", since=since)] == [401]
    assert "not-the-secret" not in json.dumps(standin.requests())


def test_a_principal_limited_to_some_subscriptions_gets_403_elsewhere(standin, tenant):
    allowed, other = (s["subscriptionId"] for s in tenant["subscriptions"][:2])
    narrow = cred(standin, CUSTOMER_TENANT, NARROW["clientId"], NARROW["clientSecret"])
    assert len(list(standin.advisor_client(allowed, narrow, **NO_RETRY).recommendations.list())) == 5
    with pytest.raises(HttpResponseError) as caught:
        list(standin.advisor_client(other, narrow, **NO_RETRY).recommendations.list())
    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert "Microsoft.Advisor/recommendations/read" in str(caught.value.error.message)
    # The Subscriptions API shows only what it may read; an unknown subscription is still 404.
    from azure.core.rest import HttpRequest

    client = standin.advisor_client(allowed, narrow, **NO_RETRY)
    listed = client._send_request(HttpRequest("GET", "/subscriptions", params={"api-version": "2022-12-01"}))
    assert [s["subscriptionId"] for s in listed.json()["value"]] == [allowed]
    with pytest.raises(ResourceNotFoundError):
        list(
            standin.advisor_client(
                "00000000-0000-4000-8000-00000000dead", narrow, **NO_RETRY
            ).recommendations.list()
        )
    # Unlimited principals read everything.
    wide = cred(standin, HOME_TENANT, WIDE["clientId"], WIDE["clientSecret"])
    assert len(list(standin.advisor_client(other, wide, **NO_RETRY).recommendations.list())) == 5


def test_key_vault_writes_versions_soft_deletes_and_purges(standin):
    vault = standin.secret_client(cred(standin, HOME_TENANT, APP_IDENTITY_CLIENT_ID, APP_IDENTITY_SECRET))
    first = vault.set_secret("sub-secret-1", "value-one")
    second = vault.set_secret("sub-secret-1", "value-two")
    assert first.properties.version != second.properties.version
    assert standin.secret_versions("sub-secret-1") == [first.properties.version, second.properties.version]
    assert vault.get_secret("sub-secret-1").value == "value-two"
    assert vault.get_secret("sub-secret-1", first.properties.version).value == "value-one"

    poller = vault.begin_delete_secret("sub-secret-1", _polling_interval=0.05)
    poller.wait()
    assert poller.result().recovery_id.endswith("/deletedsecrets/sub-secret-1")
    with pytest.raises(ResourceNotFoundError):
        vault.get_secret("sub-secret-1")
    assert vault.get_deleted_secret("sub-secret-1").name == "sub-secret-1"
    # A deleted name cannot be reused until purged.
    with pytest.raises(HttpResponseError) as caught:
        vault.set_secret("sub-secret-1", "value-three")
    assert caught.value.status_code == 409
    vault.purge_deleted_secret("sub-secret-1")
    assert standin.deleted_secret_names() == []
    with pytest.raises(ResourceNotFoundError):
        vault.get_deleted_secret("sub-secret-1")
    assert vault.set_secret("sub-secret-1", "value-three").value == "value-three"
    with pytest.raises(ResourceNotFoundError):
        vault.begin_delete_secret("no-such-secret")
    log_text = json.dumps(standin.requests())
    assert not any(v in log_text for v in ("value-one", "value-two", "value-three"))
