"""Validation of what callers ask for: a report over subscriptions, over a registered customer's
subscriptions, or over an uploaded CSV.

Every rejection is an :class:`InvalidInputError` naming the field and the problem, raised
before anything is stored (docs/architecture.md, rule 7). Both Advisor's category names
(``HighAvailability``) and ours (``reliability``) are accepted, in any case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import callbacks
from .customers import parse_guid
from .errors import InvalidInputError
from .models import (
    CATEGORIES,
    IMPACTS,
    ReportFilters,
    ReportType,
    is_guid,
    normalize_category,
    normalize_impact,
)

MAX_SUBSCRIPTIONS = 500
MAX_FILTER_VALUES = 50
EXPORT_FORMATS = ("xlsx", "csv")  # the action plan: one row per recommendation
FORMATS = ("html", "pdf", *EXPORT_FORMATS)
DEFAULT_FORMATS = ("html", "pdf")  # the action-plan export (xlsx, csv) only when asked for
MAX_CUSTOMER_LENGTH = 120
# Azure resource group names: 1-90 chars of letters, digits, underscores, hyphens, periods and
# parentheses; they cannot end with a period.
_RESOURCE_GROUP_RE = re.compile(r"^[-\w._()]{1,90}$", re.UNICODE)


@dataclass(frozen=True)
class ReportRequest:
    report_type: ReportType
    formats: tuple[str, ...]
    subscription_ids: tuple[str, ...] = ()
    filters: ReportFilters = field(default_factory=ReportFilters)
    customer: str = ""
    # A registered customer: the report covers its subscriptions and shows its name. Which
    # subscriptions those are is for the caller to look up (they live in the customer store).
    customer_id: str = ""
    # Where to POST the finished report (checked by shared/callbacks.py); a secret, kept on the
    # report entity only. "" for none.
    callback_url: str = ""


def _list_of_strings(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"{name} must be a list of strings", field=name)
    if len(value) > MAX_FILTER_VALUES and name != "subscriptionIds":
        raise InvalidInputError(f"{name} may hold at most {MAX_FILTER_VALUES} values", field=name)
    return [v.strip() for v in value]


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def parse_report_type(value: Any, name: str = "reportType") -> ReportType:
    if value is None or value == "":
        raise InvalidInputError(
            f"{name} is required: one of {', '.join(t.value for t in ReportType)}", field=name
        )
    try:
        return ReportType(str(value).strip().lower())
    except ValueError:
        raise InvalidInputError(
            f"{name} {str(value)[:40]!r} is not one of {', '.join(t.value for t in ReportType)}", field=name
        ) from None


def parse_formats(value: Any, name: str = "formats") -> tuple[str, ...]:
    if value is None:
        return DEFAULT_FORMATS
    if isinstance(value, str):  # query string form: "html,pdf"
        value = [v for v in value.split(",") if v.strip()]
    formats = [f.lower() for f in _list_of_strings(value, name)]
    if not formats:
        raise InvalidInputError(f"{name} must name at least one of {', '.join(FORMATS)}", field=name)
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise InvalidInputError(f"{name}: {bad[0][:20]!r} is not one of {', '.join(FORMATS)}", field=name)
    return _dedupe(formats)


def parse_filters(value: Any) -> ReportFilters:
    if value is None:
        return ReportFilters()
    if not isinstance(value, dict):
        raise InvalidInputError("filters must be an object", field="filters")
    unknown = set(value) - {"categories", "impacts", "resourceGroups"}
    if unknown:
        raise InvalidInputError(f"filters has an unknown key {sorted(unknown)[0]!r}", field="filters")
    categories = []
    for raw in _list_of_strings(value.get("categories"), "filters.categories"):
        cat = normalize_category(raw)
        if cat not in CATEGORIES:
            raise InvalidInputError(
                f"filters.categories: {raw[:40]!r} is not a category (use {', '.join(CATEGORIES)} or "
                "Advisor's names such as HighAvailability)",
                field="filters.categories",
            )
        categories.append(cat)
    impacts = []
    for raw in _list_of_strings(value.get("impacts"), "filters.impacts"):
        impact = normalize_impact(raw)
        if impact not in IMPACTS:
            raise InvalidInputError(
                f"filters.impacts: {raw[:40]!r} is not one of {', '.join(IMPACTS)}", field="filters.impacts"
            )
        impacts.append(impact)
    groups = []
    for raw in _list_of_strings(value.get("resourceGroups"), "filters.resourceGroups"):
        if not _RESOURCE_GROUP_RE.match(raw) or raw.endswith("."):
            raise InvalidInputError(
                f"filters.resourceGroups: {raw[:40]!r} is not a valid resource group name",
                field="filters.resourceGroups",
            )
        groups.append(raw)
    return ReportFilters(
        categories=_dedupe(categories), impacts=_dedupe(impacts), resource_groups=_dedupe(groups)
    )


def parse_customer(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_CUSTOMER_LENGTH:
        raise InvalidInputError(
            f"customer must be a string of at most {MAX_CUSTOMER_LENGTH} characters", field="customer"
        )
    return value.strip()


def parse_callback_url(value: Any) -> str:
    """``callbackUrl``: "" when absent, else an https URL to a public host (shared/callbacks.py).
    Refused, naming the field, when this app cannot sign callbacks (no CALLBACK_SIGNING_KEY)."""
    if value is None:
        return ""
    from .settings import get_settings

    settings = get_settings()
    url = callbacks.check_callback_url(value, allow_private=settings.callback_allow_private_hosts)
    if not settings.callback_signing_key:
        raise InvalidInputError(
            "callbackUrl cannot be used: this app has no CALLBACK_SIGNING_KEY to sign callbacks with",
            field="callbackUrl",
        )
    return url


CALLBACK_HEADER = "X-Callback-Url"


def parse_csv_callback_url(query: str | None, header: str | None) -> str:
    """The CSV upload's callback URL, from the ``callbackUrl`` query parameter or the
    ``X-Callback-Url`` header (which stays out of request logs, as a query string does not);
    checked as ``parse_callback_url`` checks it. Both at once is refused unless they agree."""
    if header is None:
        return parse_callback_url(query)
    if query is not None and query != header:
        raise InvalidInputError(
            f"the callback URL is given twice, differently: use {CALLBACK_HEADER} or callbackUrl",
            field=CALLBACK_HEADER,
        )
    try:
        return parse_callback_url(header)
    except InvalidInputError as exc:
        raise InvalidInputError(
            str(exc).replace("callbackUrl", CALLBACK_HEADER), field=CALLBACK_HEADER
        ) from None


def parse_report_request(body: Any) -> ReportRequest:
    """Validate ``POST /api/reports``'s JSON body."""
    if not isinstance(body, dict):
        raise InvalidInputError("the request body must be a JSON object", field="body")
    known = {"subscriptionIds", "customerId", "reportType", "formats", "filters", "customer", "callbackUrl"}
    unknown = set(body) - known
    if unknown:
        raise InvalidInputError(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    raw_ids, raw_customer_id = body.get("subscriptionIds"), body.get("customerId")
    customer_id, unique = "", tuple[str, ...]()
    if raw_customer_id is not None:
        if raw_ids is not None:
            raise InvalidInputError("give either subscriptionIds or customerId, not both", field="customerId")
        customer_id = parse_guid(raw_customer_id, "customerId")
        if body.get("customer") is not None:
            # The registered customer's own name is what the report shows.
            raise InvalidInputError(
                "customer cannot be given with customerId: the report shows the registered customer's name",
                field="customer",
            )
    else:
        unique = _subscription_ids(raw_ids)
    return ReportRequest(
        report_type=parse_report_type(body.get("reportType")),
        formats=parse_formats(body.get("formats")),
        subscription_ids=unique,
        filters=parse_filters(body.get("filters")),
        customer=parse_customer(body.get("customer")),
        customer_id=customer_id,
        callback_url=parse_callback_url(body.get("callbackUrl")),
    )


def _subscription_ids(raw_ids: Any) -> tuple[str, ...]:
    if raw_ids is None:
        raise InvalidInputError("subscriptionIds (or customerId) is required", field="subscriptionIds")
    ids = _list_of_strings(raw_ids, "subscriptionIds")
    bad = [s for s in ids if not is_guid(s)]
    if bad:
        raise InvalidInputError(
            f"subscriptionIds: {bad[0][:40]!r} is not a subscription id (a GUID)", field="subscriptionIds"
        )
    unique = _dedupe(s.lower() for s in ids)
    if not unique:
        raise InvalidInputError(
            "subscriptionIds must hold at least one subscription id", field="subscriptionIds"
        )
    _check_subscription_count(len(unique), "subscriptionIds")
    return unique


def _check_subscription_count(count: int, name: str) -> None:
    if count > MAX_SUBSCRIPTIONS:
        raise InvalidInputError(
            f"{name} holds {count} distinct ids; at most {MAX_SUBSCRIPTIONS} are allowed", field=name
        )


def check_csv_subscriptions(subscription_ids: Iterable[str]) -> tuple[str, ...]:
    """The distinct subscriptions a CSV export names, refused when more than one report may
    cover (the same limit as ``subscriptionIds``)."""
    unique = _dedupe(s.lower() for s in subscription_ids)
    if len(unique) > MAX_SUBSCRIPTIONS:
        raise InvalidInputError(
            f"The CSV names {len(unique)} distinct subscriptions; a report may cover at most "
            f"{MAX_SUBSCRIPTIONS}. Export fewer subscriptions (filter the portal's Advisor page "
            "by subscription) and start one report per file",
            field="Subscription ID",
        )
    return unique
