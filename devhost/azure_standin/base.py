"""HTTP plumbing shared by the endpoints: the base request handler (parsing, body, answers, the
bearer token), the :class:`_Reply` exceptions a handler raises to answer at once, and ARM's error
body."""

from __future__ import annotations

import json
import logging
import re
import ssl
import time
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from .records import _Request

if TYPE_CHECKING:
    from .server import AzureStandIn, _Server

log = logging.getLogger(__name__)

_MAX_BODY = 32 * 1024 * 1024


class _Reply(Exception):
    """Raised inside a handler to answer at once (errors, mostly)."""

    def __init__(self, status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class _Handled(_Reply):
    """The answer has already been sent."""

    def __init__(self) -> None:
        super().__init__(0)


def _arm_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> _Reply:
    return _Reply(status, {"error": {"code": code, "message": message}}, headers)


class _BaseHandler(BaseHTTPRequestHandler):
    """What every endpoint shares: parsing the request, reading the body, answering (and recording
    the answer in the stand-in's request log), the bearer token. :class:`~.handler._Handler` adds the
    routing and the endpoints."""

    protocol_version = "HTTP/1.1"
    server_version = "AzureStandIn/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this
    # Headers and body go out in separate writes; with Nagle's algorithm on, the client's delayed
    # ACK stalls every answer by ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    # Logging goes through _record (never headers); silence the base class's stderr lines.
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    @property
    def standin(self) -> AzureStandIn:
        return self.server.standin

    # -- plumbing ------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        # ARM tolerates doubled slashes; recommendations.get() sends "//subscriptions/...".
        path = re.sub(r"/{2,}", "/", unquote(parts.path))
        raw_query = parse_qs(parts.query, keep_blank_values=True)
        query = {k: (v[0] if len(v) == 1 else v) for k, v in raw_query.items()}
        req = _Request(self.command, path, query)
        try:
            body = self._read_body()
            self._route(req, body)
        except _Handled:
            pass
        except _Reply as reply:
            self._answer(req, reply.status, reply.body, reply.headers)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
        except Exception:
            log.exception("the stand-in failed on %s %s", req.method, req.path)
            self._answer(req, 500, {"error": {"code": "InternalServerError", "message": "stand-in failure"}})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            raise _Reply(413, {"error": {"code": "RequestTooLarge", "message": "body too large"}})
        return self.rfile.read(length) if length else b""

    def _answer(
        self,
        req: _Request,
        status: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        raw: bytes | None = None,
    ) -> None:
        if req.fault and req.fault.delay:
            time.sleep(req.fault.delay)
        if raw is not None:
            payload = raw
        elif body is None:
            payload = b""
        else:
            payload = json.dumps(body).encode()
        self.standin._record(req, status)
        try:
            self.send_response(status)
            out = {"x-ms-request-id": str(uuid.uuid4())}
            if req.target == "arm":
                out["x-ms-correlation-request-id"] = str(uuid.uuid4())
            if payload or raw is not None:
                out["Content-Type"] = "application/json; charset=utf-8"
            out.update(headers or {})
            for name, value in out.items():
                self.send_header(name, value)
            if status != 204 and not 100 <= status < 200:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and status != 204:
                self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def _bearer(self) -> str | None:
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def _route(self, req: _Request, body: bytes) -> None:
        raise NotImplementedError  # handler._Handler routes to the endpoints
