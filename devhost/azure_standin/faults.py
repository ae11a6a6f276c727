"""Scripted faults (:class:`Fault`): what should go wrong, for which requests, how many times;
built by tests directly or from the control API's JSON."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_FAULT_FIELDS = {
    "subscription",
    "target",
    "operation",
    "status",
    "code",
    "message",
    "retry_after",
    "remaining_reads",
    "count",
    "page",
    "delay",
    "malformed",
    "next_link",
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass
class Fault:
    """Something to go wrong, scripted by a test.

    - ``subscription``: a subscription id or ``"*"`` (ARM only; case-insensitive).
    - ``target``: ``"arm"`` (default), ``"token"`` (the Entra token endpoint) or ``"keyvault"``.
    - ``operation``: only for one ARM operation: ``list``, ``get``, ``generate``,
      ``generate_status``, ``subscription`` (None: any).
    - ``status``: answer with this error status and the service's error body; ``code`` and
      ``message`` override the defaults. 429 always carries ``Retry-After`` (``retry_after``,
      default 1) and ``x-ms-ratelimit-remaining-subscription-reads`` (``remaining_reads``,
      default 0); other statuses carry ``Retry-After`` only when ``retry_after`` is given.
    - ``malformed``: answer 200 with a body that is not valid JSON.
    - ``next_link``: ``"empty"`` (the page says ``"nextLink": ""``) or ``"repeat"`` (the page's
      nextLink points back at the page itself, so a client sees the same link again).
    - ``delay``: seconds to wait before answering (alone: a slow but correct answer).
    - ``page``: only on this listing page (1-based); implies ``operation="list"``.
    - ``count``: how many matching requests it affects; None means every one.

    A request gets the first active fault that matches it.
    """

    subscription: str = "*"
    target: str = "arm"
    operation: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    remaining_reads: int | None = None
    count: int | None = None
    page: int | None = None
    delay: float = 0.0
    malformed: bool = False
    next_link: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    hits: int = 0

    def __post_init__(self) -> None:
        self.status = None if self.status is None else int(self.status)
        self.count = None if self.count is None else int(self.count)
        self.page = None if self.page is None else int(self.page)
        self.retry_after = None if self.retry_after is None else float(self.retry_after)
        self.remaining_reads = None if self.remaining_reads is None else int(self.remaining_reads)
        self.delay = float(self.delay or 0)
        self.malformed = bool(self.malformed)
        if self.target not in ("arm", "token", "keyvault"):
            raise ValueError("target must be 'arm', 'token' or 'keyvault'")
        if self.operation not in (None, "list", "get", "generate", "generate_status", "subscription"):
            raise ValueError("operation must be list, get, generate, generate_status or subscription")
        effects = [self.status is not None, bool(self.malformed), self.next_link is not None]
        if sum(effects) > 1:
            raise ValueError("a fault has at most one of status, malformed, next_link")
        if not any(effects) and not self.delay:
            raise ValueError("a fault needs status, malformed, next_link or delay")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if self.next_link not in (None, "empty", "repeat"):
            raise ValueError("next_link must be 'empty' or 'repeat'")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (omit it for 'always')")
        if self.page is not None and self.page < 1:
            raise ValueError("page is 1-based")
        if (self.page is not None or self.next_link is not None) and self.operation in (None, "list"):
            self.operation = "list"
        elif self.page is not None or self.next_link is not None:
            raise ValueError("page and next_link apply to the 'list' operation only")
        if self.delay < 0:
            raise ValueError("delay must not be negative")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Accepts the keyword names (``retry_after``) or camelCase (``retryAfter``)."""
        if not isinstance(data, Mapping):
            raise ValueError("a fault is a JSON object")
        kwargs = {}
        for key, value in data.items():
            name = _CAMEL.sub("_", key).lower()
            if name not in _FAULT_FIELDS:
                raise ValueError(f"unknown fault field {key!r}")
            kwargs[name] = value
        return cls(**kwargs)

    def matches(self, target: str, subscription: str | None, operation: str | None, page: int | None) -> bool:
        if self.target != target:
            return False
        if target == "arm" and self.subscription != "*":
            if not subscription or subscription.lower() != self.subscription.lower():
                return False
        if self.operation is not None and self.operation != operation:
            return False
        if self.page is not None and self.page != page:
            return False
        return True

    @property
    def remaining(self) -> int | None:
        return None if self.count is None else self.count - self.hits

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in sorted(_FAULT_FIELDS)}
        data.update(id=self.id, hits=self.hits, remaining=self.remaining)
        return data
