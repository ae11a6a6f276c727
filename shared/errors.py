"""Domain errors and their classification.

Transient errors are raised so the durable retry policy retries them; permanent ones become a
typed failure outcome that fails the report at once (docs/architecture.md, rule 4). Every message here is
sanitized: it may name a subscription or an HTTP status, never a token, secret or header.
"""

from __future__ import annotations

import re


class AdvisorReportsError(Exception):
    """Base for our errors. ``code`` is machine-readable, ``str()`` is safe to show a user."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(sanitize(message))
        if code:
            self.code = code


class TransientError(AdvisorReportsError):
    """Can succeed on retry: throttling, 5xx, connection failures, timeouts."""

    code = "transient"


class PermanentError(AdvisorReportsError):
    """Will fail the same way on retry: bad credentials, no access, no such subscription."""

    code = "permanent"


class InvalidInputError(AdvisorReportsError):
    """Input that can never be processed; ``field`` names what was wrong, ``line`` where."""

    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.line = line


class LimitExceededError(AdvisorReportsError):
    code = "limit_exceeded"


class NotFoundError(AdvisorReportsError):
    """What the request names does not exist (a customer, a subscription); ``field`` names
    the request's field that named it, when it came in the body rather than the route."""

    code = "not_found"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConflictError(AdvisorReportsError):
    """The request contradicts what exists (registered twice, a customer still in use)."""

    code = "conflict"


_SECRET_PATTERNS = [
    # bearer tokens and JWTs
    (re.compile(r"(?i)bearer\s+[A-Za-z0-9\-._~+/]+=*"), "Bearer [redacted]"),
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), "[redacted-jwt]"),
    # key=value secrets in connection strings, query strings and form bodies
    (
        re.compile(
            r"(?i)\b(client_secret|clientsecret|secret|password|accountkey|sharedaccesskey|sig|"
            r"access_token|refresh_token|assertion|code)=([^&;\s\"']+)"
        ),
        r"\1=[redacted]",
    ),
]


def sanitize(message: str, limit: int = 500) -> str:
    """Remove anything that looks like a credential and cap the length."""
    text = str(message)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return text


_ACTIVITY_PREFIX = re.compile(r"^(?:Activity|Orchestrator) function '[^']*' failed: ")
_EXCEPTION_TYPE = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*: ")
# A traceback frame ('File "/x/y.py", line 3, in f') and an absolute file path (POSIX or
# Windows) in an exception's message: where the app is installed is nothing a caller sees. A
# path right after ":" or "/" is part of a URL and stays.
_TRACEBACK_FRAME = re.compile(r'\bFile "[^"]*", line \d+(?:, in [\w<>.]+)?')
_FILE_PATH = re.compile(r"(?<![\w:/.\\])(?:[A-Za-z]:)?(?:[\\/][\w.\-]+){2,}[\\/]?")


def failure_reason(exc: BaseException | str) -> str:
    """The human part of a failure that reached an orchestrator.

    The Durable extension reports a failed activity as "Activity function 'name' failed: Type:
    message" with the serialized exception in the details, and the Python SDK raises
    ``Exception("<reason> \\n <details>")``. A report shows only the message: no function
    name, exception type, traceback or file path."""
    text = str(exc).split(" \n ", 1)[0].split("\n", 1)[0].strip()
    stripped = _ACTIVITY_PREFIX.sub("", text)
    if stripped != text:  # the extension writes two spaces after "failed:"
        stripped = _EXCEPTION_TYPE.sub("", stripped.lstrip())
    stripped = _FILE_PATH.sub("[path]", _TRACEBACK_FRAME.sub("", stripped))
    return sanitize(stripped.strip(" ,;")) or "The step failed without a reason"
