"""The OpenAPI 2.0 definition of the HTTP API, as data: the routes the app registers (triggers/),
their parameters, answers and the JSON bodies they carry.

Written for the Logic Apps / Power Automate custom-connector importer, which reads Swagger 2.0
only: every operation and parameter has an ``operationId`` / ``x-ms-summary``, the parameters a
flow rarely needs are ``x-ms-visibility: advanced``, the app's own plumbing (signed links, the
definition itself, the connection test) is ``internal``, the function key is the one security
definition, and starting a report is a long-running operation: 202 with ``Location`` and
``Retry-After``, polled until the answer is not 202 (a 201 would stop Logic Apps from polling).

Enumerations come from the domain (``shared.models``, ``shared.customers``), so the definition
cannot drift from what the app accepts and answers. Routes that other work is adding beside
these live in :mod:`openapi.pending`, kept apart so they can be moved here when they land.
"""

from __future__ import annotations

from typing import Any

from shared.customers import AuthType, SyncStatus
from shared.models import CATEGORIES, IMPACTS, CallbackStatus, ReportStatus, ReportType
from shared.report_request import (
    DEFAULT_FORMATS,
    EXPORT_FORMATS,
    FORMATS,
    MAX_CUSTOMER_LENGTH,
    MAX_FILTER_VALUES,
    MAX_SUBSCRIPTIONS,
)
from shared.schedules import MAX_NAME_LENGTH, MAX_RETENTION_DAYS

Json = dict[str, Any]

GUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
TITLE = "Advisor Reports"
VERSION = "1.0.0"
SECURITY = "functionKey"

# -- building blocks ----------------------------------------------------------------------------


def ref(name: str) -> Json:
    return {"$ref": f"#/definitions/{name}"}


def prop(
    summary: str, description: str = "", type_: str = "string", *, visibility: str = "", **extra: Any
) -> Json:
    """A schema property with the title a flow designer shows (``x-ms-summary``)."""
    schema: Json = {"type": type_, "x-ms-summary": summary}
    if description:
        schema["description"] = description
    if visibility:
        schema["x-ms-visibility"] = visibility
    schema.update(extra)
    return schema


def nullable(schema: Json) -> Json:
    """A value that may be ``null`` (Swagger 2.0 has no ``nullable``; ``x-nullable`` is the
    extension the connector tooling and validators read)."""
    return {**schema, "x-nullable": True}


def guid(summary: str, description: str = "") -> Json:
    return prop(summary, description, pattern=GUID_PATTERN)


# A flow designer offers the registered customers, by name, wherever a customer id is asked for.
CUSTOMER_PICKER: Json = {
    "x-ms-dynamic-values": {
        "operationId": "ListCustomers",
        "value-collection": "customers",
        "value-path": "customerId",
        "value-title": "name",
    }
}


def customer_choice(summary: str, description: str = "") -> Json:
    """A customer id asked of the caller, picked from the registered customers."""
    return {**guid(summary, description), **CUSTOMER_PICKER}


def timestamp(summary: str, description: str = "") -> Json:
    return nullable(prop(summary, description, format="date-time"))


def array(summary: str, items: Json, description: str = "", **extra: Any) -> Json:
    return prop(summary, description, "array", items=items, **extra)


def obj(
    properties: Json,
    *,
    required: tuple[str, ...] = (),
    description: str = "",
    summary: str = "",
    visibility: str = "",
    **extra: Any,
) -> Json:
    schema: Json = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    if summary:
        schema["x-ms-summary"] = summary
    if visibility:
        schema["x-ms-visibility"] = visibility
    schema.update(extra)
    return schema


def count_map(summary: str, description: str) -> Json:
    return prop(summary, description, "object", additionalProperties={"type": "integer"})


def param(
    name: str,
    location: str,
    summary: str,
    description: str,
    *,
    required: bool = False,
    visibility: str | None = None,
    type_: str = "string",
    **extra: Any,
) -> Json:
    """A path, query or header parameter."""
    out: Json = {
        "name": name,
        "in": location,
        "required": required or location == "path",
        "type": type_,
        "x-ms-summary": summary,
        "description": description,
    }
    if visibility:
        out["x-ms-visibility"] = visibility
    out.update(extra)
    return out


def body(summary: str, description: str, schema: Json) -> Json:
    return {
        "name": "body",
        "in": "body",
        "required": True,
        "x-ms-summary": summary,
        "description": description,
        "schema": schema,
    }


def answer(description: str, schema: Json | None = None, headers: Json | None = None) -> Json:
    out: Json = {"description": description}
    if schema is not None:
        out["schema"] = schema
    if headers:
        out["headers"] = headers
    return out


def error(description: str) -> Json:
    return answer(description, ref("Error"))


def operation(
    operation_id: str,
    summary: str,
    description: str,
    *,
    tag: str,
    responses: Json,
    parameters: list[Json] | None = None,
    visibility: str | None = None,
    anonymous: bool = False,
    consumes: list[str] | None = None,
    produces: list[str] | None = None,
    long_running: bool = False,
) -> Json:
    """One operation. Function-level routes answer 401 without a valid key (the host does,
    before the app runs); anonymous ones declare an empty ``security``."""
    out: Json = {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "x-ms-summary": summary,
        "tags": [tag],
        "parameters": parameters or [],
        "responses": dict(responses),
    }
    if visibility:
        out["x-ms-visibility"] = visibility
    if anonymous:
        out["security"] = []
    else:
        out["responses"]["401"] = {"$ref": "#/responses/Unauthorized"}
    if consumes:
        out["consumes"] = consumes
    if produces:
        out["produces"] = produces
    if long_running:
        out["x-ms-long-running-operation"] = True
    return out


# -- shared parameters, headers and answers --------------------------------------------------


def report_id_param() -> Json:
    return param(
        "reportId", "path", "Report ID",
        "The report's id (a GUID, as `reportId` in the answer that started it).",
        pattern=GUID_PATTERN,
    )  # fmt: skip


def customer_id_path() -> Json:
    return param(
        "customerId", "path", "Customer ID", "The customer's id (a GUID).", pattern=GUID_PATTERN,
        **CUSTOMER_PICKER,
    )  # fmt: skip


