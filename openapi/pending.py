"""The parts of the definition for routes and fields being added beside the ones in
:mod:`openapi.spec`: scheduled reports. Each part is one function that changes the
document, so it can be moved into ``spec.py`` (or corrected) on its own when its code lands;
``apply`` runs them all.

Described from the issue's words; where the landed code differs, the code wins and this is
changed to match it (the route test in tests/unit/test_openapi.py says which routes are
registered and which are not yet).
"""

from __future__ import annotations

from .spec import (
    CUSTOMER_PICKER,
    GUID_PATTERN,
    Json,
    answer,
    array,
    body,
    callback_url,
    customer_choice,
    error,
    guid,
    nullable,
    obj,
    operation,
    param,
    prop,
    ref,
    timestamp,
)

# -- scheduled reports: /api/schedules ---------------------------------------------------------


def _schedule_fields(document: Json, *, answer_: bool) -> Json:
    request = document["definitions"]["ReportRequest"]["properties"]
    fields: Json = {
        "name": prop("Name", "The schedule's name.", minLength=1, maxLength=120),
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
            "up, or 0 for that default.", "integer", minimum=0, maximum=3650,
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


def add_schedules(document: Json) -> None:
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


def apply(document: Json) -> Json:
    """All the parts above, in an order where each finds what it changes."""
    add_schedules(document)
    return document
