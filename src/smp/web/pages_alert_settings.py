"""Settings for admins: alert channels (/settings/alerts) and rule thresholds
(/settings/thresholds). Viewers are refused (403), as on /users.

Channel secrets (webhook URLs, the HMAC secret, the SMTP password) are typed
into password fields and never sent back: after a refusal they are empty
again and the page says so. Refusals are shown beside the field they are
about; the checks are the CLI's and the API's (services.alerts).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from smp.model.alerts import SEVERITIES, Channel, ChannelKind
from smp.model.rules_registry import BY_ID
from smp.services import audit, findings, refusals
from smp.services.alerts import manage
from smp.services.alerts.channels import (
    DEFAULT_SMTP_PORT,
    OPTION_FIELDS,
    ChannelOptions,
)
from smp.services.alerts.senders import DeliveryFailed
from smp.storage import get_integration, list_integrations, read_session
from smp.web.deps import PagesDep
from smp.web.flash import redirect_saying
from smp.web.forms import FormText, has_control
from smp.web.session import Refused, SignedIn, SignedInUser, check_csrf, require_admin

router = APIRouter(include_in_schema=False)

ALERTS, THRESHOLDS = "/settings/alerts", "/settings/thresholds"
# The services word refusals for the command line (channels.OPTION_FIELDS
# names each flag's field); a form says in words what the field is.
WORDS = {
    "kind": "The kind",
    "min_severity": "The minimum severity",
    "smtp_host": "The SMTP server",
    "smtp_port": "The port",
    "sender": "The From address",
    "recipients": "Recipients",
    "smtp_user": "The SMTP user",
    "timeout_s": "The timeout",
}
# Named in a refusal, never quoted: each is a secret.
SECRET_WORDS = {
    "url": "The URL",
    "hmac_secret": "The HMAC secret",
    "smtp_password": "The SMTP password",
}


def _admin(who: SignedIn, csrf_token: str | None = None) -> None:
    if csrf_token is not None:
        check_csrf(who.csrf, csrf_token)
    require_admin(who)


def _worded(message: str) -> str:
    for flag, field in OPTION_FIELDS.items():
        message = message.replace(flag, WORDS[field])
    return message


def _channels_page(
    request: Request,
    who: SignedIn,
    pages: PagesDep,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    entered: dict[str, str] | None = None,
    tested: dict[str, object] | None = None,
) -> Response:
    return pages.render(
        request,
        "alert_channels.html",
        who,
        status=status,
        channels=manage.channel_statuses(who.state.engine),
        kinds=[k.value for k in ChannelKind],
        severities=SEVERITIES,
        errors=errors or {},
        entered=entered or {"smtp_port": str(DEFAULT_SMTP_PORT)},
        tested=tested,
    )


@router.get(ALERTS)
def alert_channels(request: Request, who: SignedInUser, pages: PagesDep) -> Response:
    _admin(who)
    return _channels_page(request, who, pages)


def _recipients(text: str) -> tuple[str, ...]:
    return tuple(a for a in text.replace(",", " ").split() if a)


@router.post(ALERTS)
def add_channel(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    csrf_token: FormText = "",
    name: FormText = "",
    kind: FormText = "",
    min_severity: FormText = "low",
    url: FormText = "",
    hmac_secret: FormText = "",
    smtp_host: FormText = "",
    smtp_port: FormText = "",
    sender: FormText = "",
    recipients: FormText = "",
    smtp_user: FormText = "",
    smtp_password: FormText = "",
) -> Response:
    _admin(who, csrf_token)
    # Shown again after a refusal; the secrets never are.
    entered = {
        "name": name,
        "kind": kind,
        "min_severity": min_severity,
        "smtp_host": smtp_host,
        "smtp_port": smtp_port,
        "sender": sender,
        "recipients": recipients,
        "smtp_user": smtp_user,
    }
    try:
        typed = {"url": url, "hmac_secret": hmac_secret, "smtp_password": smtp_password}
        for field, secret in typed.items():
            if has_control(secret):
                raise refusals.Refused(
                    f"{SECRET_WORDS[field]} contains control characters", field=field
                )
        port = smtp_port.strip() or str(DEFAULT_SMTP_PORT)
        if not (port.isascii() and port.isdigit()) or len(port) > 5:
            raise refusals.Refused(
                "the port is a number from 1 to 65535", field="smtp_port"
            )
        if kind == ChannelKind.WEBHOOK.value and not hmac_secret:
            raise refusals.Refused(
                "a webhook needs the HMAC secret its receiver checks",
                field="hmac_secret",
            )
        channel, checked = manage.add_channel(
            who.state.engine,
            who.state.box,
            name,
            ChannelOptions(
                kind=kind,
                min_severity=min_severity,
                url=url or None,
                hmac_secret=hmac_secret or None,
                smtp_host=smtp_host,
                smtp_port=int(port),
                sender=sender or None,
                recipients=_recipients(recipients),
                smtp_user=smtp_user or None,
                smtp_password=smtp_password or None,
            ),
            created_by=who.user.name,
            now=who.state.context.now(),
            audit_as=audit.request_actor(who.user.name, request),
        )
    except refusals.Refused as error:
        field = error.field or "name"
        return _channels_page(
            request,
            who,
            pages,
            status=error.http_status,
            errors={field: _worded(str(error))},
            entered=entered,
        )
    warned = "".join(f" Note: {w}." for w in checked.warnings)
    return redirect_saying(
        ALERTS,
        request,
        who,
        f"Added alert channel ‘{channel.name}’ ({manage.target_of(channel)}).{warned}",
    )


def _channel(who: SignedIn, channel_id: int) -> Channel:
    channel = manage.channel_by_id(who.state.engine, channel_id)
    if channel is None:
        raise Refused(404, "There is no such alert channel.")
    return channel


@router.post(ALERTS + "/{channel_id}/remove")
def remove_channel(
    channel_id: int, request: Request, who: SignedInUser, csrf_token: FormText = ""
) -> Response:
    _admin(who, csrf_token)
    channel = _channel(who, channel_id)
    manage.remove_channel(
        who.state.engine,
        channel,
        audit_as=audit.request_actor(who.user.name, request),
    )
    return redirect_saying(
        ALERTS,
        request,
        who,
        f"Removed alert channel ‘{channel.name}’ and its delivery history.",
    )


@router.post(ALERTS + "/{channel_id}/test")
async def send_test(
    channel_id: int,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    csrf_token: FormText = "",
) -> Response:
    """Answers with the page itself, saying whether the message arrived.
    Async for the send; the database work runs in threads, off the loop."""
    _admin(who, csrf_token)
    channel = await run_in_threadpool(_channel, who, channel_id)
    tested: dict[str, object] = {"name": channel.name, "error": None, "again": 0}
    try:
        _, tested["again"] = await manage.test_channel(
            who.state.engine,
            who.state.box,
            channel.name,
            who.state.context.now(),
            audit_as=audit.request_actor(who.user.name, request),
        )
    except DeliveryFailed as error:
        tested["error"] = str(error)
    except refusals.Refused:  # removed meanwhile
        raise Refused(404, "There is no such alert channel.") from None
    return await run_in_threadpool(_channels_page, request, who, pages, tested=tested)


# --- thresholds -------------------------------------------------------------------


def _thresholds_page(
    request: Request,
    who: SignedIn,
    pages: PagesDep,
    *,
    status: int = 200,
    error: str | None = None,
    failed: str | None = None,
) -> Response:
    with read_session(who.state.engine) as session:
        integrations = list_integrations(session)
    return pages.render(
        request,
        "thresholds.html",
        who,
        status=status,
        views=findings.list_thresholds(who.state.engine),
        titles={rule_id: rule.title for rule_id, rule in BY_ID.items()},
        integrations=integrations,
        ids={i.name: i.id for i in integrations},
        error=error,
        failed=failed,
    )


@router.get(THRESHOLDS)
def thresholds(request: Request, who: SignedInUser, pages: PagesDep) -> Response:
    _admin(who)
    return _thresholds_page(request, who, pages)


# ASCII digits only: "²" is a digit to str.isdigit() but not to int().
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,12}")
_TOO_LONG = re.compile(r"-?[0-9]{13,}")


def _threshold_number(rule: str, name: str, row: str, text: str) -> int | None:
    """None for an empty value (it clears); a number too long to be in any
    range is refused with the range rather than cut short."""
    if not text:
        return None
    if _WHOLE_NUMBER.fullmatch(text):
        return int(text)
    if _TOO_LONG.fullmatch(text):
        limits = findings.threshold_of(rule, name)
        raise refusals.Refused(
            f"{row} must be from {limits.minimum} to {limits.maximum} "
            f"{limits.unit}; that number is too long",
            field="value",
        )
    raise refusals.Refused(f"{row} is a whole number", field="value")


@router.post(THRESHOLDS)
def set_threshold(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    csrf_token: FormText = "",
    rule: FormText = "",
    name: FormText = "",
    integration: FormText = "",
    value: FormText = "",
) -> Response:
    """An empty value clears: the global default (or the built-in one) applies."""
    _admin(who, csrf_token)
    row = f"{rule}.{name}"[:130]
    try:
        number = _threshold_number(rule, name, row, value.strip())
        findings.set_threshold(
            who.state.engine,
            rule=rule,
            name=name,
            value=number,
            integration=integration.strip() or None,
            actor=who.user.name,
            now=who.state.context.now(),
            audit_as=audit.request_actor(who.user.name, request),
        )
    except refusals.Refused as error:
        if error.kind == "not_found" or error.field != "value":
            raise Refused(error.http_status, f"{str(error)[:300]}.") from None
        return _thresholds_page(
            request, who, pages, status=422, error=str(error), failed=row
        )
    where = "every integration"
    if integration.strip():
        with read_session(who.state.engine) as session:
            where = f"‘{get_integration(session, integration.strip()).name}’"
    said = f"set to {number}" if number is not None else "cleared"
    return redirect_saying(
        THRESHOLDS,
        request,
        who,
        f"Threshold {row} {said} for {where}; it applies from the next evaluation.",
    )