def subscription_id_path() -> Json:
    return param(
        "subscriptionId", "path", "Subscription ID", "The Azure subscription's id (a GUID).",
        pattern=GUID_PATTERN,
    )  # fmt: skip


def token_param() -> Json:
    return param(
        "token", "query", "Link token",
        "The token of a link the app signed for this report (`REPORT_LINK_KEY`); it expires.",
        required=True, visibility="internal",
    )  # fmt: skip


def refresh_param() -> Json:
    return param(
        "refresh", "query", "Refresh",
        "true fetches from Advisor again instead of answering from the hour-long cache.",
        type_="boolean", visibility="advanced",
    )  # fmt: skip


def format_param(formats: tuple[str, ...]) -> Json:
    return param("fmt", "path", "Format", "Which of the report's files.", enum=list(formats))


LOCATION_HEADER: Json = {
    "type": "string",
    "description": "The report's URL: poll it (GET) until the answer is not 202. A signed link "
    "(`/api/links/reports/{reportId}?token=...`) when the app has a link key, so a poller "
    "needs no function key; never a Durable Functions management URL.",
}
RETRY_AFTER_HEADER: Json = {
    "type": "integer",
    "description": "Seconds to wait before polling `Location` again.",
}
ASYNC_HEADERS: Json = {"Location": LOCATION_HEADER, "Retry-After": RETRY_AFTER_HEADER}


def redirect_answer(description: str) -> Json:
    return answer(
        description,
        headers={
            "Location": {"type": "string", "description": "A read-only download URL that expires."},
            "Cache-Control": {"type": "string", "description": "no-store"},
        },
    )


# -- definitions: every JSON body the app reads or answers --------------------------------------


def _report_filters() -> Json:
    def values(summary: str, what: str, enum: tuple[str, ...]) -> Json:
        return array(
            summary, {"type": "string", "enum": list(enum)},
            f"Only these {what}; empty or absent means all.", maxItems=MAX_FILTER_VALUES,
        )  # fmt: skip

    return obj(
        {
            "categories": values("Categories", "categories (Advisor's names, such as "
                                 "HighAvailability, are accepted too)", CATEGORIES),
            "impacts": values("Impacts", "impacts", IMPACTS),
            "resourceGroups": array(
                "Resource groups", {"type": "string", "minLength": 1, "maxLength": 90},
                "Only these resource groups; empty or absent means all.", maxItems=MAX_FILTER_VALUES,
            ),
        },
        description="Which recommendations the report shows.",
        additionalProperties=False,
    )  # fmt: skip


def _formats(formats: tuple[str, ...]) -> Json:
    return array(
        "Formats", {"type": "string", "enum": list(formats)},
        f"The files to render: {', '.join(formats)} ({', '.join(EXPORT_FORMATS)}: the action "
        f"plan, one row per recommendation); default {', '.join(DEFAULT_FORMATS)}.",
        minItems=1, uniqueItems=True,
    )  # fmt: skip


def callback_url(summary: str = "Callback URL") -> Json:
    return prop(
        summary,
        "An https URL on a public host: when the report ends (completed or failed) the app POSTs "
        "the report to it, signed (X-Advisor-Signature), retried on failure. Needs the app's "
        "CALLBACK_SIGNING_KEY.",
        format="uri",
        visibility="advanced",
    )


def _report_request() -> Json:
    return obj(
        {
            "reportType": prop(
                "Report type", "What the report is for (executive: leadership; cost: savings; "
                "security; operations: reliability, operational excellence and performance; "
                "detailed: everything, for engineers).", enum=[t.value for t in ReportType],
            ),
            "customerId": customer_choice(
                "Customer ID", "A registered customer: the report covers all its subscriptions "
                "and shows its name and branding. Give this or subscriptionIds, not both.",
            ),
            "subscriptionIds": array(
                "Subscription IDs", {"type": "string", "pattern": GUID_PATTERN},
                "The subscriptions to report on. Give this or customerId, not both.",
                minItems=1, maxItems=MAX_SUBSCRIPTIONS, **{"x-ms-visibility": "advanced"},
            ),
            "formats": {**_formats(FORMATS), "x-ms-visibility": "advanced"},
            "filters": {**_report_filters(), "x-ms-summary": "Filters", "x-ms-visibility": "advanced"},
            "customer": prop(
                "Customer name", "The name shown on the report when it is asked for by "
                "subscriptions (not with customerId).", maxLength=MAX_CUSTOMER_LENGTH,
                **{"x-ms-visibility": "advanced"},
            ),
            "callbackUrl": callback_url(),
        },
        required=("reportType",),
        description="What to report on: a registered customer (customerId) or a list of "
        "subscriptions (subscriptionIds), exactly one of the two.",
        additionalProperties=False,
    )  # fmt: skip


def _report_started() -> Json:
    return obj(
        {
            "reportId": guid("Report ID", "The report's id; also the orchestration's instance id."),
            "status": prop("Status", "The report's status: pending.", enum=[s.value for s in ReportStatus]),
            "statusUrl": prop("Status URL", "The report's URL, the same as the Location header."),
        },
        required=("reportId", "status", "statusUrl"),
        description="A report that was accepted and started.",
    )


def _report_files(formats: tuple[str, ...]) -> Json:
    return obj(
        {fmt: prop(f"{fmt.upper()} link", f"The {fmt.upper()} file's download link (answers "
                   "302 to a short-lived URL).") for fmt in formats},
        description="A completed report's files, one link per format it was asked with.",
    )  # fmt: skip


