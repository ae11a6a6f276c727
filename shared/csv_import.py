"""Import the CSV file the Azure portal's Advisor page exports ("Download as CSV").

There is no official column list, so the header is matched by name (case and whitespace
insensitive) and three known variants are supported:

* ``"2025"`` - 17 columns, starting with Category and Business Impact, with cost and carbon columns;
* ``"per-category"`` - 13 columns, the same without Category and the three cost/carbon columns
  (the category then comes from ``default_category`` or is ``"unknown"``);
* ``"legacy-cost"`` - the older cost export (Resource Type, Recommendation rule, Potential Cost
  Savings Percentage); its rows are always category ``cost``.

The file may be UTF-8 with or without a BOM, may start with a ``sep=,`` line and/or title lines
before the header, and its quoted fields may contain commas, quotes and newlines. Columns we do not
map to a :class:`~shared.models.Recommendation` field are kept in ``extended_properties``.

There is no recommendation GUID in the file, so ids are synthesized deterministically from the
row's content: importing the same file twice yields the same ids, and duplicate rows are kept once.
Errors are :class:`~shared.errors.InvalidInputError` naming the 1-based physical line and the
column; messages never echo more than :data:`MAX_ECHO` characters of a cell.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any, cast

from shared.errors import InvalidInputError, LimitExceededError
from shared.models import Recommendation, is_guid, normalize_category, normalize_impact, parse_money

__all__ = [
    "HEADER_SEARCH_LINES",
    "MAX_ECHO",
    "CsvRecommendationReader",
    "CsvSource",
    "detect_variant",
    "iter_csv_recommendations",
    "parse_csv",
    "recommendation_id_for",
    "recommendation_type_id_for",
]

CsvSource = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes] | IO[str]

HEADER_SEARCH_LINES = 10  # physical lines (after an optional sep= line) searched for the header
MAX_ECHO = 80  # at most this many characters of a cell appear in an error message
DEFAULT_MAX_ROWS = 100_000
# Checked on each physical line before the csv module sees it, and on each row before anything
# is built from it: the portal's exports have at most 17 columns and lines of a few KB, and a
# file far past these is not an export (an 8,000-column header once held a worker for a minute).
MAX_COLUMNS = 200
MAX_LINE_CHARS = 64 * 1024
# No recommendation saves a quadrillion a year; past this an amount is a typo or hostile (and
# Decimal.quantize cannot round 1e30 to cents in the default context).
MAX_AMOUNT = Decimal("1e15")

# Normalized header text -> internal column key.
_COLUMN_ALIASES: dict[str, str] = {
    "category": "category",
    "business impact": "impact",
    "impact": "impact",
    "recommendation": "recommendation",
    "subscription id": "subscription_id",
    "subscription name": "subscription_name",
    "resource group": "resource_group",
    "resource name": "resource_name",
    "type": "resource_type",
    "resource type": "resource_type",
    "updated date": "updated",
    "last updated": "updated",
    "potential benefits": "potential_benefits",
    "potential annual cost savings": "annual_savings",
    "potential cost savings currency": "currency",
    "description of changes": "solution",
    # Known columns without a model field: kept in extended_properties under these keys.
    "potential carbon reductions": "ext:potentialCarbonReductions",
    "cost implications (preview)": "ext:costImplications",
    "cost implications": "ext:costImplications",
    "retirement date": "ext:retirementDate",
    "retiring feature": "ext:retiringFeature",
    "recommendation rule": "ext:recommendationRule",
    "potential cost savings percentage": "ext:potentialCostSavingsPercentage",
}
# Display names of the main columns, for messages.
_COLUMN_LABELS = {
    "category": "Category",
    "impact": "Business Impact",
    "recommendation": "Recommendation",
    "subscription_id": "Subscription ID",
    "resource_group": "Resource Group",
    "resource_name": "Resource Name",
    "updated": "Updated Date",
    "annual_savings": "Potential Annual Cost Savings",
}
_EXPECTED_HINT = "Recommendation, Subscription ID, Subscription Name, Resource Group, Resource Name"

_SEP_LINE_RE = re.compile(r'^\s*"?sep=(.)"?\s*$', re.IGNORECASE)
_INVISIBLE_RE = re.compile("[\ufeff\u200b\u200e\u200f]")
_SPACES_RE = re.compile(r"\s+")
_NO_RESOURCE_GROUP = {"no resource group", "-", "n/a"}
_EMPTY_MONEY = {"", "-", "n/a", "na", "none", "null"}
_DATE_FORMATS = (
    "%m/%d/%Y, %I:%M:%S %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y, %I:%M %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y, %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)


def _clip(value: str, limit: int = MAX_ECHO) -> str:
    """A cell value safe to quote in a message: single line, at most ``limit`` characters."""
    text = _SPACES_RE.sub(" ", value).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return repr(text)


def _normalize_header(cell: str) -> str:
    text = _INVISIBLE_RE.sub("", cell).replace("\u00a0", " ")
    return _SPACES_RE.sub(" ", text).strip().strip('"').strip().lower()


def _is_header(normalized: Iterable[str]) -> bool:
    names = set(normalized)
    return "subscription id" in names and ("recommendation" in names or "resource name" in names)


def detect_variant(header: Iterable[str]) -> str:
    """Name the export variant of a header row: ``"2025"``, ``"per-category"`` or ``"legacy-cost"``.

    Header cells may be in any case and spacing. Returns ``"unknown"`` for a row that is not an
    Advisor header at all (no Subscription ID and Recommendation/Resource Name columns).
    """
    names = {_normalize_header(cell) for cell in header}
    if not _is_header(names):
        return "unknown"
    if "recommendation rule" in names or "potential cost savings percentage" in names:
        return "legacy-cost"
    if "resource type" in names and "category" not in names and "business impact" not in names:
        return "legacy-cost"
    if "category" in names:
        return "2025"
    return "per-category"


@functools.lru_cache(maxsize=4096)
def _parse_date(text: str) -> datetime | None:
    """Parse an Updated Date cell; naive times are taken as UTC. None if no format fits."""
    value = text.replace("\u202f", " ").replace("\u00a0", " ").strip()
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _sha1(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def _norm_text(value: str) -> str:
    return " ".join(value.split()).casefold()


def recommendation_type_id_for(text: str) -> str:
    """The synthesized recommendation type of a CSV row: stable for the same recommendation text."""
    return "csv-" + _sha1(_norm_text(text))[:16]


def recommendation_id_for(subscription_id: str, resource_group: str, resource_name: str, text: str) -> str:
    """The synthesized id of a CSV row; the same row always yields the same id."""
    return "csv-" + _sha1(
        subscription_id.strip().lower(),
        resource_group.strip().lower(),
        resource_name.strip().lower(),
        _norm_text(text),
    )


# --- reading the source ---------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InvalidInputError(
            "The CSV file is UTF-16 encoded; export or save it as CSV UTF-8", field="file"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInputError(
            f"The CSV file is not valid UTF-8 (bad byte at line {line}); export or save it as CSV UTF-8",
            field="file",
            line=line,
        ) from None


def _open_lines(source: Any) -> tuple[Iterator[str], Callable[[], None]]:
    """The source's physical lines (line endings kept) and a function that releases it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return iter(io.StringIO(_decode(bytes(source)), newline="")), lambda: None
    if isinstance(source, str):
        return iter(io.StringIO(source, newline="")), lambda: None
    if isinstance(source, os.PathLike):
        with open(source, "rb") as handle:
            return _open_lines(handle.read())
    if isinstance(source, io.BufferedIOBase):
        wrapper = io.TextIOWrapper(cast("IO[bytes]", source), encoding="utf-8-sig", newline="")

        def release() -> None:
            try:
                wrapper.detach()  # leave the caller's stream open
            except ValueError:
                pass

        return iter(wrapper), release
    if isinstance(source, io.TextIOBase):
        return iter(source), lambda: None
    read = getattr(source, "read", None)
    if callable(read):
        return _open_lines(read())
    raise TypeError(f"Cannot read CSV from {type(source).__name__}")


