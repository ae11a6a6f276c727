"""Telemetry: every activity run logs one stage event correlated by report id, with its counts
and outcome, and nothing secret (no payload text, no error message, no key)."""

from __future__ import annotations

import json
import logging

import pytest

from shared import telemetry
from shared.errors import PermanentError, TransientError

SECRET = "AccountKey=c2VjcmV0c2VjcmV0;sig=abc123 Bearer eyJhbGciOi.secret"


def events(caplog) -> list[dict]:
    found = []
    for record in caplog.records:
        if record.name == telemetry.LOGGER_NAME and record.getMessage().startswith(telemetry.EVENT):
            found.append(json.loads(record.getMessage()[len(telemetry.EVENT) + 1 :]))
    return found


@pytest.fixture(autouse=True)
def _capture(caplog):
    caplog.set_level(logging.INFO, logger=telemetry.LOGGER_NAME)


def test_a_fetch_logs_its_counts_pages_and_duration(caplog):
    @telemetry.observed("fetch_subscription")
    def fetch(payload: dict) -> dict:
        return {"subscription_id": payload["subscription_id"], "ok": True, "count": 250, "pages": 3}

    fetch({"report_id": "r-1", "subscription_id": "00000000-0000-0000-0000-000000000001"})
    (event,) = events(caplog)
    assert event["event"] == "stage" and event["stage"] == "fetch_subscription"
    assert event["report_id"] == "r-1" and event["outcome"] == "ok"
    assert (event["recommendations"], event["advisor_pages"]) == (250, 3)
    assert isinstance(event["duration_ms"], int)
    record = next(r for r in caplog.records if r.name == telemetry.LOGGER_NAME)
    assert record.advisor_report == event  # the same fields as `extra`, for OpenTelemetry


def test_a_permanent_failure_returned_is_logged_with_its_code_not_its_message(caplog):
    @telemetry.observed("fetch_subscription")
    def fetch(payload: dict) -> dict:
        return {"ok": False, "failure_code": "authorization_failed", "failure_message": SECRET}

    fetch({"report_id": "r-2", "subscription_id": "s"})
    (event,) = events(caplog)
    assert event["outcome"] == "failed" and event["error_code"] == "authorization_failed"
    assert "failure_message" not in event


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (TransientError(SECRET, code="throttled"), True),
        (PermanentError(SECRET, code="bad"), False),
        (RuntimeError(SECRET), None),
    ],
)
def test_an_exception_is_logged_by_type_and_code_and_still_raised(caplog, exc, transient):
    @telemetry.observed("render_pdf_part")
    def render(payload: dict) -> dict:
        raise exc

    with pytest.raises(type(exc)):
        render({"report_id": "r-3", "fmt": "pdf", "part": 2})
    (event,) = events(caplog)
    assert event["outcome"] == "error" and event["error_type"] == type(exc).__name__
    assert event.get("transient") == transient
    assert (event["format"], event["part"]) == ("pdf", 2)
    assert SECRET not in caplog.text and "c2VjcmV0" not in caplog.text and "eyJhbGciOi" not in caplog.text


def test_report_end_events_for_completed_and_failed_reports(caplog):
    @telemetry.observed("finalize_report")
    def finalize(payload: dict) -> dict:
        return {"reportId": payload["report_id"], "status": "completed", "counts": {"recommendations": 42}}

    @telemetry.observed("set_report_status")
    def set_status(payload: dict) -> dict:
        return {"reportId": payload["report_id"], "status": payload["status"]}

    finalize({"report_id": "r-4", "files": {}, "durations": {}})
    set_status(
        {"report_id": "r-5", "status": "failed", "failure_code": "no_subscription", "failure_message": SECRET}
    )
    ends = [e for e in events(caplog) if e["event"] == "report_end"]
    assert ends == [
        {"event": "report_end", "report_id": "r-4", "outcome": "completed", "recommendations": 42},
        {"event": "report_end", "report_id": "r-5", "outcome": "failed", "error_code": "no_subscription"},
    ]
    assert SECRET not in caplog.text


def test_unknown_fields_and_unsafe_text_are_dropped():
    event = telemetry.emit("stage", report_id="r/../x y", stage="fetch", password="p", url="https://x?sig=1")
    assert set(event) == {"event", "report_id", "stage"}
    assert event["report_id"] == "r_.._x_y"


def test_every_report_activity_is_observed():
    """Each activity of the report orchestration is wrapped (and still indexable: same name,
    same annotations, which the worker reads through ``__wrapped__``)."""
    import typing

    import activities.report_steps as steps

    app_functions = [getattr(steps, name) for name in dir(steps) if hasattr(getattr(steps, name), "build")]
    assert app_functions
    for builder in app_functions:
        fn = builder.build().get_user_function()
        assert hasattr(fn, "__wrapped__"), f"{fn.__name__} is not observed"
        assert typing.get_type_hints(fn) == {"payload": dict, "return": dict}


def test_opentelemetry_export_is_configured_once_and_only_with_a_connection_string(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Application Insights cannot be reached here, so the exporter's entry point is recorded
    instead of run; what is checked is that the app asks for it exactly when it should."""
    import azure.monitor.opentelemetry as azmon

    from shared.settings import reset_settings

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(azmon, "configure_azure_monitor", lambda **kw: calls.append(kw))

    def configure_with(conn: str | None) -> None:
        if conn is None:
            monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
        else:
            monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", conn)
        reset_settings()
        monkeypatch.setattr(telemetry, "_configured", False)
        telemetry.configure()
        telemetry.configure()

    configure_with(None)
    assert calls == []
    configure_with("InstrumentationKey=00000000-0000-0000-0000-000000000000")
    assert calls == [{"logger_name": telemetry.LOGGER_NAME}]
    reset_settings()
