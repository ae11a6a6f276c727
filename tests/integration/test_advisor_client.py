"""Our Advisor client, credentials and fetch step with the real SDK clients talking HTTPS to
the local Azure stand-in: the service principal's secret read from (stand-in) Key Vault, paging,
server-side filters, the repeated-nextLink guard, and transient/permanent classification."""

from __future__ import annotations

import math

import pytest

from devhost.azure_standin import AzureStandIn
from shared import clients
from shared.advisor import FetchStats, advisor_client_factory, fetch_recommendations
from shared.credentials import advisor_credential
from shared.errors import PermanentError, TransientError
from shared.models import ReportFilters
from shared.pipeline import fetch_subscription
from shared.settings import get_settings, reset_settings

pytestmark = pytest.mark.standin


@pytest.fixture(scope="module")
def standin():
    with AzureStandIn(page_size=25) as server:
        yield server


@pytest.fixture
def app_env(standin, monkeypatch):
    for name, value in standin.settings_env().items():
        monkeypatch.setenv(name, value)
    reset_settings()
    clients.reset_clients()
    standin.clear_faults()
    yield get_settings()
    standin.clear_faults()
    reset_settings()
    clients.reset_clients()


@pytest.fixture
def fast_clients(app_env):
    """Client factory with short azure-core back-off, so retried faults don't slow the suite."""
    from azure.mgmt.advisor import AdvisorManagementClient

    cred = advisor_credential(app_env)

    def build(sub: str):
        return AdvisorManagementClient(
            cred, sub, base_url=app_env.arm_endpoint, credential_scopes=[app_env.arm_scope],
            connection_verify=app_env.ca_bundle, retry_backoff_factor=0.01, retry_backoff_max=0.05,
        )  # fmt: skip

    return build


def _first_sub(standin) -> str:
    return standin.subscription_ids[0]


def test_fetch_all_pages_through_key_vault_credential(standin, app_env):
    sub = _first_sub(standin)
    expected = len(standin.recommendations(sub))
    stats = FetchStats()
    recs = list(
        fetch_recommendations(clients.advisor_clients()(sub), sub, ReportFilters(), page_size=25, stats=stats)
    )
    assert len(recs) == expected
    assert stats.pages == math.ceil(expected / 25)
    assert len({r.recommendation_id for r in recs}) == expected
    assert all(r.subscription_id == sub.lower() for r in recs)
    # the secret was read from Key Vault by the app identity, then used for ARM
    targets = [r["target"] for r in standin.requests()]
    assert "keyvault" in targets and "token" in targets


def test_server_side_filter_and_client_side_impacts(standin, fast_clients):
    sub = _first_sub(standin)
    raw = standin.recommendations(sub)
    want = [r for r in raw if r["properties"]["category"] == "Cost" and r["properties"]["impact"] == "High"]
    standin.clear_requests()
    got = list(
        fetch_recommendations(fast_clients(sub), sub, ReportFilters(categories=("cost",), impacts=("high",)))
    )
    assert {r.recommendation_id for r in got} == {r["id"] for r in want}
    assert any("Category eq 'Cost'" in str(r["query"]) for r in standin.requests(target="arm"))


def test_resource_group_filter_is_case_insensitive(standin, fast_clients):
    sub = _first_sub(standin)
    some = next(r for r in standin.recommendations(sub) if "/resourceGroups/" in r["id"])
    group = some["id"].split("/resourceGroups/")[1].split("/")[0]
    got = list(fetch_recommendations(fast_clients(sub), sub, ReportFilters(resource_groups=(group.upper(),))))
    assert got and all(r.resource_group.lower() == group.lower() for r in got)


def test_repeated_next_link_is_a_permanent_fault_not_a_loop_or_a_silent_stop(standin, fast_clients):
    sub = _first_sub(standin)
    assert len(standin.recommendations(sub)) > 75
    standin.inject_fault(subscription=sub, next_link="repeat", page=2)
    stats = FetchStats()
    recs = []
    with pytest.raises(PermanentError) as info:
        for rec in fetch_recommendations(fast_clients(sub), sub, ReportFilters(), page_size=25, stats=stats):
            recs.append(rec)
    assert info.value.code == "incomplete_listing"
    assert sub in str(info.value) and "could not all be read" in str(info.value)
    assert stats.stopped_on_repeated_link
    assert stats.pages <= 3 and len(recs) <= 75