def _report() -> Json:
    left_out = obj(
        {
            "subscriptionId": guid("Subscription ID"),
            "reason": prop("Reason", "Why the subscription could not be read."),
        },
        required=("subscriptionId", "reason"),
    )
    currency = obj(
        {
            "monthly": prop("Monthly savings", "Decimal amount, as text."),
            "annual": prop("Annual savings", "Decimal amount, as text."),
            "count": prop("Recommendations", "How many recommendations the sums cover.", "integer"),
            "achievable": obj(
                {
                    "monthly": prop("Achievable monthly savings", "Decimal amount, as text."),
                    "annual": prop("Achievable annual savings", "Decimal amount, as text."),
                },
                summary="Achievable savings",
                description="What can be saved without overlap (a resource counted once, "
                "reservations and savings plans for the same compute not added together): the "
                "headline the cost and executive reports print. Absent on reports made before "
                "it was shown.",
            ),
        }
    )
    return obj(
        {
            "reportId": guid("Report ID"),
            "status": prop(
                "Status", "pending, processing and generating while it runs; completed or failed "
                "when it has ended.", enum=[s.value for s in ReportStatus],
            ),
            "reportType": prop("Report type", enum=[t.value for t in ReportType]),
            "formats": array("Formats", {"type": "string"}),
            "source": prop("Source", "api (Advisor) or csv (an uploaded export).", enum=["api", "csv"]),
            "customer": nullable(prop("Customer name")),
            "customerId": nullable(guid("Customer ID", "The registered customer, when the report "
                                        "was asked for by customer.")),
            "scope": obj(
                {
                    "subscriptionIds": array("Subscription IDs", {"type": "string"}),
                    "subscriptionsLeftOut": array(
                        "Subscriptions left out", left_out,
                        "Subscriptions that could not be read, with the reason; nothing of them "
                        "is counted.",
                    ),
                },
                summary="Scope",
            ),
            "filters": {**_report_filters(), "x-ms-summary": "Filters"},
            "requestedAt": timestamp("Requested at"),
            "fetchedAt": timestamp("Fetched at"),
            "completedAt": timestamp("Completed at"),
            "durationsSeconds": prop(
                "Durations", "Seconds per step.", "object", additionalProperties={"type": "number"},
            ),
            "advisorApiPages": prop("Advisor API pages", "Pages read from the Advisor API.", "integer"),
            "counts": obj(
                {
                    "recommendations": prop("Recommendations", "How many the report shows.", "integer"),
                    "byCategory": prop(
                        "By category", "Category -> label and count.", "object",
                        additionalProperties=obj(
                            {"label": {"type": "string"}, "count": {"type": "integer"}}
                        ),
                    ),
                    "byImpact": count_map("By impact", "Impact -> count."),
                },
                summary="Counts",
            ),
            "savings": obj(
                {
                    "byCurrency": prop(
                        "Savings by currency", "Currency -> monthly and annual savings (upper "
                        "bounds: overlapping recommendations are not netted out) and the "
                        "achievable figure without overlap; `unknown` counts recommendations "
                        "without a currency.", "object",
                        additionalProperties=currency,
                    ),
                    "note": nullable(prop("Savings note", "What the savings figures mean.")),
                },
                summary="Savings",
            ),
            "failure": obj(
                {
                    "code": nullable(prop("Failure code")),
                    "message": nullable(prop("Failure message")),
                },
                description="Why the report failed (only when status is failed).",
                summary="Failure",
            ),
            "files": {**_report_files(FORMATS), "x-ms-summary": "Files"},
            "progress": obj(
                {
                    "subscriptionsTotal": prop("Subscriptions", type_="integer"),
                    "subscriptionsDone": prop("Subscriptions done", type_="integer"),
                    "recommendationsFetched": prop("Recommendations fetched", type_="integer"),
                },
                description="How far a running report is (only while it runs).",
                summary="Progress",
            ),
            "callback": obj(
                {
                    "status": prop("Callback status", enum=[c.value for c in CallbackStatus]),
                    "attempts": prop("Callback attempts", type_="integer"),
                    "deliveredAt": timestamp("Delivered at"),
                    "lastError": nullable(prop("Callback error", "Why the last attempt failed.")),
                },
                description="How the callback's delivery went (only when the report was asked "
                "with a callbackUrl; never the URL).",
                summary="Callback",
            ),
        },
        required=("reportId", "status", "reportType", "formats", "scope", "filters", "counts", "savings"),
        description="A report: its status, scope, counts, savings and, once completed, its files.",
    )  # fmt: skip


def _report_list_item() -> Json:
    return obj(
        {
            "reportId": guid("Report ID"),
            "status": prop("Status", enum=[s.value for s in ReportStatus]),
            "reportType": prop("Report type", enum=[t.value for t in ReportType]),
            "requestedAt": timestamp("Requested at"),
            "customerId": nullable(guid("Customer ID")),
            "url": prop("Report URL", "The report's URL (GET it for the whole report)."),
        },
        required=("reportId", "status", "reportType", "url"),
    )


def _report_list() -> Json:
    return obj(
        {
            "reports": array("Reports", ref("ReportListItem"), "Newest first."),
            "continuationToken": nullable(
                prop("Continuation token", "Pass it back for the next page; null on the last page.")
            ),
        },
        required=("reports",),
    )


def _branding(*, answer_: bool, partial: bool = False) -> Json:
    if answer_:
        logo = nullable(
            obj(
                {"contentType": prop("Logo type"), "size": prop("Logo size", "Bytes.", "integer")},
                summary="Logo",
            )
        )
        return obj(
            {
                "displayName": nullable(prop("Display name", "The name reports show.")),
                "accentColor": nullable(prop("Accent colour", "#rrggbb")),
                "logo": logo,
            },
            summary="Branding",
        )
    logo_text = "A PNG, JPEG or SVG (without script) of at most 256 KB, as base64 or a data: URL."
    return obj(
        {
            "displayName": prop("Display name", "The name reports show (else the customer's name).",
                                maxLength=200),
            "accentColor": prop("Accent colour", "The report cover's colour, #rrggbb.",
                                pattern="^#[0-9a-fA-F]{6}$"),
            "logo": nullable(prop("Logo", logo_text + (" null removes it." if partial else ""))),
        },
        additionalProperties=False,
        summary="Branding", visibility="advanced",
    )  # fmt: skip


