"""Channel use cases: add, list (with delivery status), remove, send a test."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

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
from smp.services.alerts.senders import send
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


def remove_channel(
    engine: Engine, channel: Channel, *, audit_as: Actor | None = None
) -> None:
    with Session(engine) as session, session.begin():
        store.delete_channel(session, channel.id)
        shown = {"kind": str(channel.kind)}
        record(session, audit_as, "alert_channel.remove", channel.name, shown)


async def test_channel(
    engine: Engine, box: SecretBox, name: str, now: dt.datetime
) -> tuple[Channel, int]:
    """Send a test message now; DeliveryFailed (one line) when it fails.

    When it arrives, the channel's failed deliveries are due again (how many
    is returned): the channel was fixed, what it missed is still worth sending.
    """
    with refusing(), read_session(engine) as session:
        channel, token = store.get_channel(session, name)
    secret = json.loads(box.decrypt(token, mismatch=channel_mismatch(channel.name)))
    await send(channel, secret, Batch("test", (), now, channel.name))
    with Session(engine) as session, session.begin():
        again = store.retry_failed(session, channel.id, now)
    return channel, again
