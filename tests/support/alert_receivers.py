"""Real receivers for the alert tests: an SMTP server that requires STARTTLS
(aiosmtpd, with a trustme certificate) and an HTTP server that records every
POST and answers as told (a status, or a hang past the sender's timeout)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from tests.support.ports import free_port

from smp.storage.tables import FindingRow


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    data: bytes
    # aiosmtpd's session.ssl: set only once STARTTLS made the session TLS.
    over_tls: bool


@dataclass
class SmtpHandler:
    received: list[Mail] = field(default_factory=list)
    # A reply for RCPT TO, e.g. "550 5.7.1 relaying denied": refuse every mail.
    refuse_with: str | None = None
    # Seconds before each RCPT reply: a server slow at every step, each reply
    # inside the sender's timeout, the whole session not.
    rcpt_delay_s: float = 0.0
    # Replies to DATA in turn (then accepted), e.g. "554 5.7.1 Content rejected".
    data_replies: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.refuse_with:
            return self.refuse_with
        if self.rcpt_delay_s:
            await asyncio.sleep(self.rcpt_delay_s)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        content = envelope.content
        assert isinstance(content, bytes)
        self.received.append(
            Mail(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                content,
                session.ssl is not None,
            )
        )
        return "250 Message accepted for delivery"


@dataclass
class Tls:
    ca_file: Path
    ca: trustme.CA
    server_cert: trustme.LeafCert


def private_ca(directory: Path) -> Tls:
    """A CA of the test's own and a certificate for 127.0.0.1 it signed."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = directory / "alerts-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Tls(ca_file, ca, cert)


@contextmanager
def smtp_server(tls: Tls | None, handler: SmtpHandler) -> Iterator[int]:
    """An SMTP server on 127.0.0.1 that refuses mail before STARTTLS; its port.

    Without `tls` it offers no STARTTLS at all (a server SMP must refuse)."""
    import ssl

    options: dict[str, Any] = {}
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.server_cert.configure_cert(context)
        options = {"require_starttls": True, "tls_context": context}
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """Records POSTs; answers with `replies` in turn (then 200), "hang" sleeps,
    "echo" is a 404 that quotes the request's path."""

    port: int = 0
    posted: list[Posted] = field(default_factory=list)
    replies: list[int | str] = field(default_factory=list)
    hang_s: float = 3.0
    # Called as each POST arrives, before the answer (e.g. to move a test's clock).
    on_post: Callable[[], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook/SECRET-TOKEN") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def next_reply(self) -> int | str:
        with self.lock:
            return self.replies.pop(0) if self.replies else 200

    def reset(self) -> None:
        with self.lock:
            self.posted.clear()
            self.replies.clear()
            self.on_post = None


def _handler(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            reply = receiver.next_reply()
            if receiver.on_post is not None:
                receiver.on_post()
            with receiver.lock:
                receiver.posted.append(
                    Posted(self.path, dict(self.headers.items()), body)
                )
            if reply == "hang":
                time.sleep(receiver.hang_s)
                reply = 200
            if reply == "echo":  # as some servers do: the path, token and all
                reply, answer = 404, f"Cannot POST {self.path}".encode()
            else:
                assert isinstance(reply, int)
                answer = b"ok" if reply < 300 else b"no_service"
            try:
                self.send_response(reply)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting: what the hang is for

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test reads `posted`, not a log

    return Handler


@contextmanager
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def high_finding(integration_id: int, opened: dt.datetime) -> FindingRow:
    """An open high finding (sent at once) about x@example.org, opened at `opened`."""
    return FindingRow(
        integration_id=integration_id,
        rule="external_admin",
        subject_key="x@example.org",
        subject_label="x@example.org",
        severity="high",
        status="open",
        title="External admin: x@example.org",
        evidence={"email": "x@example.org"},
        first_seen=opened,
        last_seen=opened,
        episode_opened_at=opened,
        status_changed_at=opened,
    )
