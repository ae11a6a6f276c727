"""Callback delivery over real sockets: ``shared.callbacks.post`` against a receiver on
127.0.0.1 (tests/callback_receiver.py), HTTPS with its own test CA.

What the delivery promises: the signed body arrives whole and verifies; the certificate is
checked for the URL's host while the connection goes to the address checked beforehand;
5xx, 408, 429 and no connection are worth retrying, other 4xx are not; a redirect is never
followed; and no outcome text carries the URL (it may hold the receiver's own signature).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import callbacks
from tests.callback_receiver import Answer, Receiver

KEY = "integration-callback-key-3b1d"
REPORT_ID = "0b0e8f5c-4c55-4b43-9d3c-9b0e3f3b1a01"
BODY = b'{"reportId":"0b0e8f5c-4c55-4b43-9d3c-9b0e3f3b1a01","status":"completed"}'
SIG = "sig=receivers-own-secret-77"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def ca_bundle(receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(tmp_path_factory.mktemp("ca")) / "receiver-ca.pem"
    path.write_text(receiver.ca_pem)
    return str(path)


def send(url: str, ca_bundle: str, **kwargs) -> callbacks.Delivery:
    headers = callbacks.signed_headers(KEY, REPORT_ID, BODY, now=time.time())
    return callbacks.post(url, BODY, headers, allow_private=True, ca_bundle=ca_bundle, timeout=5, **kwargs)


def test_a_delivery_arrives_signed_and_verifies(receiver: Receiver, ca_bundle: str) -> None:
    receiver.script(204)
    before = len(receiver.received)
    delivery = send(receiver.url(f"/hook/a?{SIG}"), ca_bundle)

    assert delivery == callbacks.Delivery(True, 204)
    got = receiver.received[before]
    assert got.path == f"/hook/a?{SIG}" and got.body == BODY
    assert got.headers["X-Advisor-Report-Id"] == REPORT_ID
    assert got.headers["Content-Type"].startswith("application/json")
    assert callbacks.verify_signature(
        KEY, got.headers["X-Advisor-Timestamp"], got.body, got.headers["X-Advisor-Signature"], now=time.time()
    )
    tampered = got.body.replace(b"completed", b"failed")
    assert not callbacks.verify_signature(
        KEY, got.headers["X-Advisor-Timestamp"], tampered, got.headers["X-Advisor-Signature"], now=time.time()
    )


def test_the_certificate_is_checked_for_the_host_while_connecting_to_the_checked_address(
    receiver: Receiver, ca_bundle: str
) -> None:
    """The name resolves (here, by a fake resolver) to the receiver's address: the connection
    goes there, and TLS checks the certificate against the name, which it does not cover."""
    before = len(receiver.received)
    delivery = send(
        f"https://reports-receiver.example:{receiver.port}/hook",
        ca_bundle,
        resolver=lambda h, p: ["127.0.0.1"],
    )
    assert not delivery.delivered and not delivery.retry
    assert "certificate" in delivery.error
    assert len(receiver.received) == before
    # ... while "localhost", which the certificate names, is delivered (to the checked address).
    receiver.script(200)
    assert send(receiver.url(host="localhost"), ca_bundle, resolver=lambda h, p: ["127.0.0.1"]).delivered


def test_an_untrusted_certificate_is_not_delivered(receiver: Receiver) -> None:
    delivery = send(receiver.url(), "")  # the system's trust store only
    assert not delivery.delivered and not delivery.retry


@pytest.mark.parametrize(
    ("status", "retry"),
    [(500, True), (503, True), (408, True), (429, True), (400, False), (404, False), (410, False)],
)
def test_what_is_worth_retrying(receiver: Receiver, ca_bundle: str, status: int, retry: bool) -> None:
    receiver.script(status)
    delivery = send(receiver.url(f"/hook?{SIG}"), ca_bundle)
    assert (delivery.delivered, delivery.status, delivery.retry) == (False, status, retry)
    assert SIG not in delivery.error and str(receiver.port) not in delivery.error


def test_a_redirect_is_not_followed(receiver: Receiver, ca_bundle: str) -> None:
    with Receiver() as target:
        receiver.script(Answer(307, target.url("/internal")), Answer(302, "http://10.0.0.5/metadata"))
        for _ in range(2):
            delivery = send(receiver.url(), ca_bundle)
            assert not delivery.delivered and not delivery.retry
            assert "redirect" in delivery.error
        assert target.received == []


def test_no_connection_is_worth_retrying(ca_bundle: str) -> None:
    with Receiver() as gone:
        url = gone.url(f"/hook?{SIG}")
    delivery = send(url, ca_bundle)
    assert not delivery.delivered and delivery.retry and delivery.status is None
    assert SIG not in delivery.error


def test_plain_http_is_delivered_only_where_private_hosts_are_allowed() -> None:
    with Receiver(tls=False) as plain:
        headers = callbacks.signed_headers(KEY, REPORT_ID, BODY, now=time.time())
        assert callbacks.post(plain.url(), BODY, headers, allow_private=True).delivered
        refused = callbacks.post(plain.url(), BODY, headers, allow_private=False)
        assert not refused.delivered and not refused.retry
        assert len(plain.received) == 1


def test_an_address_that_became_private_is_refused_at_delivery(receiver: Receiver, ca_bundle: str) -> None:
    """DNS rebinding: the name was public when the report was asked for; now it resolves to a
    private address, and nothing is sent."""
    before = len(receiver.received)
    headers = callbacks.signed_headers(KEY, REPORT_ID, BODY, now=time.time())
    delivery = callbacks.post(
        f"https://hooks.example.com:{receiver.port}/hook?{SIG}", BODY, headers, allow_private=False,
        ca_bundle=ca_bundle, resolver=lambda h, p: ["20.50.2.1", "127.0.0.1"],
    )  # fmt: skip
    assert not delivery.delivered and not delivery.retry
    assert "loopback" in delivery.error and SIG not in delivery.error
    assert len(receiver.received) == before
