"""Sending one message: SMTP with STARTTLS (smtplib) or a JSON POST (httpx).

Plain standard library and httpx rather than a notification library: SMP
must know that STARTTLS happened, say in one line why a send failed, and
sign webhooks (docs/adr/0020-alert-delivery.md). Trust is SMP's own: the
operating system's store plus SMP_CA_BUNDLE, as for SendGrid. Every failure
is a `DeliveryFailed` whose message never holds a URL path or a password.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import hashlib
import hmac
import json
import os
import re
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import unquote

import httpx

from smp.model.alerts import Channel, ChannelKind
from smp.sendgrid.network import BadNetworkSetting, ca_bundle, proxy_for, tls_context
from smp.services.alerts import messages
from smp.services.alerts.messages import Batch

SIGNATURE_HEADER = "X-SMP-Signature"
TIMESTAMP_HEADER = "X-SMP-Timestamp"
EVENT_HEADER = "X-SMP-Event-Id"
# Headers folded only past RFC 5322's hard limit: a long subject folded right
# after "Subject:" reads back with a leading space in some clients.
MAIL_POLICY = email.policy.default.clone(max_line_length=998)
# A channel's timeout bounds each wait (connect, TLS, one reply); a whole send
# is cut off at this many timeouts, however many round trips it has. So a
# send's worst case is known and a delivery claim can be held longer than it.
SESSION_TIMEOUTS = 3


class DeliveryFailed(Exception):
    """A send that did not go through; the message is one line for people.

    `message_only`: the receiver answered and refused this message (an HTTP
    4xx such as 400 or 413, an SMTP 5xx reply to its content), so another
    message may well go through. Otherwise the channel itself is down or
    refuses everything (a timeout, no connection, an HTTP 5xx or 429, a
    revoked address or credentials, recipients refused) and every message
    waits for its backoff.
    """

    def __init__(self, message: str, *, message_only: bool = False) -> None:
        super().__init__(message)
        self.message_only = message_only


def session_limit_s(timeout: float) -> float:
    """The longest one send over a channel with `timeout` can take."""
    return SESSION_TIMEOUTS * timeout


def channel_timeout(channel: Channel) -> float:
    return float(channel.settings.get("timeout_s", 10.0))


def _tls() -> ssl.SSLContext:
    try:
        return tls_context(ca_bundle(os.environ))
    except BadNetworkSetting as error:
        raise DeliveryFailed(str(error)) from None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>` (docs/alerts.md)."""
    signed = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def event_id(batch: Batch, channel_id: int) -> str:
    """ASCII only: it goes into an HTTP header and a Message-ID, and httpx
    refuses a header that is not ASCII, so the channel's id, never its name."""
    if batch.kind == "alert":
        return batch.items[0].event_id
    stamp = batch.sent_at.strftime("%Y%m%dT%H%M%SZ")
    return f"{batch.kind}-channel-{channel_id}-{stamp}"


async def send(channel: Channel, secret: dict[str, str], batch: Batch) -> None:
    """Send `batch` over `channel`; DeliveryFailed with one line if it fails."""
    try:
        await _send(channel, secret, batch)
    except DeliveryFailed:
        raise
    except Exception as error:
        # A bug or a library's surprise must still be one line for the CLI and
        # a retry for the deliverer, never a traceback or a lost digest.
        raise DeliveryFailed(
            f"channel {channel.name}: {type(error).__name__}"
        ) from None


