"""Fetch recommendations from the Azure Advisor API (azure-mgmt-advisor) for one subscription.

What this adds over ``client.recommendations.list``:
- filters: categories and resource groups become a safely quoted server-side ``$filter``;
  impacts (not filterable server-side) and anything the server could not take are applied here;
- paging by page, with a count of pages called and a guard that refuses a repeated nextLink
  (the SDK itself stops on a missing or empty one) as a permanent fault: the subscription is
  then left out with that reason, never counted from the pages read before it;
- error classification: transient faults raise :class:`TransientError` (the durable retry
  policy retries them), permanent ones raise :class:`PermanentError` with a sanitized message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from .errors import PermanentError, TransientError
from .models import (
    API_CATEGORY,
    Recommendation,
    ReportFilters,
    normalize_category,
    normalize_impact,
    parse_money,
)

log = logging.getLogger(__name__)

# Past this many OR-ed terms the server-side filter gets unwieldy; the rest is filtered here.
MAX_FILTER_TERMS = 24

TOKEN_REJECTED = "token_rejected"  # noqa: S105 - a failure code: ARM answered 401 to our token
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
_RG_RE = re.compile(r"/resourceGroups/([^/]+)", re.IGNORECASE)
_SUB_RE = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
_ADVISOR_SUFFIX_RE = re.compile(r"/providers/Microsoft\.Advisor/recommendations/[^/]+$", re.IGNORECASE)


def quote_odata(value: str) -> str:
    """Quote a value for an OData ``$filter``: single quotes, an inner ``'`` doubled."""
    return "'" + value.replace("'", "''") + "'"


def build_filter(filters: ReportFilters) -> tuple[str | None, bool]:
    """Build the server-side ``$filter`` for the categories and resource groups asked for.

    Advisor's grammar has ``eq``, ``and`` and ``or`` (``and`` binding tighter); we write the
    filter in disjunctive normal form so no parentheses are needed. Returns the filter (None
    for no filter) and whether it expresses the whole category/resource-group selection; when
    it does not (too many combinations), only categories go to the server.
    """
    cats = [API_CATEGORY.get(c, c) for c in filters.categories]
    groups = list(filters.resource_groups)
    cat_terms = [f"Category eq {quote_odata(c)}" for c in cats]
    rg_terms = [f"ResourceGroup eq {quote_odata(g)}" for g in groups]
    if cat_terms and rg_terms:
        if len(cat_terms) * len(rg_terms) <= MAX_FILTER_TERMS:
            return " or ".join(f"{c} and {r}" for c in cat_terms for r in rg_terms), True
        return " or ".join(cat_terms), False
    terms = cat_terms or rg_terms
    if not terms:
        return None, True
    if len(terms) > MAX_FILTER_TERMS:
        return None, False
    return " or ".join(terms), True


def classify_error(exc: BaseException, subscription_id: str) -> TransientError | PermanentError | None:
    """Map an Azure SDK exception to our transient/permanent errors (None: not an SDK error)."""
    where = f"subscription {subscription_id}"
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, TimeoutError, ConnectionError)):
        return TransientError(
            f"Advisor API unreachable for {where}: {type(exc).__name__}", code="unreachable"
        )
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "status_code", None) is None:
        # Raised by azure-identity while getting a token: a wrong secret, tenant or client id.
        return PermanentError(
            f"Could not authenticate to Azure for {where}: the credential was rejected",
            code="authentication_failed",
        )
    if isinstance(exc, DecodeError):
        # A page that is not valid JSON (status 200): a broken proxy or a truncated answer.
        return TransientError(f"Advisor API sent an unreadable page for {where}", code="malformed_response")
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
        arm_code = _arm_error_code(exc)
        detail = f"HTTP {status}" + (f" {arm_code}" if arm_code else "")
        if status in _TRANSIENT_STATUS:
            return TransientError(
                f"Advisor API {detail} for {where}", code="throttled" if status == 429 else "unavailable"
            )
        if status == 401 or isinstance(exc, ClientAuthenticationError):
            # ARM refused a token the credential handed out (expired or revoked early): worth one
            # more try with a token asked for anew (see clients.renew_advisor_credential).
            return PermanentError(
                f"Authentication to the Advisor API failed for {where} ({detail})", code=TOKEN_REJECTED
            )
        if status == 403:
            return PermanentError(
                f"The identity has no access to {where} ({detail}); grant it the Reader role",
                code="authorization_failed",
            )
        if status == 404 or isinstance(exc, ResourceNotFoundError):
            code = "subscription_not_found" if arm_code in ("SubscriptionNotFound", None, "") else "not_found"
            return PermanentError(f"{where.capitalize()} was not found ({detail})", code=code)
        return PermanentError(f"Advisor API rejected the request for {where} ({detail})", code="bad_request")
    return None


def _arm_error_code(exc: HttpResponseError) -> str | None:
    code = getattr(getattr(exc, "error", None), "code", None)
    if code:
        return str(code)
    try:
        # azure-core types the response as its common base, which has no json(); both of its
        # transports' responses have one.
        body = cast(Any, exc.response).json() if exc.response is not None else None
    except Exception:  # noqa: BLE001 - a body that is not JSON just has no code
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code") or "") or None
    return None


