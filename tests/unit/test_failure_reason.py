"""What a report says when a step failed: the message, without the extension's wrapping."""

from __future__ import annotations

import pytest

from shared.errors import failure_reason


@pytest.mark.parametrize(
    ("raised", "shown"),
    [
        # The Durable extension's shape (TaskActivityShim: two spaces after "failed:"), then the
        # SDK's " \n " and the serialized details.
        (
            "Activity function 'fetch_subscription' failed:  TransientError: Advisor API HTTP 500 \n "
            '{"$type": "System.Exception", "StackTrace": "File \\"/app/shared/advisor.py\\""}',
            "Advisor API HTTP 500",
        ),
        (
            "Activity function 'render_pdf_part' failed: azure.core.exceptions.HttpResponseError: busy",
            "busy",
        ),
        ("Orchestrator function 'x' failed: ValueError: bad", "bad"),
        # Without the extension's prefix a leading "Word: " is part of the message.
        ("Advisor: subscription 1 answered 500", "Advisor: subscription 1 answered 500"),
        ("first line\nTraceback (most recent call last):", "first line"),
        ("Activity function 'x' failed: Bearer eyJabc.def.ghi", "Bearer [redacted]"),
        ("", "The step failed without a reason"),
        # Where the app is installed is nobody's business: no traceback frame, no file path.
        (
            "Activity function 'import_csv' failed:  FileNotFoundError: [Errno 2] No such file or "
            "directory: '/home/site/wwwroot/.python_packages/lib/x.py'",
            "[Errno 2] No such file or directory: '[path]'",
        ),
        (
            "Activity function 'x' failed: ValueError: bad row; File \"/app/shared/p.py\", line 80, in f",
            "bad row",
        ),
        (
            r"Activity function 'x' failed: OSError: cannot open C:\home\site\wwwroot\app.py",
            "cannot open [path]",
        ),
        # URLs are not file paths.
        (
            "Activity function 'x' failed: ServiceRequestError: "
            "https://management.azure.com/subscriptions/1 down",
            "https://management.azure.com/subscriptions/1 down",
        ),
    ],
)
def test_failure_reason_keeps_the_message_only(raised: str, shown: str) -> None:
    assert failure_reason(Exception(raised)) == shown
