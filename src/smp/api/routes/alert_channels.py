"""`/alert-channels`: where findings are sent (docs/alerts.md).

Admins only, viewers included in the 403: a channel names internal hosts and
recipients, and a test message goes out in SMP's name. The checks are the
CLI's (`smp alerts channel add`); secrets go in and never come out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Response
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from smp.api.acting import Acting
from smp.api.alert_schemas import (
    ChannelAddedOut,
    ChannelIn,
    ChannelOut,
    ChannelTestOut,
    DeliveriesOut,
)
from smp.api.auth import AdminUser, State
from smp.api.problems import ApiProblem, problem_responses
from smp.api.refusals import problem
from smp.model.alerts import Channel
from smp.services.alerts import manage
from smp.services.alerts.channels import MAX_NAME, OPTION_FIELDS, ChannelOptions
from smp.services.alerts.senders import DeliveryFailed
from smp.services.input_rules import PRINTABLE
from smp.services.refusals import Refused

router = APIRouter(tags=["alerts"], responses=problem_responses(403))
T = TypeVar("T")
# A channel id has at most this many digits (a database integer); a longer
# number can only be a name.
MAX_ID_DIGITS = 18

ChannelPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_NAME,
        pattern=PRINTABLE,
        description="The channel's id, or its name (any case); a number is "
        "taken as an id first",
    ),
]


def _answer(use_case: Callable[[], T]) -> T:
    try:
        return use_case()
    except Refused as error:
        worded = problem(error)
        # The checks word their refusals for the command line; here they name fields.
        for flag, field in OPTION_FIELDS.items():
            worded.detail = (worded.detail or "").replace(flag, field)
        raise worded from None


def _out(status: manage.ChannelStatus) -> ChannelOut:
    channel, counts = status.channel, status.deliveries
    return ChannelOut(
        id=channel.id,
        name=channel.name,
        kind=channel.kind,
        min_severity=channel.min_severity,
        target=status.target,
        created_at=channel.created_at,
        created_by=channel.created_by,
        deliveries=DeliveriesOut(
            pending=counts.pending,
            retrying=counts.retrying,
            sent=counts.sent,
            skipped=counts.skipped,
            failed=counts.failed,
            last_error=counts.last_error,
            last_sent_at=counts.last_sent_at,
        ),
    )


def _find(state: State, given: str) -> manage.ChannelStatus:
    channel = _channel(state, given)
    return manage.channel_status(state.engine, channel)


def _channel(state: State, given: str) -> Channel:
    """By id (a number, taken as an id first), else by name in any case."""
    if given.isascii() and given.isdigit() and len(given) <= MAX_ID_DIGITS:
        found = manage.channel_by_id(state.engine, int(given))
        if found is not None:
            return found
    try:
        return manage.find_channel(state.engine, given.strip())
    except Refused:
        # Never echo more than a name's length: the path is the caller's text.
        raise ApiProblem(404, f"no alert channel {given[:MAX_NAME]!r}") from None


def revealed(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


def _options(body: ChannelIn) -> ChannelOptions:
    return ChannelOptions(
        kind=body.kind.value,
        min_severity=body.min_severity.value,
        url=revealed(body.url),
        hmac_secret=revealed(body.hmac_secret),
        smtp_host=body.smtp_host,
        smtp_port=body.smtp_port,
        sender=body.sender,
        recipients=tuple(body.recipients),
        smtp_user=body.smtp_user,
        smtp_password=revealed(body.smtp_password),
        timeout_s=body.timeout_s,
    )


@router.get(
    "/alert-channels",
    summary="List the alert channels with their deliveries",
    response_model=list[ChannelOut],
)
def channels(state: State, _user: AdminUser) -> list[ChannelOut]:
    """By name. `deliveries` counts what was sent, what waits, what is being
    retried and what failed for good, with the latest error."""
    return [_out(status) for status in manage.channel_statuses(state.engine)]


@router.post(
    "/alert-channels",
    summary="Add an alert channel: e-mail, Slack, Teams or a signed webhook",
    status_code=201,
    response_model=ChannelAddedOut,
    responses=problem_responses(409),
)
def add_channel(
    body: ChannelIn, state: State, user: AdminUser, by: Acting
) -> ChannelAddedOut:
    """Checked like `smp alerts channel add`: an http(s) URL with a host, an
    SMTP server (mail goes only over STARTTLS) with a sender and 1 to 20
    recipients. A webhook needs its `hmac_secret` here: an API answer never
    holds a secret, so SMP cannot make one up and show it. 409: the name is
    taken."""
    if body.kind.value == "webhook" and body.hmac_secret is None:
        raise ApiProblem(
            422, "a webhook needs hmac_secret: the secret its receiver checks"
        )
    channel, checked = _answer(
        lambda: manage.add_channel(
            state.engine,
            state.box,
            body.name,
            _options(body),
            created_by=user.name,
            now=state.context.now(),
            audit_as=by,
        )
    )
    return ChannelAddedOut(
        channel=_out(_find(state, str(channel.id))), warnings=checked.warnings
    )


@router.delete(
    "/alert-channels/{channel}",
    summary="Remove an alert channel and its delivery history",
    status_code=204,
    response_class=Response,
    responses=problem_responses(404),
)
def remove_channel(
    channel: ChannelPath, state: State, _user: AdminUser, by: Acting
) -> Response:
    found = _find(state, channel)
    manage.remove_channel(state.engine, found.channel, audit_as=by)
    return Response(status_code=204)


@router.post(
    "/alert-channels/{channel}/test",
    summary="Send a test message over an alert channel now",
    response_model=ChannelTestOut,
    responses=problem_responses(404),
)
async def send_test(
    channel: ChannelPath, state: State, _user: AdminUser, by: Acting
) -> ChannelTestOut:
    """200 either way: `delivered` says whether it arrived, `error` why not.
    When it arrives, the channel's deliveries that failed for good are due
    again (`due_again`). Recorded in the audit trail either way."""
    # Async for the send; the lookup runs in a thread, off the event loop.
    found = await run_in_threadpool(_channel, state, channel)
    try:
        _, again = await manage.test_channel(
            state.engine, state.box, found.name, state.context.now(), audit_as=by
        )
    except DeliveryFailed as error:
        return ChannelTestOut(
            channel=found.name, delivered=False, error=str(error), due_again=0
        )
    except Refused as error:  # removed meanwhile
        raise problem(error) from None
    return ChannelTestOut(
        channel=found.name, delivered=True, error=None, due_again=again
    )