async def _send(channel: Channel, secret: dict[str, str], batch: Batch) -> None:
    timeout = channel_timeout(channel)
    if channel.kind is ChannelKind.EMAIL:
        message = email_message(channel, batch)
        await asyncio.to_thread(
            send_email, channel.settings, secret.get("password"), message, timeout
        )
        return
    if channel.kind is ChannelKind.SLACK:
        payload = messages.slack_payload(batch)
    elif channel.kind is ChannelKind.TEAMS:
        payload = messages.teams_payload(batch)
    else:
        payload = messages.webhook_payload(batch)
    body = body_bytes(payload)
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: event_id(batch, channel.id),
    }
    if channel.kind is ChannelKind.WEBHOOK:
        stamp = int(batch.sent_at.timestamp())
        headers[TIMESTAMP_HEADER] = str(stamp)
        headers[SIGNATURE_HEADER] = sign(secret["hmac_secret"], stamp, body)
    await post(secret["url"], body, headers, timeout)


def email_message(channel: Channel, batch: Batch) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = messages.email_subject(batch)
    message["From"] = channel.settings["from"]
    message["To"] = ", ".join(channel.settings["to"])
    message["Date"] = format_datetime(batch.sent_at)
    message["Message-ID"] = make_msgid(
        idstring=event_id(batch, channel.id), domain="smp.invalid"
    )
    message.set_content(messages.email_text(batch))
    return message


def send_email(
    settings: dict[str, Any],
    password: str | None,
    message: EmailMessage,
    timeout: float,
) -> None:
    """One SMTP session: EHLO, STARTTLS (required), login if set, send, quit."""
    host, port = settings["host"], int(settings["port"])
    where = f"{host}:{port}"
    context = _tls()
    # smtplib's timeout is per reply: a server answering each command just in
    # time (or many recipients) could stretch a session past any claim. The
    # watchdog shuts the socket at the session's limit; the blocked call fails.
    opened: list[smtplib.SMTP] = []
    cut = threading.Event()
    watchdog = threading.Timer(session_limit_s(timeout), _cut_off, (opened, cut))
    watchdog.daemon = True
    watchdog.start()
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            opened.append(smtp)
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise DeliveryFailed(
                    f"SMTP server {where} does not offer STARTTLS; SMP sends no "
                    "mail in the clear"
                )
            smtp.starttls(context=context)
            smtp.ehlo()
            if settings.get("user") and password:
                smtp.login(settings["user"], password)
            smtp.send_message(message)
    except DeliveryFailed:
        raise
    except smtplib.SMTPAuthenticationError as error:
        raise DeliveryFailed(
            f"SMTP server {where} refused the user name or password "
            f"({_smtp_reply(error.smtp_code, error.smtp_error)})"
        ) from None
    except smtplib.SMTPRecipientsRefused as error:
        code, text = next(iter(error.recipients.values()))
        raise DeliveryFailed(
            f"SMTP server {where} refused the recipients ({_smtp_reply(code, text)})"
        ) from None
    except smtplib.SMTPDataError as error:
        # A permanent (5xx) refusal after DATA is about this message's content
        # or size; the From address and recipients were already accepted.
        raise DeliveryFailed(
            f"SMTP server {where} refused the message "
            f"({_smtp_reply(error.smtp_code, error.smtp_error)})",
            message_only=500 <= error.smtp_code < 600,
        ) from None
    except smtplib.SMTPSenderRefused as error:
        raise DeliveryFailed(
            f"SMTP server {where} refused the message "
            f"({_smtp_reply(error.smtp_code, error.smtp_error)})"
        ) from None
    except ssl.SSLCertVerificationError:
        raise DeliveryFailed(
            f"certificate of SMTP server {host} not trusted; set SMP_CA_BUNDLE "
            "to your CA file"
        ) from None
    except TimeoutError:
        raise DeliveryFailed(
            f"SMTP server {where} did not answer within {timeout:g} s"
        ) from None
    except ConnectionRefusedError:
        raise DeliveryFailed(
            f"cannot connect to SMTP server {where}: connection refused"
        ) from None
    except socket.gaierror:
        raise DeliveryFailed(f"SMTP server {host}: host not found") from None
    except smtplib.SMTPResponseException as error:
        reply = _smtp_reply(error.smtp_code, error.smtp_error)
        raise DeliveryFailed(f"SMTP server {where} answered {reply}") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        if cut.is_set():
            raise DeliveryFailed(
                f"SMTP server {where} did not finish within "
                f"{session_limit_s(timeout):g} s"
            ) from None
        raise DeliveryFailed(
            f"SMTP server {where}: {_one_line(str(error)) or type(error).__name__}"
        ) from None
    finally:
        watchdog.cancel()


