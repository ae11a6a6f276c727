"""The template context of a report: what the HTML and PDF templates print, and nothing else.

``build_report_context(report_meta, summary, generated_at)`` turns the report's metadata
(type, title, customer, subscriptions) and a :class:`~shared.summary.ReportSummary`
into a plain dict. The generation time is passed in, never read from the clock here, so the
same inputs always render the same report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from shared.models import CATEGORIES, IMPACTS, ReportFilters, ReportType, category_label, parse_money
from shared.summary import (
    ACHIEVABLE_RULE,
    KIND_LABELS,
    KIND_RESOURCE,
    SAVINGS_KINDS,
    RecommendationGroup,
    ReportSummary,
    impact_rank,
)

from . import charts
from .environment import CATEGORY_COLORS, format_datetime, format_money, impact_label
from .logo import KINDS as _LOGO_KINDS
from .logo import CoverLogo

# Categories in the charts: the colour-blind-safe palette, one fixed colour per category.
CATEGORY_CHART_COLORS = dict(zip(CATEGORIES, charts.PALETTE, strict=False))
_LOGO_PREFIXES = tuple(f"data:{kind};base64," for kind in _LOGO_KINDS)


def _inline(logo: CoverLogo | None) -> CoverLogo | None:
    """Only a logo that is an inline image of a kind we accept reaches a template."""
    return logo if logo and logo.uri.startswith(_LOGO_PREFIXES) else None


TOP_GROUPS_EXECUTIVE = 10


@dataclass(frozen=True)
class ReportTypeInfo:
    label: str
    audience: str
    description: str


REPORT_TYPES: dict[ReportType, ReportTypeInfo] = {
    ReportType.DETAILED: ReportTypeInfo(
        "Detailed report",
        "Engineers who make the changes",
        "Every recommendation, grouped by recommendation type, with every affected resource, its "
        "Azure resource id and a link to it in the Azure portal.",
    ),
    ReportType.EXECUTIVE: ReportTypeInfo(
        "Executive summary",
        "Leadership",
        "Where the risks are, what the savings could be in each currency, and the few actions that "
        "matter most.",
    ),
    ReportType.COST: ReportTypeInfo(
        "Cost optimization report",
        "FinOps and buyers",
        "Savings by subscription and by kind (right-size or shutdown, reservations, savings plans), "
        "what can be achieved without counting overlaps, and per purchase the SKU, quantity, region, "
        "term and lookback to act on.",
    ),
    ReportType.SECURITY: ReportTypeInfo(
        "Security report",
        "Security teams",
        "Security findings by impact and by resource: which resources carry the most risk and what "
        "to fix on each.",
    ),
    ReportType.OPERATIONS: ReportTypeInfo(
        "Operations report",
        "Platform and operations teams",
        "Reliability, operational excellence and performance findings by workload area (virtual "
        "machines, storage, databases, networking...).",
    ),
}


@dataclass(frozen=True)
class ReportMeta:
    """What a report is: its type, title and scope (the report entity's metadata). The filters
    are not here: the context shows the ones the summary was computed with (``summary.filters``,
    the report's effective filters), so the page cannot claim filters its numbers did not use."""

    report_type: ReportType
    title: str = ""
    customer: str = ""
    subscriptions: Mapping[str, str] = field(default_factory=dict)  # id -> display name ("" unknown)
    requested_at: datetime | None = None
    report_id: str = ""
    accent_color: str = ""  # the customer's branding colour, #rrggbb; "" for the default
    logo: CoverLogo | None = None  # the customer's logo, inline
    provider: str = ""  # who prepared the report
    provider_logo: CoverLogo | None = None

    @classmethod
    def coerce(cls, value: ReportMeta | Mapping[str, Any]) -> ReportMeta:
        if isinstance(value, ReportMeta):
            return value
        data = dict(value)
        subscriptions = data.get("subscriptions") or {}
        if not isinstance(subscriptions, Mapping):  # a list of ids
            subscriptions = {str(s): "" for s in subscriptions}
        return cls(
            report_type=ReportType(data.get("report_type") or data.get("reportType") or "detailed"),
            title=str(data.get("title") or ""),
            customer=str(data.get("customer") or ""),
            subscriptions={str(k): str(v or "") for k, v in subscriptions.items()},
            requested_at=_datetime(data.get("requested_at") or data.get("requestedAt")),
            report_id=str(data.get("report_id") or data.get("reportId") or ""),
            accent_color=str(data.get("accent_color") or data.get("accentColor") or ""),
        )


def _datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value).strip()
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


DEFAULT_ACCENT = "#1d6fb8"
_COLOUR = re.compile(r"#[0-9a-f]{6}")


def accent_color(value: str) -> str:
    """The colour the cover's accents take: the customer's when it is a plain ``#rrggbb`` (it
    goes into CSS, so nothing else passes), else the default."""
    colour = value.strip().lower()
    return colour if _COLOUR.fullmatch(colour) else DEFAULT_ACCENT


def shows_resources(report_type: ReportType) -> bool:
    """Whether a report of this type lists every affected resource (all but the executive
    summary, which shows the top recommendation types only). The PDF plan and the templates
    both follow this."""
    return report_type is not ReportType.EXECUTIVE


# The heading over each type's resource tables (HTML and PDF).
DETAIL_TITLES = {
    ReportType.COST: "What to buy and what to change",
    ReportType.SECURITY: "Findings and the resources they affect",
    ReportType.OPERATIONS: "Findings by workload area",
}


def default_title(report_type: ReportType, customer: str) -> str:
    label = REPORT_TYPES[report_type].label
    return f"Azure Advisor {label[0].lower() + label[1:]}" + (f" for {customer}" if customer else "")


def report_title(meta: ReportMeta) -> str:
    """The title the report prints (and the PDF carries in its metadata and footer)."""
    return meta.title.strip() or default_title(meta.report_type, meta.customer.strip())


def _filters_applied(filters: ReportFilters, report_type: ReportType) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    covered = report_type.categories
    if filters.categories and (covered is None or tuple(filters.categories) != tuple(covered)):
        items.append(
            {"label": "Categories", "value": ", ".join(category_label(c) for c in filters.categories)}
        )
    elif covered is not None:
        items.append(
            {"label": "Categories (report type)", "value": ", ".join(category_label(c) for c in covered)}
        )
    if filters.impacts:
        items.append({"label": "Impact", "value": ", ".join(impact_label(i) for i in filters.impacts)})
    if filters.resource_groups:
        items.append({"label": "Resource groups", "value": ", ".join(filters.resource_groups)})
    return items


def _breakdown(counts: Mapping[str, int], keys: list[str], total: int) -> list[dict[str, Any]]:
    peak = max((counts.get(k, 0) for k in keys), default=0) or 1
    return [
        {
            "key": key,
            "count": counts.get(key, 0),
            "share": round(100 * counts.get(key, 0) / total) if total else 0,
            "bar": round(100 * counts.get(key, 0) / peak),
        }
        for key in keys
    ]


def _check_summary(summary: ReportSummary, report_type: ReportType) -> None:
    covered = report_type.categories
    if covered is not None:
        outside = [c for c, n in summary.counts_by_category.items() if n and c not in covered]
        if outside:
            raise ValueError(
                f"the summary holds categories {outside} that a {report_type.value} report does not "
                "cover; summarize with the report's effective filters (pipeline.report_filters)"
            )
    if shows_resources(report_type) and not summary.has_rows and summary.total:
        raise ValueError("a summary rebuilt from its dict form has no resource rows to render")


def top_groups(groups: list[RecommendationGroup], limit: int) -> list[RecommendationGroup]:
    """The groups leadership should see first: highest impact, then most resources."""
    return sorted(groups, key=lambda g: (impact_rank(g.impact), -g.count, g.key))[:limit]


# How much each type shows before it says "n more".
SCOPE_BODY_ROWS = 8  # subscriptions listed in the body; all of them in the appendix
EXECUTIVE_ACTION_ROWS = 16  # top actions over all currencies ...
EXECUTIVE_ACTIONS_PER_CURRENCY = 5  # ... at most this many per currency
EXECUTIVE_RISKS = 6
SECURITY_TOP_RESOURCES = 25
CHART_SUBSCRIPTIONS = 12  # bars in a per-subscription chart
PORTAL_RESOURCE = "https://portal.azure.com/#@/resource"


def chart(
    items: list[dict[str, Any]],
    target: str = "html",
    *,
    title: str = "",
    currency: str = "",
    color: str = "",
    width: float = charts.DEFAULT_WIDTH,
    max_items: int = charts.DEFAULT_MAX_ITEMS,
) -> Markup:
    """A bar chart of ``items`` (label, value, optional color) for the HTML (inline SVG) or the
    PDF (an image of the same SVG); money values are printed with their currency."""
    pairs = [(str(i["label"]), float(i["value"])) for i in items]
    colors = [i.get("color") or color or charts.PALETTE[0] for i in items] if items else None
    fmt = (lambda v: format_money(Decimal(str(round(v, 2))), currency)) if currency else None
    svg = charts.bar_chart(
        pairs,
        width=width,
        colors=colors,
        max_items=max_items,
        value_format=fmt,
        title=title,
        target="pdf" if target == "pdf" else "html",
    )
    return charts.pdf_image(svg) if target == "pdf" else svg


def portal_url(resource_id: str) -> str:
    """The resource in the Azure portal; "" for anything that is not an ARM resource id."""
    rid = resource_id.strip()
    if not rid.lower().startswith("/subscriptions/") or any(c in rid for c in " \"'<>`\\"):
        return ""
    return PORTAL_RESOURCE + rid


def scope_sentence(customer: str, subscriptions: list[dict[str, Any]]) -> str:
    """'42 subscriptions of Contoso'; one subscription is named."""
    n = len(subscriptions)
    if n == 1:
        only = subscriptions[0]
        text = f"1 subscription ({only['name'] or only['id']})"
    else:
        text = f"{n:,} subscriptions"
    return f"{text} of {customer}" if customer else text


def _bars(items: list[dict[str, Any]], value_key: str = "value") -> list[dict[str, Any]]:
    """Adds ``bar`` (percent of the largest value) to chart items."""
    peak = max((float(i[value_key]) for i in items), default=0.0) or 1.0
    for item in items:
        item["bar"] = round(100 * float(item[value_key]) / peak)
    return items


def _subscription_rows(meta: ReportMeta, summary: ReportSummary) -> list[dict[str, Any]]:
    names: dict[str, str] = dict(summary.subscription_names)
    names.update({k: v for k, v in meta.subscriptions.items() if v})
    sub_ids = list(meta.subscriptions) + [
        s for s in summary.counts_by_subscription if s not in meta.subscriptions
    ]
    rows = []
    for s in sub_ids:
        savings = summary.savings_by_subscription.get(s, {})
        achievable = summary.achievable_by_subscription.get(s, {})
        rows.append(
            {
                "id": s,
                "name": names.get(s, ""),
                "count": summary.counts_by_subscription.get(s, 0),
                "savings": [savings[c] for c in sorted(savings)],
                "achievable": [achievable[c] for c in sorted(achievable)],
            }
        )
    return rows


def _per_subscription_charts(subscriptions: list[dict[str, Any]], currencies: list[str]) -> dict[str, Any]:
    """Bars of recommendations per subscription, and of savings per subscription per currency
    (the largest CHART_SUBSCRIPTIONS of each)."""
    by_count = sorted(subscriptions, key=lambda s: (-s["count"], s["name"] or s["id"]))
    counts = _bars(
        [
            {"label": s["name"] or s["id"], "value": s["count"], "text": f"{s['count']:,}"}
            for s in by_count[:CHART_SUBSCRIPTIONS]
        ]
    )
    savings = []
    for currency in currencies:
        items = [
            {"label": s["name"] or s["id"], "value": t.monthly, "text": format_money(t.monthly, currency)}
            for s in subscriptions
            for t in s["savings"]
            if t.currency == currency and t.monthly > 0
        ]
        items.sort(key=lambda i: (-i["value"], i["label"]))
        if items:
            savings.append(
                {
                    "currency": currency,
                    "rows": _bars(items[:CHART_SUBSCRIPTIONS]),
                    "more": max(0, len(items) - CHART_SUBSCRIPTIONS),
                }
            )
    return {"counts": counts, "counts_more": max(0, len(by_count) - CHART_SUBSCRIPTIONS), "savings": savings}


def _executive(summary: ReportSummary) -> dict[str, Any]:
    """Top actions per currency (recommendation types by their savings in that currency, never
    ranked across currencies) and the top risks (the non-cost types of highest impact)."""
    per_currency = []
    budget = EXECUTIVE_ACTION_ROWS
    currencies = [t.currency for t in summary.savings]
    per = max(1, min(EXECUTIVE_ACTIONS_PER_CURRENCY, budget // max(1, len(currencies))))
    for currency in currencies:
        ranked = sorted(
            (g for g in summary.groups if currency in g.savings),
            key=lambda g: (-g.savings[currency].monthly, g.key),
        )
        items = [
            {
                "group": g,
                "count": g.savings[currency].count,
                "monthly": g.savings[currency].monthly,
                "annual": g.savings[currency].annual,
            }
            for g in ranked[:per]
        ]
        if items:
            per_currency.append({"currency": currency, "rows": items, "more": max(0, len(ranked) - per)})
    risks = top_groups([g for g in summary.groups if g.category != "cost"], EXECUTIVE_RISKS)
    return {
        "actions": per_currency,
        "risks": risks,
        "risk_types": sum(1 for g in summary.groups if g.category != "cost"),
    }


def _cost(summary: ReportSummary) -> dict[str, Any]:
    """Savings per currency by kind, with the achievable figure, as table and chart data."""
    currencies = []
    for total in summary.savings:
        kinds = summary.savings_by_kind.get(total.currency, {})
        items = [
            {
                "kind": k,
                "label": KIND_LABELS[k],
                "total": kinds[k],
                "value": kinds[k].monthly,
                "text": format_money(kinds[k].monthly, total.currency),
            }
            for k in SAVINGS_KINDS
            if k in kinds
        ]
        achievable = summary.achievable.get(total.currency)
        bars = [{"label": i["label"], "value": i["value"], "color": charts.PALETTE[2]} for i in items]
        if achievable is not None:
            bars.append(
                {
                    "label": "Achievable without overlap",
                    "value": achievable.monthly,
                    "color": charts.PALETTE[0],
                }
            )
        currencies.append(
            {
                "currency": total.currency,
                "total": total,
                "kinds": _bars(items),
                "achievable": achievable,
                "chart": bars,
            }
        )
    groups = [{"group": g, "kind": _group_kind(g)} for g in summary.groups]
    return {"currencies": currencies, "rule": ACHIEVABLE_RULE, "groups": groups}


def _group_kind(group: RecommendationGroup) -> str:
    return next((r.kind for r in group.rows if r.kind), KIND_RESOURCE)


def _security(summary: ReportSummary) -> dict[str, Any]:
    """Resources ranked by their findings (high first), each with what to fix."""
    resources: dict[str, dict[str, Any]] = {}
    for group in summary.groups:
        for row in group.rows:
            key = (
                row.resource_id or f"{row.subscription_id}/{row.resource_group}/{row.resource_name}"
            ).lower()
            entry = resources.get(key)
            if entry is None:
                entry = resources[key] = {"row": row, "findings": [], "high": 0, "medium": 0, "low": 0}
            entry["findings"].append((impact_rank(row.impact), group.problem))
            if row.impact in ("high", "medium", "low"):
                entry[row.impact] += 1
    ranked = sorted(
        resources.values(),
        key=lambda e: (-e["high"], -e["medium"], -len(e["findings"]), e["row"].resource_name.lower()),
    )
    for entry in ranked[:SECURITY_TOP_RESOURCES]:
        entry["findings"] = [text for _, text in sorted(entry["findings"])]
    return {"resources": ranked[:SECURITY_TOP_RESOURCES], "resource_total": len(ranked)}


def _operations(summary: ReportSummary) -> dict[str, Any]:
    """Workload areas in report order, each with its counts by category and its groups."""
    areas: dict[str, dict[str, Any]] = {}
    for index, group in enumerate(summary.groups):
        area = areas.setdefault(
            group.area or "Other services",
            {
                "name": group.area or "Other services",
                "groups": [],
                "resources": 0,
                "categories": {},
                "high": 0,
            },
        )
        area["groups"].append((index + 1, group))
        area["resources"] += group.count
        area["categories"][group.category] = area["categories"].get(group.category, 0) + group.count
        if group.impact == "high":
            area["high"] += group.count
    items = list(areas.values())
    return {
        "areas": items,
        "chart": _bars(
            [{"label": a["name"], "value": a["resources"], "text": f"{a['resources']:,}"} for a in items]
        ),
    }


def build_report_context(
    report_meta: ReportMeta | Mapping[str, Any],
    summary: ReportSummary,
    generated_at: datetime,
) -> dict[str, Any]:
    """The context every report template renders from (HTML and PDF alike)."""
    meta = ReportMeta.coerce(report_meta)
    report_type = meta.report_type
    _check_summary(summary, report_type)
    info = REPORT_TYPES[report_type]
    filters = summary.filters

    subscriptions = _subscription_rows(meta, summary)
    names = {s["id"]: s["name"] for s in subscriptions if s["name"]}
    names.update({k: v for k, v in summary.subscription_names.items() if v and k not in names})

    covered = report_type.categories
    category_keys = list(covered if covered is not None else CATEGORIES)
    category_keys += [c for c in summary.counts_by_category if c not in category_keys]
    impact_keys = list(IMPACTS) + [i for i in summary.counts_by_impact if i not in IMPACTS]
    categories = _breakdown(summary.counts_by_category, category_keys, summary.total)
    for item in categories:
        item["label"] = category_label(item["key"])
        item["color"] = CATEGORY_CHART_COLORS.get(item["key"], charts.MORE_COLOR)
        item["text"] = f"{item['count']:,} ({item['share']}%)"
        item["value"] = item["count"]
    impacts = _breakdown(summary.counts_by_impact, impact_keys, summary.total)
    for item in impacts:
        item["label"] = impact_label(item["key"])
        item["color"] = charts.IMPACT_COLORS.get(item["key"], charts.IMPACT_COLORS["other"])
        item["text"] = f"{item['count']:,} ({item['share']}%)"
        item["value"] = item["count"]

    show_resources = shows_resources(report_type)
    groups = summary.groups if show_resources else top_groups(summary.groups, TOP_GROUPS_EXECUTIVE)
    title = report_title(meta)
    customer = meta.customer.strip()
    currencies = [t.currency for t in summary.savings]
    return {
        "report": {
            "id": meta.report_id,
            "type": report_type.value,
            "type_label": info.label,
            "audience": info.audience,
            "description": info.description,
            "title": title,
            "customer": customer,
            "accent": accent_color(meta.accent_color),
            "logo": _inline(meta.logo),
            "provider": meta.provider.strip(),
            "provider_logo": _inline(meta.provider_logo),
            "generated_at": format_datetime(generated_at),
            "generated_date": generated_at.strftime("%Y-%m-%d"),
            "requested_at": format_datetime(meta.requested_at) if meta.requested_at else "",
            "show_resources": show_resources,
            "cost_columns": report_type is ReportType.COST,
            "has_savings": report_type in (ReportType.DETAILED, ReportType.EXECUTIVE, ReportType.COST),
            "scope": scope_sentence(customer, subscriptions),
            "detail_title": DETAIL_TITLES.get(report_type, "Recommendations and affected resources"),
            "scope_short": f"in {len(subscriptions):,} subscription{'s' if len(subscriptions) != 1 else ''}",
        },
        "subscriptions": subscriptions,
        "scope_body": sorted(subscriptions, key=lambda s: (-s["count"], s["name"] or s["id"]))[
            :SCOPE_BODY_ROWS
        ],
        "scope_appendix": len(subscriptions) > SCOPE_BODY_ROWS,
        "sub_names": names,
        "filters": _filters_applied(filters, report_type),
        "totals": {
            "recommendations": summary.total,
            "received": summary.received,
            "folded": summary.folded_variants,
            "resources": summary.resource_count,
            "high": summary.high_impact,
            "groups": summary.group_count,
            "rows": summary.row_count,
        },
        "categories": categories,
        "impacts": impacts,
        "savings": summary.savings,
        "unknown_currency_count": summary.unknown_currency_count,
        "savings_note": summary.savings_note,
        "top_opportunities": _by_currency(summary.top_opportunities),
        "groups": groups,
        "groups_total": summary.group_count,
        "summary": summary,
        "per_subscription": _per_subscription_charts(subscriptions, currencies),
        "executive": _executive(summary) if report_type is ReportType.EXECUTIVE else None,
        "cost": _cost(summary) if report_type is ReportType.COST else None,
        "security": _security(summary) if report_type is ReportType.SECURITY else None,
        "operations": _operations(summary) if report_type is ReportType.OPERATIONS else None,
        "changes": _changes(summary.changes, REPORT_TYPES[report_type].label),
        "portal_url": portal_url,
        "chart": chart,
    }


def _changes(data: Mapping[str, Any] | None, label: str) -> dict[str, Any] | None:
    """The comparison with the previous report as the templates print it."""
    if not data:
        return None
    when = _datetime(data.get("previousRequestedAt"))
    savings = [
        {
            "currency": str(c["currency"]),
            "previous_monthly": parse_money(c.get("previousMonthly")) or Decimal(0),
            "current_monthly": parse_money(c.get("currentMonthly")) or Decimal(0),
            "delta_monthly": parse_money(c.get("deltaMonthly")) or Decimal(0),
        }
        for c in data.get("savings") or ()
    ]
    for c in savings:
        delta = Decimal(str(c["delta_monthly"]))
        sign = "+" if delta > 0 else ("\u2212" if delta < 0 else "")
        c["delta_text"] = f"{sign}{format_money(abs(delta), str(c['currency']))}"
    return {
        "previous_label": f"{label[0].lower() + label[1:]} of {when:%Y-%m-%d}"
        if when
        else f"previous {label.lower()}",
        "new": int(data.get("new", 0)),
        "resolved": int(data.get("resolved", 0)),
        "still_open": int(data.get("stillOpen", 0)),
        "savings": savings,
    }


def _by_currency(opportunities: list[Any]) -> list[dict[str, Any]]:
    """Top opportunities as one ranked list per currency (never one USD item above a EUR one)."""
    out: dict[str, list[Any]] = {}
    for o in opportunities:
        out.setdefault(o.currency, []).append(o)
    return [{"currency": c, "rows": items} for c, items in out.items()]


def _color_key(category: str) -> str:
    return category if category in CATEGORY_COLORS else "other"
