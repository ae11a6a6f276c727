"""Parsing customers and subscriptions: every refusal names its field; the client secret never
shows in a repr; logos are recognised by their bytes, not by what the caller says they are."""

from __future__ import annotations

import base64

import pytest

from shared.customers import (
    MAX_LOGO_BYTES,
    AuthType,
    parse_customer,
    parse_subscription,
    secret_name_for,
    sniff_logo,
)
from shared.errors import InvalidInputError

SUB = "6513270e-269e-4d37-b2a7-4de452e6b438"
CUST = "0f8fad5b-d9cb-469f-a165-70867728950e"
TENANT = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
CLIENT = "9c4d2e1f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_a_subscription_defaults_to_the_managed_identity():
    parsed = parse_subscription({"subscriptionId": SUB.upper(), "customerId": CUST, "displayName": " Prod "})
    assert parsed.subscription_id == SUB and parsed.display_name == "Prod"
    assert parsed.auth is not None and parsed.auth.type is AuthType.MANAGED_IDENTITY


def test_a_client_secret_is_parsed_but_never_shown():
    auth = {"type": "clientSecret", "tenantId": TENANT, "clientId": CLIENT, "clientSecret": "hunter2-value"}
    parsed = parse_subscription({"subscriptionId": SUB, "customerId": CUST, "auth": auth})
    assert parsed.client_secret == "hunter2-value"
    assert "hunter2-value" not in repr(parsed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subscriptionId": "not-a-guid", "customerId": CUST}, "subscriptionId"),
        ({"subscriptionId": SUB, "customerId": "x"}, "customerId"),
        ({"subscriptionId": SUB, "customerId": CUST, "auth": {"type": "certificate"}}, "auth.type"),
        ({"subscriptionId": SUB, "customerId": CUST, "auth": {"type": "clientSecret"}}, "auth.tenantId"),
        (
            {
                "subscriptionId": SUB,
                "customerId": CUST,
                "auth": {"type": "clientSecret", "tenantId": TENANT, "clientId": CLIENT},
            },
            "auth.clientSecret",
        ),
        ({"subscriptionId": SUB, "customerId": CUST, "extra": 1}, "extra"),
    ],
)
def test_bad_subscriptions_name_the_field(body, field):
    with pytest.raises(InvalidInputError) as caught:
        parse_subscription(body)
    assert caught.value.field == field


def test_logos_are_sniffed_and_capped():
    assert sniff_logo(PNG) == "image/png"
    assert sniff_logo(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff_logo(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>') == "image/svg+xml"
    for bad in (b"GIF89a....", b"<html><body/></html>", b'<svg onload="alert(1)"/>', b"<svg><script/></svg>"):
        with pytest.raises(InvalidInputError):
            sniff_logo(bad)
    with pytest.raises(InvalidInputError, match="limit"):
        sniff_logo(PNG + b"\x00" * MAX_LOGO_BYTES)
    parsed = parse_customer(
        {"name": "Contoso", "branding": {"logo": base64.b64encode(PNG).decode(), "accentColor": "#0078D4"}}
    )
    assert parsed.branding is not None and parsed.branding.logo is not None
    assert parsed.branding.logo.content_type == "image/png" and parsed.branding.accent_color == "#0078d4"
    with pytest.raises(InvalidInputError) as caught:
        parse_customer({"name": "Contoso", "branding": {"accentColor": "blue"}})
    assert caught.value.field == "branding.accentColor"


def test_the_secret_name_fits_key_vault():
    import re

    name = secret_name_for(SUB.upper())
    assert re.fullmatch(r"[0-9A-Za-z-]{1,127}", name) and SUB in name
