"""Callbacks without I/O: which ``callbackUrl`` a report request may carry (every kind of
forbidden address refused with the field named; name resolution answered by a fake
``socket.getaddrinfo``), the signature a receiver verifies, what a delivery outcome means, and
the ``deliver_callback`` step over the in-memory table (recorded attempts, retries, the final
failure, never sent twice, the URL never shown).

Delivery over real sockets is in tests/integration/test_callback_delivery.py, the whole flow on
devhost in tests/e2e_callbacks/.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import callbacks, pipeline
from shared.errors import InvalidInputError, TransientError
from shared.links import ReportLinks
from shared.models import CallbackState, CallbackStatus, Report, ReportStatus, ReportType
from shared.report_request import parse_csv_callback_url, parse_report_request
from shared.report_service import create_report, report_resource
from shared.settings import reset_settings
from shared.table_store import entity_to_report, report_to_entity
from tests.fakes import MemoryTable

SUB = "11111111-2222-3333-4444-555555555555"
RID = "0b0e8f5c-4c55-4b43-9d3c-9b0e3f3b1a01"
KEY = "unit-callback-key-1f2e"
SIG = "sig=receivers-own-secret-5c"

# What the fake resolver answers, name -> addresses; anything else does not resolve.
DNS = {
    "hooks.example.com": ["20.50.2.1", "2603:1020:201::1"],
    "prod-12.westeurope.logic.azure.com": ["40.114.1.1"],
    "localhost": ["127.0.0.1", "::1"],
    "rebind.example.net": ["10.0.0.7"],
    "split.example.net": ["20.50.2.2", "192.168.0.9"],  # one public, one private: refused
    "metadata.example.org": ["169.254.169.254"],
}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    asked: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        try:
            literal = [str(__import__("ipaddress").ip_address(host))]
        except ValueError:
            literal = []
        addresses = literal or DNS.get(host.rstrip("."), [])
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield asked


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CALLBACK_SIGNING_KEY", KEY)
    monkeypatch.delenv("CALLBACK_ALLOW_PRIVATE_HOSTS", raising=False)
    reset_settings()
    yield
    reset_settings()


def request(url: Any) -> Any:
    return parse_report_request({"subscriptionIds": [SUB], "reportType": "cost", "callbackUrl": url})


# -- at request time -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://127.8.9.10/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://localhost/hook", "resolves to 127.0.0.1, a loopback"),
        ("https://LOCALHOST./hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://172.16.0.1/hook", "private"),
        ("https://172.31.255.254/hook", "private"),
        ("https://192.168.1.1/hook", "private"),
        ("https://169.254.169.254/metadata", "link-local"),
        ("https://metadata.example.org/", "resolves to 169.254.169.254, a link-local"),
        ("https://[fd00::1]/hook", "unique local"),
        ("https://[fd12:3456::9]/hook", "unique local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://[fe80::1%25eth0]/hook", "link-local"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://[::]/hook", "unspecified"),
        ("https://100.64.0.1/hook", "carrier-grade NAT"),
        ("https://224.0.0.251/hook", "multicast"),
        ("https://[ff02::1]/hook", "multicast"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback address inside an IPv6"),
        ("https://[::ffff:10.0.0.1]/hook", "private address inside an IPv6"),
        (
            "https://[64:ff9b::a9fe:a9fe]/hook",
            "link-local address inside an IPv6",
        ),  # NAT64 of 169.254.169.254
        ("https://[2002:c0a8:101::1]/hook", "private address inside an IPv6"),  # 6to4 of 192.168.1.1
        ("https://2130706433/hook", "non-standard notation"),  # 127.0.0.1 as one decimal number
        ("https://0x7f000001/hook", "non-standard notation"),
        ("https://0177.0.0.1/hook", "non-standard notation"),
        ("https://017700000001/hook", "non-standard notation"),
        ("https://127.1/hook", "non-standard notation"),
        ("https://0x7f.0.0.1/hook", "non-standard notation"),
        ("https://rebind.example.net/hook", "resolves to 10.0.0.7, a private"),
        ("https://split.example.net/hook", "resolves to 192.168.0.9, a private"),
        ("http://hooks.example.com/hook", "must be an https URL"),
        ("ftp://hooks.example.com/hook", "must be an https URL"),
        ("hooks.example.com/hook", "must be an https URL"),
        ("https://user:secret@hooks.example.com/hook", "user name or password"),
        ("https:///hook", "no host"),
        ("https://hooks.example.com:99999/hook", "invalid port"),
        ("https://hooks example.com/hook", "spaces"),
        ("https://hooks_example!.com/hook", "not a valid host name"),
        ("https://nowhere.example.invalid/hook", "cannot be resolved"),
        ("", "non-empty string"),
        (42, "non-empty string"),
        ("https://hooks.example.com/" + "a" * 5000, "longer than"),
    ],
)
def test_a_forbidden_callback_url_is_refused_naming_the_field_and_the_problem(url: Any, says: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        request(url)
    assert caught.value.field == "callbackUrl"
    assert says in str(caught.value)


def test_a_refusal_never_echoes_the_urls_secret_parts() -> None:
    with pytest.raises(InvalidInputError) as caught:
        request(f"https://10.0.0.1/workflows/abc/triggers/manual?{SIG}")
    assert "sig=" not in str(caught.value) and "workflows" not in str(caught.value)


def test_a_public_https_url_is_kept_as_given() -> None:
    url = f"https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?{SIG}"
    assert request(url).callback_url == url
    assert request(f"https://hooks.example.com/hook?{SIG}").callback_url.endswith(SIG)
    assert (
        request(None).callback_url == ""
        and parse_report_request({"subscriptionIds": [SUB], "reportType": "cost"}).callback_url == ""
    )


def test_every_address_of_the_host_is_checked(fake_dns: list[str]) -> None:
    request("https://hooks.example.com/hook")  # an IPv4 and an IPv6 address, both public
    assert fake_dns == ["hooks.example.com"]


def test_without_a_signing_key_callbacks_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_SIGNING_KEY", "")
    reset_settings()
    with pytest.raises(InvalidInputError, match="CALLBACK_SIGNING_KEY") as caught:
        request("https://hooks.example.com/hook")
    assert caught.value.field == "callbackUrl"
    assert request(None).callback_url == ""  # a request without a callback is not affected


def test_the_local_testing_setting_lifts_the_address_rules_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_ALLOW_PRIVATE_HOSTS", "true")
    reset_settings()
    assert request("https://127.0.0.1:8443/hook").callback_url == "https://127.0.0.1:8443/hook"
    assert request("http://localhost:8080/hook").callback_url == "http://localhost:8080/hook"
    for url, says in [("ftp://127.0.0.1/x", "https"), ("https://a:b@127.0.0.1/", "password")]:
        with pytest.raises(InvalidInputError, match=says):
            request(url)


def test_the_allow_setting_must_say_true_or_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_ALLOW_PRIVATE_HOSTS", "sometimes")
    reset_settings()
    with pytest.raises(ValueError, match="CALLBACK_ALLOW_PRIVATE_HOSTS"):
        request("https://hooks.example.com/hook")


@pytest.mark.parametrize(
    ("address", "public"),
    [("20.50.2.1", True), ("8.8.8.8", True), ("2603:1020:201::1", True), ("::ffff:8.8.8.8", True),
     ("100.63.255.255", True), ("100.128.0.1", True), ("192.0.2.1", False), ("198.18.0.1", False),
     ("240.0.0.1", False), ("255.255.255.255", False), ("2001:db8::1", False), ("not-an-ip", False)],
)  # fmt: skip
def test_address_kinds(address: str, public: bool) -> None:
    assert (callbacks.address_problem(address) is None) is public


# -- the signature -----------------------------------------------------------------------------------


def test_the_signature_covers_the_timestamp_and_the_raw_body() -> None:
    body = b'{"reportId":"x","status":"completed"}'
    headers = callbacks.signed_headers(KEY, RID, body, now=1_800_000_000)
    ts, sig = headers["X-Advisor-Timestamp"], headers["X-Advisor-Signature"]
    assert ts == "1800000000" and headers["X-Advisor-Report-Id"] == RID
    assert sig.startswith("sha256=") and len(sig) == len("sha256=") + 64
    now = 1_800_000_010
    assert callbacks.verify_signature(KEY, ts, body, sig, now=now)
    assert not callbacks.verify_signature(KEY, ts, body.replace(b"completed", b"failed"), sig, now=now)
    assert not callbacks.verify_signature(KEY, ts, body + b" ", sig, now=now)
    assert not callbacks.verify_signature("another-key", ts, body, sig, now=now)
    assert not callbacks.verify_signature(KEY, "1800000001", body, sig, now=now)  # timestamp changed
    assert not callbacks.verify_signature(KEY, ts, body, sig, now=now + 301)  # a replay, too late
    assert not callbacks.verify_signature(KEY, "-1", body, sig, now=now)
    assert not callbacks.verify_signature(KEY, ts, body, "", now=now)


def test_the_documented_recipe_verifies_it() -> None:
    """The receiver's recipe in README.md ("Callbacks"), with nothing of ours imported."""
    import hashlib
    import hmac

    body = b'{"reportId":"x"}'
    headers = callbacks.signed_headers(KEY, RID, body, now=1_800_000_000)
    ts = headers["X-Advisor-Timestamp"]
    expected = "sha256=" + hmac.new(KEY.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["X-Advisor-Signature"])


