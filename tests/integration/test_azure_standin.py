"""The local HTTPS Azure stand-in (devhost.azure_standin) driven by the real, unmodified SDK
clients: azure-identity's ClientSecretCredential, azure-mgmt-advisor's AdvisorManagementClient
and azure-keyvault-secrets' SecretClient.

Covers paging, $filter, generateRecommendations, the error mapping the app relies on (404 ->
ResourceNotFoundError, 401 -> ClientAuthenticationError, 403 -> HttpResponseError, 429/5xx
retried by azure-core), broken and looping pages, Key Vault's challenge, the HTTP control
endpoint, trust through connection_verify or REQUESTS_CA_BUNDLE, and the bundled sample tenant.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.advisor import AdvisorManagementClient

from devhost.azure_standin import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SECRET_NAME,
    AzureStandIn,
    FilterError,
    parse_filter,
    recommendation_resource_group,
)
from devhost.sample_tenant import BUNDLED_PATH, build_bundled_sample, build_tenant

pytestmark = pytest.mark.standin

ROOT = Path(__file__).resolve().parents[2]
PAGE_SIZE = 20
# Keep azure-core's retries quick; Retry-After still wins when the server sends one.
FAST_RETRY: dict[str, Any] = {"retry_total": 3, "retry_backoff_factor": 0.01, "retry_backoff_max": 0.05}
QUIRKY_SUB = "0badc0de-0000-4000-8000-000000000001"
QUIRKY_RG = "rg-o'brien"  # not a legal Azure name, but it exercises '' escaping end to end


def odata_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quirky_subscription(template: dict[str, Any]) -> dict[str, Any]:
    rec = copy.deepcopy(template)
    resource = f"/subscriptions/{QUIRKY_SUB}/resourceGroups/{QUIRKY_RG}/providers/Microsoft.Compute/disks/d1"
    rec["name"] = str(uuid.UUID(int=1))
    rec["id"] = f"{resource}/providers/Microsoft.Advisor/recommendations/{rec['name']}"
    rec["properties"]["resourceMetadata"] = {"resourceId": resource}
    other = copy.deepcopy(template)
    other["name"] = str(uuid.UUID(int=2))
    other["id"] = f"/subscriptions/{QUIRKY_SUB}/providers/Microsoft.Advisor/recommendations/{other['name']}"
    other["properties"]["resourceMetadata"] = {"resourceId": f"/subscriptions/{QUIRKY_SUB}"}
    return {"subscriptionId": QUIRKY_SUB, "displayName": "Quirky", "recommendations": [rec, other]}


@pytest.fixture(scope="module")
def tenant() -> dict[str, Any]:
    data = build_tenant(2, 47, seed=11)
    data["subscriptions"].append(_quirky_subscription(data["subscriptions"][0]["recommendations"][0]))
    return data


@pytest.fixture(scope="module")
def standin(tenant: dict[str, Any]) -> Iterator[AzureStandIn]:
    with AzureStandIn(tenant, page_size=PAGE_SIZE) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(standin: AzureStandIn) -> Iterator[None]:
    standin.clear_faults()
    standin.clear_requests()
    yield
    standin.clear_faults()


@pytest.fixture
def sub(tenant: dict[str, Any]) -> dict[str, Any]:
    return tenant["subscriptions"][0]


@pytest.fixture
def credential(standin: AzureStandIn) -> ClientSecretCredential:
    return ClientSecretCredential(
        standin.tenant_id,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        authority=standin.url,
        disable_instance_discovery=True,  # else MSAL asks login.microsoftonline.com about the host
        connection_verify=standin.ca_path,
    )


def make_advisor(standin: AzureStandIn, credential: Any, subscription_id: str, **kwargs: Any):
    options = {**FAST_RETRY, "connection_verify": standin.ca_path, **kwargs}
    return AdvisorManagementClient(
        credential,
        subscription_id,
        base_url=standin.url,
        credential_scopes=[standin.url + "/.default"],
        **options,
    )


@pytest.fixture
def advisor(standin: AzureStandIn, credential: ClientSecretCredential, sub: dict[str, Any]):
    return make_advisor(standin, credential, sub["subscriptionId"])


def http(standin: AzureStandIn, method: str, url: str, **kwargs: Any) -> requests.Response:
    """Plain HTTP to the stand-in. ``verify`` goes on each request: requests lets a
    REQUESTS_CA_BUNDLE in the environment override ``Session.verify``."""
    return requests.request(method, url, verify=standin.ca_path, timeout=10, **kwargs)


def arm_statuses(standin: AzureStandIn, operation: str = "list") -> list[int]:
    return [e["status"] for e in standin.requests(target="arm") if e["operation"] == operation]


# -- Entra ID -------------------------------------------------------------------------------------


def test_client_secret_credential_gets_an_opaque_token(standin, credential):
    token = credential.get_token(standin.url + "/.default")
    assert token.token and "." not in token.token  # opaque, not a JWT
    assert token.expires_on > time.time() + 3000
    assert [e["target"] for e in standin.requests()] == ["openid", "token"]
    log_text = json.dumps(standin.requests())
    assert DEFAULT_CLIENT_SECRET not in log_text and token.token not in log_text


def test_a_wrong_client_secret_gets_aadsts7000215(standin):
    cred = ClientSecretCredential(
        standin.tenant_id,
        DEFAULT_CLIENT_ID,
        "not-the-secret",
        authority=standin.url,
        disable_instance_discovery=True,
        connection_verify=standin.ca_path,
    )
    with pytest.raises(ClientAuthenticationError) as caught:
        cred.get_token(standin.url + "/.default")
    assert "AADSTS7000215" in str(caught.value)
    token_calls = standin.requests(target="token")
    assert [e["status"] for e in token_calls] == [401]  # refused once, not retried
    assert "not-the-secret" not in json.dumps(standin.requests())


def test_an_unknown_client_id_is_refused(standin):
    cred = standin.credential(client_id=str(uuid.uuid4()))
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        cred.get_token(standin.url + "/.default")


# -- listing and paging ------------------------------------------------------------------------------


@pytest.mark.parametrize("top", [7, None])
def test_listing_follows_next_links_page_by_page(standin, advisor, sub, top):
    expected = [r["name"] for r in sub["recommendations"]]
    pages = [list(page) for page in advisor.recommendations.list(top=top).by_page()]
    assert len(pages) == math.ceil(len(expected) / (top or PAGE_SIZE))
    assert [r.name for page in pages for r in page] == expected
    assert arm_statuses(standin) == [200] * len(pages)
    assert standin.request_count(sub["subscriptionId"]) == len(pages)


def test_sdk_models_carry_the_arm_fields(advisor, sub):
    by_name = {r.name: r for r in advisor.recommendations.list()}
    cost = next(r for r in sub["recommendations"] if r["properties"]["category"] == "Cost")
    model = by_name[cost["name"]]
    assert model.category == "Cost"
    assert model.last_updated.tzinfo is not None
    assert model.extended_properties == cost["properties"]["extendedProperties"]
    assert model.short_description.problem == cost["properties"]["shortDescription"]["problem"]
    assert model.resource_metadata.resource_id == cost["properties"]["resourceMetadata"]["resourceId"]


def test_filter_on_category_and_resource_group_ignores_case(advisor, sub):
    # the resource group of the first resource-level cost recommendation (the sample's data decides which)
    rg = next(
        g
        for r in sub["recommendations"]
        if r["properties"]["category"] == "Cost" and (g := recommendation_resource_group(r))
    )
    expected = [
        r["name"]
        for r in sub["recommendations"]
        if r["properties"]["category"] == "Cost" and recommendation_resource_group(r).lower() == rg.lower()
    ]
    flt = f"category eq 'cost' and RESOURCEGROUP eq {odata_quote(rg.upper())}"
    assert [r.name for r in advisor.recommendations.list(filter=flt)] == expected
    assert expected


def test_filter_and_binds_tighter_than_or_and_parentheses_work(advisor, sub):
    recs = sub["recommendations"]
    rg = recommendation_resource_group(next(r for r in recs if recommendation_resource_group(r)))

    def names(pred):
        return [r["name"] for r in recs if pred(r)]

    def cat(r):
        return r["properties"]["category"]

    def in_rg(r):
        return recommendation_resource_group(r) == rg

    loose = f"Category eq 'Security' or Category eq 'Performance' and ResourceGroup eq '{rg}'"
    assert [r.name for r in advisor.recommendations.list(filter=loose)] == names(
        lambda r: cat(r) == "Security" or (cat(r) == "Performance" and in_rg(r))
    )
    grouped = f"(Category eq 'Security' or Category eq 'Performance') and ResourceGroup eq '{rg}'"
    assert [r.name for r in advisor.recommendations.list(filter=grouped)] == names(
        lambda r: cat(r) in ("Security", "Performance") and in_rg(r)
    )


def test_filter_paging_keeps_the_filter_on_every_page(standin, advisor, sub):
    flt = "Category eq 'HighAvailability' or Category eq 'Cost'"
    expected = [
        r["name"]
        for r in sub["recommendations"]
        if r["properties"]["category"] in ("HighAvailability", "Cost")
    ]
    pages = list(advisor.recommendations.list(filter=flt, top=5).by_page())
    assert len(pages) == math.ceil(len(expected) / 5)
    assert [r.name for page in pages for r in page] == expected
    assert {e["query"]["$filter"] for e in standin.requests(target="arm")} == {flt}


def test_filter_on_resource_id_and_recommendation_type(advisor, sub):
    rec = sub["recommendations"][3]
    resource_id = rec["properties"]["resourceMetadata"]["resourceId"]
    type_id = rec["properties"]["recommendationTypeId"]
    flt = f"ResourceId eq '{resource_id.upper()}' and RecommendationTypeGuid eq '{type_id}'"
    assert rec["name"] in [r.name for r in advisor.recommendations.list(filter=flt)]


def test_doubled_quotes_in_filter_values_round_trip(standin, credential):
    advisor = make_advisor(standin, credential, QUIRKY_SUB)
    found = list(advisor.recommendations.list(filter=f"ResourceGroup eq {odata_quote(QUIRKY_RG)}"))
    assert [r.name for r in found] == [str(uuid.UUID(int=1))]
    assert standin.requests(target="arm")[0]["query"]["$filter"] == "ResourceGroup eq 'rg-o''brien'"
    assert list(advisor.recommendations.list(filter="ResourceGroup eq 'o''neil''s'")) == []


@pytest.mark.parametrize(
    "flt",
    [
        "Category eq 'Cost",  # unterminated string
        "Impact eq 'High'",  # not filterable server-side
        "Category ne 'Cost'",  # only eq
        "Category eq 'Cost' and",  # dangling operator
        "(Category eq 'Cost'",  # unbalanced parenthesis
        "Category eq Cost",  # unquoted value
    ],
)
def test_a_malformed_filter_is_a_400_with_an_arm_error(advisor, flt):
    with pytest.raises(HttpResponseError) as caught:
        list(advisor.recommendations.list(filter=flt))
    assert caught.value.status_code == 400
    assert caught.value.error.code == "BadRequest"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("Category eq ''", True),
        ("Category eq ''''", True),
        ("Category eq 'a''b'", True),
        ("Category eq 'a''", False),
        ("Category eq '''", False),
        ("((Category eq 'Cost'))", True),
        ("Category eq 'Cost' or", False),
        ("Category eq 'Cost' Category eq 'Cost'", False),
        ("", False),
    ],
)
def test_filter_grammar(text, ok):
    if ok:
        parse_filter(text)
    else:
        with pytest.raises(FilterError):
            parse_filter(text)


# -- errors the app maps --------------------------------------------------------------------------------


def test_an_unknown_subscription_is_resource_not_found(standin, credential):
    missing = str(uuid.uuid4())
    advisor = make_advisor(standin, credential, missing)
    with pytest.raises(ResourceNotFoundError) as caught:
        list(advisor.recommendations.list())
    assert caught.value.error.code == "SubscriptionNotFound"
    assert missing in str(caught.value.error.message)
    assert arm_statuses(standin) == [404]


def test_an_injected_401_is_client_authentication_error(standin, advisor, sub):
    standin.inject_fault(subscription=sub["subscriptionId"], status=401, count=1)
    with pytest.raises(ClientAuthenticationError) as caught:
        list(advisor.recommendations.list())
    assert caught.value.error.code == "InvalidAuthenticationToken"
    assert arm_statuses(standin) == [401]  # not retried


def test_an_expired_token_is_client_authentication_error(standin, advisor):
    assert list(advisor.recommendations.list())  # a token is issued and cached
    standin.expire_tokens()
    with pytest.raises(ClientAuthenticationError) as caught:
        list(advisor.recommendations.list())
    assert caught.value.error.code == "ExpiredAuthenticationToken"


def test_a_403_is_an_http_response_error_not_retried(standin, advisor, sub):
    standin.inject_fault(subscription=sub["subscriptionId"], status=403)
    with pytest.raises(HttpResponseError) as caught:
        list(advisor.recommendations.list())
    assert type(caught.value) is HttpResponseError
    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert arm_statuses(standin) == [403]


def test_a_429_with_retry_after_is_retried_by_azure_core(standin, advisor, sub):
    standin.inject_fault(subscription="*", status=429, retry_after=1, count=1, page=2)
    started = time.monotonic()
    items = list(advisor.recommendations.list(top=10))
    elapsed = time.monotonic() - started
    assert len(items) == len(sub["recommendations"])
    assert arm_statuses(standin)[:3] == [200, 429, 200]
    retried = [e for e in standin.requests(target="arm") if e["page"] == 2]
    assert [e["status"] for e in retried] == [429, 200]
    assert elapsed >= 0.95, "azure-core should have waited for Retry-After"


def test_5xx_is_retried_then_gives_up(standin, advisor, sub):
    standin.inject_fault(subscription=sub["subscriptionId"], status=500, count=2)
    assert len(list(advisor.recommendations.list())) == len(sub["recommendations"])
    assert arm_statuses(standin)[:3] == [500, 500, 200]

    standin.clear_requests()
    standin.inject_fault(subscription=sub["subscriptionId"], status=503)
    with pytest.raises(HttpResponseError) as caught:
        list(advisor.recommendations.list())
    assert caught.value.status_code == 503
    assert caught.value.error.code == "ServiceUnavailable"
    assert arm_statuses(standin) == [503] * (1 + FAST_RETRY["retry_total"])


def test_faults_for_another_subscription_do_not_apply(standin, advisor, tenant):
    other = tenant["subscriptions"][1]["subscriptionId"]
    standin.inject_fault(subscription=other, status=403)
    assert list(advisor.recommendations.list())
    assert standin.faults()[0].hits == 0


# -- broken and looping pages ---------------------------------------------------------------------------


def test_a_malformed_page_raises_decode_error(standin, advisor):
    standin.inject_fault(malformed=True, page=2, count=1)
    with pytest.raises(DecodeError):
        list(advisor.recommendations.list(top=10))


def test_an_empty_next_link_ends_paging_early(standin, advisor, sub):
    standin.inject_fault(next_link="empty", page=1)
    pages = list(advisor.recommendations.list(top=10).by_page())
    # The SDK treats "" as the end: the caller silently gets one page of several.
    assert len(pages) == 1
    assert len(sub["recommendations"]) > 10


def test_a_repeated_next_link_needs_a_loop_guard(standin, advisor):
    standin.inject_fault(next_link="repeat", page=2)
    pager = advisor.recommendations.list(top=10).by_page()
    seen: set[str] = set()
    fetched = 0
    for _page in pager:
        fetched += 1
        link = pager.continuation_token
        if link in seen:
            break
        seen.add(link)
    # Page 2 hands back the nextLink page 1 gave: a guard on seen links stops there.
    assert fetched == 2
    assert [e["page"] for e in standin.requests(target="arm")] == [1, 2]

    # Without a guard the SDK follows it for ever; take four pages to show it.
    standin.clear_requests()
    unguarded = advisor.recommendations.list(top=10).by_page()
    assert len(list(itertools.islice(unguarded, 4))) == 4
    assert [e["page"] for e in standin.requests(target="arm")] == [1, 2, 2, 2]


# -- slow answers --------------------------------------------------------------------------------------


def test_a_slow_answer_times_out_the_client(standin, credential, sub):
    standin.inject_fault(delay=1.0, count=1)
    impatient = make_advisor(standin, credential, sub["subscriptionId"], read_timeout=0.3, retry_total=0)
    with pytest.raises(ServiceResponseError):
        list(impatient.recommendations.list())
    standin.inject_fault(delay=0.2, count=1)
    started = time.monotonic()
    assert list(next(impatient.recommendations.list(top=1).by_page()))
    assert time.monotonic() - started >= 0.2


# -- other Advisor operations ---------------------------------------------------------------------------


def test_generate_then_poll_the_location(standin, advisor, sub):
    headers = advisor.recommendations.generate(cls=lambda response, body, hdrs: hdrs)
    location = headers["Location"]
    assert location.startswith(f"{standin.url}/subscriptions/{sub['subscriptionId']}/")
    assert headers["Retry-After"] == "1"
    operation_id = location.split("?")[0].rsplit("/", 1)[1]

    def status():
        return advisor.recommendations.get_generate_status(
            operation_id, cls=lambda response, body, hdrs: response.http_response.status_code
        )

    assert [status(), status(), status()] == [202, 204, 204]
    polled = http(standin, "GET", location, headers={"Authorization": f"Bearer {standin.issue_token()}"})
    assert polled.status_code == 204


def test_get_one_recommendation(advisor, sub):
    rec = sub["recommendations"][5]
    resource_uri = rec["properties"]["resourceMetadata"]["resourceId"]
    model = advisor.recommendations.get(resource_uri=resource_uri, recommendation_id=rec["name"])
    assert model.id == rec["id"]
    with pytest.raises(ResourceNotFoundError):
        advisor.recommendations.get(resource_uri=resource_uri, recommendation_id=str(uuid.uuid4()))


# -- Key Vault -------------------------------------------------------------------------------------------


def test_secret_client_reads_and_writes_secrets(standin, credential):
    vault = SecretClient(
        vault_url=standin.url,
        credential=credential,
        verify_challenge_resource=False,  # 127.0.0.1 is not *.vault.azure.net
        connection_verify=standin.ca_path,
    )
    assert vault.get_secret(DEFAULT_SECRET_NAME).value == DEFAULT_CLIENT_SECRET
    kv_calls = standin.requests(target="keyvault")
    assert [e["status"] for e in kv_calls] == [401, 200]  # the challenge, then the real request

    written = vault.set_secret("customer-a-client-secret", "s3cr3t-value")
    assert vault.get_secret("customer-a-client-secret").value == "s3cr3t-value"
    assert vault.get_secret("customer-a-client-secret", written.properties.version).value == "s3cr3t-value"
    with pytest.raises(ResourceNotFoundError) as caught:
        vault.get_secret("no-such-secret")
    assert caught.value.error.code == "SecretNotFound"
    log_text = json.dumps(standin.requests())
    assert "s3cr3t-value" not in log_text and DEFAULT_CLIENT_SECRET not in log_text


def test_secret_client_refuses_the_challenge_without_the_flag(standin, credential):
    vault = SecretClient(vault_url=standin.url, credential=credential, connection_verify=standin.ca_path)
    with pytest.raises(ValueError, match="verify_challenge_resource"):
        vault.get_secret(DEFAULT_SECRET_NAME)


def test_key_vault_faults(standin, credential):
    vault = standin.secret_client(credential, retry_total=0)
    standin.inject_fault(target="keyvault", status=403, count=1)
    with pytest.raises(HttpResponseError) as caught:
        vault.get_secret(DEFAULT_SECRET_NAME)
    assert caught.value.status_code == 403
    assert vault.get_secret(DEFAULT_SECRET_NAME).value == DEFAULT_CLIENT_SECRET


# -- raw HTTP: headers and bodies as ARM sends them ---------------------------------------------------------


def test_arm_error_bodies_and_headers(standin, sub):
    url = f"{standin.url}/subscriptions/{sub['subscriptionId']}/providers/Microsoft.Advisor/recommendations"
    params = {"api-version": "2020-01-01"}

    def get(**kwargs: Any) -> requests.Response:
        return http(standin, "GET", url, **kwargs)

    missing = get(params=params)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "AuthenticationFailed"
    assert "Retry-After" not in missing.headers  # azure-core would retry any status that has one

    bogus = get(params=params, headers={"Authorization": "Bearer nope"})
    assert bogus.json()["error"]["code"] == "InvalidAuthenticationToken"

    vault_token = standin.issue_token("https://vault.azure.net")
    wrong_audience = get(params=params, headers={"Authorization": f"Bearer {vault_token}"})
    assert wrong_audience.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"

    auth = {"Authorization": f"Bearer {standin.issue_token()}"}
    ok = get(params=params, headers=auth)
    assert ok.status_code == 200
    assert int(ok.headers["x-ms-ratelimit-remaining-subscription-reads"]) < 250
    assert ok.json()["nextLink"].startswith(standin.url + "/subscriptions/")

    standin.inject_fault(status=429, retry_after=7, remaining_reads=0, count=1)
    throttled = get(params=params, headers=auth)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    assert throttled.json()["error"]["code"] == "TooManyRequests"

    no_version = get(headers=auth)
    assert no_version.status_code == 400
    assert no_version.json()["error"]["code"] == "MissingApiVersionParameter"


# -- the control endpoint over HTTP --------------------------------------------------------------------------


def test_control_endpoint_scripts_faults_over_http(standin, advisor, sub):
    base = standin.url + "/_control"

    created = http(
        standin,
        "POST",
        base + "/faults",
        json={"subscription": sub["subscriptionId"], "status": 403, "count": 1},
    )
    assert created.status_code == 201
    fault_id = created.json()["faults"][0]["id"]
    with pytest.raises(HttpResponseError) as caught:
        list(advisor.recommendations.list())
    assert caught.value.status_code == 403

    log = http(standin, "GET", base + "/requests").json()
    arm = [e for e in log["requests"] if e["target"] == "arm"]
    assert arm[0]["status"] == 403 and arm[0]["fault"] == fault_id
    assert arm[0]["path"].endswith("/providers/Microsoft.Advisor/recommendations")
    assert arm[0]["query"]["api-version"] == "2020-01-01"
    assert log["counts"][sub["subscriptionId"]] == 1
    assert "authorization" not in json.dumps(log).lower()
    assert http(standin, "GET", base + "/faults").json()["faults"] == []  # count=1 used up

    # camelCase keys and a list of faults; "always" when count is omitted
    faults = [{"status": 429, "retryAfter": 0, "count": 1}, {"status": 500}]
    created = http(standin, "POST", base + "/faults", json=faults)
    assert [f["remaining"] for f in created.json()["faults"]] == [1, None]
    assert http(standin, "DELETE", base + "/faults").json() == {"cleared": 2}
    assert list(advisor.recommendations.list(top=50).by_page())

    assert http(standin, "POST", base + "/faults", json={"status": 200}).status_code == 400
    assert http(standin, "POST", base + "/faults", json={"bogus": 1}).status_code == 400
    assert http(standin, "DELETE", base + "/requests").json() == {"cleared": True}
    assert standin.requests() == []


def test_control_endpoint_manages_secrets_and_clients(standin):
    base = standin.url + "/_control"
    client_id = str(uuid.uuid4())
    assert http(standin, "PUT", f"{base}/clients/{client_id}", json={"secret": "other-secret"}).ok
    assert http(standin, "PUT", f"{base}/secrets/other-client-secret", json={"value": "other-secret"}).ok
    cred = standin.credential(client_id=client_id, client_secret="other-secret")
    vault = standin.secret_client(cred)
    assert vault.get_secret("other-client-secret").value == "other-secret"
    assert http(standin, "GET", base + "/health").json()["status"] == "ok"


# -- trust --------------------------------------------------------------------------------------------------


def test_requests_ca_bundle_in_the_environment_is_honoured(standin, sub, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", standin.ca_path)
    cred = ClientSecretCredential(
        standin.tenant_id,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        authority=standin.url,
        disable_instance_discovery=True,
    )
    advisor = AdvisorManagementClient(
        cred, sub["subscriptionId"], base_url=standin.url, credential_scopes=[standin.url + "/.default"]
    )
    assert len(list(advisor.recommendations.list())) == len(sub["recommendations"])


def test_without_trust_the_tls_handshake_fails(standin, credential, sub, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    untrusting = AdvisorManagementClient(
        credential,
        sub["subscriptionId"],
        base_url=standin.url,
        credential_scopes=[standin.url + "/.default"],
        retry_total=0,
    )
    with pytest.raises(ServiceRequestError):
        list(untrusting.recommendations.list())


# -- the bundled sample and the command line ---------------------------------------------------------


def test_the_bundled_sample_is_what_the_generator_builds():
    bundled = json.loads(BUNDLED_PATH.read_text(encoding="utf-8"))
    assert bundled == build_bundled_sample()
    subs = bundled["subscriptions"]
    assert [s["displayName"] for s in subs] == [
        "Contoso Production",
        "Contoso Development",
        "Fabrikam Shared Services",
        "Fabrikam EU (EUR billing)",
    ]
    recs = [r for s in subs for r in s["recommendations"]]
    assert 300 <= len(recs) <= 500
    assert {r["properties"]["category"] for r in recs} == {
        "HighAvailability",
        "Security",
        "Performance",
        "Cost",
        "OperationalExcellence",
    }
    assert {r["properties"]["impact"] for r in recs} == {"High", "Medium", "Low"}
    currencies = {
        r["properties"]["extendedProperties"].get("savingsCurrency")
        for r in subs[3]["recommendations"]
        if "savingsAmount" in r["properties"]["extendedProperties"]
    }
    assert "EUR" in currencies and "USD" not in currencies
    assert BUNDLED_PATH.stat().st_size < 1_000_000


def test_the_command_line_serves_a_tenant_file(tmp_path):
    tenant_file = tmp_path / "tenant.json"
    tenant_file.write_text(json.dumps(build_tenant(1, 5)), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "devhost.azure_standin", "--tenant", str(tenant_file), "--port", "0"]
        + ["--ca-out", str(tmp_path / "ca"), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info == json.loads((tmp_path / "ca" / "standin.json").read_text(encoding="utf-8"))
        health = requests.get(info["url"] + "/_control/health", verify=info["caPath"], timeout=5)
        assert health.json()["tenantId"] == info["tenantId"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
