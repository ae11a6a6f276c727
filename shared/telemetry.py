"""Report telemetry: one structured event per activity run, correlated by report id.

Every activity of the report orchestration goes through :func:`observed`, which logs one event
when the step ends: the stage, the report id, the outcome (``ok``, ``failed`` for a permanent
failure the step returned, ``error`` for an exception, which the durable retry policy retries
while attempts remain), the duration, and the step's counts (recommendations, Advisor pages,
PDF parts, bytes). A report's end gets its own ``report_end`` event (``completed`` or
``failed`` with the failure code), so success rate, duration and retries per error type can be
charted (docs/telemetry.md holds the KQL).

An event is a log record on the ``advisor_reports.telemetry`` logger whose message is
``advisor_report_event`` followed by the event as JSON, and whose ``extra`` carries the same
fields: the Functions host forwards the message text to Application Insights (``traces``),
and OpenTelemetry, when configured, turns ``extra`` into custom dimensions.
:func:`configure` sets up azure-monitor-opentelemetry when APPLICATIONINSIGHTS_CONNECTION_STRING
is set and the package is installed; it is not a dependency of the app today (see README).

Never a secret: only the fields named in ``FIELDS`` are kept, and text values are reduced to
short identifiers (a failure *code*, an exception *type*), never a message, an exception text,
a URL or a payload.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

LOGGER_NAME = "advisor_reports.telemetry"
EVENT = "advisor_report_event"
log = logging.getLogger(LOGGER_NAME)

# name -> type; anything else is dropped.
FIELDS: dict[str, type] = {
    "event": str,
    "stage": str,
    "report_id": str,
    "outcome": str,
    "duration_ms": int,
    "subscription_id": str,
    "recommendations": int,
    "advisor_pages": int,
    "pdf_parts": int,
    "part": int,
    "format": str,
    "bytes": int,
    "status": str,
    "error_type": str,
    "error_code": str,
    "transient": bool,
}
_SAFE_TEXT = re.compile(r"[^A-Za-z0-9_.:-]")
_MAX_TEXT = 64

_configured = False
_configure_lock = threading.Lock()


def configure() -> None:
    """Export through OpenTelemetry when a connection string is set and the package is there."""
    global _configured
    if _configured:
        return
    with _configure_lock:
        if _configured:
            return
        _configured = True
        from .settings import get_settings

        if not get_settings().appinsights_connection_string:
            return
        try:
            from azure.monitor.opentelemetry import configure_azure_monitor
        except ImportError:
            log.info("azure-monitor-opentelemetry is not installed; events go out as log lines only")
            return
        configure_azure_monitor(logger_name=LOGGER_NAME)


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for name, value in fields.items():
        kind = FIELDS.get(name)
        if kind is None or value is None or value == "":
            continue
        if kind is str:
            value = _SAFE_TEXT.sub("_", str(value))[:_MAX_TEXT]
        elif kind is bool:
            value = bool(value)
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            value = int(value)
        event[name] = value
    return event


def emit(event: str, **fields: Any) -> dict[str, Any]:
    """Log one event; returns what was logged (after dropping anything not in ``FIELDS``)."""
    configure()
    clean = _clean({"event": event, **fields})
    log.info("%s %s", EVENT, json.dumps(clean, sort_keys=True), extra={"advisor_report": clean, **clean})
    return clean


def _from_payload(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        return {}
    return {
        "report_id": payload.get("report_id"),
        "subscription_id": payload.get("subscription_id"),
        "format": payload.get("fmt"),
        "part": payload.get("part") if payload.get("fmt") == "pdf" else None,
        "status": payload.get("status"),
        "error_code": payload.get("failure_code"),
    }


def _from_result(result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        return {}
    fields: dict[str, Any] = {
        "recommendations": result.get("count", result.get("recommendation_count")),
        "advisor_pages": result.get("pages"),
        "pdf_parts": result.get("pdf_parts"),
        "bytes": result.get("size"),
        "status": result.get("status"),
        "error_code": result.get("failure_code"),
        "outcome": "failed" if result.get("ok") is False else "ok",
    }
    counts = result.get("counts")
    if isinstance(counts, dict) and isinstance(counts.get("recommendations"), int):
        fields["recommendations"] = counts["recommendations"]
    return fields


def observed(stage: str) -> Callable[[Callable[[dict], dict]], Callable[[dict], dict]]:
    """Wrap an activity ``fn(payload: dict) -> dict`` so each run logs one stage event."""

    def decorate(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
        @functools.wraps(fn)
        def run(payload: dict) -> dict:
            started = time.perf_counter()
            base = _from_payload(payload)
            try:
                result = fn(payload)
            except Exception as exc:
                from .errors import PermanentError, TransientError

                # Every exception is retried by the durable policy; whether it was *meant*
                # to be (a TransientError) or is a fault that will fail again is worth seeing.
                transient = True if isinstance(exc, TransientError) else None
                if isinstance(exc, PermanentError):
                    transient = False
                failed = {
                    **base, "stage": stage, "outcome": "error",
                    "duration_ms": (time.perf_counter() - started) * 1000,
                    "error_type": type(exc).__name__, "error_code": getattr(exc, "code", None),
                    "transient": transient,
                }  # fmt: skip
                emit("stage", **failed)
                raise
            fields = {**base, **{k: v for k, v in _from_result(result).items() if v is not None}}
            fields.update(stage=stage, duration_ms=(time.perf_counter() - started) * 1000)
            emit("stage", **fields)
            _report_end(stage, payload, result)
            return result

        return run

    return decorate


def _report_end(stage: str, payload: Any, result: Any) -> None:
    """``report_end``: the report reached ``completed`` (finalize) or ``failed`` (a status update)."""
    if not isinstance(payload, dict) or not isinstance(result, dict):
        return
    if stage == "finalize_report" and result.get("status") == "completed":
        raw_counts = result.get("counts")
        counts = raw_counts if isinstance(raw_counts, dict) else {}
        emit(
            "report_end",
            report_id=payload.get("report_id"),
            outcome="completed",
            recommendations=counts.get("recommendations"),
        )
    elif (
        stage == "set_report_status"
        and payload.get("status") == "failed"
        and result.get("status") == "failed"
    ):
        emit(
            "report_end", report_id=payload.get("report_id"), outcome="failed",
            error_code=payload.get("failure_code") or "unknown",
        )  # fmt: skip
