"""Customers and subscriptions end to end on devhost: registering with each auth type, the
client secret's round trip through Key Vault (and its absence from answers, tables, logs and
orchestration history), every connection-test outcome, a report fetched with a subscription's
own credentials, and bad input refused with nothing stored."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shared.customers import secret_name_for

from .support import ApiClient, find_secrets

pytestmark = pytest.mark.e2e

CUSTOMER_TENANT = "c0570000-aaaa-4bbb-8ccc-000000000008"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 24


def new_secret() -> str:
    return f"e2e-secret-{uuid.uuid4().hex}"


def app_principal(stack: Any, subscriptions: list[str] | None) -> tuple[str, str]:
    """An app registration in the customer's tenant, known to the stand-in's Entra."""
    client_id, secret = str(uuid.uuid4()), new_secret()
    stack.standin.add_client(client_id, secret, tenant_id=CUSTOMER_TENANT, subscriptions=subscriptions)
    return client_id, secret


def secret_auth(client_id: str, secret: str) -> dict[str, str]:
    return {
        "type": "clientSecret",
        "tenantId": CUSTOMER_TENANT,
        "clientId": client_id,
        "clientSecret": secret,
    }


def create_customer(api: ApiClient, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/customers", json={"name": f"Customer {uuid.uuid4().hex[:6]}", **extra})
    assert response.status_code == 201, response.text
    return response.json()


def register(
    api: ApiClient, sub_id: str, customer_id: str, auth: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"subscriptionId": sub_id, "customerId": customer_id, "displayName": "Registered"}
    if auth is not None:
        body["auth"] = auth
    response = api.post("/api/subscriptions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def connection_test(api: ApiClient, sub_id: str) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = api.post(f"/api/subscriptions/{sub_id}/test", timeout=40)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    return response.json(), elapsed


def all_tables(stack: Any) -> str:
    """Every entity of every table in the account (the app's and the task hub's)."""
    from azure.data.tables import TableServiceClient

    service = TableServiceClient.from_connection_string(stack.storage_connection)
    rows = []
    for table in service.list_tables():
        for entity in service.get_table_client(table.name).list_entities():
            rows.append(json.dumps({"table": table.name, **dict(entity)}, default=str))
    return "\n".join(rows)


def app_rows(stack: Any) -> dict[str, int]:
    from azure.core.exceptions import ResourceNotFoundError
    from azure.data.tables import TableServiceClient

    service = TableServiceClient.from_connection_string(stack.storage_connection)
    counts = {}
    for name in ("customers", "subscriptions"):
        try:
            counts[name] = sum(1 for _ in service.get_table_client(name).list_entities())
        except ResourceNotFoundError:
            counts[name] = 0
    return counts


@contextlib.contextmanager
def nothing_registered(stack: Any) -> Iterator[None]:
    """No row, no Key Vault secret, no blob left by what runs inside."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import BlobServiceClient

    def blobs() -> set[str]:
        service = BlobServiceClient.from_connection_string(stack.storage_connection)
        try:
            return {b.name for b in service.get_container_client("branding").list_blobs()}
        except ResourceNotFoundError:
            return set()

    rows, secrets, logos = app_rows(stack), set(stack.standin._secrets), blobs()
    yield
    assert app_rows(stack) == rows
    assert set(stack.standin._secrets) == secrets
    assert blobs() == logos


# -- customers --------------------------------------------------------------------------------