def _customer(*, detail: bool = False) -> Json:
    properties: Json = {
        "customerId": guid("Customer ID"),
        "name": prop("Name"),
        "branding": _branding(answer_=True),
        "createdAt": timestamp("Created at"),
        "updatedAt": timestamp("Updated at"),
    }
    if detail:
        properties["subscriptionIds"] = array(
            "Subscription IDs", {"type": "string"}, "The customer's registered subscriptions."
        )
    return obj(properties, required=("customerId", "name", "branding"))


def _customer_input(*, partial: bool) -> Json:
    properties: Json = {
        "name": prop("Name", "The customer's name.", minLength=1, maxLength=200),
        "branding": _branding(answer_=False, partial=partial),
    }
    if not partial:
        properties["customerId"] = guid("Customer ID", "Generated when not given.")
        properties["customerId"]["x-ms-visibility"] = "advanced"
    return obj(
        properties,
        required=() if partial else ("name",),
        description="The fields given replace the customer's." if partial else "A customer to register.",
        additionalProperties=False,
    )


def _subscription() -> Json:
    return obj(
        {
            "subscriptionId": guid("Subscription ID"),
            "displayName": prop("Display name"),
            "customerId": guid("Customer ID"),
            "auth": obj(
                {
                    "type": prop("Auth type", enum=[a.value for a in AuthType]),
                    "tenantId": guid("Tenant ID"),
                    "clientId": guid("Client ID"),
                },
                required=("type",),
                description="How the app signs in to the subscription; never the secret.",
                summary="Auth",
            ),
            "syncStatus": prop(
                "Sync status", "The last connection test's outcome.", enum=[s.value for s in SyncStatus],
            ),
            "lastChecked": timestamp("Last checked"),
            "lastCheckMessage": nullable(prop("Last check message")),
            "createdAt": timestamp("Created at"),
            "updatedAt": timestamp("Updated at"),
        },
        required=("subscriptionId", "customerId", "auth", "syncStatus"),
    )  # fmt: skip


def _subscription_input(*, partial: bool) -> Json:
    auth = obj(
        {
            "type": prop(
                "Auth type", "managedIdentity (the app's identity, through Azure Lighthouse "
                "across tenants; the default) or clientSecret (an app registration in the "
                "customer's tenant).", enum=[a.value for a in AuthType],
            ),
            "tenantId": guid("Tenant ID", "clientSecret only."),
            "clientId": guid("Client ID", "clientSecret only."),
            "clientSecret": prop(
                "Client secret", "clientSecret only. Stored in Key Vault and never shown again.",
                format="password", minLength=1, maxLength=1024,
            ),
        },
        additionalProperties=False,
        summary="Auth", visibility="advanced",
    )  # fmt: skip
    properties: Json = {
        "displayName": prop("Display name", maxLength=200),
        "customerId": customer_choice("Customer ID", "The registered customer the subscription belongs to."),
        "auth": auth,
    }
    if not partial:
        properties = {"subscriptionId": guid("Subscription ID"), **properties}
    return obj(
        properties,
        required=() if partial else ("subscriptionId", "customerId"),
        additionalProperties=False,
        description="The fields given replace the subscription's; a new clientSecret alone "
        "becomes a new Key Vault version."
        if partial
        else "A subscription to register.",
    )


def _statistics_fields() -> Json:
    return {
        "total": prop("Recommendations", type_="integer"),
        "countsByCategory": count_map("By category", "Category -> count."),
        "countsByImpact": count_map("By impact", "Impact -> count."),
        "savings": array(
            "Savings",
            obj(
                {
                    "currency": prop("Currency"),
                    "monthly": prop("Monthly savings", "Decimal amount, as text (an upper bound)."),
                    "annual": prop("Annual savings", "Decimal amount, as text (an upper bound)."),
                },
                required=("currency", "monthly", "annual"),
            ),
        ),
        "topRecommendationTypes": array(
            "Top recommendation types",
            obj(
                {
                    "recommendationTypeId": prop("Recommendation type"),
                    "problem": nullable(prop("Problem")),
                    "category": nullable(prop("Category")),
                    "impact": nullable(prop("Impact")),
                    "count": prop("Count", type_="integer"),
                }
            ),
            "The ten most frequent.",
        ),
        "lastUpdated": timestamp("Advisor's last update"),
    }


def _subscription_statistics() -> Json:
    return obj(
        {
            "subscriptionId": guid("Subscription ID"),
            **_statistics_fields(),
            "fetchedAt": timestamp("Fetched at"),
            "cached": prop("Cached", "Whether the answer came from the cache.", "boolean"),
        },
        required=("subscriptionId", "total", "countsByCategory", "countsByImpact", "savings"),
    )


def _customer_statistics() -> Json:
    failed = obj(
        {"subscriptionId": guid("Subscription ID"), "code": prop("Error code"), "message": prop("Message")},
        required=("subscriptionId", "code", "message"),
    )
    return obj(
        {
            "customerId": guid("Customer ID"),
            **_statistics_fields(),
            "subscriptions": array("Subscriptions counted", {"type": "string"}),
            "subscriptionsFailed": array("Subscriptions failed", failed, "Those that could not be read."),
            "fetchedAt": timestamp("Fetched at", "The oldest of the figures summed."),
        },
        required=("customerId", "total", "countsByCategory", "countsByImpact", "savings", "subscriptions"),
    )


def _connection_test_result() -> Json:
    return obj(
        {
            "success": prop("Success", type_="boolean"),
            "message": prop("Message"),
            "subscriptionName": nullable(prop("Subscription name")),
            "recommendationCount": nullable(prop("Recommendations", type_="integer")),
            "errorCode": nullable(
                prop(
                    "Error code", "invalid_client_secret, unknown_client, unknown_tenant, "
                    "authorization_failed, subscription_not_found, unreachable, secret_not_found, "
                    "unavailable, timeout.",
                )
            ),
        },
        required=("success", "message"),
    )  # fmt: skip


def _error() -> Json:
    return obj(
        {
            "error": obj(
                {
                    "code": prop("Error code", "Machine-readable: invalid_input, invalid_json, "
                                 "not_found, conflict, too_large, invalid_link, ..."),
                    "message": prop("Error message", "What was wrong, for a person."),
                    "field": prop("Field", "The request's field (or parameter) that was wrong."),
                },
                required=("code", "message"),
                summary="Error",
            )
        },
        required=("error",),
        description="Every error the app answers: 4xx for what the caller can fix; nothing is "
        "stored for a rejected request.",
    )  # fmt: skip


