"""Connecting SendGrid accounts and adding or removing their keys ("service accounts").

Every key is checked before it is stored.

A key is refused, and nothing is stored, when it is malformed, when SendGrid
rejects it, when it is in the wrong slot (`key_rules`), when it or its
SendGrid account is already connected, or when it belongs to another account
than the integration's. A billing key cannot name its account, so it is
stored only once someone has confirmed whose it is. Refusals are `Refused`
(`KeyRefused` for a key), for each entry point to word.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model import AccountIdentity, Integration, KeyKind, KeyStatus, ServiceAccount
from smp.sendgrid import (
    ApiKey,
    AuthenticationError,
    KeyReport,
    MalformedKeyError,
    SendGridError,
    diagnose,
)
from smp.services.audit import Actor, record
from smp.services.input_rules import MAX_ID
from smp.services.key_rules import (
    AccountAlreadyConnected,
    BillingUnconfirmed,
    CheckedKey,
    KeyAlreadyConnected,
    KeyRefused,
    Slot,
    check_slots,
    check_tells_account,
)
from smp.services.refusals import Refused, refusing
from smp.storage import (
    SecretBox,
    add_service_account,
    create_integration,
    get_identity,
    get_integration,
    get_service_account,
    remove_service_account,
    save_identity,
    set_sync_interval,
)
from smp.storage.accounts import account_holder
from smp.storage.integrations import (
    confirm_billing_account,
    find_service_account,
    key_holder,
)
from smp.sync.context import SyncContext


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key as given, and the slot it was given in; `repr` hides the key."""

    label: str
    raw: str = field(repr=False)
    slot: Slot = Slot.ACCESS


class StoredKey(NamedTuple):
    """A stored key and what checking it found."""

    service_account: ServiceAccount
    report: KeyReport


async def check_key(
    new: NewKey, context: SyncContext, *, region: str, base_url: str | None
) -> CheckedKey:
    """Run the doctor on a key; KeyRefused if it cannot be used at all."""
    try:
        key = ApiKey.parse(new.raw)
    except MalformedKeyError as error:
        raise KeyRefused(f"{new.label}: {error}", new.slot) from None
    try:
        async with context.client(key, region=region, base_url=base_url) as client:
            report = await diagnose(client)
    except AuthenticationError:
        raise KeyRefused(
            f"{new.label} ({key.redacted}): SendGrid rejects this key as invalid, "
            "expired or revoked",
            new.slot,
        ) from None
    except SendGridError as error:
        raise KeyRefused(
            f"{new.label} ({key.redacted}): could not check the key: {error}",
            new.slot,
        ) from None
    if not any(report.capabilities.values()):
        raise KeyRefused(
            f"{new.label} ({key.redacted}): this key lets SMP read nothing; "
            + "; ".join(report.fixes().values()),
            new.slot,
        )
    return CheckedKey(new.label, key, report, new.slot)


def _account_of(
    session: Session, integration: Integration, checked: Sequence[CheckedKey]
) -> AccountIdentity | None:
    """The account all keys agree on; refused when two disagree or it is taken."""
    stored = get_identity(session, integration.id)
    account, slot = stored, None
    for item in checked:
        found = item.report.account
        if found is None:
            continue
        if account is None:
            account = AccountIdentity(username=found, user_id=item.report.user_id)
            slot = item.slot
        elif found != account.username:
            holder = account_holder(session, found, item.report.user_id)
            if holder is not None:
                raise AccountAlreadyConnected(found, holder.name, item.slot)
            raise KeyRefused(
                f"{item.shown} belongs to SendGrid account {found!r}, but "
                f"integration {integration.name!r} is account "
                f"{account.username!r}; connect it as a separate integration",
                item.slot,
            )
    if stored is None and account is not None:
        holder = account_holder(session, account.username, account.user_id)
        if holder is not None:
            raise AccountAlreadyConnected(account.username, holder.name, slot)
    return account


def _check_unused(
    session: Session, integration: Integration, checked: Sequence[CheckedKey]
) -> None:
    """A key (by key id) is never stored twice, in any integration."""
    for item in checked:
        holder = key_holder(session, item.key.key_id)
        if holder is None:
            continue
        if holder.id == integration.id:
            raise KeyAlreadyConnected(
                f"{item.key.redacted} is already connected", item.slot
            )
        raise KeyAlreadyConnected(
            f"{item.shown} is already connected to integration {holder.name!r}",
            item.slot,
        )