def _text_errors(lines: Iterator[str], counter: list[int]) -> Iterator[str]:
    """Pass lines through, counting them, turning decoding errors into InvalidInputError."""
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise InvalidInputError(
                f"The CSV file is not valid UTF-8 (near line {counter[0] + 1}); "
                "export or save it as CSV UTF-8",
                field="file",
                line=counter[0] + 1,
            ) from None
        counter[0] += 1
        if len(line) > MAX_LINE_CHARS:
            raise InvalidInputError(
                f"Line {counter[0]} of the CSV file is longer than {MAX_LINE_CHARS // 1024} KB; "
                "this is not an Advisor export",
                field="file",
                line=counter[0],
            )
        yield line


# --- column layout ----------------------------------------------------------------------------------


@dataclass
class _Layout:
    width: int
    index: dict[str, int]  # internal key -> column index (first occurrence)
    extra: list[tuple[int, str]]  # (column index, extended_properties key)


def _layout(header: list[str], line: int) -> _Layout:
    index: dict[str, int] = {}
    extra: list[tuple[int, str]] = []
    used_ext: set[str] = set()
    for i, cell in enumerate(header):
        norm = _normalize_header(cell)
        key = _COLUMN_ALIASES.get(norm)
        if key and not key.startswith("ext:") and key not in index:
            index[key] = i
            continue
        if key and key.startswith("ext:"):
            name = key[4:]
        else:
            name = _SPACES_RE.sub(" ", _INVISIBLE_RE.sub("", cell)).strip() or f"column{i + 1}"
        base, n = name, 2
        while name in used_ext:
            name, n = f"{base} ({n})", n + 1
        used_ext.add(name)
        extra.append((i, name))
    if "recommendation" not in index:
        raise InvalidInputError(
            f"The CSV header row (line {line}) has no Recommendation column; "
            f"expected columns like {_EXPECTED_HINT}",
            field="Recommendation",
            line=line,
        )
    return _Layout(width=len(header), index=index, extra=extra)