def definitions() -> Json:
    return {
        "Error": _error(),
        "ReportRequest": _report_request(),
        "ReportStarted": _report_started(),
        "Report": _report(),
        "ReportListItem": _report_list_item(),
        "ReportList": _report_list(),
        "Customer": _customer(),
        "CustomerDetail": _customer(detail=True),
        "CustomerInput": _customer_input(partial=False),
        "CustomerPatch": _customer_input(partial=True),
        "CustomerList": obj({"customers": array("Customers", ref("Customer"))}, required=("customers",)),
        "CustomerDeleted": obj(
            {
                "customerId": guid("Customer ID"),
                "deleted": prop("Deleted", type_="boolean"),
                "subscriptionsDeleted": array("Subscriptions deleted", {"type": "string"}),
            },
            required=("customerId", "deleted", "subscriptionsDeleted"),
        ),
        "Subscription": _subscription(),
        "SubscriptionInput": _subscription_input(partial=False),
        "SubscriptionPatch": _subscription_input(partial=True),
        "SubscriptionList": obj(
            {"subscriptions": array("Subscriptions", ref("Subscription"))}, required=("subscriptions",)
        ),
        "SubscriptionDeleted": obj(
            {"subscriptionId": guid("Subscription ID"), "deleted": prop("Deleted", type_="boolean")},
            required=("subscriptionId", "deleted"),
        ),
        "ConnectionTestResult": _connection_test_result(),
        "SubscriptionStatistics": _subscription_statistics(),
        "CustomerStatistics": _customer_statistics(),
        "Health": obj(
            {
                "status": prop("Status", enum=["healthy", "unhealthy"]),
                "storage": prop("Storage", enum=["reachable", "unreachable"]),
            },
            required=("status", "storage"),
        ),
        "Connection": obj(
            {"connected": prop("Connected", type_="boolean")},
            required=("connected",),
        ),
    }


# -- paths --------------------------------------------------------------------------------------


def _report_paths() -> Json:
    started = answer(
        "Accepted: the report runs. Poll `Location` (honouring `Retry-After`) until the answer "
        "is not 202; the final answer (200) is the report.",
        ref("ReportStarted"),
        ASYNC_HEADERS,
    )
    running = answer(
        "The report is still running: poll `Location` again after `Retry-After` seconds.",
        ref("Report"),
        ASYNC_HEADERS,
    )
    done = answer("The report has ended: status completed (with file links) or failed (with the reason).",
                  ref("Report"))  # fmt: skip
    # The long-running convention (x-ms-long-running-operation): the final result's schema on
    # the start operation's 200, so a flow designer offers the finished report's fields (the
    # PDF link) as the action's outputs. The start itself never answers 200, and never 201,
    # which would stop Logic Apps from polling.
    finished = answer(
        "The finished report, which the operation yields once polling `Location` ends (the "
        "start itself answers 202).",
        ref("Report"),
    )
    link_params = [report_id_param(), token_param()]
    return {
        "/reports": {
            "post": operation(
                "StartReport", "Start a report",
                "Starts a report on a registered customer's subscriptions (customerId) or on a "
                "list of subscriptions. Answers 202 with Location and Retry-After: the HTTP "
                "action's asynchronous pattern polls it and continues with the finished report.",
                tag="Reports", visibility="important", consumes=["application/json"],
                parameters=[body("Report request", "What to report on.", ref("ReportRequest"))],
                responses={
                    "200": finished,
                    "202": started,
                    "400": error("The request is invalid; error.field names what."),
                    "404": error("The customer (customerId) is not registered."),
                    "503": error("The report could not be started; try again."),
                },
                long_running=True,
            ),
            "get": operation(
                "ListReports", "List reports", "Reports, newest first, a page at a time.",
                tag="Reports",
                parameters=[
                    param("status", "query", "Status", "Only reports with this status.",
                          enum=[s.value for s in ReportStatus], visibility="advanced"),
                    param("customerId", "query", "Customer ID", "Only this customer's reports.",
                          pattern=GUID_PATTERN, **CUSTOMER_PICKER),
                    param("limit", "query", "Page size", "Reports per page (1-100, default 20).",
                          type_="integer", minimum=1, maximum=100, visibility="advanced"),
                    param("continuationToken", "query", "Continuation token",
                          "The continuationToken of the previous page.", visibility="advanced",
                          maxLength=99),
                ],
                responses={"200": answer("A page of reports.", ref("ReportList")),
                           "400": error("A parameter is invalid; error.field names it.")},
            ),
        },
        "/reports/csv": {
            "post": operation(
                "StartCsvReport", "Start a report from a CSV export",
                "Starts a report on the CSV file that the Azure portal's Advisor page exports "
                "(\"Download as CSV\"), sent as the body (at most 20 MB). The whole file is "
                "checked before anything is stored. Answers 202 like Start a report.",
                tag="Reports", consumes=["text/csv"],
                parameters=[
                    param("reportType", "query", "Report type", "What the report is for.",
                          required=True, enum=[t.value for t in ReportType]),
                    param("formats", "query", "Formats", f"Comma-separated, of {', '.join(FORMATS)} "
                          f"(default {','.join(DEFAULT_FORMATS)}).",
                          visibility="advanced"),
                    param("category", "query", "Category", "The category of a per-category export "
                          "(it has no Category column).", visibility="advanced"),
                    param("customer", "query", "Customer name", "The name shown on the report.",
                          maxLength=MAX_CUSTOMER_LENGTH, visibility="advanced"),
                    param("callbackUrl", "query", "Callback URL", "An https URL on a public host "
                          "the report is POSTed to, signed, when it ends (request logs may keep "
                          "a URL in the query: X-Callback-Url does not).", format="uri",
                          visibility="advanced"),
                    param("X-Callback-Url", "header", "Callback URL (header)", "The callback URL "
                          "as a request header instead of callbackUrl, so it stays out of request "
                          "logs; checked the same way. Both at once must be the same URL.",
                          format="uri", visibility="advanced"),
                    body("CSV file", "The exported CSV file.", {"type": "string", "format": "binary"}),
                ],
                responses={
                    "200": finished,
                    "202": started,
                    "400": error("The file or a parameter is invalid; the message names the line."),
                    "413": error("The file is larger than 20 MB."),
                    "503": error("The report could not be started; try again."),
                },
                long_running=True,
            ),
        },
        "/reports/{reportId}": {
            "get": operation(
                "GetReport", "Get a report",
                "The report: 202 with Location and Retry-After while it runs, 200 when it is "
                "completed or failed. This is the URL a Logic App polls.",
                tag="Reports", parameters=[report_id_param()],
                responses={"200": done, "202": running, "404": error("No such report.")},
            ),
            "delete": operation(
                "DeleteReport", "Delete a report",
                "Deletes the report and everything it left behind (recommendation rows, files, "
                "uploaded CSV, orchestration history) at once, as retention does when it is old. "
                "Refused while the report still runs.",
                tag="Reports", visibility="advanced", parameters=[report_id_param()],
                responses={
                    "204": answer("Deleted."),
                    "404": error("No such report."),
                    "409": error("The report is still running; nothing was deleted."),
                },
            ),
        },
        "/reports/{reportId}/files/{fmt}": {
            "get": operation(
                "DownloadReportFile", "Download a report file",
                "Redirects (302) to a read-only download URL of the completed report's file, "
                "valid for DOWNLOAD_SAS_MINUTES.",
                tag="Reports", parameters=[report_id_param(), format_param(FORMATS)],
                responses={
                    "302": redirect_answer("The file's download URL is in Location."),
                    "400": error("Not a format the app renders."),
                    "404": error("No such report, or it has no such file (yet)."),
                },
            ),
        },
        "/links/reports/{reportId}": {
            "get": operation(
                "GetReportByLink", "Get a report through a signed link",
                "What Get a report answers, for a link the app signed for that report: no "
                "function key needed. These are the links the app hands out as Location and "
                "file links when it has a link key.",
                tag="Reports", visibility="internal", anonymous=True, parameters=link_params,
                responses={
                    "200": done, "202": running,
                    "403": error("The link is not valid or has expired."),
                    "404": error("No such report."),
                },
            ),
        },
        "/links/reports/{reportId}/files/{fmt}": {
            "get": operation(
                "DownloadReportFileByLink", "Download a report file through a signed link",
                "What Download a report file answers, for a link the app signed for that report.",
                tag="Reports", visibility="internal", anonymous=True,
                parameters=[*link_params, format_param(FORMATS)],
                responses={
                    "302": redirect_answer("The file's download URL is in Location."),
                    "400": error("Not a format the app renders."),
                    "403": error("The link is not valid or has expired."),
                    "404": error("No such report, or it has no such file (yet)."),
                },
            ),
        },
    }  # fmt: skip


