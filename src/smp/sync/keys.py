"""Adding SendGrid keys ("service accounts"): every key is checked before it is stored.

A key is refused, and nothing is stored, when it is malformed, when SendGrid
rejects it, or when it belongs to another SendGrid account than the
integration's. A billing-only key cannot read the username, so it is accepted
on its own merits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

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
from smp.storage import (
    SecretBox,
    add_service_account,
    create_integration,
    get_identity,
    get_integration,
    list_service_accounts,
    save_identity,
)
from smp.sync.context import SyncContext

# The client's key kinds are SendGrid words; the domain keeps its own.
_KINDS = {
    "full_access": KeyKind.FULL,
    "restricted": KeyKind.RESTRICTED,
    "billing": KeyKind.BILLING,
    "email_validation": KeyKind.EMAIL_VALIDATION,
}


class KeyRefused(Exception):
    """The key was not stored; the message says why (never the key itself)."""


class KeyAlreadyConnected(KeyRefused):
    """The integration already uses this key."""


@dataclass(frozen=True, slots=True)
class NewKey:
    label: str
    raw: str


@dataclass(frozen=True, slots=True)
class CheckedKey:
    label: str
    key: ApiKey
    report: KeyReport


async def check_key(
    new: NewKey, context: SyncContext, *, region: str, base_url: str | None
) -> CheckedKey:
    """Run the doctor on a key; KeyRefused if it cannot be used at all."""
    try:
        key = ApiKey.parse(new.raw)
    except MalformedKeyError as error:
        raise KeyRefused(f"{new.label}: {error}") from None
    try:
        async with context.client(key, region=region, base_url=base_url) as client:
            report = await diagnose(client)
    except AuthenticationError:
        raise KeyRefused(
            f"{new.label} ({key.redacted}): SendGrid rejects this key as invalid, "
            "expired or revoked"
        ) from None
    except SendGridError as error:
        raise KeyRefused(
            f"{new.label} ({key.redacted}): could not check the key: {error}"
        ) from None
    if not any(report.capabilities.values()):
        raise KeyRefused(
            f"{new.label} ({key.redacted}): this key lets SMP read nothing; "
            + "; ".join(report.fixes().values())
        )
    return CheckedKey(new.label, key, report)


def _same_account(
    session: Session, integration: Integration, checked: Sequence[CheckedKey]
) -> str | None:
    """The account all keys agree on; KeyRefused when two disagree."""
    stored = get_identity(session, integration.id)
    account = stored.username if stored else None
    for item in checked:
        found = item.report.account
        if found is None:
            continue
        if account is not None and found != account:
            raise KeyRefused(
                f"{item.label} ({item.key.redacted}) belongs to SendGrid account "
                f"{found!r}, but integration {integration.name!r} is account "
                f"{account!r}; connect it as a separate integration"
            )
        account = found
    return account


def _store(
    session: Session,
    box: SecretBox,
    integration: Integration,
    checked: Sequence[CheckedKey],
) -> list[ServiceAccount]:
    account = _same_account(session, integration, checked)
    stored = []
    for item in checked:
        report = item.report
        stored.append(
            add_service_account(
                session,
                integration.id,
                label=item.label,
                kind=_KINDS.get(report.kind.value, KeyKind.UNKNOWN),
                scopes=report.scopes,
                capabilities=[n for n, ok in report.capabilities.items() if ok],
                missing=report.missing,
                key_id=item.key.key_id,
                encrypted_secret=box.encrypt(item.key.secret()),
                status=KeyStatus.OK,
            )
        )
    if account is not None and get_identity(session, integration.id) is None:
        save_identity(
            session,
            integration.id,
            AccountIdentity(username=account),
            source_sa_id=stored[0].id,
            now=dt.datetime.now(dt.UTC),
        )
    return stored


async def connect(
    engine: Engine,
    box: SecretBox,
    name: str,
    keys: Sequence[NewKey],
    context: SyncContext,
    *,
    region: str = "global",
    base_url: str | None = None,
) -> tuple[Integration, list[tuple[ServiceAccount, KeyReport]]]:
    """Create an integration with its first keys; all or nothing."""
    checked = [
        await check_key(key, context, region=region, base_url=base_url) for key in keys
    ]
    with Session(engine) as session, session.begin():
        integration = create_integration(session, name, region, base_url=base_url)
        stored = _store(session, box, integration, checked)
    return integration, [(sa, c.report) for sa, c in zip(stored, checked, strict=True)]


async def add_key(
    engine: Engine,
    box: SecretBox,
    integration_name: str,
    key: NewKey,
    context: SyncContext,
) -> tuple[ServiceAccount, KeyReport]:
    """Add one more key to an existing integration."""
    with Session(engine) as session:
        integration = get_integration(session, integration_name)
        duplicates = {
            sa.key_id for sa in list_service_accounts(session, integration.id)
        }
    checked = await check_key(
        key, context, region=integration.region, base_url=integration.base_url
    )
    if checked.key.key_id in duplicates:
        raise KeyAlreadyConnected(f"{checked.key.redacted} is already connected")
    with Session(engine) as session, session.begin():
        (stored,) = _store(session, box, integration, [checked])
    return stored, checked.report