def to_recommendation(item: Any, subscription_id: str) -> Recommendation:
    """Normalize one SDK ``ResourceRecommendationBase`` into our model."""
    rec_id: str = item.id or ""
    metadata = item.resource_metadata
    resource_id = (getattr(metadata, "resource_id", None) or _ADVISOR_SUFFIX_RE.sub("", rec_id)) or ""
    sub_match = _SUB_RE.match(resource_id) or _SUB_RE.match(rec_id)
    rg_match = _RG_RE.search(resource_id)
    ext = {str(k): "" if v is None else str(v) for k, v in (item.extended_properties or {}).items()}
    short = item.short_description
    return Recommendation(
        recommendation_id=rec_id,
        subscription_id=(sub_match.group(1) if sub_match else subscription_id).lower(),
        category=normalize_category(item.category),
        impact=normalize_impact(item.impact),
        recommendation_type_id=(item.recommendation_type_id or "").lower(),
        problem=(getattr(short, "problem", None) or item.description or "").strip(),
        solution=(getattr(short, "solution", None) or "").strip(),
        resource_id=resource_id,
        resource_type=item.impacted_field or "",
        resource_name=item.impacted_value or "",
        resource_group=rg_match.group(1) if rg_match else "",
        monthly_savings=parse_money(ext.get("savingsAmount")),  # the other figure and the
        annual_savings=parse_money(ext.get("annualSavingsAmount")),  # currency code are
        savings_currency=ext.get("savingsCurrency"),  # normalised by Recommendation itself
        last_updated=item.last_updated,
        learn_more_link=item.learn_more_link or "",
        potential_benefits=item.potential_benefits or "",
        description=item.description or "",
        extended_properties=ext,
        source="api",
    )


@dataclass
class FetchStats:
    pages: int = 0
    received: int = 0  # as the API returned them
    kept: int = 0  # after client-side filters
    stopped_on_repeated_link: bool = False


def fetch_recommendations(
    client: Any,
    subscription_id: str,
    filters: ReportFilters,
    *,
    page_size: int | None = None,
    stats: FetchStats | None = None,
) -> Iterator[Recommendation]:
    """Yield the subscription's recommendations matching ``filters``, page by page.

    ``client`` is an ``AdvisorManagementClient`` bound to the subscription. SDK errors are
    re-raised as TransientError / PermanentError. ``stats`` (if given) counts pages and items.
    """
    stats = stats if stats is not None else FetchStats()
    server_filter, _complete = build_filter(filters)
    seen_tokens: set[str] = set()
    try:
        pager = client.recommendations.list(filter=server_filter, top=page_size).by_page()
        for page in pager:
            stats.pages += 1
            for item in page:
                stats.received += 1
                rec = to_recommendation(item, subscription_id)
                # Always re-check client-side: impacts are never server-side, and a server
                # filter may cover only part of the selection.
                if filters.matches(rec):
                    stats.kept += 1
                    yield rec
            token = pager.continuation_token
            if token:
                if token in seen_tokens:
                    # Following it would loop; stopping would silently drop the pages after it.
                    # The subscription cannot be read whole, so it is left out and says why.
                    stats.stopped_on_repeated_link = True
                    raise PermanentError(
                        f"Advisor sent the same next-page link twice for subscription {subscription_id} "
                        f"(after {stats.pages} pages), so its recommendations could not all be read",
                        code="incomplete_listing",
                    )
                seen_tokens.add(token)
    except (TransientError, PermanentError):
        raise
    except Exception as exc:
        classified = classify_error(exc, subscription_id)
        if classified is None:
            raise
        raise classified from None


def subscription_display_name(client: Any, subscription_id: str) -> str:
    """The subscription's display name from ARM (``GET /subscriptions/{id}``), or "" if the
    identity may not read it. Reports are far easier to read with names than with GUIDs."""
    from azure.core.rest import HttpRequest

    request = HttpRequest("GET", f"/subscriptions/{subscription_id}", params={"api-version": "2022-12-01"})
    try:
        response = client._send_request(request)  # the client's own authenticated pipeline
        if response.status_code != 200:
            return ""
        return str(response.json().get("displayName") or "")
    except Exception:  # noqa: BLE001 - a name is a nicety; the report works without it
        return ""


def advisor_client_factory(
    credential: Any, *, arm_endpoint: str, ca_bundle: str = ""
) -> Callable[[str], Any]:
    """Return ``subscription_id -> AdvisorManagementClient`` sharing one credential."""
    from azure.mgmt.advisor import AdvisorManagementClient

    scope = arm_endpoint.rstrip("/") + "/.default"
    extra: dict[str, Any] = {"connection_verify": ca_bundle} if ca_bundle else {}

    def build(subscription_id: str) -> Any:
        return AdvisorManagementClient(
            credential, subscription_id, base_url=arm_endpoint, credential_scopes=[scope], **extra
        )

    return build


__all__ = [
    "TOKEN_REJECTED",
    "FetchStats",
    "advisor_client_factory",
    "build_filter",
    "classify_error",
    "fetch_recommendations",
    "subscription_display_name",
    "quote_odata",
    "to_recommendation",
]