def _customer_paths() -> Json:
    bad_id = error("The customer id is not a GUID, or the body is invalid; error.field names what.")
    missing = error("No such customer.")
    return {
        "/customers": {
            "post": operation(
                "CreateCustomer", "Register a customer",
                "Registers a customer, optionally with its branding (display name, accent "
                "colour, logo) for the reports' covers.",
                tag="Customers", consumes=["application/json"],
                parameters=[body("Customer", "The customer.", ref("CustomerInput"))],
                responses={
                    "201": answer("Registered.", ref("Customer")),
                    "400": error("The body is invalid; error.field names what."),
                    "409": error("A customer with that id exists."),
                },
            ),
            "get": operation(
                "ListCustomers", "List customers", "The registered customers, by name.",
                tag="Customers", responses={"200": answer("The customers.", ref("CustomerList"))},
            ),
        },
        "/customers/{customerId}": {
            "get": operation(
                "GetCustomer", "Get a customer", "One customer, with its subscriptions' ids.",
                tag="Customers", parameters=[customer_id_path()],
                responses={"200": answer("The customer.", ref("CustomerDetail")),
                           "400": bad_id, "404": missing},
            ),
            "patch": operation(
                "UpdateCustomer", "Update a customer",
                "Changes the name and/or the branding (a field given replaces it).",
                tag="Customers", consumes=["application/json"],
                parameters=[customer_id_path(),
                            body("Changes", "The fields to change.", ref("CustomerPatch"))],
                responses={"200": answer("The customer as changed.", ref("Customer")),
                           "400": bad_id, "404": missing},
            ),
            "delete": operation(
                "DeleteCustomer", "Delete a customer",
                "Deletes the customer. Refused (409) while it has subscriptions, unless cascade "
                "is true, which deletes them and their Key Vault secrets too.",
                tag="Customers",
                parameters=[
                    customer_id_path(),
                    param("cascade", "query", "Cascade", "Delete the customer's subscriptions too.",
                          type_="boolean", visibility="advanced"),
                ],
                responses={
                    "200": answer("Deleted.", ref("CustomerDeleted")),
                    "400": bad_id, "404": missing,
                    "409": error("The customer still has subscriptions (use cascade=true)."),
                },
            ),
        },
        "/customers/{customerId}/statistics": {
            "get": operation(
                "GetCustomerStatistics", "Get a customer's statistics",
                "Recommendation counts and savings summed over the customer's subscriptions, "
                "each cached for an hour.",
                tag="Customers", parameters=[customer_id_path(), refresh_param()],
                responses={"200": answer("The figures.", ref("CustomerStatistics")),
                           "400": bad_id, "404": missing},
            ),
        },
    }  # fmt: skip


