"""The action plan: a stable id per recommendation, and what changed since the previous report.

Advisor's own recommendation ``name`` (the GUID at the end of its ARM id) is not kept across
Advisor's refreshes, and the portal's CSV export has none at all. A customer who ticks items off
in a spreadsheet needs the same id for the same recommendation in next month's report, so
:func:`stable_id` derives it from what identifies the recommendation itself:

- the subscription id (lower case);
- what is recommended: Advisor's ``recommendationTypeId`` (a fixed GUID per kind of
  recommendation); a CSV row has none, so its problem text, whitespace collapsed and case folded;
- which resource: the ARM resource id and Advisor's ``impactedValue`` (lower case); a CSV row has
  no resource id, so its resource group and resource name;
- for reservation and savings-plan recommendations, which Advisor repeats once per term and
  lookback period for one purchase, what tells those variants apart (term, lookback, reserved
  resource type, SKU, region, scope). Amounts, quantities and dates are left out: a saving that
  changes from one month to the next is still the same recommendation.

The id is ``AR-`` and 12 base32 characters of a SHA-256 of that key (60 bits: a collision among
even a million recommendations is improbable), upper case, so it survives Excel and typing.

A report read from the portal's CSV and one read from the API do not give the same id for the
same recommendation: the CSV carries neither the recommendation type id nor the resource id, and
keying API rows by their text instead would change every id whenever Microsoft rewords a
recommendation. Ids are stable from one API report to the next, and from one CSV report to the
next.

:func:`changes_since` compares two reports' open items (id -> currency and savings): new,
resolved and still open, and the savings delta per currency. Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from .models import Recommendation, parse_money

ID_PREFIX = "AR-"
ID_LENGTH = 12  # base32 characters after the prefix

# extendedProperties that tell a reservation's or savings plan's variants apart. Quantity and
# amounts are not among them: they change as usage changes, the recommendation does not.
VARIANT_PROPERTIES = (
    "term",
    "lookbackPeriod",
    "reservedResourceType",
    "displaySKU",
    "sku",
    "region",
    "location",
    "scope",
    "savingsPlanType",
    "commitmentGranularity",
)

_DIGITS_RE = re.compile(r"\d+")
_SEPARATOR = "\x1f"


def _text(value: str) -> str:
    """Whitespace collapsed, case folded: 'Enable  Backups' and 'enable backups' are one text."""
    return " ".join(value.split()).casefold()


def _is_commitment(rec: Recommendation) -> bool:
    ext = rec.extended_properties
    kind = ext.get("recommendationType", "").lower().replace(" ", "").replace("_", "")
    return rec.is_reservation or "savingsplan" in kind or bool(ext.get("term"))


def _variant(rec: Recommendation) -> list[str]:
    if not _is_commitment(rec):
        return []
    ext = rec.extended_properties
    parts = []
    for name in VARIANT_PROPERTIES:
        value = str(ext.get(name, "")).strip()
        if name == "lookbackPeriod":  # '30', 'Last30Days' and '30 days' are one lookback
            match = _DIGITS_RE.search(value)
            value = match.group() if match else value
        parts.append(f"{name}={value.lower()}")
    return parts


def _from_csv(rec: Recommendation) -> bool:
    return (
        rec.source == "csv" or not rec.recommendation_type_id or rec.recommendation_type_id.startswith("csv-")
    )


def stable_key(rec: Recommendation) -> str:
    """The text :func:`stable_id` hashes (kept readable for tests and debugging)."""
    sub = rec.subscription_id.strip().lower()
    if _from_csv(rec):
        what = "text:" + _text(rec.problem)
        where = f"rg:{rec.resource_group.strip().lower()}/name:{rec.resource_name.strip().lower()}"
    else:
        what = "type:" + rec.recommendation_type_id.strip().lower()
        where = f"id:{rec.resource_id.strip().rstrip('/').lower()}/value:{rec.resource_name.strip().lower()}"
    return _SEPARATOR.join([sub, what, where, *_variant(rec)])


def stable_id(rec: Recommendation) -> str:
    """The recommendation's id in the action plan: the same in the next report for the same
    recommendation, different for different resources (see the module docstring)."""
    digest = hashlib.sha256(stable_key(rec).encode("utf-8")).digest()
    return ID_PREFIX + base64.b32encode(digest).decode("ascii")[:ID_LENGTH]


def unique_ids(ids: Iterable[str]) -> list[str]:
    """The ids in order, a repeat suffixed ``-2``, ``-3``... so every row of a report has its own
    (Advisor listing the same recommendation twice for one resource is rare, but it happens)."""
    seen: dict[str, int] = {}
    result = []
    for value in ids:
        n = seen.get(value, 0) + 1
        seen[value] = n
        result.append(value if n == 1 else f"{value}-{n}")
    return result


# --- what changed since the previous report ------------------------------------------------------


@dataclass(frozen=True)
class OpenItem:
    """One open recommendation of a report, as far as a comparison needs it."""

    currency: str | None = None
    monthly: Decimal | None = None
    annual: Decimal | None = None

    def to_list(self) -> list[str | None]:
        return [self.currency, _str(self.monthly), _str(self.annual)]

    @classmethod
    def from_list(cls, data: list[Any]) -> OpenItem:
        currency, monthly, annual = (list(data) + [None, None, None])[:3]
        return cls(currency or None, parse_money(monthly), parse_money(annual))


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class CurrencyChange:
    """Savings in one currency: the open total before and now, and what new and resolved
    recommendations account for (monthly and annual figures)."""

    currency: str
    previous_monthly: Decimal = Decimal(0)
    current_monthly: Decimal = Decimal(0)
    previous_annual: Decimal = Decimal(0)
    current_annual: Decimal = Decimal(0)
    new_monthly: Decimal = Decimal(0)
    resolved_monthly: Decimal = Decimal(0)

    @property
    def delta_monthly(self) -> Decimal:
        return self.current_monthly - self.previous_monthly

    @property
    def delta_annual(self) -> Decimal:
        return self.current_annual - self.previous_annual

    def to_dict(self) -> dict[str, str]:
        return {
            "currency": self.currency,
            "previousMonthly": str(self.previous_monthly),
            "currentMonthly": str(self.current_monthly),
            "deltaMonthly": str(self.delta_monthly),
            "previousAnnual": str(self.previous_annual),
            "currentAnnual": str(self.current_annual),
            "deltaAnnual": str(self.delta_annual),
            "newMonthly": str(self.new_monthly),
            "resolvedMonthly": str(self.resolved_monthly),
        }


@dataclass
class Changes:
    """What changed between two reports: ids sorted, savings per currency (sorted by code)."""

    new: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)
    savings: list[CurrencyChange] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return (
            not self.new
            and not self.resolved
            and all(c.delta_monthly == 0 and c.delta_annual == 0 for c in self.savings)
        )

    def savings_for(self, currency: str) -> CurrencyChange | None:
        return next((c for c in self.savings if c.currency == currency), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "new": len(self.new),
            "resolved": len(self.resolved),
            "stillOpen": len(self.still_open),
            "savings": [c.to_dict() for c in self.savings],
        }


def changes_since(previous: Mapping[str, OpenItem], current: Mapping[str, OpenItem]) -> Changes:
    """Compare the previous report's open items with the current ones (both keyed by
    :func:`stable_id`). Savings are compared per currency only, never across; an item without a
    currency or amount counts in the lists but in no currency's figures."""
    changes = Changes(
        new=sorted(set(current) - set(previous)),
        resolved=sorted(set(previous) - set(current)),
        still_open=sorted(set(current) & set(previous)),
    )
    by_currency: dict[str, CurrencyChange] = {}

    def entry(item: OpenItem) -> CurrencyChange | None:
        if not item.currency or (item.monthly is None and item.annual is None):
            return None
        return by_currency.setdefault(item.currency, CurrencyChange(item.currency))

    for key, item in previous.items():
        change = entry(item)
        if change is not None:
            change.previous_monthly += item.monthly or 0
            change.previous_annual += item.annual or 0
            if key not in current:
                change.resolved_monthly += item.monthly or 0
    for key, item in current.items():
        change = entry(item)
        if change is not None:
            change.current_monthly += item.monthly or 0
            change.current_annual += item.annual or 0
            if key not in previous:
                change.new_monthly += item.monthly or 0
    changes.savings = [by_currency[c] for c in sorted(by_currency)]
    return changes


class Row(Protocol):
    """What :func:`open_items` reads of a report's row (``summary.ResourceRow`` has it)."""

    stable_id: str
    currency: str | None
    monthly_savings: Decimal | None
    annual_savings: Decimal | None


def open_items(rows: Iterable[Row]) -> dict[str, OpenItem]:
    """id -> open item for a report's rows (``ReportSummary``'s groups' rows, whose ids the
    summary has already made unique)."""
    return {row.stable_id: OpenItem(row.currency, row.monthly_savings, row.annual_savings) for row in rows}
