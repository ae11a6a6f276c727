"""The big sample tenant served by the HTTPS stand-in and read with the app's own Advisor code
(azure-mgmt-advisor, ``shared.advisor``): non-Latin resource groups filter server-side, names
round-trip, and each subscription answers with its own Entra tenant, managed from the
stand-in's (Lighthouse)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential
from azure.mgmt.advisor import AdvisorManagementClient

from devhost.azure_standin import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, AzureStandIn
from devhost.big_tenant import build_big_tenant
from shared.advisor import fetch_recommendations, subscription_display_name
from shared.models import ReportFilters

pytestmark = pytest.mark.standin

TENANT = build_big_tenant()


@pytest.fixture(scope="module")
def standin() -> Iterator[AzureStandIn]:
    with AzureStandIn(TENANT, page_size=25) as server:
        yield server


def _client(standin: AzureStandIn, subscription_id: str) -> AdvisorManagementClient:
    credential = ClientSecretCredential(
        standin.tenant_id, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, authority=standin.url,
        disable_instance_discovery=True, connection_verify=standin.ca_path,
    )  # fmt: skip
    return AdvisorManagementClient(
        credential, subscription_id, base_url=standin.url, credential_scopes=[standin.url + "/.default"],
        connection_verify=standin.ca_path,
    )  # fmt: skip


@pytest.mark.parametrize("index", [1, 7])  # a Japanese and a Korean subscription
def test_non_latin_names_round_trip_and_filter(standin: AzureStandIn, index: int) -> None:
    sub = TENANT["subscriptions"][index]
    sub_id = sub["subscriptionId"]
    client = _client(standin, sub_id)
    assert subscription_display_name(client, sub_id) == sub["displayName"]
    assert re.search(r"[^\x00-\x7f]", sub["displayName"])
    everything = list(fetch_recommendations(client, sub_id, ReportFilters(), page_size=25))
    assert len(everything) == len(sub["recommendations"])
    group = next(r.resource_group for r in everything if re.search(r"[^\x00-\x7f]", r.resource_group))
    only = list(fetch_recommendations(client, sub_id, ReportFilters(resource_groups=(group,))))
    assert only and all(r.resource_group == group for r in only)
    assert len(only) == sum(r.resource_group == group for r in everything)
    names = {r.resource_name for r in everything}
    assert names == {item["properties"]["impactedValue"] for item in sub["recommendations"]}


def test_each_subscription_answers_with_its_own_tenant(standin: AzureStandIn) -> None:
    for sub in TENANT["subscriptions"][:3]:
        client = _client(standin, sub["subscriptionId"])
        answer = client._send_request(
            HttpRequest(
                "GET", f"/subscriptions/{sub['subscriptionId']}", params={"api-version": "2022-12-01"}
            )
        ).json()
        assert answer["tenantId"] == sub["tenantId"] != standin.tenant_id
        assert answer["managedByTenants"] == [{"tenantId": standin.tenant_id}]