# --- the reader -----------------------------------------------------------------------------------


@dataclass
class _Stats:
    variant: str | None = None
    header_line: int | None = None
    rows: int = 0
    duplicates: int = 0
    yielded: int = 0
    seen: set[str] = field(default_factory=set)


class CsvRecommendationReader(Iterator[Recommendation]):
    """Iterator over the recommendations of one CSV export, with what it learned along the way.

    ``variant`` and ``header_line`` are set once the header is read (after the first ``next``);
    ``rows`` counts data rows read, ``duplicates`` the rows skipped as repeats of an earlier one.
    Iterating to the end releases the source; ``close()`` does so early.
    """

    def __init__(
        self, source: CsvSource, *, default_category: str | None = None, max_rows: int | None = None
    ) -> None:
        self._stats = _Stats()
        self._gen = _iterate(source, default_category, max_rows, self._stats)

    def __iter__(self) -> CsvRecommendationReader:
        return self

    def __next__(self) -> Recommendation:
        return next(self._gen)

    def close(self) -> None:
        self._gen.close()

    def __enter__(self) -> CsvRecommendationReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def variant(self) -> str | None:
        return self._stats.variant

    @property
    def header_line(self) -> int | None:
        return self._stats.header_line

    @property
    def rows(self) -> int:
        return self._stats.rows

    @property
    def duplicates(self) -> int:
        return self._stats.duplicates


def iter_csv_recommendations(
    source: CsvSource, *, default_category: str | None = None, max_rows: int | None = None
) -> CsvRecommendationReader:
    """Stream the recommendations of a portal CSV export, one row at a time.

    ``source`` is the file's bytes, its text (a ``str`` is CSV content, not a path), a binary or
    text stream, or a path (``os.PathLike``). ``default_category`` is the category for files without
    a Category column (the per-category export). Raises :class:`InvalidInputError` for a file that
    cannot be read (also, at the end, when it held no recommendations) and
    :class:`LimitExceededError` when it has more than ``max_rows`` data rows.
    """
    return CsvRecommendationReader(source, default_category=default_category, max_rows=max_rows)


def parse_csv(
    source: CsvSource, *, default_category: str | None = None, max_rows: int = DEFAULT_MAX_ROWS
) -> list[Recommendation]:
    """All recommendations of a portal CSV export (see :func:`iter_csv_recommendations`)."""
    return list(iter_csv_recommendations(source, default_category=default_category, max_rows=max_rows))


