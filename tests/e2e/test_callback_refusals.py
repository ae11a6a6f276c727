"""``callbackUrl`` refused at request time over HTTP, on the app as deployed (private hosts not
allowed): each kind of forbidden address, as a literal, in another notation or behind a name,
and plain http, answer 400 naming ``callbackUrl`` on both start routes, and nothing is stored
or started. The address rules one by one, with names that resolve to private addresses, are in
tests/unit/test_callbacks.py; delivery is in tests/e2e_callbacks/.
"""

from __future__ import annotations

from typing import Any

import pytest

from .support import HEADER_2025, SUB_A, ApiClient, row, to_csv

pytestmark = pytest.mark.e2e

FORBIDDEN = {
    "https://127.0.0.1/hook": "loopback",
    "https://[::1]/hook": "loopback",
    "https://localhost/hook": "loopback",  # a name: resolved by the host's own resolver
    "https://10.20.30.40/hook": "private",
    "https://172.16.5.4/hook": "private",
    "https://192.168.1.10/hook": "private",
    "https://169.254.169.254/metadata/identity/oauth2/token": "link-local",
    "https://[fd00::10]/hook": "unique local",
    "https://[fe80::1]/hook": "link-local",
    "https://0.0.0.0/hook": "unspecified",
    "https://100.64.1.1/hook": "carrier-grade NAT",
    "https://[::ffff:10.0.0.1]/hook": "private",
    "https://2130706433/hook": "non-standard notation",
    "https://0x7f.0.0.1/hook": "non-standard notation",
    "http://hooks.example.com/hook": "https",
}


def check_refused(response: Any, says: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and error["field"] == "callbackUrl", error
    assert says in error["message"], error


@pytest.mark.parametrize(("url", "says"), FORBIDDEN.items(), ids=list(FORBIDDEN))
def test_a_forbidden_callback_is_refused_and_nothing_is_started(
    api: ApiClient, sample_subscriptions: list[str], nothing_started: None, url: str, says: str
) -> None:
    body = {"subscriptionIds": sample_subscriptions[:1], "reportType": "cost", "callbackUrl": url}
    check_refused(api.post("/api/reports", json=body), says)


def test_the_csv_route_refuses_a_forbidden_callback_before_storing_the_file(
    api: ApiClient, nothing_started: None
) -> None:
    data = to_csv(HEADER_2025, [row("Security", "High", "Enable MFA", SUB_A, "", "Production")])
    for url, says in [("https://192.168.1.10/hook?sig=x", "private"), ("https://localhost/hook", "loopback")]:
        response = api.start_csv(data, reportType="detailed", formats="html", callbackUrl=url)
        check_refused(response, says)
        assert "sig=" not in response.text


def test_the_csv_route_refuses_a_forbidden_callback_header(api: ApiClient, nothing_started: None) -> None:
    data = to_csv(HEADER_2025, [row("Security", "High", "Enable MFA", SUB_A, "", "Production")])
    response = api.post(
        "/api/reports/csv", params={"reportType": "detailed", "formats": "html"}, data=data,
        headers={"Content-Type": "text/csv", "X-Callback-Url": "https://10.20.30.40/hook?sig=x"},
    )  # fmt: skip
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["field"] == "X-Callback-Url" and "private" in error["message"], error
    assert "sig=" not in response.text