@pytest.mark.parametrize(
    ("status", "delivered", "retry"),
    [(200, True, False), (202, True, False), (204, True, False), (301, False, False), (302, False, False),
     (307, False, False), (400, False, False), (401, False, False), (404, False, False), (408, False, True),
     (429, False, True), (500, False, True), (502, False, True), (503, False, True)],
)  # fmt: skip
def test_what_an_answer_means(status: int, delivered: bool, retry: bool) -> None:
    outcome = callbacks.classify(status)
    assert (outcome.delivered, outcome.retry, outcome.status) == (delivered, retry, status)


# -- the deliver_callback step over the in-memory table -----------------------------------------


class Sender:
    """Stands in for ``callbacks.post``: answers from a script, records what it was given."""

    def __init__(self, *answers: callbacks.Delivery) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> callbacks.Delivery:
        self.sent.append((url, body, headers))
        return self.answers.pop(0) if self.answers else callbacks.Delivery(True, 200)


URL = f"https://hooks.example.com/hook?{SIG}"
OK = callbacks.Delivery(True, 200)
BUSY = callbacks.Delivery(False, 503, retry=True, error="The receiver answered HTTP 503")
GONE = callbacks.Delivery(False, 410, error="The receiver answered HTTP 410")


def finished(table: MemoryTable, status: ReportStatus = ReportStatus.COMPLETED, url: str = URL) -> Report:
    report = Report(RID, ReportType.COST, [SUB], formats=["html"], callback_url=url)
    create_report(table, report)
    report.status = status
    report.files = {"html": f"{RID}/advisor-report.html"} if status is ReportStatus.COMPLETED else {}
    if status is ReportStatus.FAILED:
        report.failure_code, report.failure_message = "fetch_failed", "No subscription could be read"
    table.save_report(report)
    return report