def _cut_off(opened: list[smtplib.SMTP], cut: threading.Event) -> None:
    cut.set()
    sock = opened[0].sock if opened else None  # connecting: bounded by timeout
    if sock is not None:
        # Already closed: the session ended by itself.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _smtp_reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {_one_line(text)}".strip()


def _one_line(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def post(url: str, body: bytes, headers: dict[str, str], wait_s: float) -> None:
    """POST `body`; any answer but 2xx, a timeout or no connection fails."""
    parsed = httpx.URL(url)
    host = parsed.netloc.decode("ascii")  # never the path, which holds the token
    try:
        proxy = proxy_for(parsed, os.environ)
    except BadNetworkSetting as error:
        raise DeliveryFailed(str(error)) from None
    try:
        # httpx's timeout is per phase; the whole POST is cut off at the limit.
        async with (
            asyncio.timeout(session_limit_s(wait_s)),
            httpx.AsyncClient(
                verify=_tls(),
                proxy=httpx.Proxy(proxy) if proxy else None,
                trust_env=False,
                timeout=wait_s,
                follow_redirects=False,
            ) as client,
        ):
            answer = await client.post(url, content=body, headers=headers)
    except (httpx.TimeoutException, TimeoutError):
        raise DeliveryFailed(f"{host} did not answer within {wait_s:g} s") from None
    except httpx.ConnectError as error:
        raise DeliveryFailed(f"cannot connect to {host}: {_why(error)}") from None
    except Exception as error:  # e.g. a header httpx cannot encode: one line
        raise DeliveryFailed(f"{host}: {type(error).__name__}") from None
    if not 200 <= answer.status_code < 300:
        said = _one_line(_without_secrets(answer.text, parsed), 80)
        raise DeliveryFailed(
            f"{host} answered {answer.status_code} {answer.reason_phrase}"
            + (f": {said}" if said else ""),
            message_only=_refused_this_message(answer.status_code),
        )


# 4xx answers that say the channel, not the message, is wrong: the address or
# its credentials were revoked, or it wants us to slow down.
CHANNEL_WIDE_4XX = frozenset({401, 403, 404, 408, 410, 429})


def _refused_this_message(status: int) -> bool:
    return 400 <= status < 500 and status not in CHANNEL_WIDE_4XX


# A path segment this long may be a token (or part of one); shorter ones
# ("hook", "api") are kept so that the quoted answer still reads.
TOKEN_LIKE = 5


def _without_secrets(text: str, url: httpx.URL) -> str:
    """The receiver's answer with the URL's path and query cut out: some echo
    the request ("Cannot POST /hook/T0KEN"), and the path holds the token."""
    raw = url.raw_path.decode("ascii", "replace")
    parts = {raw, unquote(raw), url.path, url.query.decode("ascii", "replace")}
    parts.add(unquote(url.query.decode("ascii", "replace")))
    for part in list(parts):
        parts.update(p for p in re.split(r"[/?&=]", part) if len(p) >= TOKEN_LIKE)
    # Longest first, so a whole path goes before the segments inside it.
    for part in sorted(parts - {"", "/"}, key=len, reverse=True):
        text = text.replace(part, "…")
    return text


def _why(error: httpx.ConnectError) -> str:
    """The cause in words (httpx wraps the socket's error in its own)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return "certificate not trusted; set SMP_CA_BUNDLE to your CA file"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "host not found"
        seen = seen.__cause__ or seen.__context__
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "certificate not trusted; set SMP_CA_BUNDLE to your CA file"
    return "connection failed"
