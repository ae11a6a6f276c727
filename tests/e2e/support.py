"""Helpers for the end-to-end tests: a deadline, the HTTP client that drives the app as a
Logic App would, secret detection, tenant arithmetic and storage snapshots.

The fixtures that use them are in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from devhost.azure_standin import APP_IDENTITY_SECRET, DEFAULT_CLIENT_SECRET
from tests.deadline import TestTimeout as E2ETimeout
from tests.deadline import within
from tests.portal_csv import HEADER_2025, NOT_PER_CATEGORY  # noqa: F401 - the CSV tests import it from here

TEST_DEADLINE_SECONDS = 60
STACK_START_DEADLINE_SECONDS = 90
POLL_SLEEP_CAP_SECONDS = 0.2
REPORT_TIMEOUT_SECONDS = 40
TASK_HUB = "AdvisorReports"
PAGE_SIZE = 50  # the app's $top; smaller than the stand-in's pages, so listings take several pages

E2E_SETTINGS = {
    "RETRY_INTERVAL_SECONDS": "0.3",
    "RETRY_ATTEMPTS": "3",
    "FETCH_TIMEOUT_SECONDS": "30",
    "ADVISOR_PAGE_SIZE": str(PAGE_SIZE),
    # Location and file links are signed report links (shared/links.py), as a Logic App gets them.
    "REPORT_LINK_KEY": "e2e-report-link-key-0f3c9a",
    # The scheduled_reports timer fires when a test asks (POST /admin/functions/...), never on
    # its own in the middle of another test that counts reports: once a year, on 1 January.
    "REPORT_SCHEDULE": "0 0 0 1 1 *",
}

REPORT_TYPES = ("detailed", "executive", "cost", "security", "operations")
# The stand-in's category names -> the app's.
API_TO_CATEGORY = {
    "HighAvailability": "reliability",
    "Security": "security",
    "Performance": "performance",
    "Cost": "cost",
    "OperationalExcellence": "operational_excellence",
}


# -- secrets ------------------------------------------------------------------------------------


def secret_values(stack: Any) -> list[str]:
    """What must never reach a caller: the client secrets, the storage account key and every
    bearer token the stand-in has issued so far."""
    values = [DEFAULT_CLIENT_SECRET, APP_IDENTITY_SECRET, E2E_SETTINGS["REPORT_LINK_KEY"], stack.key]
    match = re.search(r"AccountKey=([^;]+)", stack.storage_connection)
    if match:
        values.append(match.group(1))
    tokens = getattr(stack.standin, "_tokens", {})  # private, but the surest list of tokens
    values.extend(str(t) for t in list(tokens))
    return [v for v in values if v]


# What a Durable management URL looks like, whoever hands it out: the public webhook path
# (``/runtime/webhooks/durabletask/...``) and the extension's name in its query and routes.
DURABLE_MARKERS = ("runtime/webhooks", "durabletask")


def host_keys(stack: Any, caller_key: str) -> list[str]:
    """The host's keys a caller must never be handed: the system key the Durable extension puts
    in its management URLs (read from the client binding, exactly as the SDK gets it) and any
    master or host key the host has. The caller's own function key is a secret of its own (see
    ``secret_values``): no answer carries it. (On a host where one key plays every role, the
    markers above are what catch a management URL.)"""
    binding = json.loads(stack.host.client_binding())
    keys = set(parse_qs(binding.get("requiredQueryStringParameters", "")).get("code", []))
    for name in ("system_key", "master_key", "host_key"):
        value = getattr(stack.host, name, None)
        if isinstance(value, str):
            keys.add(value)
    return sorted(k for k in keys if k and k != caller_key)


def find_durable_handles(text: str, keys: list[str]) -> list[str]:
    """Durable management URLs or host keys in an answer (body and headers)."""
    lowered = text.lower()
    found = [m for m in DURABLE_MARKERS if m in lowered]
    return found + [k[:4] + "..." for k in keys if k in text]


def find_secrets(text: str | bytes, secrets: list[str]) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    found = [s[:6] + "..." for s in secrets if s in text]
    if re.search(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{16,}", text):
        found.append("a bearer token")
    if re.search(r"(?i)client_secret=", text):
        found.append("client_secret=")
    return found


# -- the HTTP client ------------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    url: str
    status: int
    body: str


@dataclass
class ApiClient:
    """Calls the app as a client (a portal, a Logic App) does; see the module docstring."""

    stack: Any
    http: requests.Session = field(default_factory=requests.Session)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.http.trust_env = False  # no proxies from the environment for loopback calls

    @property
    def base(self) -> str:
        return self.stack.url

    @property
    def key(self) -> str:
        return self.stack.key

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}{path}"

    def call(
        self, method: str, path: str, *, key: bool = True, timeout: float = 30, **kwargs: Any
    ) -> requests.Response:
        params = dict(kwargs.pop("params", None) or {})
        url = self.url(path)
        if key and "code=" not in url:
            params["code"] = self.key
        kwargs.setdefault("allow_redirects", False)
        response = self.http.request(method, url, params=params, timeout=timeout, **kwargs)
        self.check_no_secrets(response)
        return response

    def check_no_secrets(self, response: requests.Response) -> None:
        body = response.content
        text = body.decode("utf-8", "replace")
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.seen.append(Seen(response.request.method or "", response.url, response.status_code, text))
        leaked = find_secrets(text + "\n" + headers, secret_values(self.stack))
        assert not leaked, f"{response.request.method} {response.url} answered with {leaked}"
        if self.base in response.url:  # the app's answers (a SAS download is Azurite's)
            handles = find_durable_handles(text + "\n" + headers, host_keys(self.stack, self.key))
            assert not handles, f"{response.request.method} {response.url} answered with {handles}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    # -- reports -------------------------------------------------------------------------------

    def start(self, body: dict[str, Any]) -> requests.Response:
        response = self.post("/api/reports", json=body)
        assert response.status_code == 202, response.text
        return response

    def start_csv(self, data: bytes, **params: str) -> requests.Response:
        return self.post(
            "/api/reports/csv", params=params, data=data, headers={"Content-Type": "text/csv"}, timeout=60
        )

    def poll(self, location: str, timeout: float = REPORT_TIMEOUT_SECONDS) -> dict[str, Any]:
        """Follow ``Location`` until the answer is not 202, honouring ``Retry-After`` (capped at
        POLL_SLEEP_CAP_SECONDS so the suite stays fast); return the final report resource."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(location)
            if response.status_code != 202:
                assert response.status_code == 200, f"{response.status_code}: {response.text}"
                return response.json()
            body = response.json()
            assert body["status"] in ("pending", "processing", "generating"), body
            assert "progress" in body, body
            retry_after = response.headers.get("Retry-After")
            assert retry_after is not None and float(retry_after) >= 0, response.headers
            location = response.headers.get("Location") or location
            if time.monotonic() > deadline:
                raise E2ETimeout(f"report still {body['status']} after {timeout:g} s: {body.get('progress')}")
            time.sleep(min(float(retry_after), POLL_SLEEP_CAP_SECONDS))

    def run_report(self, body: dict[str, Any], timeout: float = REPORT_TIMEOUT_SECONDS) -> dict[str, Any]:
        started = self.start(body)
        return self.poll(started.headers["Location"], timeout)

    def history(self, instance_id: str) -> dict[str, Any]:
        """An orchestration's status with history, input and outputs, from the host's Durable
        HTTP API as the SDK's client reaches it (rpcBaseUrl). Callers of the app never get a
        management URL; tests read the history from the host, like an operator would."""
        from azure.durable_functions.models.RpcManagementOptions import RpcManagementOptions

        options = RpcManagementOptions(
            instance_id=instance_id, show_history=True, show_history_output=True, show_input=True
        )
        response = self.http.get(options.to_url(self.stack.host.rpc_base_url), timeout=30)
        assert response.status_code in (200, 202), response.text  # 202: still running
        return response.json()

    def fetch_history(self, report_id: str, subscription_id: str) -> dict[str, Any]:
        """The history of one subscription's fetch sub-orchestration."""
        return self.history(f"{report_id}:fetch:{subscription_id}")

    def download(self, files_link: str) -> tuple[requests.Response, requests.Response]:
        """The 302 from the app and the answer of the SAS URL it points to."""
        redirect = self.get(files_link)
        assert redirect.status_code == 302, f"{redirect.status_code}: {redirect.text}"
        sas = redirect.headers["Location"]
        response = self.http.get(sas, timeout=30)
        self.check_no_secrets(response)
        return redirect, response

    def list_reports(self, **params: Any) -> requests.Response:
        return self.get("/api/reports", params=params)