def deliver(table: MemoryTable, send: Sender, attempts: int = 3, key: str = KEY) -> Any:
    return pipeline.deliver_callback(
        RID, attempts, store=table, send=send, signing_key=key,
        links=ReportLinks("https://reports.contoso.com", RID, "tok"), now=lambda: 1_800_000_000.0,
    )  # fmt: skip


def test_a_delivered_callback_sends_the_report_resource_signed_and_records_it() -> None:
    table = MemoryTable()
    finished(table)
    send = Sender(OK)
    outcome = deliver(table, send)

    assert (outcome.status, outcome.attempts) == ("delivered", 1)
    url, body, headers = send.sent[0]
    assert url == URL
    sent = json.loads(body)
    assert sent["reportId"] == RID and sent["status"] == "completed" and "callback" not in sent
    assert sent["files"]["html"].startswith("https://reports.contoso.com/api/links/reports/")
    assert callbacks.verify_signature(
        KEY, headers["X-Advisor-Timestamp"], body, headers["X-Advisor-Signature"], now=1_800_000_000
    )
    stored = table.get_report(RID)
    assert stored.callback == CallbackState(
        CallbackStatus.DELIVERED, 1, datetime.fromtimestamp(1_800_000_000, UTC), ""
    )
    assert stored is not None
    shown = report_resource(stored)
    assert shown["callback"] == {
        "status": "delivered", "attempts": 1, "deliveredAt": "2027-01-15T08:00:00Z", "lastError": None,
    }  # fmt: skip
    assert SIG not in json.dumps(shown) and "hooks.example.com" not in json.dumps(shown)


def test_a_failed_report_is_delivered_too() -> None:
    table = MemoryTable()
    finished(table, ReportStatus.FAILED)
    send = Sender(OK)
    assert deliver(table, send).status == "delivered"
    sent = json.loads(send.sent[0][1])
    assert sent["status"] == "failed" and sent["failure"]["code"] == "fetch_failed"