def test_customers_with_branding(api: ApiClient, stack: Any) -> None:
    logo = base64.b64encode(PNG).decode()
    customer = create_customer(
        api, branding={"displayName": "Contoso Ltd", "accentColor": "#0078D4", "logo": logo}
    )
    cid = customer["customerId"]
    assert customer["branding"] == {
        "displayName": "Contoso Ltd",
        "accentColor": "#0078d4",
        "logo": {"contentType": "image/png", "size": len(PNG)},
    }
    got = api.get(f"/api/customers/{cid}").json()
    assert got["name"] == customer["name"] and got["subscriptionIds"] == []
    patched = api.call("PATCH", f"/api/customers/{cid}", json={"name": "Renamed", "branding": {"logo": None}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Renamed" and patched.json()["branding"]["logo"] is None
    assert cid in [c["customerId"] for c in api.get("/api/customers").json()["customers"]]
    assert api.call("DELETE", f"/api/customers/{cid}").status_code == 200
    assert api.get(f"/api/customers/{cid}").status_code == 404


@pytest.mark.parametrize(
    ("branding", "field"),
    [
        ({"logo": base64.b64encode(b"GIF89a" + b"\x00" * 20).decode()}, "branding.logo"),
        ({"logo": base64.b64encode(PNG + b"\x00" * 256 * 1024).decode()}, "branding.logo"),
        ({"logo": "not base64!"}, "branding.logo"),
        ({"accentColor": "red"}, "branding.accentColor"),
    ],
)
def test_bad_branding_is_refused_with_nothing_stored(
    api: ApiClient, stack: Any, branding: Any, field: str
) -> None:
    with nothing_registered(stack):
        response = api.post("/api/customers", json={"name": "Bad", "branding": branding})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


def test_a_customer_with_subscriptions_is_deleted_only_with_cascade(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    (sub,) = (s["subscriptionId"] for s in new_subscriptions(1, 3))
    cid = create_customer(api)["customerId"]
    client_id, secret = app_principal(stack, [sub])
    register(api, sub, cid, secret_auth(client_id, secret))
    refused = api.call("DELETE", f"/api/customers/{cid}")
    assert refused.status_code == 409, refused.text
    assert api.get(f"/api/subscriptions/{sub}").status_code == 200
    deleted = api.call("DELETE", f"/api/customers/{cid}", params={"cascade": "true"})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["subscriptionsDeleted"] == [sub.lower()]
    assert api.get(f"/api/subscriptions/{sub}").status_code == 404
    assert stack.standin.secret_value(secret_name_for(sub)) is None
    assert secret_name_for(sub) not in stack.standin.deleted_secret_names()  # purged too


# -- subscriptions and the secret -------------------------------------------------------------


def test_managed_identity_registration_and_connection_test(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    (entry,) = new_subscriptions(1, 7)
    sub = entry["subscriptionId"]
    cid = create_customer(api)["customerId"]
    registered = register(api, sub, cid)
    assert registered["auth"] == {"type": "managedIdentity"}
    assert registered["syncStatus"] == "never_synced" and registered["lastChecked"] is None
    result, elapsed = connection_test(api, sub)
    assert result["success"] is True, result
    assert result["subscriptionName"] == entry["displayName"]
    assert result["recommendationCount"] == 7
    after = api.get(f"/api/subscriptions/{sub}").json()
    assert after["syncStatus"] == "success" and after["lastChecked"]
    listed = api.get("/api/subscriptions", params={"customerId": cid}).json()["subscriptions"]
    assert [s["subscriptionId"] for s in listed] == [sub.lower()]


def test_client_secret_round_trip_through_key_vault(
    api: ApiClient, stack: Any, new_subscriptions: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sub_entry, other_entry = new_subscriptions(2, 6)
    sub, other = sub_entry["subscriptionId"], other_entry["subscriptionId"]
    cid = create_customer(api)["customerId"]
    client_id, secret = app_principal(stack, [sub])
    name = secret_name_for(sub)

    registered = register(api, sub, cid, secret_auth(client_id, secret))
    assert registered["auth"] == {"type": "clientSecret", "tenantId": CUSTOMER_TENANT, "clientId": client_id}
    assert stack.standin.secret_value(name) == secret
    assert len(stack.standin.secret_versions(name)) == 1
    result, _ = connection_test(api, sub)
    assert result["success"] is True and result["recommendationCount"] == 6, result

    # The report's fetch uses the subscription's own app registration, not the app's.
    report = api.run_report({"subscriptionIds": [sub], "reportType": "detailed", "formats": ["html"]})
    assert report["status"] == "completed", report.get("failure")
    clients_used = {e["client_id"] for e in stack.standin.requests(target="arm", subscription=sub)}
    assert clients_used == {client_id}

    # Rotating the secret writes a new version; the old one stops working at Entra.
    rotated = new_secret()
    stack.standin.add_client(client_id, rotated, tenant_id=CUSTOMER_TENANT, subscriptions=[sub])
    stale, _ = connection_test(api, sub)
    assert stale["errorCode"] == "invalid_client_secret", stale
    patched = api.call(
        "PATCH", f"/api/subscriptions/{sub}", json={"auth": {"type": "clientSecret", "clientSecret": rotated}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["syncStatus"] == "never_synced"
    assert len(stack.standin.secret_versions(name)) == 2
    assert stack.standin.secret_value(name) == rotated
    fresh, _ = connection_test(api, sub)
    assert fresh["success"] is True, fresh
    report = api.run_report({"subscriptionIds": [sub, other], "reportType": "cost", "formats": ["html"]})
    assert report["status"] == "completed", report.get("failure")

    # Nowhere else: not in any answer, any table (the app's and the task hub's history), any log.
    secrets = [secret, rotated]
    for seen in api.seen:
        assert not find_secrets(seen.body, secrets), f"{seen.method} {seen.url}"
    tables = all_tables(stack)
    assert name in tables  # the row names the secret...
    assert not find_secrets(tables, secrets)  # ...and holds nothing of it
    assert "connection-test-" in tables  # the tests' orchestration history was searched too
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged and not find_secrets(logged, secrets)
    assert not find_secrets(json.dumps(stack.standin.requests()), secrets)

    deleted = api.call("DELETE", f"/api/subscriptions/{sub}")
    assert deleted.status_code == 200, deleted.text
    assert stack.standin.secret_value(name) is None
    assert name not in stack.standin.deleted_secret_names()
    assert api.get(f"/api/subscriptions/{sub}").status_code == 404


# -- connection-test outcomes -----------------------------------------------------------------


def test_connection_test_outcomes(api: ApiClient, stack: Any, new_subscriptions: Any) -> None:
    wrong_secret, no_role, readable, slow = (s["subscriptionId"] for s in new_subscriptions(4, 2))
    unknown = str(uuid.uuid4())
    cid = create_customer(api)["customerId"]
    client_id, secret = app_principal(stack, [readable])
    register(api, wrong_secret, cid, secret_auth(client_id, "not-the-secret"))
    register(api, no_role, cid, secret_auth(client_id, secret))
    register(api, unknown, cid)
    register(api, slow, cid)
    stack.standin.inject_fault(subscription=slow, delay=7)

    expected = {
        wrong_secret: ("invalid_client_secret", "AADSTS7000215"),
        no_role: ("authorization_failed", "Reader"),
        unknown: ("subscription_not_found", "not found"),
        slow: ("unreachable", "did not answer"),
    }
    for sub, (code, words) in expected.items():
        result, elapsed = connection_test(api, sub)
        assert result["success"] is False, (sub, result)
        assert result["errorCode"] == code, (sub, result)
        assert words in result["message"], (sub, result)
        assert elapsed < 30, (sub, elapsed)
        stored = api.get(f"/api/subscriptions/{sub}").json()
        assert stored["syncStatus"] == "failed" and stored["lastChecked"], stored
    stack.standin.clear_faults()
    assert api.post(f"/api/subscriptions/{uuid.uuid4()}/test").status_code == 404


def test_a_secret_missing_from_key_vault_and_a_vault_that_refuses(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    sub, other = (s["subscriptionId"] for s in new_subscriptions(2, 1))
    cid = create_customer(api)["customerId"]
    client_id, secret = app_principal(stack, [sub, other])
    register(api, sub, cid, secret_auth(client_id, secret))
    stack.standin.delete_secret(secret_name_for(sub))  # gone behind the app's back
    result, _ = connection_test(api, sub)
    assert result["errorCode"] == "secret_not_found" and "Key Vault" in result["message"], result
    # A vault that refuses the write: nothing registered.
    stack.standin.inject_fault(target="keyvault", status=403)
    with nothing_registered(stack):
        refused = api.post(
            "/api/subscriptions",
            json={"subscriptionId": other, "customerId": cid, "auth": secret_auth(client_id, secret)},
        )
    assert refused.status_code == 500 and refused.json()["error"]["code"] == "key_vault_forbidden", (
        refused.text
    )
    stack.standin.clear_faults()
    api.call("DELETE", f"/api/customers/{cid}", params={"cascade": "true"})
    assert api.get(f"/api/subscriptions/{sub}").status_code == 404


# -- bad input --------------------------------------------------------------------------------


def test_bad_input_is_refused_with_nothing_stored(api: ApiClient, stack: Any, new_subscriptions: Any) -> None:
    (sub,) = (s["subscriptionId"] for s in new_subscriptions(1, 1))
    cid = create_customer(api)["customerId"]
    client_id, secret = app_principal(stack, [sub])
    good = secret_auth(client_id, secret)
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"subscriptionId": "nope", "customerId": cid}, 400, "subscriptionId"),
        ({"subscriptionId": sub, "customerId": "nope"}, 400, "customerId"),
        ({"subscriptionId": sub, "customerId": str(uuid.uuid4())}, 404, None),
        ({"subscriptionId": sub, "customerId": cid, "auth": {"type": "certificate"}}, 400, "auth.type"),
        (
            {"subscriptionId": sub, "customerId": cid, "auth": {**good, "clientSecret": ""}},
            400,
            "auth.clientSecret",
        ),
        ({"subscriptionId": sub, "customerId": cid, "auth": {**good, "tenantId": "x"}}, 400, "auth.tenantId"),
        (
            {
                "subscriptionId": sub,
                "customerId": cid,
                "auth": {k: v for k, v in good.items() if k != "clientId"},
            },
            400,
            "auth.clientId",
        ),
    ]
    with nothing_registered(stack):
        for body, status, field in cases:
            response = api.post("/api/subscriptions", json=body)
            assert response.status_code == status, (body, response.text)
            error = response.json()["error"]
            assert error["code"] and error["message"]
            assert error.get("field") == field, (body, error)
        assert api.get("/api/subscriptions/not-a-guid").status_code == 400
        assert api.get("/api/customers/not-a-guid").json()["error"]["field"] == "customerId"
        assert api.get("/api/subscriptions", params={"customerId": str(uuid.uuid4())}).status_code == 404
        assert (
            api.post("/api/customers", data=b"{", headers={"Content-Type": "application/json"}).status_code
            == 400
        )
    # The good one goes through; a second registration is a conflict.
    register(api, sub, cid, good)
    assert api.post("/api/subscriptions", json={"subscriptionId": sub, "customerId": cid}).status_code == 409
    api.call("DELETE", f"/api/customers/{cid}", params={"cascade": "true"})


def test_switching_auth_types(api: ApiClient, stack: Any, new_subscriptions: Any) -> None:
    (sub,) = (s["subscriptionId"] for s in new_subscriptions(1, 2))
    cid = create_customer(api)["customerId"]
    client_id, secret = app_principal(stack, [sub])
    register(api, sub, cid, secret_auth(client_id, secret))
    name = secret_name_for(sub)
    to_mi = api.call("PATCH", f"/api/subscriptions/{sub}", json={"auth": {"type": "managedIdentity"}})
    assert to_mi.status_code == 200 and to_mi.json()["auth"] == {"type": "managedIdentity"}, to_mi.text
    assert stack.standin.secret_value(name) is None and name not in stack.standin.deleted_secret_names()
    # Back to a client secret: every field is needed again, and a refusal changes nothing.
    with nothing_registered(stack):
        half = api.call(
            "PATCH",
            f"/api/subscriptions/{sub}",
            json={"auth": {"type": "clientSecret", "clientSecret": secret}},
        )
    assert half.status_code == 400 and half.json()["error"]["field"] == "auth.tenantId", half.text
    assert api.get(f"/api/subscriptions/{sub}").json()["auth"] == {"type": "managedIdentity"}
    back = api.call("PATCH", f"/api/subscriptions/{sub}", json={"auth": secret_auth(client_id, secret)})
    assert back.status_code == 200, back.text
    assert stack.standin.secret_value(name) == secret  # the purged name is usable again
    result, _ = connection_test(api, sub)
    assert result["success"] is True, result
    api.call("DELETE", f"/api/customers/{cid}", params={"cascade": "true"})