def test_throttling_is_retried_by_the_sdk_and_succeeds(standin, fast_clients):
    sub = _first_sub(standin)
    standin.inject_fault(subscription=sub, status=429, retry_after=0, count=2)
    recs = list(fetch_recommendations(fast_clients(sub), sub, ReportFilters(), page_size=100))
    assert len(recs) == len(standin.recommendations(sub))
    assert sum(1 for r in standin.requests(target="arm", subscription=sub) if r["status"] == 429) == 2


@pytest.mark.parametrize(
    ("fault", "kind", "code"),
    [
        ({"status": 403}, PermanentError, "authorization_failed"),
        ({"status": 401}, PermanentError, "token_rejected"),
        ({"status": 500}, TransientError, "unavailable"),
        ({"malformed": True}, TransientError, "malformed_response"),
    ],
)
def test_faults_are_classified(standin, fast_clients, fault, kind, code):
    sub = _first_sub(standin)
    standin.inject_fault(subscription=sub, **fault)
    with pytest.raises(kind) as err:
        list(fetch_recommendations(fast_clients(sub), sub, ReportFilters()))
    assert err.value.code == code
    assert sub in str(err.value)


def test_unknown_subscription_is_permanent(standin, fast_clients):
    missing = "99999999-9999-9999-9999-999999999999"
    with pytest.raises(PermanentError) as err:
        list(fetch_recommendations(fast_clients(missing), missing, ReportFilters()))
    assert err.value.code == "subscription_not_found"


def test_wrong_secret_in_key_vault_is_permanent_and_never_echoed(standin, app_env):
    standin.set_secret("advisor-client-secret", "a-wrong-secret-value")
    try:
        factory = advisor_client_factory(
            advisor_credential(app_env), arm_endpoint=app_env.arm_endpoint, ca_bundle=app_env.ca_bundle
        )
        sub = _first_sub(standin)
        with pytest.raises(PermanentError) as err:
            list(fetch_recommendations(factory(sub), sub, ReportFilters()))
        assert err.value.code == "authentication_failed"
        assert "a-wrong-secret-value" not in str(err.value)
    finally:
        from devhost.azure_standin import DEFAULT_CLIENT_SECRET

        standin.set_secret("advisor-client-secret", DEFAULT_CLIENT_SECRET)


@pytest.mark.azurite
def test_fetch_step_persists_and_returns_counts_only(standin, fast_clients, table_store):
    sub = _first_sub(standin)
    outcome = fetch_subscription(
        "rep-fetch", sub, ReportFilters(), store=table_store, client_for=fast_clients, page_size=25
    )
    assert outcome.ok and outcome.count == len(standin.recommendations(sub))
    assert outcome.pages == math.ceil(outcome.count / 25)
    assert table_store.count_recommendations("rep-fetch") == outcome.count
    # retried after a crash: the same rows, no duplicates
    again = fetch_subscription("rep-fetch", sub, ReportFilters(), store=table_store, client_for=fast_clients)
    assert again.count == outcome.count and table_store.count_recommendations("rep-fetch") == outcome.count
    assert len(str(outcome.to_dict())) < 400  # counts only, never the list


@pytest.mark.azurite
def test_fetch_step_returns_permanent_failure_as_outcome(standin, fast_clients, table_store):
    sub = _first_sub(standin)
    standin.inject_fault(subscription=sub, status=403)
    outcome = fetch_subscription("rep-403", sub, ReportFilters(), store=table_store, client_for=fast_clients)
    assert not outcome.ok and outcome.failure_code == "authorization_failed"
    assert table_store.count_recommendations("rep-403") == 0


@pytest.mark.azurite
def test_fetch_step_raises_transient_faults_for_the_retry_policy(standin, fast_clients, table_store):
    sub = _first_sub(standin)
    standin.inject_fault(subscription=sub, status=503)
    with pytest.raises(TransientError):
        fetch_subscription("rep-503", sub, ReportFilters(), store=table_store, client_for=fast_clients)
