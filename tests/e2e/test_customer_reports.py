"""A report for a registered customer end to end on devhost: every subscription of the customer,
each fetched with its own credentials (the app's managed identity, an app registration whose
secret works, one whose secret Entra refuses); the broken one is left out and named, the others
counted; the customer's name, colour and logo on the cover; the report listed under its customer; bad requests
refused with nothing stored."""

from __future__ import annotations

import base64
import io
import os
import re
import uuid
from typing import Any

import pytest
from pypdf import PdfReader

from .support import ApiClient
from .test_customers import app_principal, create_customer, register, secret_auth
from .test_faults import folded_variants

pytestmark = pytest.mark.e2e


PROVIDER_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="90" height="30"><rect width="90" height="30"/></svg>'
)


def logo_png() -> bytes:
    """A real 240 x 80 PNG, as a customer would upload it."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (240, 80), (12, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def test_a_customer_wide_report_uses_each_subscriptions_credentials(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    managed, working, broken = new_subscriptions(3, 12)
    mi_id, ok_id, bad_id = (s["subscriptionId"].lower() for s in (managed, working, broken))
    display_name = f"Contoso cover {uuid.uuid4().hex[:6]}"
    customer = create_customer(api, branding={"displayName": display_name, "accentColor": "#C0FFEE"})
    cid = customer["customerId"]
    ok_client, ok_secret = app_principal(stack, [ok_id])
    bad_client, _ = app_principal(stack, [bad_id])
    register(api, mi_id, cid)
    register(api, ok_id, cid, secret_auth(ok_client, ok_secret))
    register(api, bad_id, cid, secret_auth(bad_client, "not-the-secret"))

    report = api.run_report({"customerId": cid.upper(), "reportType": "detailed", "formats": ["html"]})

    assert report["status"] == "completed", report.get("failure")
    assert report["customerId"] == cid
    assert report["customer"] == display_name  # the branding's display name, not the customer's name
    assert report["scope"]["subscriptionIds"] == sorted([mi_id, ok_id, bad_id])
    [left_out] = report["scope"]["subscriptionsLeftOut"]
    assert left_out["subscriptionId"] == bad_id
    assert "credential was rejected" in left_out["reason"], left_out
    served = len(managed["recommendations"]) + len(working["recommendations"])
    assert report["counts"]["recommendations"] == served - folded_variants(report) > 0

    # Each subscription was read with its own credentials; Entra refused the broken one's, so
    # ARM never saw a request for it.
    assert {e["client_id"] for e in stack.standin.requests(target="arm", subscription=ok_id)} == {ok_client}
    mi_clients = {e["client_id"] for e in stack.standin.requests(target="arm", subscription=mi_id)}
    assert mi_clients and not mi_clients & {ok_client, bad_client}
    assert stack.standin.requests(target="arm", subscription=bad_id) == []

    _, html = api.download(report["files"]["html"])
    assert display_name in html.text
    assert "--accent: #c0ffee;" in html.text  # the customer's colour on the cover
    assert 'class="logo"' not in html.text  # no logo yet
    slug = display_name.lower().replace(" ", "-")
    disposition = html.headers.get("Content-Disposition", "")
    assert re.search(rf'filename="advisor-detailed-{slug}-\d{{4}}-\d\d-\d\d\.html"', disposition), disposition

    # Listed under its customer (and the customer's only report), with its id; a second one
    # pages newest first.
    # Now with a logo: the next report carries it on its HTML and PDF covers, inline.
    logo = logo_png()
    patched = api.call(
        "PATCH", f"/api/customers/{cid}", json={"branding": {"logo": base64.b64encode(logo).decode()}}
    )
    assert patched.status_code == 200, patched.text
    # And the provider that prepares the reports (an app setting, read when a report is asked
    # for; the trigger runs in this process): its name and logo on the cover too.
    from shared import clients
    from shared.settings import reset_settings

    provider_blob = f"provider-{uuid.uuid4().hex[:8]}.svg"
    clients.branding_files().upload(provider_blob, PROVIDER_SVG, content_type="image/svg+xml")
    provider_env = {
        "REPORT_PROVIDER_NAME": "Fabrikam Cloud Services",
        "REPORT_PROVIDER_LOGO_BLOB": provider_blob,
    }
    saved = {k: os.environ.get(k) for k in provider_env}
    os.environ.update(provider_env)
    reset_settings()
    try:
        again = api.run_report({"customerId": cid, "reportType": "cost", "formats": ["html", "pdf"]})
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()
    assert again["status"] == "completed", again.get("failure")
    _, html = api.download(again["files"]["html"])
    assert f'class="logo" src="data:image/png;base64,{base64.b64encode(logo).decode()}"' in html.text
    assert 'width="120.0" height="40.0"' in html.text  # 240 x 80 drawn at most 40 high
    assert "<dt>Prepared by</dt>" in html.text and "Fabrikam Cloud Services" in html.text
    assert 'class="provider-logo" src="data:image/svg+xml;base64,' in html.text
    _, pdf = api.download(again["files"]["pdf"])
    cover = PdfReader(io.BytesIO(pdf.content)).pages[0]
    assert "Fabrikam Cloud Services" in cover.extract_text()
    assert [(image.image.width, image.image.height) for image in cover.images] == [(240, 80)]
    first = api.list_reports(customerId=cid, limit=1).json()
    assert [r["reportId"] for r in first["reports"]] == [again["reportId"]]
    assert first["reports"][0]["customerId"] == cid and first["continuationToken"]
    second = api.list_reports(customerId=cid, limit=1, continuationToken=first["continuationToken"]).json()
    assert [r["reportId"] for r in second["reports"]] == [report["reportId"]]
    rest = api.list_reports(customerId=cid, limit=1, continuationToken=second["continuationToken"]).json()
    assert rest == {"reports": [], "continuationToken": None}
    everyone = api.list_reports(limit=100).json()["reports"]
    assert {r["reportId"] for r in everyone} >= {report["reportId"], again["reportId"]}
    assert api.list_reports(customerId=str(uuid.uuid4())).json()["reports"] == []
    bad = api.list_reports(customerId="not-a-guid")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "customerId", bad.text

    api.call("DELETE", f"/api/customers/{cid}", params={"cascade": "true"})


def test_bad_customer_report_requests_store_nothing(
    api: ApiClient, stack: Any, new_subscriptions: Any, nothing_started: None
) -> None:
    (entry,) = new_subscriptions(1, 2)
    sub = entry["subscriptionId"].lower()
    with_subs = create_customer(api)["customerId"]
    register(api, sub, with_subs)
    empty = create_customer(api)["customerId"]
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"customerId": str(uuid.uuid4())}, 404, "customerId", "No customer"),
        ({"customerId": with_subs, "subscriptionIds": [sub]}, 400, "customerId", "not both"),
        ({"customerId": empty}, 400, "customerId", "no subscriptions"),
        ({"customerId": "not-a-guid"}, 400, "customerId", "GUID"),
        ({"customerId": with_subs, "customer": "Someone else"}, 400, "customer", "registered"),
    ]
    for body, status, field, words in cases:
        response = api.post("/api/reports", json={**body, "reportType": "detailed"})
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        assert error["field"] == field and re.search(words, error["message"]), (body, error)
    for cid in (with_subs, empty):
        api.call("DELETE", f"/api/customers/{cid}", params={"cascade": "true"})
