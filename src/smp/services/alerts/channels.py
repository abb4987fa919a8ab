"""A channel's options, checked, split into what may be shown and the secret.

Webhook URLs of Slack and Teams are secrets (whoever holds one can post to
the channel), so they go into the encrypted part with the SMTP password and
the HMAC secret; what is shown of a URL is its host (`hooks.slack.com/…`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from smp.model.alerts import SEVERITIES, ChannelKind
from smp.sendgrid.keys import contains_key
from smp.services.input_rules import KEY_IN_TEXT
from smp.services.refusals import Refused

DEFAULT_SMTP_PORT = 587
DEFAULT_TIMEOUT_S = 10.0
MAX_TIMEOUT_S = 60.0
MAX_RECIPIENTS = 20
MAX_NAME = 100
# A generated HMAC secret: 32 random bytes, URL-safe text.
HMAC_SECRET_BYTES = 32
MIN_HMAC_SECRET = 16

_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")
# Good enough to catch a typo; the SMTP server has the last word.
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,253}$")


@dataclass(frozen=True, slots=True)
class ChannelOptions:
    """What `smp alerts channel add` (or a form) was given; secrets included."""

    kind: str
    min_severity: str = "low"
    url: str | None = None
    hmac_secret: str | None = None
    smtp_host: str | None = None
    smtp_port: int = DEFAULT_SMTP_PORT
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    smtp_user: str | None = None
    smtp_password: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class CheckedChannel:
    kind: ChannelKind
    min_severity: str
    settings: dict[str, Any]
    secret: dict[str, str]
    # Set when SMP made the HMAC secret: shown once to the user.
    generated_secret: str | None = None
    warnings: list[str] = field(default_factory=list)


# The options' command-line flags and their names elsewhere (ChannelOptions,
# the API's fields, the web form's): the checks word refusals with the flag,
# the API and the web put their own name in its place; a refusal's `field` is
# always the name.
OPTION_FIELDS = {
    "--kind": "kind",
    "--min-severity": "min_severity",
    "--smtp-host": "smtp_host",
    "--smtp-port": "smtp_port",
    "--from": "sender",
    "--to": "recipients",
    "--smtp-user": "smtp_user",
    "--timeout": "timeout_s",
}


def check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise Refused(
            f"a channel name is 1 to {MAX_NAME} printable characters", field="name"
        )
    if contains_key(name):
        raise Refused(KEY_IN_TEXT, field="name")
    return name


def shown_url(url: str) -> str:
    """`host[:port]/…`: never the path or query, which hold the token."""
    return f"{httpx.URL(url).netloc.decode('ascii')}/…"


def check_url(url: str | None, what: str) -> str:
    if not url or not url.strip():
        raise Refused(f"{what}: a URL is required", field="url")
    url = url.strip()
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise Refused(f"{what}: not a URL", field="url") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        # Never echo the URL: it may be the secret itself.
        raise Refused(
            f"{what}: only http:// and https:// URLs with a host are accepted",
            field="url",
        )
    if parsed.userinfo:
        raise Refused(
            f"{what}: the URL may not hold a user name or password", field="url"
        )
    return url


def _check_timeout(timeout_s: float) -> float:
    if not 0 < timeout_s <= MAX_TIMEOUT_S:
        raise Refused(
            f"--timeout must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds",
            field="timeout_s",
        )
    return float(timeout_s)


def _check_address(address: str, flag: str) -> str:
    address = address.strip()
    if not _ADDRESS.fullmatch(address):
        raise Refused(
            f"{flag}: {address!r} is not an e-mail address", field=OPTION_FIELDS[flag]
        )
    return address


def check_options(options: ChannelOptions) -> CheckedChannel:
    """Refuse out-of-range or missing options; split shown settings and secret."""
    try:
        kind = ChannelKind(options.kind)
    except ValueError:
        kinds = ", ".join(k.value for k in ChannelKind)
        raise Refused(f"--kind must be one of {kinds}", field="kind") from None
    if options.min_severity not in SEVERITIES:
        raise Refused(
            f"--min-severity must be one of {', '.join(SEVERITIES)}",
            field="min_severity",
        )
    timeout = _check_timeout(options.timeout_s)
    if kind is ChannelKind.EMAIL:
        return _email(options, timeout)
    url = check_url(options.url, f"the {kind.value} URL")
    settings: dict[str, Any] = {"shown": shown_url(url), "timeout_s": timeout}
    warnings = []
    if httpx.URL(url).scheme == "http":
        warnings.append("the URL is http://: alerts travel unencrypted")
    if kind is not ChannelKind.WEBHOOK:
        return CheckedChannel(
            kind, options.min_severity, settings, {"url": url}, warnings=warnings
        )
    generated = None
    hmac_secret = options.hmac_secret
    if hmac_secret is None:
        hmac_secret = generated = secrets.token_urlsafe(HMAC_SECRET_BYTES)
    elif len(hmac_secret) < MIN_HMAC_SECRET:
        raise Refused(
            f"the HMAC secret must be at least {MIN_HMAC_SECRET} characters",
            field="hmac_secret",
        )
    return CheckedChannel(
        kind,
        options.min_severity,
        settings,
        {"url": url, "hmac_secret": hmac_secret},
        generated_secret=generated,
        warnings=warnings,
    )


def _email(options: ChannelOptions, timeout: float) -> CheckedChannel:
    host = (options.smtp_host or "").strip()
    if not host or not _HOST.fullmatch(host):
        raise Refused("--smtp-host must be a host name or address", field="smtp_host")
    if not 1 <= options.smtp_port <= 65535:
        raise Refused("--smtp-port must be from 1 to 65535", field="smtp_port")
    if not options.sender:
        raise Refused("--from is required for e-mail", field="sender")
    sender = _check_address(options.sender, "--from")
    if not 1 <= len(options.recipients) <= MAX_RECIPIENTS:
        raise Refused(
            f"--to is required, 1 to {MAX_RECIPIENTS} addresses", field="recipients"
        )
    recipients = [_check_address(a, "--to") for a in options.recipients]
    user = (options.smtp_user or "").strip() or None
    if bool(user) != bool(options.smtp_password):
        raise Refused(
            "--smtp-user and the SMTP password go together (give both or neither)",
            field="smtp_user",
        )
    settings: dict[str, Any] = {
        "host": host,
        "port": options.smtp_port,
        "from": sender,
        "to": recipients,
        "user": user,
        "timeout_s": timeout,
    }
    secret = {"password": options.smtp_password} if options.smtp_password else {}
    return CheckedChannel(ChannelKind.EMAIL, options.min_severity, settings, secret)


def target(kind: ChannelKind, settings: dict[str, Any]) -> str:
    """Where a channel sends, as it may be shown: never a URL path or password."""
    if kind is ChannelKind.EMAIL:
        to = ", ".join(settings["to"])
        return f"smtp {settings['host']}:{settings['port']} to {to}"
    return str(settings["shown"])
