"""Azure Table Storage repositories: reports and their recommendations.

Layout:
- ``recommendations`` table: PartitionKey = report id, RowKey = subscription id + "_" + a hash
  of the recommendation id, so the same recommendation always lands on the same entity and
  a retried fetch overwrites instead of duplicating (docs/architecture.md, rule 3).
- ``reports`` table, one partition ``report``: RowKey ``r_{id}`` holds the report; RowKey
  ``t_{inverted time}_{id}`` is a small index row so listing newest-first (all reports, or one
  status's, or one customer's) is one range scan.
  Both are written in one transaction, so they never disagree. A finished (completed or
  failed) report is final: writes are conditional on the version just read, and one that
  would give a finished report another status is dropped.

Table Storage limits are enforced here rather than trusted to the service (Azurite does not
enforce all of them): 64 KiB per string property, 1 MiB per entity, 252 properties, 100
operations and 4 MiB per transaction, no ``/ \\ # ?`` or control characters in keys. Every query
built from input uses the SDK's parameter substitution.

A report's JSON-valued fields are never cut: a value longer than one string property is split
across ``name``, ``name__2``, ``name__3``... and joined on reading. Free text is what gives way
when a report would not fit in one entity (the reasons given for left-out subscriptions are
shortened, every subscription is kept). Reading tolerates what it cannot parse (a row written
before this rule, with a field cut mid-JSON): the damaged field comes back empty, the report
stays readable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from .errors import InvalidInputError, PermanentError, TransientError
from .models import (
    CallbackState,
    CallbackStatus,
    Recommendation,
    Report,
    ReportFilters,
    ReportStatus,
    ReportType,
    parse_money,
)
from .ports import ReportAge

log = logging.getLogger(__name__)

MAX_STRING_BYTES = 64 * 1024  # UTF-16 bytes per string property
MAX_ENTITY_BYTES = 1024 * 1024
MAX_PROPERTIES = 252  # custom properties per entity (PartitionKey, RowKey and Timestamp aside)
ENTITY_BUDGET_BYTES = 960 * 1024  # leave room for system properties and the request envelope
MAX_BATCH_OPERATIONS = 100
MAX_BATCH_BYTES = 4 * 1024 * 1024
BATCH_BUDGET_BYTES = 3 * 1024 * 1024  # the multipart envelope adds to the entities' own size
TRUNCATION_MARK = " \u2026[truncated]"
REPORT_PARTITION = "report"
PART_SEPARATOR = "__"  # a long value's later parts: name__2, name__3, ...
_FINISHED = frozenset({ReportStatus.COMPLETED.value, ReportStatus.FAILED.value})
_UPDATE_ATTEMPTS = 5

_FORBIDDEN_KEY_CHARS = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")


def check_key(value: str, what: str = "key") -> str:
    """Reject a PartitionKey/RowKey the service would refuse (or worse, misroute)."""
    if not value or _FORBIDDEN_KEY_CHARS.search(value) or len(value.encode("utf-16-le")) > 1024:
        raise InvalidInputError(f"{what} {value[:60]!r} is not a valid table key", field=what)
    return value


def recommendation_row_key(rec: Recommendation) -> str:
    digest = hashlib.sha1(rec.recommendation_id.lower().encode("utf-8"), usedforsecurity=False).hexdigest()
    return check_key(f"{rec.subscription_id.lower()}_{digest[:32]}", "RowKey")


def _utf16_bytes(text: str) -> int:
    # len(text) counts code points; astral characters take two UTF-16 units.
    return (
        2 * (len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)) if not text.isascii() else 2 * len(text)
    )


def _fitting_prefix(text: str, budget: int) -> int:
    """Length of the longest prefix of ``text`` that is at most ``budget`` UTF-16 bytes."""
    if text.isascii():
        return min(len(text), max(0, budget // 2))
    lo, hi = 0, min(len(text), max(0, budget // 2))
    while lo < hi:  # astral characters take two units, so the answer is not linear
        mid = (lo + hi + 1) // 2
        if _utf16_bytes(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def fit_string(text: str, max_bytes: int = MAX_STRING_BYTES) -> str:
    """Truncate ``text`` so it is at most ``max_bytes`` in UTF-16, marking the cut. For free
    text only: a JSON value is split (``split_string``), never cut."""
    if _utf16_bytes(text) <= max_bytes:
        return text
    return text[: _fitting_prefix(text, max_bytes - _utf16_bytes(TRUNCATION_MARK))] + TRUNCATION_MARK


def split_string(text: str, max_bytes: int = MAX_STRING_BYTES) -> list[str]:
    """``text`` in consecutive parts of at most ``max_bytes`` UTF-16 bytes each ("".join gives
    it back whole). Parts end between code points, so each is valid text on its own."""
    parts: list[str] = []
    while _utf16_bytes(text) > max_bytes:
        cut = _fitting_prefix(text, max_bytes)
        parts.append(text[:cut])
        text = text[cut:]
    parts.append(text)
    return parts


def put_long_string(entity: dict[str, Any], name: str, text: str) -> None:
    """Store ``text`` under ``name`` (and ``name__2``, ``name__3``... when it is longer than one
    string property may hold)."""
    for i, part in enumerate(split_string(text), start=1):
        entity[name if i == 1 else f"{name}{PART_SEPARATOR}{i}"] = part


def get_long_string(entity: dict[str, Any], name: str) -> str | None:
    """The value ``put_long_string`` stored, joined again; None when absent."""
    first = entity.get(name)
    if first is None:
        return None
    parts = [str(first)]
    while (part := entity.get(f"{name}{PART_SEPARATOR}{len(parts) + 1}")) is not None:
        parts.append(str(part))
    return "".join(parts)


def entity_size(entity: dict[str, Any]) -> int:
    """Approximate stored size (the service's formula: 4 + name bytes + value bytes per property)."""
    size = 4
    for name, value in entity.items():
        size += 8 + 2 * len(name)
        if isinstance(value, str):
            size += 4 + _utf16_bytes(value)
        elif isinstance(value, (bytes, bytearray)):
            size += 4 + len(value)
        else:
            size += 8
    return size


_JSON_PROPERTIES = frozenset({"extended_properties"})


def _fit_entity(entity: dict[str, Any]) -> dict[str, Any]:
    """Shrink the longest free-text properties until the entity fits in 1 MiB (JSON-valued
    ones are already within one string property and are never cut)."""
    while entity_size(entity) > ENTITY_BUDGET_BYTES:
        name = max(
            (
                k
                for k, v in entity.items()
                if isinstance(v, str) and k not in ("PartitionKey", "RowKey") and k not in _JSON_PROPERTIES
            ),
            key=lambda k: len(entity[k]),
        )
        current = entity[name]
        entity[name] = fit_string(current, max(256, _utf16_bytes(current) // 2))
    return entity


_TEXT_FIELDS = (
    "recommendation_id", "subscription_id", "category", "impact", "recommendation_type_id", "problem",
    "solution", "resource_id", "resource_type", "resource_name", "resource_group", "subscription_name",
    "savings_currency", "learn_more_link", "potential_benefits", "description", "source",
)  # fmt: skip


def recommendation_to_entity(report_id: str, rec: Recommendation) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": report_id, "RowKey": recommendation_row_key(rec)}
    for name in _TEXT_FIELDS:
        value = getattr(rec, name)
        if value is not None and value != "":
            entity[name] = fit_string(value) if len(value) > 16_000 else value
    if rec.monthly_savings is not None:
        entity["monthly_savings"] = str(rec.monthly_savings)
    if rec.annual_savings is not None:
        entity["annual_savings"] = str(rec.annual_savings)
    if rec.last_updated is not None:
        entity["last_updated"] = rec.last_updated.isoformat()
    if rec.extended_properties:
        entity["extended_properties"] = _fit_json(rec.extended_properties)
    if len(entity) > 250:
        raise InvalidInputError("recommendation has too many properties", field="extended_properties")
    if entity_size(entity) > ENTITY_BUDGET_BYTES:
        _fit_entity(entity)
    return entity


def _fit_json(data: dict[str, str]) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if _utf16_bytes(text) <= MAX_STRING_BYTES:
        return text
    # Too big: shorten the longest values (keeping every key) until the JSON fits.
    shrunk = dict(data)
    while _utf16_bytes(text) > MAX_STRING_BYTES:
        key = max(shrunk, key=lambda k: len(shrunk[k]))
        value = shrunk[key]
        if len(value) <= 32:
            # only keys left to blame: drop the largest entries instead
            shrunk.pop(key)
        else:
            shrunk[key] = value[: len(value) // 2] + TRUNCATION_MARK
        text = json.dumps(shrunk, ensure_ascii=False, separators=(",", ":"))
    return text


def _loads_dict(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def entity_to_recommendation(entity: dict[str, Any]) -> Recommendation:
    last = entity.get("last_updated")
    return Recommendation(
        **{name: entity.get(name) or "" for name in _TEXT_FIELDS if name != "savings_currency"},
        savings_currency=entity.get("savings_currency") or None,
        monthly_savings=parse_money(entity.get("monthly_savings")),
        annual_savings=parse_money(entity.get("annual_savings")),
        last_updated=datetime.fromisoformat(last) if last else None,
        extended_properties=_loads_dict(entity.get("extended_properties")),
    )


def classify_storage_error(exc: BaseException, what: str) -> Exception:
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)):
        return TransientError(f"Storage unreachable while {what}", code="storage_unavailable")
    status = getattr(exc, "status_code", None) or 0
    if status in (408, 429, 500, 502, 503, 504):
        return TransientError(f"Storage busy while {what} (HTTP {status})", code="storage_unavailable")
    return PermanentError(f"Storage refused {what} (HTTP {status or '?'})", code="storage_error")


def _batches(entities: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """At most 100 entities and BATCH_BUDGET_BYTES per batch, each RowKey once."""
    batch: list[dict[str, Any]] = []
    size = 0
    for entity in entities:
        esize = entity_size(entity)
        if batch and (len(batch) >= MAX_BATCH_OPERATIONS or size + esize > BATCH_BUDGET_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entity)
        size += esize
    if batch:
        yield batch


class TableStore:
    """Tables of one storage account; the service client is built once and shared."""

    def __init__(
        self,
        connection: str | TableServiceClient,
        *,
        reports_table: str = "reports",
        recommendations_table: str = "recommendations",
        write_workers: int = 4,
    ) -> None:
        # A connection string (Azurite, key-based accounts) or a service client built from an
        # endpoint and a token credential (identity-based storage; see shared/clients.py).
        if isinstance(connection, str):
            connection = TableServiceClient.from_connection_string(connection)
        self._service = connection
        self.reports_table_name = reports_table
        self.recommendations_table_name = recommendations_table
        self.write_workers = max(1, write_workers)
        self._ensured: set[str] = set()

    def table(self, name: str) -> TableClient:
        client = self._service.get_table_client(name)
        if name not in self._ensured:
            try:
                self._service.create_table(name)
            except ResourceExistsError:
                pass
            except HttpResponseError as exc:
                raise classify_storage_error(exc, f"creating table {name}") from None
            self._ensured.add(name)
        return client

    def ping(self) -> None:
        """Cheap reachability check for health endpoints."""
        next(iter(self._service.list_tables(results_per_page=1).by_page()), None)

    # -- recommendations -------------------------------------------------------------------

    def save_recommendations(self, report_id: str, recs: Iterable[Recommendation]) -> int:
        """Upsert recommendations under the report; idempotent. Returns how many were written."""
        check_key(report_id, "reportId")
        unique: dict[str, dict[str, Any]] = {}
        for rec in recs:
            entity = recommendation_to_entity(report_id, rec)
            unique[entity["RowKey"]] = entity  # each entity once per transaction
        return self.save_entities(self.recommendations_table_name, list(unique.values()))

    def save_entities(self, table_name: str, entities: list[dict[str, Any]]) -> int:
        """Write same-partition entities in transactions of at most 100, several at once."""
        if not entities:
            return 0
        client = self.table(table_name)

        def submit(batch: list[dict[str, Any]]) -> int:
            try:
                client.submit_transaction([("upsert", e, {"mode": UpdateMode.REPLACE}) for e in batch])
            except HttpResponseError as exc:
                raise classify_storage_error(exc, "writing recommendations") from None
            except (ServiceRequestError, ServiceResponseError) as exc:
                raise classify_storage_error(exc, "writing recommendations") from None
            return len(batch)

        batches = list(_batches(entities))
        if self.write_workers == 1 or len(batches) == 1:
            return sum(submit(b) for b in batches)
        with ThreadPoolExecutor(max_workers=self.write_workers) as pool:
            return sum(pool.map(submit, batches))

    def iter_recommendations(self, report_id: str, *, page_size: int = 1000) -> Iterator[Recommendation]:
        client = self.table(self.recommendations_table_name)
        entities = client.query_entities(
            "PartitionKey eq @pk",
            parameters={"pk": check_key(report_id, "reportId")},
            results_per_page=page_size,
        )
        for entity in entities:
            yield entity_to_recommendation(entity)

    def count_recommendations(self, report_id: str) -> int:
        client = self.table(self.recommendations_table_name)
        rows = client.query_entities(
            "PartitionKey eq @pk", parameters={"pk": check_key(report_id, "reportId")}, select=["RowKey"]
        )
        return sum(1 for _ in rows)

    def delete_recommendations(self, report_id: str, *, subscription_id: str | None = None) -> int:
        """Delete the report's recommendations (only one subscription's, if given)."""
        query, parameters = "PartitionKey eq @pk", {"pk": check_key(report_id, "reportId")}
        if subscription_id is not None:
            query, parameters["sub"] = query + " and subscription_id eq @sub", subscription_id
        return self._delete_rows(self.recommendations_table_name, report_id, query, parameters)

    def _delete_rows(self, table_name: str, partition: str, query: str, parameters: dict[str, Any]) -> int:
        """Delete the rows of one partition that ``query`` finds, in transactions of 100. A row
        deleted meanwhile (two cleanups at once) fails its whole transaction with 404: that
        batch is then deleted row by row, which tolerates missing rows."""
        client = self.table(table_name)
        keys = [e["RowKey"] for e in client.query_entities(query, parameters=parameters, select=["RowKey"])]

        def delete(batch: list[str]) -> int:
            try:
                client.submit_transaction(
                    [("delete", {"PartitionKey": partition, "RowKey": k}) for k in batch]
                )
            except HttpResponseError as exc:
                if exc.status_code != 404:
                    raise classify_storage_error(exc, "deleting rows") from None
                for key in batch:
                    client.delete_entity(partition, key)  # no error when it is gone already
            return len(batch)

        batches = [keys[i : i + MAX_BATCH_OPERATIONS] for i in range(0, len(keys), MAX_BATCH_OPERATIONS)]
        if self.write_workers == 1 or len(batches) <= 1:
            return sum(delete(batch) for batch in batches)
        with ThreadPoolExecutor(max_workers=self.write_workers) as pool:  # as writes are (save_entities)
            return sum(pool.map(delete, batches))

    # -- reports ---------------------------------------------------------------------------

    def save_report(self, report: Report) -> bool:
        """Write the report and its listing row together (one transaction, one partition).

        A finished report is final: a write that would give a completed or failed report
        another status (an activity still running after its orchestration was terminated and
        the report marked failed, say) is dropped, and False returned."""
        check_key(report.report_id, "reportId")
        client = self.table(self.reports_table_name)
        for _ in range(_UPDATE_ATTEMPTS):
            try:
                stored = client.get_entity(REPORT_PARTITION, "r_" + report.report_id, select=["status"])
            except ResourceNotFoundError:
                self._write_report(report, etag=None)
                return True
            except HttpResponseError as exc:
                raise classify_storage_error(exc, "reading the report") from None
            status = stored.get("status")
            if status in _FINISHED and status != report.status.value:
                log.warning("Report %s is %s already; a write as %s was dropped", report.report_id,
                            status, report.status.value)  # fmt: skip
                return False
            try:
                self._write_report(report, etag=stored.metadata.get("etag") or None)
            except ReportChanged:
                continue  # written meanwhile: look again
            return True
        message = f"Report {report.report_id} kept changing while being saved"
        raise TransientError(message, code="storage_busy")

    def _write_report(self, report: Report, *, etag: str | None) -> None:
        """With ``etag``, only if the stored report is still that version (else ``ReportChanged``)."""
        entity = report_to_entity(report)
        index = {
            "PartitionKey": REPORT_PARTITION,
            "RowKey": _index_key(report),
            "report_id": report.report_id,
            "status": report.status.value,
            "report_type": report.report_type.value,
            "requested_at": entity.get("requested_at", ""),
            "customer_id": report.customer_id,
            "schedule_id": report.schedule_id,
        }
        write: tuple[str, dict[str, Any], dict[str, Any]] = ("upsert", entity, {"mode": UpdateMode.REPLACE})
        if etag == _NEW:
            write = ("create", entity, {})
        elif etag:
            write = (
                "update",
                entity,
                {"mode": UpdateMode.REPLACE, "etag": etag, "match_condition": MatchConditions.IfNotModified},
            )
        client = self.table(self.reports_table_name)
        try:
            client.submit_transaction([write, ("upsert", index, {"mode": UpdateMode.REPLACE})])
        except HttpResponseError as exc:
            if etag == _NEW and exc.status_code == 409:
                raise ReportExists(report.report_id) from None
            if etag and exc.status_code in (404, 412):
                raise ReportChanged(report.report_id) from None
            raise classify_storage_error(exc, "saving the report") from None

    def create_report(self, report: Report) -> bool:
        """Write a new report and its listing row, only if no report has that id yet: False
        (and nothing written) if one has. What makes a run that can be attempted twice (a
        schedule's, whose report id is derived from the run) start once."""
        check_key(report.report_id, "reportId")
        try:
            self._write_report(report, etag=_NEW)
        except ReportExists:
            return False
        return True

    def _read_report(self, report_id: str) -> tuple[Report, str] | None:
        client = self.table(self.reports_table_name)
        try:
            entity = client.get_entity(REPORT_PARTITION, "r_" + check_key(report_id, "reportId"))
        except ResourceNotFoundError:
            return None
        return entity_to_report(entity), entity.metadata.get("etag") or ""

    def get_report(self, report_id: str) -> Report | None:
        found = self._read_report(report_id)
        return found[0] if found else None

    def update_report(self, report_id: str, change: Callable[[Report], bool]) -> Report | None:
        """Read, change and write a report as one step: ``change`` edits the report in place and
        says whether to save it. A write by someone else in between (an activity finishing
        the report, say) makes it start again from that newer version, so nothing it did is
        overwritten. Returns the report as stored; None if there is none."""
        for _ in range(_UPDATE_ATTEMPTS):
            found = self._read_report(report_id)
            if found is None:
                return None
            report, etag = found
            if not change(report):
                return report
            try:
                self._write_report(report, etag=etag or None)
            except ReportChanged:
                continue
            return report
        raise TransientError(f"Report {report_id} kept changing while being updated", code="storage_busy")

    def list_reports(
        self,
        *,
        status: str | None = None,
        customer_id: str | None = None,
        schedule_id: str | None = None,
        limit: int = 50,
        continuation_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; returns index rows and a continuation token (the last RowKey seen).

        ``status``, ``customer_id`` and ``schedule_id`` narrow the same range scan; the token stays the last
        RowKey returned, so the next page starts after it whatever the filters skipped. Rows
        written before reports named a customer have no ``customer_id`` and match no customer."""
        client = self.table(self.reports_table_name)
        query = "PartitionKey eq @pk and RowKey gt @lo and RowKey lt @hi"
        params: dict[str, Any] = {"pk": REPORT_PARTITION, "lo": continuation_token or "t_", "hi": "t`"}
        if status:
            query += " and status eq @status"
            params["status"] = status
        if customer_id:
            query += " and customer_id eq @customer"
            params["customer"] = customer_id
        if schedule_id:
            query += " and schedule_id eq @schedule"
            params["schedule"] = schedule_id
        rows: list[dict[str, Any]] = []
        for entity in client.query_entities(query, parameters=params, results_per_page=limit):
            rows.append(dict(entity))
            if len(rows) >= limit:
                break
        token = rows[-1]["RowKey"] if len(rows) >= limit else None
        return rows, token

    # -- per-subscription outcomes: progress while fetching, and who was left out ------------

    def record_subscription_outcome(
        self, report_id: str, subscription_id: str, outcome: dict[str, Any]
    ) -> None:
        """One row per subscription fetched (upsert: a retried fetch overwrites its row)."""
        entity = {
            "PartitionKey": "p_" + check_key(report_id, "reportId"),
            "RowKey": check_key(subscription_id, "subscriptionId"),
            **{k: v for k, v in outcome.items() if isinstance(v, (str, int, float, bool))},
        }
        self.table(self.reports_table_name).upsert_entity(entity, mode=UpdateMode.REPLACE)

    def subscription_outcomes(self, report_id: str) -> list[dict[str, Any]]:
        client = self.table(self.reports_table_name)
        rows = client.query_entities(
            "PartitionKey eq @pk", parameters={"pk": "p_" + check_key(report_id, "reportId")}
        )
        return [dict(r) for r in rows]

    # -- retention: what a report leaves behind (shared/retention.py) ------------------------

    def _report_partitions(self, report_id: str) -> list[tuple[str, str]]:
        """Every partition that holds rows keyed by the report, other than the report itself."""
        check_key(report_id, "reportId")
        return [(self.recommendations_table_name, report_id), (self.reports_table_name, "p_" + report_id)]

    def report_ages(self) -> Iterator[ReportAge]:
        """Every stored report's id, request time and own retention (a few properties each)."""
        client = self.table(self.reports_table_name)
        rows = client.query_entities(
            "PartitionKey eq @pk and RowKey gt @lo and RowKey lt @hi",
            parameters={"pk": REPORT_PARTITION, "lo": "r_", "hi": "r`"},
            select=["RowKey", "report_id", "requested_at", "retention_days"],
        )
        for row in rows:
            yield _report_age(dict(row))

    def delete_report_data(self, report_id: str) -> int:
        """Delete every row keyed by the report but the report itself (its recommendations and
        per-subscription outcomes); idempotent. Returns how many rows went."""
        return sum(
            self._delete_rows(table, pk, "PartitionKey eq @pk", {"pk": pk})
            for table, pk in self._report_partitions(report_id)
        )

    def delete_report(self, report_id: str) -> bool:
        """Delete the report entity and its listing row: the last of a report to go, so a
        cleanup cut short finds the report again and finishes. False when there was none."""
        client = self.table(self.reports_table_name)
        try:
            entity = client.get_entity(
                REPORT_PARTITION, "r_" + check_key(report_id, "reportId"), select=["requested_at"]
            )
        except ResourceNotFoundError:
            return False
        except HttpResponseError as exc:
            raise classify_storage_error(exc, "reading the report") from None
        requested_at = _Reader(dict(entity)).time("requested_at")
        try:
            # The listing row first: a listing row without its report would list a 404.
            client.delete_entity(REPORT_PARTITION, _index_row_key(report_id, requested_at))
            client.delete_entity(REPORT_PARTITION, "r_" + report_id)
        except HttpResponseError as exc:
            raise classify_storage_error(exc, "deleting the report") from None
        return True


def _report_age(entity: dict[str, Any]) -> ReportAge:
    read = _Reader(entity)
    report_id = read.text("report_id") or str(entity.get("RowKey", ""))[2:]
    return ReportAge(report_id, read.time("requested_at"), read.integer("retention_days"))


def _index_key(report: Report) -> str:
    return _index_row_key(report.report_id, report.requested_at)


def _index_row_key(report_id: str, requested_at: datetime | None) -> str:
    when = requested_at or datetime(1970, 1, 1, tzinfo=UTC)
    inverted = 10**13 - int(when.timestamp() * 1000)
    return f"t_{inverted:013d}_{report_id}"


_REPORT_JSON_FIELDS = (
    "subscription_ids", "formats", "filters", "counts_by_category", "counts_by_impact",
    "savings_by_currency", "durations", "files", "skipped_subscriptions",
)  # fmt: skip
_REPORT_TIME_FIELDS = ("requested_at", "fetched_at", "completed_at")
_REPORT_TEXT_LIMIT = 4000  # characters of customer / failure message kept (both are short by rule)


class ReportChanged(Exception):
    """The stored report is no longer the version a conditional write was based on."""


class ReportExists(Exception):
    """A report with that id exists already (a create-only write was refused)."""


_NEW = "*new*"  # _write_report's etag for "create only": refused if the report exists


def _shortened(reasons: dict[str, str], limit: int) -> dict[str, str]:
    return {k: (v if len(v) <= limit else v[: max(0, limit - 1)] + "\u2026") for k, v in reasons.items()}


def report_to_entity(report: Report) -> dict[str, Any]:
    """The report as one entity within Table Storage's limits. JSON values are split across
    properties, never cut; if the whole would still exceed one entity, the reasons given for
    left-out subscriptions are shortened (each subscription stays listed)."""
    reasons = {str(k): str(v) for k, v in report.skipped_subscriptions.items()}
    limit = max((len(v) for v in reasons.values()), default=0)
    while True:
        entity = _report_entity(report, _shortened(reasons, limit))
        if entity_size(entity) <= ENTITY_BUDGET_BYTES and len(entity) - 2 <= MAX_PROPERTIES:
            return entity
        if limit == 0:
            message = f"report {report.report_id} names too many subscriptions to be stored"
            raise InvalidInputError(message, field="subscriptionIds")
        limit //= 2


def _report_entity(report: Report, skipped: dict[str, str]) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": REPORT_PARTITION,
        "RowKey": "r_" + report.report_id,
        "report_id": report.report_id,
        "report_type": report.report_type.value,
        "status": report.status.value,
        "customer": fit_string(report.customer or "", 2 * _REPORT_TEXT_LIMIT),
        "customer_id": report.customer_id,
        "accent_color": report.accent_color,
        "logo_content_type": report.logo_content_type,
        "provider_name": fit_string(report.provider_name or "", 1000),
        "provider_logo_content_type": report.provider_logo_content_type,
        "source": report.source,
        "csv_category": report.csv_category,
        "savings_note": fit_string(report.savings_note or ""),
        "failure_code": report.failure_code or "",
        "failure_message": fit_string(report.failure_message or "", 2 * _REPORT_TEXT_LIMIT),
        "recommendation_count": report.recommendation_count,
        "api_pages": report.api_pages,
        "instance_id": report.instance_id,
        "schedule_id": report.schedule_id,
        "retention_days": report.retention_days,
        "callback_url": report.callback_url,
    }
    if report.callback is not None:
        entity["callback"] = json.dumps(_callback_dict(report.callback), separators=(",", ":"))
    values: dict[str, Any] = {name: getattr(report, name, None) for name in _REPORT_JSON_FIELDS}
    values["filters"] = report.filters.to_dict()
    values["skipped_subscriptions"] = skipped
    for name, value in values.items():
        if value is not None:
            # ensure_ascii=False: "\u0142" would take six UTF-16 units where "ł" takes one
            put_long_string(entity, name, json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    for name in _REPORT_TIME_FIELDS:
        value = getattr(report, name)
        if value is not None:
            entity[name] = value.isoformat()
    return entity


def _callback_dict(state: CallbackState) -> dict[str, Any]:
    return {
        "status": state.status.value,
        "attempts": state.attempts,
        "delivered_at": state.delivered_at.isoformat() if state.delivered_at else None,
        "last_error": fit_string(state.last_error, 2000),
    }


def _callback_state(read: _Reader) -> CallbackState | None:
    raw = read.json("callback", {})
    if not raw:
        return None
    try:
        delivered = raw.get("delivered_at")
        return CallbackState(
            status=CallbackStatus(raw.get("status")),
            attempts=int(raw.get("attempts") or 0),
            delivered_at=datetime.fromisoformat(delivered) if delivered else None,
            last_error=str(raw.get("last_error") or ""),
        )
    except (TypeError, ValueError):
        read.damaged.append("callback")
        return CallbackState(
            CallbackStatus.FAILED, last_error="The callback's stored state could not be read"
        )


class _Reader:
    """Reads a stored report field by field; a field it cannot parse comes back as its default
    and is named in ``damaged`` (a row from before long values were split, say)."""

    def __init__(self, entity: dict[str, Any]) -> None:
        self.entity = entity
        self.damaged: list[str] = []

    def json(self, name: str, default: Any) -> Any:
        raw = get_long_string(self.entity, name)
        if not raw:
            return default
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, type(default)):
            self.damaged.append(name)
            return default
        return value

    def time(self, name: str) -> datetime | None:
        raw = self.entity.get(name)
        if not raw:
            return None
        try:
            value = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
        except ValueError:
            self.damaged.append(name)
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def integer(self, name: str) -> int:
        try:
            return int(self.entity.get(name) or 0)
        except (TypeError, ValueError):
            self.damaged.append(name)
            return 0

    def text(self, name: str) -> str:
        value = self.entity.get(name)
        return value if isinstance(value, str) else ""

    def choice(self, name: str, kind: type[Any], default: Any) -> Any:
        try:
            return kind(self.entity.get(name))
        except ValueError:
            self.damaged.append(name)
            return default


def entity_to_report(entity: dict[str, Any]) -> Report:
    read = _Reader(entity)
    report_id = read.text("report_id") or str(entity.get("RowKey", ""))[2:]
    strings = read.json("subscription_ids", [])
    try:
        filters = ReportFilters.from_dict(read.json("filters", {}))
    except (TypeError, ValueError):
        read.damaged.append("filters")
        filters = ReportFilters()
    report = Report(
        report_id=report_id,
        report_type=read.choice("report_type", ReportType, ReportType.DETAILED),
        subscription_ids=[s for s in strings if isinstance(s, str)],
        formats=read.json("formats", ["html", "pdf"]),
        filters=filters,
        # A status that cannot be read cannot be trusted to be running: show the report failed.
        status=read.choice("status", ReportStatus, ReportStatus.FAILED),
        customer=read.text("customer"),
        customer_id=read.text("customer_id"),  # "" for rows from before reports named one
        accent_color=read.text("accent_color"),
        logo_content_type=read.text("logo_content_type"),
        provider_name=read.text("provider_name"),
        provider_logo_content_type=read.text("provider_logo_content_type"),
        source=read.text("source") or "api",
        csv_category=read.text("csv_category"),
        requested_at=read.time("requested_at"),
        fetched_at=read.time("fetched_at"),
        completed_at=read.time("completed_at"),
        failure_code=read.text("failure_code") or None,
        failure_message=read.text("failure_message") or None,
        recommendation_count=read.integer("recommendation_count"),
        api_pages=read.integer("api_pages"),
        counts_by_category=read.json("counts_by_category", {}),
        counts_by_impact=read.json("counts_by_impact", {}),
        savings_by_currency=read.json("savings_by_currency", {}),
        savings_note=read.text("savings_note"),
        durations=read.json("durations", {}),
        files=read.json("files", {}),
        skipped_subscriptions=read.json("skipped_subscriptions", {}),
        instance_id=read.text("instance_id"),
        schedule_id=read.text("schedule_id"),
        retention_days=read.integer("retention_days"),
        callback_url=read.text("callback_url"),
        callback=_callback_state(read),
    )
    if read.damaged:
        log.warning("Report %s: stored fields %s could not be read", report_id, ", ".join(read.damaged))
        if "status" in read.damaged and not report.failure_code:
            report.failure_code = "unreadable_report"
            report.failure_message = "The report's stored state could not be read"
    return report
