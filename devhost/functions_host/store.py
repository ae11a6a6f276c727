"""Durable state in Azure Table Storage (Azurite locally): instances, history, raised events.

Three tables per task hub, one partition per instance (PartitionKey = instance id):

- ``{hub}Instances`` (RowKey ""): name, runtime status, input, output, custom status, times,
  failure details, parent, and ``HistoryCount``: how many history rows are committed.
- ``{hub}History`` (RowKey = 8-digit event index): one DTFx event per row, as JSON.
- ``{hub}Inbox`` (RowKey = arrival key): external events raised but not yet in history.

Writes go through one writer thread, in order: history rows first (batched in entity group
transactions of at most 100 operations and ~3.5 MB, one partition each), then the instance rows
that reference them. A history row beyond ``HistoryCount`` is an unfinished write and ignored
when loading, so a host killed mid-write resumes from the last whole episode.

Table limits are enforced here rather than trusted to the emulator: a string property holds at
most 32,000 characters (64 KiB of UTF-16), so longer texts are split over ``Name``,
``Name__1``...; a single payload above ``payload_cap`` characters is refused by the engine.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterable
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

log = logging.getLogger("devhost.functions_host")

CHUNK = 32_000
MAX_BATCH_OPS = 100
MAX_BATCH_BYTES = 3_500_000
_FLUSH = object()


def set_text(entity: dict[str, Any], prop: str, text: str | None) -> None:
    if text is None:
        return
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
    entity[prop] = chunks[0]
    for number, chunk in enumerate(chunks[1:], start=1):
        entity[f"{prop}__{number}"] = chunk
    if len(chunks) > 1:
        entity[f"{prop}__chunks"] = len(chunks)


def get_text(entity: dict[str, Any], prop: str) -> str | None:
    if prop not in entity:
        return None
    count = int(entity.get(f"{prop}__chunks", 1))
    return "".join([entity[prop], *(entity[f"{prop}__{n}"] for n in range(1, count))])


def _size(entity: dict[str, Any]) -> int:
    return sum(len(str(v)) * 2 + len(k) * 2 + 16 for k, v in entity.items()) + 256


def instance_entity(record: dict[str, Any]) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": record["instance_id"],
        "RowKey": "",
        "Name": record["name"],
        "RuntimeStatus": record["status"],
        "CreatedTime": record["created"],
        "LastUpdatedTime": record["last_updated"],
        "HistoryCount": record["history_count"],
        "ExecutionId": record["execution_id"],
    }
    set_text(entity, "Input", record.get("input"))
    set_text(entity, "Output", record.get("output"))
    set_text(entity, "CustomStatus", record.get("custom_status"))
    if record.get("parent"):
        entity["Parent"] = json.dumps(record["parent"])
    if record.get("failure"):
        set_text(entity, "FailureDetails", json.dumps(record["failure"]))
    return entity


def instance_record(entity: dict[str, Any]) -> dict[str, Any]:
    failure = get_text(entity, "FailureDetails")
    return {
        "instance_id": entity["PartitionKey"],
        "name": entity["Name"],
        "status": entity["RuntimeStatus"],
        "created": entity["CreatedTime"],
        "last_updated": entity["LastUpdatedTime"],
        "history_count": int(entity.get("HistoryCount", 0)),
        "execution_id": entity.get("ExecutionId", ""),
        "input": get_text(entity, "Input"),
        "output": get_text(entity, "Output"),
        "custom_status": get_text(entity, "CustomStatus"),
        "parent": json.loads(entity["Parent"]) if entity.get("Parent") else None,
        "failure": json.loads(failure) if failure else None,
    }


def history_entity(instance_id: str, index: int, event: dict[str, Any]) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": instance_id,
        "RowKey": f"{index:08d}",
        "EventType": event["EventType"],
    }
    set_text(entity, "Event", json.dumps(event, separators=(",", ":")))
    return entity


class Store:
    def __init__(self, connection_string: str, task_hub: str) -> None:
        self.task_hub = task_hub
        self.service = TableServiceClient.from_connection_string(connection_string)
        self.instances: TableClient = self.service.get_table_client(f"{task_hub}Instances")
        self.history: TableClient = self.service.get_table_client(f"{task_hub}History")
        self.inbox: TableClient = self.service.get_table_client(f"{task_hub}Inbox")
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._pending_lock = threading.Lock()
        self.writes = 0

    # -- lifecycle --------------------------------------------------------------------------
    def open(self) -> None:
        for table in (self.instances, self.history, self.inbox):
            try:
                table.create_table()
            except ResourceExistsError:
                pass
        self._thread = threading.Thread(target=self._run, name="devhost-store-writer", daemon=True)
        self._thread.start()

    def close(self, *, flush: bool = True, timeout: float = 30.0) -> None:
        if self._thread is None:
            return
        if flush:
            self.flush(timeout)
        else:  # a crash-like stop: whatever is still queued is lost
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None
        for client in (self.instances, self.history, self.inbox, self.service):
            client.close()

    # -- reads ------------------------------------------------------------------------------
    def load_instances(self) -> list[dict[str, Any]]:
        return [instance_record(e) for e in self.instances.list_entities()]

    def load_instance(self, instance_id: str) -> dict[str, Any] | None:
        try:
            return instance_record(self.instances.get_entity(instance_id, ""))
        except ResourceNotFoundError:
            return None

    def load_history(self, instance_id: str, count: int) -> list[dict[str, Any]]:
        rows = self.history.query_entities("PartitionKey eq @pk", parameters={"pk": instance_id})
        events: dict[int, dict[str, Any]] = {}
        for row in rows:
            index = int(row["RowKey"])
            if index < count:
                events[index] = json.loads(get_text(row, "Event") or "{}")
        if len(events) != count:
            raise RuntimeError(f"history of {instance_id!r} is incomplete: {len(events)} of {count} rows")
        return [events[i] for i in range(count)]

    def load_inbox(self) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        result: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for row in self.inbox.list_entities():
            event = json.loads(get_text(row, "Event") or "{}")
            result.setdefault(row["PartitionKey"], []).append((row["RowKey"], event))
        for rows in result.values():
            rows.sort()
        return result

    # -- writes (ordered, on the writer thread) --------------------------------------------
    def _submit(self, job: tuple[Any, ...], wait: bool) -> None:
        done = threading.Event() if wait else None
        with self._pending_lock:
            self._pending += 1
            self._idle.clear()
        self._queue.put((*job, done))
        if done is not None and not done.wait(60):
            raise TimeoutError("storage write did not finish within 60 s")

    def put_history(self, instance_id: str, start: int, events: Iterable[dict[str, Any]]) -> None:
        rows = [history_entity(instance_id, start + n, e) for n, e in enumerate(events)]
        if rows:
            self._submit(("history", instance_id, rows), wait=False)

    def put_instance(self, record: dict[str, Any], *, wait: bool = False) -> None:
        self._submit(("instance", record["instance_id"], instance_entity(record)), wait=wait)

    def put_inbox(self, instance_id: str, key: str, event: dict[str, Any]) -> None:
        entity: dict[str, Any] = {"PartitionKey": instance_id, "RowKey": key}
        set_text(entity, "Event", json.dumps(event, separators=(",", ":")))
        self._submit(("inbox", instance_id, entity), wait=True)

    def delete_inbox(self, instance_id: str, keys: list[str]) -> None:
        if keys:
            self._submit(("inbox_delete", instance_id, keys), wait=False)

    def purge(self, instance_id: str) -> None:
        self._submit(("purge", instance_id, None), wait=True)

    def flush(self, timeout: float = 30.0) -> bool:
        return self._idle.wait(timeout)

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                jobs.append(more)
            try:
                self._process(jobs)
            except Exception:
                log.exception("storage write failed; the state in Azurite may lag behind the host")
            finally:
                for item in jobs:
                    if item[-1] is not None:
                        item[-1].set()
                with self._pending_lock:
                    self._pending -= len(jobs)
                    if self._pending == 0:
                        self._idle.set()

    def _process(self, jobs: list[tuple[Any, ...]]) -> None:
        history: dict[str, dict[str, dict[str, Any]]] = {}
        inbox: dict[str, dict[str, dict[str, Any]]] = {}
        instances: dict[str, dict[str, Any]] = {}
        deletes: dict[str, set[str]] = {}

        def flush() -> None:
            for rows in history.values():
                self._upsert(self.history, list(rows.values()))
            for rows in inbox.values():
                self._upsert(self.inbox, list(rows.values()))
            for entity in instances.values():
                self._retry(lambda e=entity: self.instances.upsert_entity(e, mode=UpdateMode.REPLACE))
                self.writes += 1
            for pk, keys in deletes.items():
                self._delete(self.inbox, pk, sorted(keys))
            for collection in (history, inbox, instances, deletes):
                collection.clear()

        for kind, instance_id, payload, _done in jobs:
            if kind == "history":
                rows = history.setdefault(instance_id, {})
                for row in payload:
                    rows[row["RowKey"]] = row
            elif kind == "instance":
                instances[instance_id] = payload
            elif kind == "inbox":
                inbox.setdefault(instance_id, {})[payload["RowKey"]] = payload
            elif kind == "inbox_delete":
                pending = inbox.get(instance_id, {})
                for key in payload:
                    pending.pop(key, None)
                deletes.setdefault(instance_id, set()).update(payload)
            elif kind == "purge":
                flush()
                self._purge(instance_id)
        flush()

    def _retry(self, operation: Any) -> Any:
        for attempt in range(4):
            try:
                return operation()
            except AzureError:
                if attempt == 3:
                    raise
                time.sleep(0.2 * (attempt + 1))
        return None

    def _upsert(self, table: TableClient, rows: list[dict[str, Any]]) -> None:
        batch: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        size = 0
        for row in rows:
            row_size = _size(row)
            if batch and (len(batch) >= MAX_BATCH_OPS or size + row_size > MAX_BATCH_BYTES):
                self._retry(lambda b=batch: table.submit_transaction(b))
                self.writes += len(batch)
                batch, size = [], 0
            batch.append(("upsert", row, {"mode": UpdateMode.REPLACE}))
            size += row_size
        if batch:
            self._retry(lambda b=batch: table.submit_transaction(b))
            self.writes += len(batch)

    def _delete(self, table: TableClient, pk: str, keys: list[str]) -> None:
        for start in range(0, len(keys), MAX_BATCH_OPS):
            ops = [("delete", {"PartitionKey": pk, "RowKey": k}) for k in keys[start : start + MAX_BATCH_OPS]]
            try:
                self._retry(lambda o=ops: table.submit_transaction(o))
            except AzureError:  # a row already gone fails the whole batch: delete one by one
                for _, entity in ops:
                    try:
                        table.delete_entity(entity["PartitionKey"], entity["RowKey"])
                    except ResourceNotFoundError:
                        pass

    def _purge(self, instance_id: str) -> None:
        for table in (self.history, self.inbox):
            keys = [
                r["RowKey"]
                for r in table.query_entities(
                    "PartitionKey eq @pk", parameters={"pk": instance_id}, select=["RowKey"]
                )
            ]
            self._delete(table, instance_id, keys)
        try:
            self.instances.delete_entity(instance_id, "")
        except ResourceNotFoundError:
            pass