def _subscription_paths() -> Json:
    bad = error("The subscription id is not a GUID, or the body is invalid; error.field names what.")
    missing = error("No such subscription (or customer).")
    return {
        "/subscriptions": {
            "post": operation(
                "CreateSubscription", "Register a subscription",
                "Registers an Azure subscription to a customer, with how the app signs in to it. "
                "A client secret goes to Key Vault and is never shown again.",
                tag="Subscriptions", consumes=["application/json"],
                parameters=[body("Subscription", "The subscription.", ref("SubscriptionInput"))],
                responses={
                    "201": answer("Registered.", ref("Subscription")),
                    "400": bad, "404": error("The customer is not registered."),
                    "409": error("The subscription is registered already."),
                },
            ),
            "get": operation(
                "ListSubscriptions", "List subscriptions", "The registered subscriptions.",
                tag="Subscriptions",
                parameters=[param("customerId", "query", "Customer ID", "Only this customer's.",
                                  pattern=GUID_PATTERN, **CUSTOMER_PICKER)],
                responses={"200": answer("The subscriptions.", ref("SubscriptionList")),
                           "400": error("customerId is not a GUID."),
                           "404": error("The customer is not registered.")},
            ),
        },
        "/subscriptions/{subscriptionId}": {
            "get": operation(
                "GetSubscription", "Get a subscription", "One registered subscription.",
                tag="Subscriptions", parameters=[subscription_id_path()],
                responses={"200": answer("The subscription.", ref("Subscription")),
                           "400": bad, "404": missing},
            ),
            "patch": operation(
                "UpdateSubscription", "Update a subscription",
                "Changes the display name, customer or credentials; changed credentials reset "
                "the sync status.",
                tag="Subscriptions", consumes=["application/json"],
                parameters=[subscription_id_path(),
                            body("Changes", "The fields to change.", ref("SubscriptionPatch"))],
                responses={"200": answer("The subscription as changed.", ref("Subscription")),
                           "400": bad, "404": missing},
            ),
            "delete": operation(
                "DeleteSubscription", "Delete a subscription",
                "Deletes the subscription and its Key Vault secret.",
                tag="Subscriptions", parameters=[subscription_id_path()],
                responses={"200": answer("Deleted.", ref("SubscriptionDeleted")),
                           "400": bad, "404": missing},
            ),
        },
        "/subscriptions/{subscriptionId}/test": {
            "post": operation(
                "TestSubscription", "Test a subscription's connection",
                "Signs in with the subscription's own credentials and reads its recommendations; "
                "answers within 30 seconds.",
                tag="Subscriptions", parameters=[subscription_id_path()],
                responses={
                    "200": answer("The outcome (success or the reason).", ref("ConnectionTestResult")),
                    "400": bad, "404": missing,
                    "500": error("The test could not run; the error was logged."),
                    "504": answer("The test did not finish in time.", ref("ConnectionTestResult")),
                },
            ),
        },
        "/subscriptions/{subscriptionId}/statistics": {
            "get": operation(
                "GetSubscriptionStatistics", "Get a subscription's statistics",
                "Recommendation counts, savings and the most frequent recommendation types, "
                "cached for an hour.",
                tag="Subscriptions", parameters=[subscription_id_path(), refresh_param()],
                responses={
                    "200": answer("The figures.", ref("SubscriptionStatistics")),
                    "400": bad, "404": missing,
                    "502": error("Azure refused the subscription; error.code says why."),
                    "503": error("Azure did not answer; try again."),
                },
            ),
        },
    }  # fmt: skip


def _service_paths() -> Json:
    return {
        "/health": {
            "get": operation(
                "GetHealth", "Check health", "Whether the app and its storage answer.",
                tag="Service", visibility="internal", anonymous=True,
                responses={"200": answer("Healthy.", ref("Health")),
                           "503": answer("Storage does not answer.", ref("Health"))},
            ),
        },
        "/connection": {
            "get": operation(
                "TestConnection", "Test the connection",
                "Answers 200 when the function key is accepted: the connector's connection test.",
                tag="Service", visibility="internal",
                responses={"200": answer("The key is accepted.", ref("Connection"))},
            ),
        },
        "/openapi.json": {
            "get": operation(
                "GetApiDefinition", "Get the API definition",
                "This definition (OpenAPI 2.0), to import as a custom connector.",
                tag="Service", visibility="internal", anonymous=True,
                responses={"200": answer("The definition.", {"type": "object"})},
            ),
        },
    }  # fmt: skip


# -- scheduled reports: /api/schedules ---------------------------------------------------------


def _schedule_fields(document: Json, *, answer_: bool) -> Json:
    request = document["definitions"]["ReportRequest"]["properties"]
    fields: Json = {
        "name": prop("Name", "The schedule's name.", minLength=1, maxLength=MAX_NAME_LENGTH),
        "customerId": customer_choice("Customer ID", "A registered customer (or subscriptionIds, not both)."),
        "subscriptionIds": request["subscriptionIds"],
        "reportType": request["reportType"],
        "formats": request["formats"],
        "filters": request["filters"],
        "customer": request["customer"],
        "cron": prop(
            "CRON expression", "When reports start: five fields (minute hour day month weekday), "
            "in timeZone.",
        ),
        "timeZone": prop("Time zone", "An IANA time zone such as Europe/Berlin (default UTC)."),
        "enabled": prop("Enabled", "Whether the schedule starts reports (default true).", "boolean"),
        "retentionDays": prop(
            "Retention days", "How many days its reports are kept: from REPORT_RETENTION_DAYS "
            "up, or 0 for that default.", "integer", minimum=0, maximum=MAX_RETENTION_DAYS,
            **{"x-ms-visibility": "advanced"},
        ),
    }  # fmt: skip
    if answer_:
        fields["customerId"] = nullable(guid("Customer ID"))
        fields["subscriptionIds"] = nullable(array("Subscription IDs", {"type": "string"}))
        fields["customer"] = nullable(prop("Customer name"))
        fields["formats"] = array("Formats", {"type": "string"})
        fields["filters"] = document["definitions"]["Report"]["properties"]["filters"]
        fields["hasCallback"] = prop("Has callback", "Whether its reports are POSTed to a URL.", "boolean")
    else:
        fields["callbackUrl"] = callback_url()
    return fields


