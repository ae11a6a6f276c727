"""The stand-in's internal records: an issued token, a Key Vault secret version, and the request
a handler is working on, an accepted service principal (which becomes a request-log entry when answered)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .faults import Fault


@dataclass
class _Token:
    client_id: str
    tenant_id: str
    audience: str
    expires_at: float


@dataclass
class _Principal:
    """An app registration the token endpoint accepts: its home tenant, its secret, and the
    subscriptions it holds a role on (None: every subscription, as the app's own identity)."""

    client_id: str
    tenant_id: str
    secret: str
    subscriptions: frozenset[str] | None = None

    def may_read(self, subscription_id: str) -> bool:
        return self.subscriptions is None or subscription_id.lower() in self.subscriptions


@dataclass
class _Secret:
    version: str
    value: str
    created: int
    content_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    enabled: bool = True


@dataclass
class _Request:
    """What one handler is working on; becomes a log entry when answered."""

    method: str
    path: str
    query: dict[str, Any]
    target: str = "other"
    subscription: str | None = None
    operation: str | None = None
    page: int | None = None
    client_id: str | None = None
    fault: Fault | None = None
    started: float = field(default_factory=time.monotonic)