def test_a_busy_receiver_is_retried_and_each_attempt_recorded() -> None:
    table = MemoryTable()
    finished(table)
    send = Sender(BUSY, BUSY, OK)
    for attempt in (1, 2):
        with pytest.raises(TransientError) as caught:
            deliver(table, send)
        assert SIG not in str(caught.value) and "hooks.example.com" not in str(caught.value)
        state = table.get_report(RID).callback
        assert (state.status, state.attempts, state.last_error) == (
            CallbackStatus.RETRYING,
            attempt,
            "The receiver answered HTTP 503",
        )
    assert deliver(table, send).status == "delivered"
    assert table.get_report(RID).callback.attempts == 3
    assert len(send.sent) == 3
    assert table.get_report(RID).status is ReportStatus.COMPLETED


def test_the_last_attempt_records_the_failure_instead_of_raising() -> None:
    table = MemoryTable()
    finished(table)
    send = Sender(BUSY, BUSY, BUSY)
    for _ in range(2):
        with pytest.raises(TransientError):
            deliver(table, send)
    outcome = deliver(table, send)
    assert (outcome.status, outcome.attempts) == ("failed", 3)
    stored = table.get_report(RID)
    assert stored is not None
    assert stored.callback.status is CallbackStatus.FAILED and stored.status is ReportStatus.COMPLETED
    assert report_resource(stored)["callback"]["lastError"] == "The receiver answered HTTP 503"


def test_a_refusal_for_good_is_not_retried() -> None:
    table = MemoryTable()
    finished(table)
    outcome = deliver(table, Sender(GONE))
    assert (outcome.status, outcome.attempts) == ("failed", 1)


def test_a_finished_delivery_is_never_sent_again() -> None:
    table = MemoryTable()
    finished(table)
    deliver(table, Sender(OK))
    again = Sender(OK)
    assert deliver(table, again).status == "delivered" and again.sent == []
    table2 = MemoryTable()
    finished(table2)
    deliver(table2, Sender(GONE))
    assert deliver(table2, again).status == "failed" and again.sent == []


def test_a_report_without_a_callback_or_unfinished_sends_nothing() -> None:
    table = MemoryTable()
    finished(table, url="")
    send = Sender()
    assert deliver(table, send).status == "none"
    table2 = MemoryTable()
    create_report(table2, Report(RID, ReportType.COST, [SUB], callback_url=URL))
    assert deliver(table2, send).status == "pending"
    assert send.sent == []


def test_without_a_signing_key_nothing_unsigned_is_sent() -> None:
    table = MemoryTable()
    finished(table)
    send = Sender()
    outcome = deliver(table, send, key="")
    assert outcome.status == "failed" and send.sent == []
    assert "CALLBACK_SIGNING_KEY" in table.get_report(RID).callback.last_error


def test_the_callback_and_its_state_round_trip_through_the_entity() -> None:
    report = Report(RID, ReportType.COST, [SUB], callback_url=URL)
    report.callback = CallbackState(CallbackStatus.RETRYING, 2, None, "The receiver answered HTTP 503")
    back = entity_to_report(dict(report_to_entity(report)))
    assert back.callback_url == URL and back.callback == report.callback
    plain = entity_to_report(dict(report_to_entity(Report(RID, ReportType.COST, [SUB]))))
    assert plain.callback_url == "" and plain.callback is None
    assert "callback" not in report_resource(plain)
    pending = report_resource(
        create_report(MemoryTable(), Report(RID, ReportType.COST, [SUB], callback_url=URL))
    )
    assert pending["callback"] == {"status": "pending", "attempts": 0, "deliveredAt": None, "lastError": None}


# -- the CSV upload's X-Callback-Url header ---------------------------------------------------------


def test_the_csv_callback_comes_from_the_header_or_the_query(fake_dns: list[str]) -> None:
    url = "https://hooks.example.com/hook?sig=x"
    assert parse_csv_callback_url(None, url) == url
    assert parse_csv_callback_url(url, None) == url
    assert parse_csv_callback_url(url, url) == url  # the same URL both ways is one URL
    assert parse_csv_callback_url(None, None) == ""


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://10.1.2.3/hook", "private"),
        ("https://127.0.0.1/hook", "loopback"),
        ("http://hooks.example.com/", "https"),
    ],
)
def test_a_forbidden_header_is_refused_naming_the_header(url: str, says: str) -> None:
    with pytest.raises(InvalidInputError, match=says) as caught:
        parse_csv_callback_url(None, url)
    assert caught.value.field == "X-Callback-Url" and "callbackUrl" not in str(caught.value)


def test_two_different_callback_urls_are_refused(fake_dns: list[str]) -> None:
    with pytest.raises(InvalidInputError, match="twice") as caught:
        parse_csv_callback_url("https://hooks.example.com/a", "https://hooks.example.com/b")
    assert caught.value.field == "X-Callback-Url" and "hooks.example.com" not in str(caught.value)