def _schedule(document: Json) -> Json:
    return obj(
        {
            "scheduleId": guid("Schedule ID"),
            **_schedule_fields(document, answer_=True),
            "nextRunAt": timestamp("Next run at"),
            "lastRunAt": timestamp("Last run at"),
            "lastReportId": nullable(guid("Last report ID")),
            "lastError": nullable(prop("Last error")),
            "createdAt": timestamp("Created at"),
            "updatedAt": timestamp("Updated at"),
        },
        required=("scheduleId", "name", "reportType", "cron", "enabled"),
        description="A schedule: which report to start when.",
    )


def _add_schedules(document: Json) -> None:
    definitions, paths = document["definitions"], document["paths"]
    definitions["ScheduleInput"] = obj(
        _schedule_fields(document, answer_=False),
        required=("name", "reportType", "cron"),
        description="A schedule: a customer (customerId) or subscriptions (subscriptionIds), "
        "exactly one of the two.",
        additionalProperties=False,
    )
    patch = {k: dict(v) for k, v in _schedule_fields(document, answer_=False).items()}
    for clearable in ("callbackUrl", "customer", "retentionDays"):  # null clears them
        patch[clearable] = nullable(patch[clearable])
    definitions["SchedulePatch"] = obj(
        patch,
        description="Any of the fields; those given replace the schedule's.",
        additionalProperties=False,
    )
    definitions["Schedule"] = _schedule(document)
    definitions["ScheduleList"] = obj(
        {"schedules": array("Schedules", ref("Schedule"))}, required=("schedules",)
    )
    started_by = nullable(guid("Schedule ID", "The schedule that started the report, if one did."))
    definitions["Report"]["properties"]["scheduleId"] = started_by
    definitions["ReportListItem"]["properties"]["scheduleId"] = started_by
    schedule_id = param(
        "scheduleId", "path", "Schedule ID", "The schedule's id (a GUID).", pattern=GUID_PATTERN
    )
    invalid = error("The request is invalid; error.field names what.")
    missing = error("No such schedule.")
    paging = [
        p for p in paths["/reports"]["get"]["parameters"] if p["name"] in ("limit", "continuationToken")
    ]
    paths["/schedules"] = {
        "post": operation(
            "CreateSchedule", "Create a schedule",
            "Starts a report on a CRON schedule in a time zone, optionally POSTing it to a callback URL.",
            tag="Schedules", consumes=["application/json"],
            parameters=[body("Schedule", "The schedule.", ref("ScheduleInput"))],
            responses={"201": answer("Created.", ref("Schedule"), {"Location": {
                           "type": "string", "description": "The schedule's URL."}}),
                       "400": invalid,
                       "404": error("The customer is not registered.")},
        ),
        "get": operation(
            "ListSchedules", "List schedules", "The schedules, all or one customer's.",
            tag="Schedules",
            parameters=[param("customerId", "query", "Customer ID", "Only this customer's.",
                              pattern=GUID_PATTERN, **CUSTOMER_PICKER)],
            responses={"200": answer("The schedules.", ref("ScheduleList")),
                       "400": error("customerId is not a GUID.")},
        ),
    }  # fmt: skip
    paths["/schedules/{scheduleId}"] = {
        "get": operation(
            "GetSchedule", "Get a schedule", "One schedule.", tag="Schedules", parameters=[schedule_id],
            responses={"200": answer("The schedule.", ref("Schedule")), "404": missing},
        ),
        "patch": operation(
            "UpdateSchedule", "Update a schedule", "Changes any of the schedule's fields.",
            tag="Schedules", consumes=["application/json"],
            parameters=[schedule_id, body("Changes", "The fields to change.", ref("SchedulePatch"))],
            responses={"200": answer("The schedule as changed.", ref("Schedule")),
                       "400": invalid, "404": missing},
        ),
        "delete": operation(
            "DeleteSchedule", "Delete a schedule", "Deletes the schedule; its reports stay.",
            tag="Schedules", parameters=[schedule_id],
            responses={"204": answer("Deleted."), "404": missing},
        ),
    }  # fmt: skip
    paths["/schedules/{scheduleId}/reports"] = {
        "get": operation(
            "ListScheduleReports", "List a schedule's reports",
            "The reports the schedule started, newest first, a page at a time (a deleted "
            "schedule's id still lists them).",
            tag="Schedules", parameters=[schedule_id, *paging],
            responses={"200": answer("A page of reports.", ref("ReportList")),
                       "400": error("A parameter is invalid; error.field names it."),
                       "404": error("The id is not a schedule id.")},
        ),
    }  # fmt: skip


# -- the whole document -------------------------------------------------------------------------


def core() -> Json:
    """The definition of the routes the app registers, before :mod:`openapi.pending`."""
    paths: Json = {**_report_paths(), **_customer_paths(), **_subscription_paths(), **_service_paths()}
    document: Json = {
        "swagger": "2.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Turns Azure Advisor recommendations into HTML and PDF reports, for "
            "one company or many customers. Start a report, wait for it (the asynchronous "
            "pattern: 202, Location, Retry-After) and mail or store its files.",
        },
        # No host or schemes here: the app fills them in from PUBLIC_BASE_URL (or the platform's
        # WEBSITE_HOSTNAME) when it serves the file; without either, the definition is relative
        # to wherever it was fetched from, like the app's links.
        "basePath": "/api",
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {
            SECURITY: {
                "type": "apiKey",
                "in": "header",
                "name": "x-functions-key",
                "description": "The Functions app's function key (a host key will do). The host also "
                "accepts it as the `code` query parameter; a header keeps it out of URLs and logs.",
            }
        },
        "security": [{SECURITY: []}],
        "x-ms-capabilities": {"testConnection": {"operationId": "TestConnection", "parameters": {}}},
        "tags": [
            {"name": "Reports", "description": "Start, poll, list and download reports."},
            {"name": "Customers", "description": "Registered customers and their branding."},
            {"name": "Subscriptions", "description": "Registered subscriptions and their credentials."},
            {"name": "Schedules", "description": "Reports started on a schedule."},
            {"name": "Service", "description": "Health, the connection test and this definition."},
        ],
        "paths": paths,
        "definitions": definitions(),
        "responses": {
            "Unauthorized": {
                "description": "No valid function key (answered by the Functions host, without a body)."
            }
        },
    }
    _add_schedules(document)
    return document