def _store(
    session: Session,
    box: SecretBox,
    integration: Integration,
    checked: Sequence[CheckedKey],
    billing_confirmed_by: str | None,
) -> tuple[Integration, list[ServiceAccount]]:
    account = _account_of(session, integration, checked)
    _check_unused(session, integration, checked)
    billing = [c for c in checked if c.report.kind is KeyKind.BILLING]
    if billing and billing_confirmed_by is None:
        first = billing[0]
        raise BillingUnconfirmed(
            first.label, first.key, account.username if account else None
        )
    now = dt.datetime.now(dt.UTC)
    stored = []
    for item in checked:
        report = item.report
        stored.append(
            add_service_account(
                session,
                integration.id,
                label=item.label,
                kind=report.kind,
                scopes=report.scopes,
                capabilities=[n for n, ok in report.capabilities.items() if ok],
                missing=report.missing,
                key_id=item.key.key_id,
                encrypted_secret=box.encrypt(item.key.secret()),
                status=KeyStatus.OK,
                now=now,
            )
        )
    if account is not None and get_identity(session, integration.id) is None:
        # No source key: the first sync still reads the identity (and the plan).
        save_identity(session, integration.id, account, source_sa_id=None, now=now)
    if billing and billing_confirmed_by is not None:
        integration = confirm_billing_account(
            session, integration.id, billing_confirmed_by, now
        )
    return integration, stored


def _settings(
    stored: Sequence[ServiceAccount], vouched_by: str | None, interval: int | None
) -> dict[str, object]:
    """The settings a connect or a new key also changed, for the audit trail:
    a chosen sync interval, and who vouched for a billing key's account."""
    changed: dict[str, object] = {}
    if interval is not None:
        changed["sync_interval_s"] = interval
    if vouched_by is not None and any(k.kind is KeyKind.BILLING for k in stored):
        changed["billing_confirmed_by"] = vouched_by
    return changed


async def connect(
    engine: Engine,
    box: SecretBox,
    name: str,
    keys: Sequence[NewKey],
    context: SyncContext,
    *,
    region: str = "global",
    base_url: str | None = None,
    billing_confirmed_by: str | None = None,
    sync_interval_s: int | None = None,
    audit_as: Actor | None = None,
) -> tuple[Integration, list[StoredKey]]:
    """Create an integration with its first keys; all or nothing.

    `billing_confirmed_by` names who vouched that the billing key, if any, is
    the access token's account's; without it a billing key is refused.
    `sync_interval_s` None keeps the server's default. A taken name is
    refused about the field `name`.
    """
    checked = [
        await check_key(key, context, region=region, base_url=base_url) for key in keys
    ]
    check_slots(checked)
    with refusing(name_field="name"), Session(engine) as session, session.begin():
        integration = create_integration(session, name, region, base_url=base_url)
        integration, stored = _store(
            session, box, integration, checked, billing_confirmed_by
        )
        if sync_interval_s is not None:
            integration = set_sync_interval(session, integration.id, sync_interval_s)
        keys_shown = [_key_details(sa) for sa in stored]
        details: dict[str, object] = {"region": region, "keys": keys_shown}
        details |= _settings(stored, billing_confirmed_by, sync_interval_s)
        record(session, audit_as, "integration.connect", integration.name, details)
    return integration, [
        StoredKey(sa, c.report) for sa, c in zip(stored, checked, strict=True)
    ]


async def add_key(
    engine: Engine,
    box: SecretBox,
    integration_name: str | int,
    key: NewKey,
    context: SyncContext,
    *,
    billing_confirmed_by: str | None = None,
    audit_as: Actor | None = None,
) -> StoredKey:
    """Add one more key, of any kind, to an existing integration (by name or id)."""
    with refusing(), Session(engine) as session:
        integration = get_integration(session, integration_name)
    checked = await check_key(
        key, context, region=integration.region, base_url=integration.base_url
    )
    check_tells_account(checked)
    with refusing(), Session(engine) as session, session.begin():
        _, (stored,) = _store(
            session, box, integration, [checked], billing_confirmed_by
        )
        details = _key_details(stored) | _settings([stored], billing_confirmed_by, None)
        record(session, audit_as, "key.add", integration.name, details)
    return StoredKey(stored, checked.report)


def find_key(
    engine: Engine, integration_name: str | int, label_or_key: str
) -> tuple[Integration, ServiceAccount]:
    """A key in use (by label or `SG.<key id>`) and its integration (by name or id)."""
    with refusing(), Session(engine) as session:
        integration = get_integration(session, integration_name)
        return integration, find_service_account(session, integration.id, label_or_key)


def _key_details(key: ServiceAccount) -> dict[str, str]:
    """A key as the audit trail shows it: never more of the secret than its id."""
    return {"key": key.display_key, "label": key.label, "kind": str(key.kind)}


def remove_key(
    engine: Engine,
    sa_id: int,
    *,
    integration_id: int | None = None,
    audit_as: Actor | None = None,
) -> ServiceAccount:
    """Stop using a key; what it collected is kept, shown as from a removed key.

    With `integration_id`, a key of another integration is not found either.
    """
    absent = Refused(f"no service account {sa_id}", kind="not_found")
    if not 1 <= sa_id <= MAX_ID:  # beyond PostgreSQL's integer: not even asked
        raise absent
    with refusing(), Session(engine) as session, session.begin():
        found = get_service_account(session, sa_id)
        if integration_id is not None and found.integration_id != integration_id:
            raise absent
        removed = remove_service_account(session, sa_id, dt.datetime.now(dt.UTC))
        owner = get_integration(session, removed.integration_id).name
        record(session, audit_as, "key.remove", owner, _key_details(removed))
        return removed
