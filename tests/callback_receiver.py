"""A callback receiver for the tests: an HTTPS (or plain HTTP) server on 127.0.0.1 that records
every request it gets (method, path with query, headers, raw body) and answers each from a
script of status codes (then 200), a redirect's ``Location`` included.

Its certificate comes from its own test CA (trustme), for ``127.0.0.1`` and ``localhost``;
``ca_pem`` is that CA, for whoever must trust it.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int
    location: str = ""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        receiver = self.server.receiver
        answer = receiver.record(Received("POST", self.path, dict(self.headers.items()), body))
        self.send_response(answer.status)
        if answer.location:
            self.send_header("Location", answer.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


@dataclass
class Receiver:
    tls: bool = True
    answers: list[Answer] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    ca_pem: str = ""
    _server: _Server | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.receiver = self
        if self.tls:
            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            cert.configure_cert(context)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            self.ca_pem = ca.cert_pem.bytes().decode("ascii")
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def script(self, *answers: int | Answer) -> None:
        with self._lock:
            self.answers = [a if isinstance(a, Answer) else Answer(a) for a in answers]

    def record(self, request: Received) -> Answer:
        with self._lock:
            self.received.append(request)
            return self.answers.pop(0) if self.answers else Answer(200)

    def reset(self) -> None:
        with self._lock:
            self.answers, self.received = [], []

    def for_report(self, report_id: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.headers.get("X-Advisor-Report-Id") == report_id]

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
