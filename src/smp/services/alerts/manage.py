"""Channel use cases: add, list (with delivery status), remove, send a test."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model.alerts import Channel, DeliveryCounts
from smp.services.alerts.channels import (
    ChannelOptions,
    CheckedChannel,
    check_name,
    check_options,
    target,
)
from smp.services.alerts.messages import Batch
from smp.services.alerts.senders import DeliveryFailed, send
from smp.services.audit import Actor, named, record
from smp.services.refusals import refusing
from smp.storage import SecretBox, read_session
from smp.storage import alerts as store
from smp.storage.secrets import channel_mismatch


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    channel: Channel
    target: str
    deliveries: DeliveryCounts


def add_channel(
    engine: Engine,
    box: SecretBox,
    name: str,
    options: ChannelOptions,
    *,
    created_by: str | None,
    now: dt.datetime,
    audit_as: Actor | None = None,
) -> tuple[Channel, CheckedChannel]:
    """Check and store a channel; its secrets encrypted. Refused on bad input."""
    name = check_name(name)
    checked = check_options(options)
    with refusing(name_field="name"), Session(engine) as session, session.begin():
        channel = store.create_channel(
            session,
            name=name,
            kind=checked.kind,
            min_severity=checked.min_severity,
            settings=checked.settings,
            encrypted_secret=box.encrypt(json.dumps(checked.secret)),
            created_by=created_by,
            now=now,
        )
        shown = {"kind": str(channel.kind), "min_severity": channel.min_severity}
        by = named(created_by, audit_as)
        record(session, by, "alert_channel.add", channel.name, shown)
    return channel, checked


def target_of(channel: Channel) -> str:
    """Where the channel sends, as it may be shown (a host, never a URL path)."""
    return target(channel.kind, channel.settings)


def channel_statuses(engine: Engine) -> list[ChannelStatus]:
    with read_session(engine) as session:
        channels = store.list_channels(session)
        counts = store.delivery_counts(session)
    return [
        ChannelStatus(c, target(c.kind, c.settings), counts.get(c.id, DeliveryCounts()))
        for c in channels
    ]


def find_channel(engine: Engine, name: str) -> Channel:
    with refusing(), read_session(engine) as session:
        return store.get_channel(session, name)[0]


def channel_by_id(engine: Engine, channel_id: int) -> Channel | None:
    with read_session(engine) as session:
        return store.channel_by_id(session, channel_id)


def channel_status(engine: Engine, channel: Channel) -> ChannelStatus:
    """One channel with its deliveries (counted for it alone)."""
    with read_session(engine) as session:
        counts = store.delivery_counts(session, channel.id).get(channel.id)
    return ChannelStatus(channel, target_of(channel), counts or DeliveryCounts())


def remove_channel(
    engine: Engine, channel: Channel, *, audit_as: Actor | None = None
) -> None:
    with Session(engine) as session, session.begin():
        store.delete_channel(session, channel.id)
        shown = {"kind": str(channel.kind)}
        record(session, audit_as, "alert_channel.remove", channel.name, shown)


async def test_channel(
    engine: Engine,
    box: SecretBox,
    name: str,
    now: dt.datetime,
    *,
    audit_as: Actor | None,
) -> tuple[Channel, int]:
    """Send a test message now; DeliveryFailed (one line) when it fails.

    When it arrives, the channel's failed deliveries are due again (how many
    is returned): the channel was fixed, what it missed is still worth sending.
    The test is in the audit trail either way. The database work runs in a
    thread: the web and the API call this from their event loop.
    """
    channel, secret = await asyncio.to_thread(_for_test, engine, box, name)
    try:
        await send(channel, secret, Batch("test", (), now, channel.name))
    except DeliveryFailed as error:
        await asyncio.to_thread(_tested, engine, channel, now, audit_as, str(error))
        raise
    again = await asyncio.to_thread(_tested, engine, channel, now, audit_as, None)
    return channel, again


def _for_test(engine: Engine, box: SecretBox, name: str) -> tuple[Channel, Any]:
    with refusing(), read_session(engine) as session:
        channel, token = store.get_channel(session, name)
    return channel, json.loads(
        box.decrypt(token, mismatch=channel_mismatch(channel.name))
    )


def _tested(
    engine: Engine,
    channel: Channel,
    now: dt.datetime,
    audit_as: Actor | None,
    error: str | None,
) -> int:
    """Record the test; after one that arrived, failed deliveries are due again."""
    with Session(engine) as session, session.begin():
        again = 0 if error else store.retry_failed(session, channel.id, now)
        details: dict[str, object] = {"kind": str(channel.kind)}
        details |= {"delivered": error is None, "error": error, "due_again": again}
        record(session, audit_as, "alert_channel.test", channel.name, details)
    return again
