"""The 202 + ``Location`` + ``Retry-After`` answer of ``POST /api/reports`` consumed the way a
Logic Apps HTTP action consumes it (the asynchronous request-response pattern): start with the
function key, and on 202 follow ``Location`` as given (resolved against the request URL when
relative), wait what ``Retry-After`` says, and stop at the first answer that is not 202, which
becomes the action's output. The polls carry no key: the ``Location`` alone must open the
report, and must carry no key, no system key and no Durable management URL.

Retry-After is honoured in full (the app answers a couple of seconds); the test only checks it
is a sane whole number of seconds first. For a successful, a failed (every subscription
unreadable) and a CSV report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from .support import ApiClient, find_durable_handles, host_keys, within

pytestmark = pytest.mark.e2e

MAX_POLLS = 40
SANE_RETRY_AFTER = range(1, 121)  # seconds: a Logic App honours up to its own limits


@dataclass
class Poll:
    url: str
    status: int
    retry_after: int | None
    waited: float  # seconds since the previous answer


@dataclass
class ActionResult:
    """What the HTTP action hands to the next step of the workflow."""

    status: int
    body: Any
    polls: list[Poll] = field(default_factory=list)


class LogicAppHttpAction:
    """A Logic Apps HTTP action with the asynchronous pattern on (its default)."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def run(self, method: str, path: str, **kwargs: Any) -> ActionResult:
        first = self.api.call(method, path, **kwargs)  # the function key goes with the start only
        result = ActionResult(first.status_code, _body(first))
        response, url, answered = first, first.url, time.monotonic()
        while response.status_code == 202:
            assert len(result.polls) < MAX_POLLS, f"still 202 after {MAX_POLLS} polls"
            location = response.headers.get("Location")
            assert location, f"202 without Location: {response.headers}"
            self.check_location(location)
            raw = response.headers.get("Retry-After", "")
            assert raw.isdigit() and int(raw) in SANE_RETRY_AFTER, f"Retry-After {raw!r}"
            time.sleep(max(0.0, int(raw) - (time.monotonic() - answered)))
            url = urljoin(url, location)
            response = self.api.call("GET", url, key=False)
            waited, answered = time.monotonic() - answered, time.monotonic()
            result.polls.append(Poll(url, response.status_code, int(raw), waited))
            result.status, result.body = response.status_code, _body(response)
        return result

    def check_location(self, location: str) -> None:
        """What a Logic App's run history shows, and anyone reading it can use."""
        found = find_durable_handles(location, host_keys(self.api.stack, self.api.key))
        assert not found, f"Location carries {found}"
        assert self.api.key not in location and "code=" not in location, location
        assert "/api/links/reports/" in location and "token=" in location, location


def _body(response: requests.Response) -> Any:
    return response.json() if response.content else None


@pytest.fixture
def logic_app(api: ApiClient) -> LogicAppHttpAction:
    return LogicAppHttpAction(api)


def check_polling(result: ActionResult) -> None:
    assert result.polls, "the report finished before the first poll: nothing was followed"
    assert all(p.status in (200, 202) for p in result.polls)
    assert [p.status for p in result.polls].count(200) == 1 and result.polls[-1].status == 200
    for poll in result.polls:
        assert poll.retry_after is not None and poll.waited >= poll.retry_after - 0.05, poll


def test_a_logic_app_waits_for_a_report_and_gets_it(
    logic_app: LogicAppHttpAction, sample_subscriptions: list[str]
) -> None:
    with within(90):
        result = logic_app.run(
            "POST", "/api/reports", json={"subscriptionIds": sample_subscriptions[:2], "reportType": "cost"}
        )
    check_polling(result)
    assert result.status == 200
    report = result.body
    assert report["status"] == "completed" and report["reportType"] == "cost"
    assert set(report["files"]) == {"html", "pdf"}
    assert report["counts"]["recommendations"] > 0
    assert result.polls[-1].url.split("?")[0].endswith(f"/api/links/reports/{report['reportId']}")
    # The file links in the output open without a key, as the next action would use them.
    redirect = logic_app.api.call("GET", urljoin(result.polls[-1].url, report["files"]["html"]), key=False)
    assert redirect.status_code == 302


def test_a_logic_app_gets_a_failed_report_as_a_200_with_the_reason(
    logic_app: LogicAppHttpAction, stack: Any, new_subscriptions: Any
) -> None:
    """Every subscription unreadable: the report fails. The poll still answers 200 (the
    action succeeds: the report resource is the output) and the workflow reads ``status``
    and ``failure`` from the body, as a condition after the action would."""
    subs = [s["subscriptionId"] for s in new_subscriptions(2, 5)]
    for sub in subs:
        stack.standin.inject_fault(subscription=sub, status=403)
    with within(90):
        result = logic_app.run(
            "POST",
            "/api/reports",
            json={"subscriptionIds": subs, "reportType": "detailed", "formats": ["html"]},
        )
    check_polling(result)
    assert result.status == 200
    report = result.body
    assert report["status"] == "failed" and "files" not in report
    assert report["failure"]["code"] == "authorization_failed", report["failure"]
    message = report["failure"]["message"]
    assert message.startswith("No subscription could be read") and all(
        s.lower() in message.lower() for s in subs
    )


def test_a_logic_app_waits_for_a_csv_report(logic_app: LogicAppHttpAction) -> None:
    from .support import HEADER_2025, SUB_A, row, to_csv

    data = to_csv(
        HEADER_2025,
        [
            row("Cost", "High", "Right-size underutilized virtual machines", SUB_A, "rg-app", "vm-1",
                **{"Potential Annual Cost Savings": "1,200", "Potential Cost Savings Currency": "USD"}),
            row("Security", "High", "Enable MFA for owners", SUB_A, "", "Production"),
        ],
    )  # fmt: skip
    with within(90):
        result = logic_app.run(
            "POST", "/api/reports/csv", params={"reportType": "detailed", "formats": "html"}, data=data,
            headers={"Content-Type": "text/csv"},
        )  # fmt: skip
    check_polling(result)
    assert result.status == 200
    report = result.body
    assert report["status"] == "completed" and report["source"] == "csv"
    assert report["counts"]["recommendations"] == 2 and set(report["files"]) == {"html"}
