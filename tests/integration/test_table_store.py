"""Table repository against a real Azurite: idempotent upserts, limits enforced by us, reports
with their listing index, parameterized queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import InvalidInputError
from shared.models import Report, ReportStatus, ReportType
from shared.table_store import (
    MAX_ENTITY_BYTES,
    MAX_STRING_BYTES,
    _batches,
    entity_size,
    fit_string,
    recommendation_to_entity,
)
from tests.conftest import make_recommendation

pytestmark = pytest.mark.azurite


def test_save_and_read_back_round_trips_every_field(table_store, recommendations):
    assert table_store.save_recommendations("rep1", recommendations) == 250
    back = sorted(table_store.iter_recommendations("rep1"), key=lambda r: r.resource_name)
    assert len(back) == 250
    original = sorted(recommendations, key=lambda r: r.resource_name)
    assert back[3] == original[3]
    assert back[3].monthly_savings == original[3].monthly_savings
    assert back[3].extended_properties == {"savingsAmount": "3", "currentSku": "Standard_D4s_v3"}


def test_saving_twice_leaves_one_copy(table_store, recommendations):
    table_store.save_recommendations("rep2", recommendations)
    table_store.save_recommendations("rep2", recommendations[:100])
    assert table_store.count_recommendations("rep2") == 250


def test_duplicates_within_one_call_are_written_once(table_store):
    rec = make_recommendation(1)
    assert table_store.save_recommendations("rep3", [rec, rec, rec]) == 1
    assert table_store.count_recommendations("rep3") == 1


def test_reports_do_not_leak_into_each_other(table_store, recommendations):
    table_store.save_recommendations("a", recommendations[:10])
    table_store.save_recommendations("b", recommendations[10:15])
    assert table_store.count_recommendations("a") == 10
    assert table_store.count_recommendations("b") == 5


def test_filter_injection_is_not_possible(table_store, recommendations):
    table_store.save_recommendations("victim", recommendations[:5])
    # A crafted report id must not widen the query to other partitions.
    assert list(table_store.iter_recommendations("x' or PartitionKey ne 'x")) == []


def test_forbidden_key_characters_are_refused(table_store):
    with pytest.raises(InvalidInputError):
        table_store.save_recommendations("bad/id", [make_recommendation(1)])


def test_huge_texts_are_truncated_not_rejected(table_store):
    long_text = "x" * 200_000
    astral = "\U0001f600" * 40_000  # two UTF-16 units each
    rec = make_recommendation(
        7,
        problem=long_text,
        description=astral,
        potential_benefits=long_text,
        solution=long_text,
        extended_properties={f"k{i}": "v" * 5000 for i in range(40)},
    )
    entity = recommendation_to_entity("rep", rec)
    for value in entity.values():
        if isinstance(value, str):
            assert len(value.encode("utf-16-le")) <= MAX_STRING_BYTES
    assert entity_size(entity) < MAX_ENTITY_BYTES
    table_store.save_recommendations("big", [rec])
    (back,) = list(table_store.iter_recommendations("big"))
    assert back.problem.endswith("[truncated]")
    assert back.problem.startswith("xxxx")


def test_entity_under_one_mib_even_when_every_field_is_at_the_string_limit():
    text = "y" * 40_000
    rec = make_recommendation(
        1,
        problem=text,
        solution=text,
        description=text,
        potential_benefits=text,
        resource_id=text,
        resource_name=text,
        learn_more_link=text,
        subscription_name=text,
        recommendation_type_id=text,
        resource_type=text,
        resource_group=text,
        extended_properties={"a": text, "b": text},
    )
    entity = recommendation_to_entity("rep", rec)
    assert entity_size(entity) <= 960 * 1024


def test_fit_string_counts_utf16_units():
    assert fit_string("a" * 10, 20) == "a" * 10
    cut = fit_string("\U0001f600" * 100, 100)
    assert len(cut.encode("utf-16-le")) <= 100


def test_batches_respect_count_and_size():
    small = [{"PartitionKey": "p", "RowKey": str(i), "v": "x"} for i in range(250)]
    assert [len(b) for b in _batches(small)] == [100, 100, 50]
    big = [{"PartitionKey": "p", "RowKey": str(i), "v": "x" * 30_000} for i in range(100)]
    batches = list(_batches(big))
    assert len(batches) > 1
    assert all(sum(entity_size(e) for e in b) <= 3 * 1024 * 1024 for b in batches)


def _report(report_id: str, minutes_ago: int, status=ReportStatus.PENDING) -> Report:
    return Report(
        report_id=report_id,
        report_type=ReportType.COST,
        subscription_ids=["s1"],
        requested_at=datetime(2026, 11, 1, tzinfo=UTC) - timedelta(minutes=minutes_ago),
        status=status,
    )


def test_report_round_trip_and_listing_newest_first(table_store):
    for i in range(5):
        table_store.save_report(
            _report(f"r{i}", minutes_ago=i, status=ReportStatus.COMPLETED if i % 2 else ReportStatus.PENDING)
        )
    got = table_store.get_report("r3")
    assert got is not None and got.status is ReportStatus.COMPLETED and got.report_type is ReportType.COST
    rows, token = table_store.list_reports(limit=2)
    assert [r["report_id"] for r in rows] == ["r0", "r1"]
    rows2, _ = table_store.list_reports(limit=2, continuation_token=token)
    assert [r["report_id"] for r in rows2] == ["r2", "r3"]
    done, _ = table_store.list_reports(status="completed", limit=10)
    assert [r["report_id"] for r in done] == ["r1", "r3"]
    assert table_store.get_report("missing") is None


def test_status_update_keeps_one_index_row(table_store):
    report = _report("rx", 1)
    table_store.save_report(report)
    report.status = ReportStatus.COMPLETED
    table_store.save_report(report)
    rows, _ = table_store.list_reports(limit=10)
    assert [(r["report_id"], r["status"]) for r in rows] == [("rx", "completed")]