# -- tenant helpers ----------------------------------------------------------------------------------


def rec_category(rec: dict[str, Any]) -> str:
    raw = rec["properties"]["category"]
    return API_TO_CATEGORY.get(raw, raw.lower())


def rec_impact(rec: dict[str, Any]) -> str:
    return rec["properties"]["impact"].lower()


def rec_resource_group(rec: dict[str, Any]) -> str:
    match = re.search(r"/resourceGroups/([^/]+)/", rec["id"], re.IGNORECASE)
    return match.group(1) if match else ""


def rec_ext(rec: dict[str, Any]) -> dict[str, str]:
    return rec["properties"].get("extendedProperties") or {}


def is_commitment(rec: dict[str, Any]) -> bool:
    """Reservation / savings-plan recommendations: the ones that repeat per lookback and term
    (and that a report folds into one). Everything else is counted once each."""
    ext = rec_ext(rec)
    kind = ext.get("recommendationType", "").lower().replace(" ", "").replace("_", "")
    return (
        bool(ext.get("reservedResourceType") or ext.get("term")) or "reserv" in kind or "savingsplan" in kind
    )


def money(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    return Decimal(str(value).replace(",", ""))


# -- storage ----------------------------------------------------------------------------------------


def storage_snapshot(stack: Any, *, recommendations: bool = True) -> dict[str, set[str]]:
    """Every entity key in the app's tables and every blob in the uploads container."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.data.tables import TableServiceClient
    from azure.storage.blob import BlobServiceClient

    tables = TableServiceClient.from_connection_string(stack.storage_connection)
    names = ["reports", "schedules", f"{TASK_HUB}Instances"] + (
        ["recommendations"] if recommendations else []
    )
    snapshot: dict[str, set[str]] = {}
    for name in names:
        client = tables.get_table_client(name)
        try:
            snapshot[name] = {
                f"{e['PartitionKey']}|{e['RowKey']}"
                for e in client.list_entities(select=["PartitionKey", "RowKey"], results_per_page=1000)
            }
        except ResourceNotFoundError:
            snapshot[name] = set()
    blobs = BlobServiceClient.from_connection_string(stack.storage_connection)
    try:
        snapshot["uploads"] = {b.name for b in blobs.get_container_client("uploads").list_blobs()}
    except ResourceNotFoundError:
        snapshot["uploads"] = set()
    return snapshot


def count_stored_recommendations(stack: Any, report_id: str) -> int:
    from azure.data.tables import TableServiceClient

    client = TableServiceClient.from_connection_string(stack.storage_connection).get_table_client(
        "recommendations"
    )
    rows = client.query_entities("PartitionKey eq @pk", parameters={"pk": report_id}, select=["RowKey"])
    return sum(1 for _ in rows)


def sas_expiry_seconds(sas_url: str) -> float:
    """Seconds from now until the SAS URL's ``se``."""
    from datetime import UTC, datetime

    query = parse_qs(urlsplit(sas_url).query)
    expiry = datetime.strptime(query["se"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (expiry - datetime.now(UTC)).total_seconds()


def json_dump(value: Any) -> str:
    return json.dumps(value, default=str)


def arm_requests_since(stack: Any, seq: int, subscription: str | None = None) -> list[dict[str, Any]]:
    return stack.standin.requests(target="arm", subscription=subscription, since=seq)


def last_seq(stack: Any) -> int:
    entries = stack.standin.requests()
    return entries[-1]["seq"] if entries else 0


def history_events(
    history: dict[str, Any], function_name: str, event_type: str | None = None
) -> list[dict[str, Any]]:
    return [
        e
        for e in history.get("historyEvents") or []
        if e.get("FunctionName") == function_name and (event_type is None or e.get("EventType") == event_type)
    ]


@dataclass
class TenantFigures:
    """What the stand-in serves for some subscriptions, counted independently of the app."""

    recs: list[dict[str, Any]]

    @classmethod
    def of(cls, stack: Any, subscriptions: Iterable[str]) -> TenantFigures:
        return cls([r for sub in subscriptions for r in stack.standin.recommendations(sub)])

    def where(self, **criteria: Any) -> TenantFigures:
        """Filter by category / impact / resource_group (each a value or a collection)."""
        getters = {"category": rec_category, "impact": rec_impact, "resource_group": rec_resource_group}
        recs = self.recs
        for name, wanted in criteria.items():
            values = {wanted} if isinstance(wanted, str) else set(wanted)
            values = {v.lower() for v in values}
            recs = [r for r in recs if getters[name](r).lower() in values]
        return TenantFigures(recs)

    @property
    def total(self) -> int:
        return len(self.recs)

    @property
    def plain(self) -> TenantFigures:
        """Without reservation/savings-plan variants: each of these is counted exactly once."""
        return TenantFigures([r for r in self.recs if not is_commitment(r)])

    def by(self, getter: Any) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rec in self.recs:
            counts[getter(rec)] = counts.get(getter(rec), 0) + 1
        return counts

    def savings(self, currency: str) -> tuple[Decimal, Decimal]:
        """(monthly, annual) summed over every recommendation stating savings in ``currency``."""
        monthly = annual = Decimal(0)
        for rec in self.recs:
            ext = rec_ext(rec)
            if (ext.get("savingsCurrency") or "").strip().upper() != currency:
                continue
            m, a = money(ext.get("savingsAmount")), money(ext.get("annualSavingsAmount"))
            if a is None and m is not None:
                a = m * 12
            if m is None and a is not None:
                m = (a / 12).quantize(Decimal("0.01"))
            monthly += m or 0
            annual += a or 0
        return monthly, annual

    def currencies(self) -> set[str]:
        return {
            (rec_ext(r).get("savingsCurrency") or "").strip().upper()
            for r in self.recs
            if rec_ext(r).get("savingsCurrency")
        }


# -- the portal's CSV export ---------------------------------------------------------------------

SUB_A = "0f8fad5b-d9cb-469f-a165-70867728950e"
SUB_B = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

PER_CATEGORY_DROPPED = NOT_PER_CATEGORY


def row(category: str, impact: str, text: str, sub: str, rg: str, name: str, **extra: str) -> dict[str, str]:
    values = {
        "Category": category,
        "Business Impact": impact,
        "Recommendation": text,
        "Subscription ID": sub,
        "Subscription Name": "Production" if sub == SUB_A else "Shared, EU",
        "Resource Group": rg,
        "Resource Name": name,
        "Type": "Virtual machine",
        "Updated Date": "3/4/2025, 10:11:12 AM",
        "Potential benefits": "",
        "Potential Annual Cost Savings": "",
        "Potential Cost Savings Currency": "",
        "Potential carbon reductions": "",
        "Cost implications (Preview)": "",
        "Description of changes": "",
        "Retirement date": "",
        "Retiring feature": "",
    }
    values.update(extra)
    return values


def to_csv(header: list[str], rows: list[dict[str, str]], *, bom: bool = True) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for values in rows:
        writer.writerow([values[h] for h in header])
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


@contextlib.contextmanager
def started_stack(settings: dict[str, str], **options: Any) -> Iterator[Any]:
    """A :class:`~devhost.stack.DevStack` with these app settings, started within the start
    deadline and stopped on the way out. A stack that cannot start fails the tests that need it
    (never a skip: a skipped e2e tier would hide exactly what it is there to show)."""
    from devhost.stack import DevStack

    dev = DevStack(settings=dict(settings), **options)
    with within(STACK_START_DEADLINE_SECONDS):
        dev.start()
    try:
        yield dev
    finally:
        dev.stop()
