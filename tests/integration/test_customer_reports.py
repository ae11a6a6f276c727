"""Reports for a registered customer against a real Azurite: which subscriptions and name a
customer-wide report takes (refused before anything is stored when it cannot be made), the
customer id kept with the report, and listing one customer's reports page by page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import UpdateMode

from shared.customer_service import report_scope
from shared.customer_store import CustomerStore
from shared.customers import Branding, Customer, Subscription
from shared.errors import InvalidInputError, NotFoundError
from shared.models import Report, ReportStatus, ReportType

pytestmark = pytest.mark.azurite


@pytest.fixture
def customers(table_store) -> CustomerStore:
    return CustomerStore(table_store)


def _customer(store: CustomerStore, name: str, display_name: str = "", accent: str = "") -> str:
    customer_id = str(uuid.uuid4())
    branding = Branding(display_name=display_name, accent_color=accent)
    store.create_customer(Customer(customer_id, name, branding))
    return customer_id


def _subscribe(store: CustomerStore, customer_id: str) -> str:
    sub = str(uuid.uuid4())
    store.create_subscription(Subscription(sub, "Registered", customer_id))
    return sub


def test_the_scope_is_every_registered_subscription_and_the_display_name(customers):
    branded = _customer(customers, "Contoso Holdings", display_name="Contoso", accent="#c0ffee")
    subs = sorted(_subscribe(customers, branded) for _ in range(3))
    other = _customer(customers, "Fabrikam")
    _subscribe(customers, other)

    scope = report_scope(customers, branded, limit=500)
    assert scope.subscription_ids == tuple(subs)
    assert scope.customer_name == "Contoso" and scope.accent_color == "#c0ffee"
    assert report_scope(customers, other, limit=500).customer_name == "Fabrikam"  # no display name


def test_an_unknown_customer_one_without_subscriptions_or_too_many_is_refused(customers):
    with pytest.raises(NotFoundError) as unknown:
        report_scope(customers, str(uuid.uuid4()), limit=500)
    assert unknown.value.field == "customerId"
    empty = _customer(customers, "Empty")
    with pytest.raises(InvalidInputError, match="no subscriptions") as none:
        report_scope(customers, empty, limit=500)
    assert none.value.field == "customerId"
    _subscribe(customers, empty)
    _subscribe(customers, empty)
    with pytest.raises(InvalidInputError, match="at most 1"):
        report_scope(customers, empty, limit=1)


def _report(customer_id: str, minutes_ago: int, status: ReportStatus = ReportStatus.PENDING) -> Report:
    return Report(
        report_id=str(uuid.uuid4()),
        report_type=ReportType.DETAILED,
        subscription_ids=[str(uuid.uuid4())],
        customer_id=customer_id,
        accent_color="#c0ffee" if customer_id else "",
        status=status,
        requested_at=datetime(2026, 11, 1, tzinfo=UTC) - timedelta(minutes=minutes_ago),
    )


def test_reports_are_listed_by_customer_newest_first_across_pages(table_store):
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    # Interleaved with another customer's and customer-less reports, so pages must skip rows.
    reports = [_report([mine, theirs, ""][i % 3], minutes_ago=i) for i in range(12)]
    for report in reports:
        table_store.save_report(report)
    expected = [r.report_id for r in reports if r.customer_id == mine]
    assert len(expected) == 4

    seen: list[str] = []
    token = None
    for _ in range(5):
        rows, token = table_store.list_reports(customer_id=mine, limit=3, continuation_token=token)
        assert all(r["customer_id"] == mine for r in rows)
        seen.extend(r["report_id"] for r in rows)
        if token is None:
            break
    assert seen == expected and token is None

    got = table_store.get_report(expected[0])
    assert got is not None and got.customer_id == mine and got.accent_color == "#c0ffee"
    # The index row is rewritten with each status change and keeps naming the customer.
    got.status = ReportStatus.COMPLETED
    table_store.save_report(got)
    done, _ = table_store.list_reports(customer_id=mine, status="completed", limit=10)
    assert [r["report_id"] for r in done] == [got.report_id]
    # A value that would break out of the filter is a value, not syntax.
    injected, _ = table_store.list_reports(customer_id=f"{mine}' or customer_id ne '", limit=10)
    assert injected == []


def test_rows_from_before_reports_named_a_customer_are_still_read(table_store):
    report = _report("", minutes_ago=0)
    table_store.save_report(report)
    client = table_store.table(table_store.reports_table_name)
    for row in list(client.list_entities()):  # the report and its index row, as written before
        entity = dict(row)
        del entity["customer_id"]
        entity.pop("accent_color", None)
        client.upsert_entity(entity, mode=UpdateMode.REPLACE)
    old = table_store.get_report(report.report_id)
    assert old is not None and old.report_type is ReportType.DETAILED
    assert old.customer_id == old.accent_color == ""
    listed, _ = table_store.list_reports(limit=10)
    assert [r["report_id"] for r in listed] == [report.report_id]
    assert table_store.list_reports(customer_id=str(uuid.uuid4()), limit=10)[0] == []
