"""HTTP helpers for the triggers: JSON responses, the error shape, domain errors to status codes.

Errors are always ``{"error": {"code", "message", "field"?}}``. Domain errors map to status
codes here and nowhere else (cosmicpython's entrypoint rule).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import azure.functions as func

from shared.errors import (
    ConflictError,
    InvalidInputError,
    LimitExceededError,
    NotFoundError,
    PermanentError,
    TransientError,
)

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2
_WHOLE_NUMBER = re.compile(r"[0-9]{1,12}")


def page_params(req: func.HttpRequest) -> tuple[int, str | None]:
    """A report listing's ``limit`` (1-100, default 20) and ``continuationToken``."""
    raw_limit = req.params.get("limit") or "20"
    # ASCII digits only: str.isdigit() accepts "²" and other digits int() refuses.
    if not _WHOLE_NUMBER.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= 100:
        raise InvalidInputError("limit must be a whole number from 1 to 100", field="limit")
    token = req.params.get("continuationToken") or None
    if token and not (token.startswith("t_") and len(token) < 100 and "/" not in token):
        raise InvalidInputError("continuationToken is not one this API handed out", field="continuationToken")
    return int(raw_limit), token


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":"), default=str),
        status_code=status,
        mimetype="application/json",
        headers=headers or {},
    )


def error_response(status: int, code: str, message: str, field: str | None = None) -> func.HttpResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return json_response({"error": error}, status)


def handle_errors(
    fn: Callable[..., Awaitable[func.HttpResponse]],
) -> Callable[..., Awaitable[func.HttpResponse]]:
    """Map domain errors to 4xx/5xx answers; anything unexpected is a 500 with no details."""

    @wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            return await fn(*args, **kwargs)
        except InvalidInputError as exc:
            # messages with a position already name it ("Line 3, column ...")
            return error_response(400, "invalid_input", str(exc), exc.field)
        except LimitExceededError as exc:
            return error_response(413, "too_large", str(exc))
        except NotFoundError as exc:
            return error_response(404, exc.code, str(exc), exc.field)
        except ConflictError as exc:
            return error_response(409, exc.code, str(exc))
        except TransientError as exc:
            return error_response(503, exc.code, str(exc))
        except PermanentError as exc:
            return error_response(500, exc.code, str(exc))
        except Exception:
            log.exception("Unhandled error in %s", fn.__name__)
            return error_response(500, "internal_error", "Something went wrong; the error was logged")

    return wrapper
