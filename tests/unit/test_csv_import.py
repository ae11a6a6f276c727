"""Tests for shared.csv_import: the portal's Advisor CSV export in its known variants."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.csv_import import (
    CsvSource,
    detect_variant,
    iter_csv_recommendations,
    parse_csv,
)
from shared.errors import InvalidInputError, LimitExceededError
from tests.portal_csv import HEADER_2025, HEADER_PER_CATEGORY

SUB1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
SUB2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

HEADER_LEGACY = [
    "Recommendation",
    "Subscription ID",
    "Subscription Name",
    "Resource Group",
    "Resource Name",
    "Resource Type",
    "Updated Date",
    "Recommendation rule",
    "Potential Annual Cost Savings",
    "Potential Cost Savings Currency",
    "Potential Cost Savings Percentage",
]


def row_2025(**overrides: str) -> dict[str, str]:
    row = {
        "Category": "Cost",
        "Business Impact": "High",
        "Recommendation": "Right-size or shutdown underutilized virtual machines",
        "Subscription ID": SUB1,
        "Subscription Name": "Production",
        "Resource Group": "rg-app",
        "Resource Name": "vm-web-01",
        "Type": "Virtual machine",
        "Updated Date": "2025-03-04T10:11:12Z",
        "Potential benefits": "Save money",
        "Potential Annual Cost Savings": "1,200",
        "Potential Cost Savings Currency": "USD",
        "Potential carbon reductions": "12 kg CO2e",
        "Cost implications (Preview)": "",
        "Description of changes": "Resize the VM to a smaller SKU",
        "Retirement date": "",
        "Retiring feature": "",
    }
    row.update(overrides)
    return row


def make_csv(header: list[str], rows: list[dict[str, str]], *, prefix: str = "", bom: bool = False) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return ("\ufeff" if bom else "") + prefix + buf.getvalue()


def line_of(text: str, needle: str) -> int:
    """The 1-based physical line on which ``needle`` first appears."""
    return text[: text.index(needle)].count("\n") + 1


# --- variants -------------------------------------------------------------------------------------


def test_2025_variant_maps_every_field() -> None:
    text = make_csv(HEADER_2025, [row_2025()])
    [rec] = parse_csv(text.encode("utf-8"))
    assert rec.source == "csv"
    assert rec.category == "cost"
    assert rec.impact == "high"
    assert rec.problem == "Right-size or shutdown underutilized virtual machines"
    assert rec.solution == "Resize the VM to a smaller SKU"
    assert rec.potential_benefits == "Save money"
    assert rec.subscription_id == SUB1
    assert rec.subscription_name == "Production"
    assert rec.resource_group == "rg-app"
    assert rec.resource_name == "vm-web-01"
    assert rec.resource_type == "Virtual machine"
    assert rec.annual_savings == Decimal("1200")
    assert rec.monthly_savings == Decimal("100.00")
    assert rec.savings_currency == "USD"
    assert rec.last_updated == datetime(2025, 3, 4, 10, 11, 12, tzinfo=UTC)
    assert rec.recommendation_id.startswith("csv-")
    assert rec.recommendation_type_id.startswith("csv-")
    assert rec.extended_properties == {"potentialCarbonReductions": "12 kg CO2e"}


def test_per_category_variant_uses_default_category() -> None:
    row = row_2025(Category="", **{"Business Impact": "Medium"})
    text = make_csv(HEADER_PER_CATEGORY, [row])
    assert len(HEADER_PER_CATEGORY) == 13
    [rec] = parse_csv(text, default_category="Security")
    assert rec.category == "security"
    assert rec.impact == "medium"
    assert rec.annual_savings is None and rec.monthly_savings is None
    assert rec.savings_currency is None
    [rec] = parse_csv(text, default_category="HighAvailability")
    assert rec.category == "reliability"


def test_per_category_variant_without_default_is_unknown() -> None:
    text = make_csv(HEADER_PER_CATEGORY, [row_2025()])
    [rec] = parse_csv(text)
    assert rec.category == "unknown"


def test_legacy_cost_variant() -> None:
    row = {
        "Recommendation": "Buy reserved instances",
        "Subscription ID": SUB2,
        "Subscription Name": "Dev",
        "Resource Group": "rg-data",
        "Resource Name": "sqlserver1",
        "Resource Type": "SQL database",
        "Updated Date": "2025-03-04",
        "Recommendation rule": "ReservedInstance",
        "Potential Annual Cost Savings": "5,332",
        "Potential Cost Savings Currency": "EUR",
        "Potential Cost Savings Percentage": "35%",
    }
    text = make_csv(HEADER_LEGACY, [row])
    reader = iter_csv_recommendations(text, default_category="security")
    [rec] = list(reader)
    assert reader.variant == "legacy-cost"
    assert rec.category == "cost"
    assert rec.impact == "unknown"
    assert rec.resource_type == "SQL database"
    assert rec.annual_savings == Decimal("5332")
    assert rec.monthly_savings == Decimal("444.33")
    assert rec.savings_currency == "EUR"
    assert rec.solution == ""
    assert rec.last_updated == datetime(2025, 3, 4, tzinfo=UTC)
    assert rec.extended_properties == {
        "recommendationRule": "ReservedInstance",
        "potentialCostSavingsPercentage": "35%",
    }


def test_detect_variant() -> None:
    assert detect_variant(HEADER_2025) == "2025"
    assert detect_variant(HEADER_PER_CATEGORY) == "per-category"
    assert detect_variant(HEADER_LEGACY) == "legacy-cost"
    assert detect_variant([h.upper() + "  " for h in HEADER_2025]) == "2025"
    assert detect_variant(["Advisor recommendations"]) == "unknown"


def test_reader_reports_variant_and_header_line() -> None:
    text = make_csv(HEADER_2025, [row_2025()], prefix="sep=,\r\nAzure Advisor recommendations\r\n")
    reader = iter_csv_recommendations(text)
    assert reader.variant is None
    recs = list(reader)
    assert len(recs) == 1
    assert reader.variant == "2025"
    assert reader.header_line == 3
    assert reader.rows == 1


# --- encodings and preambles ----------------------------------------------------------------------


def test_utf8_bom_bytes_text_and_streams() -> None:
    text = make_csv(HEADER_2025, [row_2025(Recommendation="Économiser l’énergie")], bom=True)
    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    for source in (data, text, io.BytesIO(data), io.StringIO(text, newline="")):
        [rec] = parse_csv(source)
        assert rec.problem == "Économiser l’énergie"
        assert rec.category == "cost"  # the BOM did not spoil the first header cell


def test_binary_stream_is_left_open() -> None:
    stream = io.BytesIO(make_csv(HEADER_2025, [row_2025()]).encode())
    assert len(parse_csv(stream)) == 1
    assert not stream.closed


def test_path_source(tmp_path) -> None:
    path = tmp_path / "advisor.csv"
    path.write_bytes(make_csv(HEADER_2025, [row_2025()], bom=True).encode("utf-8"))
    [rec] = parse_csv(path)
    assert rec.resource_name == "vm-web-01"


def test_sep_line_before_header() -> None:
    text = make_csv(HEADER_2025, [row_2025()], prefix="sep=,\r\n", bom=True)
    [rec] = parse_csv(text.encode())
    assert rec.category == "cost"


def test_sep_line_with_other_delimiter() -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=";", lineterminator="\n")
    writer.writerow(HEADER_2025)
    writer.writerow(list(row_2025().values()))
    [rec] = parse_csv("sep=;\n" + buf.getvalue())
    assert rec.annual_savings == Decimal("1200")
    assert rec.resource_group == "rg-app"


def test_title_lines_before_header() -> None:
    prefix = "Azure Advisor recommendations\r\nExported 2025-03-04,,\r\n\r\n"
    text = make_csv(HEADER_2025, [row_2025()], prefix=prefix)
    reader = iter_csv_recommendations(text)
    [rec] = list(reader)
    assert reader.header_line == 4
    assert rec.resource_name == "vm-web-01"


def test_header_case_and_whitespace_variants() -> None:
    header = [f"  {h.upper()} " if i % 2 else h.lower() for i, h in enumerate(HEADER_2025)]
    header[HEADER_2025.index("Potential benefits")] = "Potential  Benefits"
    row = row_2025()
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerow([row[h] for h in HEADER_2025])
    [rec] = parse_csv(buf.getvalue())
    assert rec.potential_benefits == "Save money"
    assert rec.annual_savings == Decimal("1200")
    assert rec.last_updated == datetime(2025, 3, 4, 10, 11, 12, tzinfo=UTC)
    assert rec.extended_properties == {"potentialCarbonReductions": "12 kg CO2e"}


# --- cell content ---------------------------------------------------------------------------------


def test_quoted_commas_quotes_and_newlines() -> None:
    problem = 'Enable "soft delete", then verify'
    solution = 'Step 1: open the blade, click "Enable".\nStep 2: save, wait'
    text = make_csv(HEADER_2025, [row_2025(Recommendation=problem, **{"Description of changes": solution})])
    text += make_csv(HEADER_2025, [row_2025(**{"Resource Name": "vm-2"})]).split("\r\n", 1)[1]
    recs = parse_csv(text)
    assert [r.problem for r in recs] == [problem, "Right-size or shutdown underutilized virtual machines"]
    assert recs[0].solution == solution
    assert recs[1].resource_name == "vm-2"


def test_line_numbers_count_embedded_newlines() -> None:
    rows = [
        row_2025(**{"Description of changes": "one\ntwo\nthree", "Resource Name": "a"}),
        row_2025(**{"Resource Name": "b", "Subscription ID": "not-a-guid"}),
    ]
    text = make_csv(HEADER_2025, rows)
    with pytest.raises(InvalidInputError) as info:
        parse_csv(text)
    assert info.value.line == 5  # header 1, first row 2-4, bad row 5
    assert line_of(text, "not-a-guid") == 5


def test_thousands_separators_and_decimals() -> None:
    rows = [
        row_2025(**{"Resource Name": "a", "Potential Annual Cost Savings": "1,234,567.89"}),
        row_2025(**{"Resource Name": "b", "Potential Annual Cost Savings": " 10 "}),
    ]
    recs = parse_csv(make_csv(HEADER_2025, rows))
    assert recs[0].annual_savings == Decimal("1234567.89")
    assert recs[0].monthly_savings == Decimal("102880.66")
    assert recs[1].annual_savings == Decimal("10")
    assert recs[1].monthly_savings == Decimal("0.83")


def test_empty_savings_is_none() -> None:
    row = row_2025(**{"Potential Annual Cost Savings": "", "Potential Cost Savings Currency": ""})
    [rec] = parse_csv(make_csv(HEADER_2025, [row]))
    assert rec.annual_savings is None
    assert rec.monthly_savings is None
    assert rec.savings_currency is None


def test_currency_missing_is_none_not_usd() -> None:
    row = row_2025(**{"Potential Annual Cost Savings": "99", "Potential Cost Savings Currency": ""})
    [rec] = parse_csv(make_csv(HEADER_2025, [row]))
    assert rec.annual_savings == Decimal("99")
    assert rec.savings_currency is None


def test_unparseable_savings_is_an_error() -> None:
    row = row_2025(**{"Potential Annual Cost Savings": "about 5 dollars"})
    with pytest.raises(InvalidInputError) as info:
        parse_csv(make_csv(HEADER_2025, [row]))
    assert info.value.line == 2
    assert "Potential Annual Cost Savings" in str(info.value)


def test_no_resource_group_and_subscription_type() -> None:
    rows = [
        row_2025(**{"Resource Group": "No resource group", "Resource Name": "Production", "Type": "x"}),
        row_2025(**{"Resource Group": "rg", "Resource Name": "Prod2", "Type": "Subscription"}),
    ]
    recs = parse_csv(make_csv(HEADER_2025, rows))
    assert [r.resource_group for r in recs] == ["", ""]
    assert all(r.is_subscription_level for r in recs)
    assert recs[1].resource_type == "Subscription"


def test_blank_lines_skipped() -> None:
    text = make_csv(HEADER_2025, [row_2025()])
    lines = text.split("\r\n")
    text = "\r\n".join([lines[0], "", lines[1], "", ",,,,", ""]) + "\r\n"
    assert len(parse_csv(text)) == 1


def test_unknown_extra_column_preserved() -> None:
    header = [*HEADER_2025, "Tags", "Owner team"]
    row = row_2025(Tags="env=prod", **{"Owner team": ""})
    [rec] = parse_csv(make_csv(header, [row]))
    assert rec.extended_properties["Tags"] == "env=prod"
    assert "Owner team" not in rec.extended_properties  # empty cells are not stored
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in rec.extended_properties.items())


def test_subscription_id_lowercased() -> None:
    [rec] = parse_csv(make_csv(HEADER_2025, [row_2025(**{"Subscription ID": SUB1.upper()})]))
    assert rec.subscription_id == SUB1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-04T10:11:12Z", datetime(2025, 3, 4, 10, 11, 12, tzinfo=UTC)),
        ("2025-03-04T10:11:12.1234567Z", datetime(2025, 3, 4, 10, 11, 12, 123456, tzinfo=UTC)),
        ("3/4/2025, 10:11:12 AM", datetime(2025, 3, 4, 10, 11, 12, tzinfo=UTC)),
        ("3/4/2025 10:11:12 PM", datetime(2025, 3, 4, 22, 11, 12, tzinfo=UTC)),
        ("3/4/2025, 10:11:12\u202fAM", datetime(2025, 3, 4, 10, 11, 12, tzinfo=UTC)),
        ("12/31/2024", datetime(2024, 12, 31, tzinfo=UTC)),
        ("2025-03-04", datetime(2025, 3, 4, tzinfo=UTC)),
        ("", None),
    ],
)
def test_date_formats(value: str, expected: datetime | None) -> None:
    [rec] = parse_csv(make_csv(HEADER_2025, [row_2025(**{"Updated Date": value})]))
    assert rec.last_updated == expected


# --- errors ---------------------------------------------------------------------------------------


def test_bad_guid_names_line_and_column() -> None:
    rows = [row_2025(**{"Resource Name": "a"}), row_2025(**{"Subscription ID": "Production"})]
    text = make_csv(HEADER_2025, rows, prefix="sep=,\r\n")
    with pytest.raises(InvalidInputError) as info:
        parse_csv(text.encode())
    assert info.value.line == 4
    assert info.value.field == "Subscription ID"
    assert "Line 4" in str(info.value)
    assert "'Production'" in str(info.value)


def test_ragged_rows_name_the_line() -> None:
    good = make_csv(HEADER_2025, [row_2025()])
    too_few = good + ",".join(["Cost", "High", "x", SUB1]) + "\r\n"
    with pytest.raises(InvalidInputError) as info:
        parse_csv(too_few)
    assert info.value.line == 3
    assert "4 cells" in str(info.value) and "17 columns" in str(info.value)

    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerow(
        [*row_2025(**{"Resource Name": "b"}).values(), "surprise"]
    )
    too_many = good + buf.getvalue()
    with pytest.raises(InvalidInputError) as info:
        parse_csv(too_many)
    assert info.value.line == 3
    assert "18 cells" in str(info.value)


def test_trailing_empty_cells_are_tolerated() -> None:
    text = make_csv(HEADER_2025, [row_2025()]).replace("\r\n", ",,\r\n")
    assert len(parse_csv(text)) == 1


def test_unclosed_quote_is_reported() -> None:
    text = make_csv(HEADER_2025, [row_2025()]) + 'Cost,High,"unclosed,' + SUB1 + "\r\nmore\r\nlines\r\n"
    with pytest.raises(InvalidInputError) as info:
        parse_csv(text)
    assert info.value.line == 3
    assert "unclosed quote" in str(info.value)


def test_unparseable_date() -> None:
    rows = [row_2025(**{"Resource Name": "a"}), row_2025(**{"Updated Date": "yesterday-ish"})]
    with pytest.raises(InvalidInputError) as info:
        parse_csv(make_csv(HEADER_2025, rows))
    assert info.value.line == 3
    assert info.value.field == "Updated Date"
    assert "yesterday-ish" in str(info.value)


def test_no_header() -> None:
    text = "Name,Value\r\nfoo,1\r\nbar,2\r\n"
    with pytest.raises(InvalidInputError) as info:
        parse_csv(text)
    assert info.value.field == "file"
    assert "no header row" in str(info.value)
    assert "Subscription ID" in str(info.value)


def test_header_beyond_search_window_is_not_found() -> None:
    text = make_csv(HEADER_2025, [row_2025()], prefix="title\r\n" * 12)
    with pytest.raises(InvalidInputError, match="no header row"):
        parse_csv(text)


@pytest.mark.parametrize("source", [b"", "", b"\xef\xbb\xbf", "\r\n\r\n", "sep=,\r\n", io.BytesIO(b"")])
def test_empty_file(source: CsvSource) -> None:
    with pytest.raises(InvalidInputError, match="no recommendations"):
        parse_csv(source)


def test_header_only() -> None:
    with pytest.raises(InvalidInputError, match="no recommendations"):
        parse_csv(make_csv(HEADER_2025, [], bom=True).encode())


def test_header_without_recommendation_column() -> None:
    header = [h for h in HEADER_2025 if h != "Recommendation"]
    with pytest.raises(InvalidInputError, match="no Recommendation column"):
        parse_csv(make_csv(header, [row_2025()]))


def test_non_utf8_bytes() -> None:
    data = make_csv(HEADER_2025, [row_2025(Recommendation="Économiser")]).encode("cp1252")
    with pytest.raises(InvalidInputError, match="not valid UTF-8") as info:
        parse_csv(data)
    assert info.value.line == 2
    with pytest.raises(InvalidInputError, match="not valid UTF-8"):
        parse_csv(io.BytesIO(data))


def test_utf16_is_rejected_with_a_hint() -> None:
    data = make_csv(HEADER_2025, [row_2025()]).encode("utf-16")
    with pytest.raises(InvalidInputError, match="UTF-16"):
        parse_csv(data)


def test_error_messages_clip_long_cells() -> None:
    long_value = "x" * 5000
    with pytest.raises(InvalidInputError) as info:
        parse_csv(make_csv(HEADER_2025, [row_2025(**{"Subscription ID": long_value})]))
    assert "x" * 80 not in str(info.value)
    assert "x" * 70 in str(info.value)


def test_max_rows() -> None:
    rows = [row_2025(**{"Resource Name": f"vm-{i}"}) for i in range(5)]
    text = make_csv(HEADER_2025, rows)
    assert len(parse_csv(text, max_rows=5)) == 5
    with pytest.raises(LimitExceededError):
        parse_csv(text, max_rows=4)


# --- ids and duplicates ---------------------------------------------------------------------------


def test_duplicates_kept_once() -> None:
    rows = [row_2025(), row_2025(**{"Resource Name": "vm-2"}), row_2025()]
    reader = iter_csv_recommendations(make_csv(HEADER_2025, rows))
    recs = list(reader)
    assert [r.resource_name for r in recs] == ["vm-web-01", "vm-2"]
    assert reader.rows == 3
    assert reader.duplicates == 1


def test_ids_are_deterministic() -> None:
    rows = [row_2025(**{"Resource Name": f"vm-{i}"}) for i in range(3)]
    text = make_csv(HEADER_2025, rows)
    first = parse_csv(text)
    again = parse_csv(text.encode("utf-8-sig"))
    assert [r.recommendation_id for r in first] == [r.recommendation_id for r in again]
    assert len({r.recommendation_id for r in first}) == 3
    # All rows share the same recommendation text, so they share one recommendation type.
    assert len({r.recommendation_type_id for r in first}) == 1
    # Savings and dates are not part of the id: a re-import of a refreshed export updates in place.
    refreshed = make_csv(
        HEADER_2025,
        [row_2025(**{"Resource Name": "vm-0", "Potential Annual Cost Savings": "7", "Updated Date": ""})],
    )
    assert parse_csv(refreshed)[0].recommendation_id == first[0].recommendation_id


def test_ids_depend_on_identity_fields() -> None:
    base = parse_csv(make_csv(HEADER_2025, [row_2025()]))[0]
    for change in (
        {"Subscription ID": SUB2},
        {"Resource Group": "rg-other"},
        {"Resource Name": "vm-other"},
        {"Recommendation": "Something else"},
    ):
        other = parse_csv(make_csv(HEADER_2025, [row_2025(**change)]))[0]
        assert other.recommendation_id != base.recommendation_id, change
    other = parse_csv(make_csv(HEADER_2025, [row_2025(Recommendation="Something else")]))[0]
    assert other.recommendation_type_id != base.recommendation_type_id
    # Case and spacing of the text do not matter for the type.
    spaced = parse_csv(
        make_csv(
            HEADER_2025, [row_2025(Recommendation="  RIGHT-SIZE or  shutdown underutilized virtual machines")]
        )
    )[0]
    assert spaced.recommendation_type_id == base.recommendation_type_id


def test_same_id_across_variants() -> None:
    a = parse_csv(make_csv(HEADER_2025, [row_2025()]))[0]
    b = parse_csv(make_csv(HEADER_PER_CATEGORY, [row_2025()]), default_category="cost")[0]
    assert a.recommendation_id == b.recommendation_id


# --- scale ----------------------------------------------------------------------------------------


def test_14000_rows_import_completely_and_fast() -> None:
    categories = ["Cost", "Security", "Reliability", "Performance", "Operational excellence"]
    impacts = ["High", "Medium", "Low"]
    rows = []
    expected_total = Decimal(0)
    for i in range(14_000):
        cost = i % 5 == 0
        amount = Decimal(1000 + i) if cost else None
        if amount is not None:
            expected_total += amount
        rows.append(
            row_2025(
                Category=categories[i % 5],
                **{
                    "Business Impact": impacts[i % 3],
                    "Recommendation": f"Recommendation number {i % 40}, with a comma",
                    "Subscription ID": SUB1 if i % 2 else SUB2,
                    "Resource Group": "No resource group" if i % 7 == 0 else f"rg-{i % 50}",
                    "Resource Name": f"res-{i}",
                    "Updated Date": f"{1 + i % 12}/{1 + i % 28}/2025, 10:11:12 AM",
                    "Potential Annual Cost Savings": f"{amount:,}" if amount is not None else "",
                    "Potential Cost Savings Currency": "USD" if cost else "",
                    "Description of changes": 'Do "this"\nthen that',
                },
            )
        )
    data = make_csv(HEADER_2025, rows, prefix="sep=,\r\n", bom=True).encode("utf-8")
    recs = parse_csv(data)  # its speed is measured by `make bench` (bench/parse_bench.py)
    assert len(recs) == 14_000
    assert len({r.recommendation_id for r in recs}) == 14_000
    assert len({r.recommendation_type_id for r in recs}) == 40
    assert sum(r.annual_savings for r in recs if r.annual_savings is not None) == expected_total
    assert sum(1 for r in recs if r.category == "cost") == 2800
    assert sum(1 for r in recs if r.category == "operational_excellence") == 2800
    assert sum(1 for r in recs if r.impact == "high") == 4667
    assert sum(1 for r in recs if r.resource_group == "") == 2000
    assert all(r.savings_currency == "USD" for r in recs if r.annual_savings is not None)
    assert recs[-1].solution == 'Do "this"\nthen that'


# --- hostile files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount", ["1e30", "-1e30", "1E999999999", "inf", "-Infinity", "nan", "sNaN", "9" * 40, "1e-999999999x"]
)
def test_absurd_or_non_finite_savings_are_refused_naming_line_and_column(amount: str) -> None:
    rows = [row_2025(**{"Resource Name": "ok"}), row_2025(**{"Potential Annual Cost Savings": amount})]
    with pytest.raises(InvalidInputError) as info:
        parse_csv(make_csv(HEADER_2025, rows))
    assert info.value.line == 3
    assert info.value.field == "Potential Annual Cost Savings"
    assert "Line 3, column Potential Annual Cost Savings" in str(info.value)


def test_large_but_plausible_savings_are_kept() -> None:
    [rec] = parse_csv(make_csv(HEADER_2025, [row_2025(**{"Potential Annual Cost Savings": "1e12"})]))
    assert rec.monthly_savings == Decimal("83333333333.33")


def _refusal(text: str) -> InvalidInputError:
    # How fast a hostile file is refused is measured by `make bench` (bench/parse_bench.py).
    with pytest.raises(InvalidInputError) as info:
        parse_csv(text.encode("utf-8"))
    return info.value


def test_a_file_with_thousands_of_columns_is_refused_fast() -> None:
    # The reported file: 104 KB, 8,000 columns, every header cell alike (which made naming the
    # extra columns quadratic). Refused on the header line, before any column is mapped.
    header = ",".join(HEADER_2025 + ["x"] * (8000 - len(HEADER_2025)))
    text = header + "\r\n" + (",".join(["1"] * 8000) + "\r\n") * 6
    assert 100_000 < len(text) < 200_000
    error = _refusal(text)
    assert error.line == 1 and "8000 columns" in str(error)
    # The same width in a data row only.
    wide = make_csv(HEADER_2025, [row_2025()]) + ",".join(["y"] * 8000) + "\r\n"
    assert _refusal(wide).line == 3


def test_an_overlong_line_is_refused_before_parsing() -> None:
    text = make_csv(HEADER_2025, [row_2025(), row_2025(**{"Potential benefits": "b" * 70_000})])
    error = _refusal(text)
    assert error.line == 3 and "KB" in str(error)
