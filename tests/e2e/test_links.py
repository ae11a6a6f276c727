"""The links the app hands out (shared/links.py): never the caller's function key, never the
request's Host header; a poller gets a link scoped to one report that expires, which the
anonymous ``links/`` routes accept and nothing else does."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from shared.links import LinkSigner

from .support import E2E_SETTINGS, ApiClient

pytestmark = pytest.mark.e2e

SUB = "6513270e-269e-4d37-b2a7-4de452e6b438"
SIGNER = LinkSigner(E2E_SETTINGS["REPORT_LINK_KEY"].encode(), 3600)


def _links_of(started: requests.Response) -> list[str]:
    body = started.json()
    return [started.headers["Location"], body["statusUrl"]]


def test_links_carry_no_function_key_and_ignore_the_host_header(api: ApiClient) -> None:
    started = api.post(
        "/api/reports",
        json={"subscriptionIds": [SUB], "reportType": "cost"},
        headers={"Host": "evil.example"},
    )
    assert started.status_code == 202, started.text
    report_id = started.json()["reportId"]
    report = api.poll(started.headers["Location"])
    assert report["status"] == "completed", report.get("failure")
    links = _links_of(started) + list(report["files"].values())
    listed = api.get("/api/reports", params={"limit": 100}, headers={"Host": "evil.example"}).json()
    links += [i["url"] for i in listed["reports"] if i["reportId"] == report_id]
    for link in links:
        assert api.key not in link and "code=" not in link, link
        assert "evil.example" not in link, link
        # No PUBLIC_BASE_URL or WEBSITE_HOSTNAME on devhost: relative links, from nothing a caller sent.
        assert link.startswith("/api/"), link
    assert started.headers["Location"].startswith(f"/api/links/reports/{report_id}?token=")


def test_a_poller_follows_the_signed_link_without_a_key_to_the_files(api: ApiClient) -> None:
    started = api.start({"subscriptionIds": [SUB], "reportType": "security", "formats": ["html"]})
    location = started.headers["Location"]
    while True:
        response = api.get(location, key=False)
        assert response.status_code in (200, 202), response.text
        if response.status_code == 200:
            break
        assert response.headers["Location"] == location  # the same link, not a new one per poll
        time.sleep(0.2)
    report = response.json()
    assert report["status"] == "completed", report.get("failure")
    file_link = report["files"]["html"]
    assert parse_qs(urlsplit(file_link).query)["token"] == parse_qs(urlsplit(location).query)["token"]
    redirect = api.get(file_link, key=False)
    assert redirect.status_code == 302, redirect.text
    assert requests.get(redirect.headers["Location"], timeout=30).content.lstrip().startswith(b"<!")


def test_signed_links_open_one_report_until_they_expire_and_nothing_else(api: ApiClient) -> None:
    first = api.start({"subscriptionIds": [SUB], "reportType": "cost", "formats": ["html"]})
    second = api.start({"subscriptionIds": [SUB], "reportType": "cost", "formats": ["html"]})
    one, two = first.json()["reportId"], second.json()["reportId"]
    api.poll(first.headers["Location"])
    api.poll(second.headers["Location"])
    good = SIGNER.sign(one)
    expired = SIGNER.sign(one, now=time.time() - 2 * 3600 - 1)
    forged = LinkSigner(b"another key", 3600).sign(one)

    def status(path: str, token: str | None, *, key: bool = False) -> int:
        params = {"token": token} if token is not None else {}
        return api.get(path, params=params, key=key).status_code

    for path in (f"/api/links/reports/{one}", f"/api/links/reports/{one}/files/html"):
        assert status(path, good) in (200, 302)
        assert status(path.replace(one, one.upper()), good) in (200, 302)  # ids in any case
        for token in (None, "", expired, forged, SIGNER.sign(two), good + "x", "9" * 40 + ".x"):
            assert status(path, token) == 403, (path, token)
        assert status(path, None, key=True) == 403  # a function key is not a link token
        assert status(path.replace(one, two), good) == 403  # a token opens its own report only
    # The function-level routes still want a key, whatever token comes along.
    assert status(f"/api/reports/{one}", good) == 401
    assert status(f"/api/reports/{one}/files/html", good) == 401
    assert status("/api/reports", good) == 401


def test_a_signed_answer_never_echoes_the_link_key(api: ApiClient, stack: Any) -> None:
    started = api.start({"subscriptionIds": [SUB], "reportType": "executive", "formats": ["html"]})
    api.poll(started.headers["Location"])  # check_no_secrets covers REPORT_LINK_KEY on every answer
    assert E2E_SETTINGS["REPORT_LINK_KEY"] not in started.text