def _iterate(
    source: CsvSource, default_category: str | None, max_rows: int | None, stats: _Stats
) -> Generator[Recommendation]:
    raw_lines, release = _open_lines(source)
    try:
        yield from _iterate_lines(raw_lines, default_category, max_rows, stats)
    finally:
        release()


def _next_row(reader: Any, start: int) -> list[str] | None:
    """The next row, None at the end; a row csv cannot parse, or one with more than
    MAX_COLUMNS cells, is an error naming its line."""
    try:
        row: list[str] = next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        raise InvalidInputError(
            f"Line {start} of the CSV file cannot be parsed ({exc})", field="file", line=start
        ) from None
    if len(row) > MAX_COLUMNS:
        raise InvalidInputError(
            f"Line {start} of the CSV file has {len(row)} columns; an Advisor export has at most "
            f"{MAX_COLUMNS}",
            field="file",
            line=start,
        )
    return row


def _iterate_lines(
    raw_lines: Iterator[str], default_category: str | None, max_rows: int | None, stats: _Stats
) -> Iterator[Recommendation]:
    reader, offset = _csv_reader(_text_errors(raw_lines, [0]))
    header = _find_header(reader, offset, stats)
    assert stats.header_line is not None
    layout = _layout(header, stats.header_line)
    stats.variant = detect_variant(header)
    if stats.variant == "legacy-cost":
        fallback_category = "cost"
    else:
        fallback_category = normalize_category(default_category) if default_category else "unknown"
    convert = _RowConverter(layout, fallback_category)

    while True:
        start = offset + reader.line_num + 1
        row = _next_row(reader, start)
        if row is None:
            break
        if not _is_data_row(row, layout, start, offset + reader.line_num, stats.header_line):
            continue
        stats.rows += 1
        if max_rows is not None and stats.rows > max_rows:
            raise LimitExceededError(f"The CSV file has more than {max_rows} recommendation rows")
        rec = convert(row, start)
        if rec.recommendation_id in stats.seen:
            stats.duplicates += 1
            continue
        stats.seen.add(rec.recommendation_id)
        stats.yielded += 1
        yield rec
    if stats.yielded == 0:
        raise InvalidInputError(
            f"The CSV file contains no recommendations (only a header row at line {stats.header_line})",
            field="file",
        )


def _csv_reader(lines: Iterator[str]) -> tuple[Any, int]:
    """A csv reader over the lines after an optional ``sep=`` line, and how many physical lines
    came before its first one."""
    first = next(lines, None)
    if first is None:
        raise InvalidInputError("The CSV file is empty: it contains no recommendations", field="file")
    first = first.lstrip("\ufeff")
    sep = _SEP_LINE_RE.match(first.rstrip("\r\n"))
    if sep:
        return csv.reader(lines, delimiter=sep.group(1)), 1
    return csv.reader(_prepend(first, lines), delimiter=","), 0


def _find_header(reader: Any, offset: int, stats: _Stats) -> list[str]:
    """The header row, searched for within the first lines; anything before it (a title) is
    skipped."""
    saw_content = False
    while reader.line_num < HEADER_SEARCH_LINES:
        start = offset + reader.line_num + 1
        row = _next_row(reader, start)
        if row is None:
            break
        if not any(cell.strip() for cell in row):
            continue
        saw_content = True
        if _is_header(_normalize_header(cell) for cell in row):
            stats.header_line = start
            return row
    if not saw_content and not _has_content(reader):
        raise InvalidInputError("The CSV file is empty: it contains no recommendations", field="file")
    raise InvalidInputError(
        f"The CSV file has no header row in its first {HEADER_SEARCH_LINES} lines; "
        f"expected columns like {_EXPECTED_HINT}",
        field="file",
    )


def _is_data_row(row: list[str], layout: _Layout, start: int, end: int, header_line: int) -> bool:
    """False for a blank row (or one with only delimiters); an error for a row whose width does
    not match the header's (empty trailing cells aside)."""
    if not any(cell.strip() for cell in row):
        return False
    if len(row) < layout.width or any(cell.strip() for cell in row[layout.width :]):
        span = f"line {start}" if end == start else f"lines {start}-{end} (check for an unclosed quote)"
        raise InvalidInputError(
            f"The row at {span} has {len(row)} cells but the header (line {header_line}) "
            f"has {layout.width} columns",
            field="file",
            line=start,
        )
    return True


def _has_content(reader: Iterator[list[str]]) -> bool:
    """Whether any row left in ``reader`` has a non-blank cell (used only to word an error)."""
    try:
        return any(any(cell.strip() for cell in row) for row in reader)
    except csv.Error:
        return True


def _prepend(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


class _RowConverter:
    """Turns one data row into a Recommendation, given the header's layout."""

    def __init__(self, layout: _Layout, fallback_category: str) -> None:
        self.layout = layout
        self.fallback_category = fallback_category
        idx = layout.index
        self.i_rec = idx["recommendation"]
        self.i_sub = idx.get("subscription_id")
        self.i_category = idx.get("category")
        self.i_impact = idx.get("impact")
        self.i_sub_name = idx.get("subscription_name")
        self.i_rg = idx.get("resource_group")
        self.i_name = idx.get("resource_name")
        self.i_type = idx.get("resource_type")
        self.i_updated = idx.get("updated")
        self.i_benefits = idx.get("potential_benefits")
        self.i_annual = idx.get("annual_savings")
        self.i_currency = idx.get("currency")
        self.i_solution = idx.get("solution")

    @staticmethod
    def _cell(row: list[str], i: int | None) -> str:
        return row[i].strip() if i is not None else ""

    def _updated(self, row: list[str], line: int) -> datetime | None:
        text = self._cell(row, self.i_updated)
        if not text:
            return None
        updated = _parse_date(text)
        if updated is None:
            raise _cell_error(line, "updated", f"is not a date: {_clip(text)}")
        return updated

    def _extended_properties(self, row: list[str]) -> dict[str, str]:
        """The row's non-empty cells in columns without a model field."""
        cells = ((key, row[i].strip()) for i, key in self.layout.extra if i < len(row))
        return {key: value for key, value in cells if value}

    def __call__(self, row: list[str], line: int) -> Recommendation:
        cell = self._cell
        text = cell(row, self.i_rec)
        if not text:
            raise _cell_error(line, "recommendation", "is empty")
        sub = cell(row, self.i_sub)
        if not is_guid(sub):
            detail = "is empty" if not sub else f"is not a subscription GUID: {_clip(sub)}"
            raise _cell_error(line, "subscription_id", detail)
        sub = sub.lower()

        resource_type = cell(row, self.i_type)
        rg = cell(row, self.i_rg)
        if rg.lower() in _NO_RESOURCE_GROUP or resource_type.lower() == "subscription":
            rg = ""
        name = cell(row, self.i_name)

        category_text = cell(row, self.i_category)
        category = normalize_category(category_text) if category_text else self.fallback_category

        annual: Decimal | None = None  # the monthly figure and the currency code are
        amount_text = cell(row, self.i_annual)  # normalised by Recommendation itself
        if amount_text.lower() not in _EMPTY_MONEY:
            annual = parse_money(amount_text)
            if annual is None:
                raise _cell_error(line, "annual_savings", f"is not an amount: {_clip(amount_text)}")
            if annual.copy_abs() > MAX_AMOUNT:  # copy_abs: no context, so no Overflow
                raise _cell_error(line, "annual_savings", f"is not a plausible amount: {_clip(amount_text)}")

        updated = self._updated(row, line)
        ext = self._extended_properties(row)

        return Recommendation(
            recommendation_id=recommendation_id_for(sub, rg, name, text),
            subscription_id=sub,
            category=category,
            impact=normalize_impact(cell(row, self.i_impact)),
            recommendation_type_id=recommendation_type_id_for(text),
            problem=text,
            solution=cell(row, self.i_solution),
            resource_type=resource_type,
            resource_name=name,
            resource_group=rg,
            subscription_name=cell(row, self.i_sub_name),
            annual_savings=annual,
            savings_currency=cell(row, self.i_currency) or None,
            last_updated=updated,
            potential_benefits=cell(row, self.i_benefits),
            extended_properties=ext,
            source="csv",
        )


def _cell_error(line: int, key: str, detail: str) -> InvalidInputError:
    label = _COLUMN_LABELS.get(key, key)
    return InvalidInputError(f"Line {line}, column {label}: the value {detail}", field=label, line=line)
