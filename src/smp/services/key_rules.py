"""Which key goes where: the one check behind `smp connect`, the API and the form.

An integration has two slots. The access token reads members or usage and
tells SMP which SendGrid account it is; the access token with billing
permissions reads invoices. SendGrid gives billing scopes, and e-mail
validation scopes, only to keys that can do nothing else, so such a key in the
access slot is a mistake worth naming. A billing key cannot tell its account
either, so a person vouches for it.

Messages name keys as `SG.<key id>…` only; each entry point words its own
next step (a CLI flag, an API field, a form control) through `Hints`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from smp.sendgrid import ApiKey, Capability, KeyKind, KeyReport
from smp.sendgrid.doctor import capability
from smp.services.refusals import Hints, Refused

# What the access token must read at least one of.
ACCOUNT_DATA = (Capability.MEMBERS, Capability.USAGE_CREDITS, Capability.USAGE_VOLUME)
USERNAME_SCOPE = "user.username.read"


class Slot(StrEnum):
    ACCESS = "access"
    BILLING = "billing"


SLOT_NAMES = {
    Slot.ACCESS: "access token",
    Slot.BILLING: "access token with billing permissions",
}


CLI_HINTS = Hints(
    add_keys="add keys to it with `smp service-account add`",
    confirm="confirm it with --confirm-billing-account",
)


class KeyRefused(Refused):
    """The key was not stored; the message says why (never the key itself).

    `slot` is the slot the refusal is about (its name is the `field`), None
    when about no single one.
    """

    def __init__(
        self, message: str, slot: Slot | None = None, *, taken: bool = False
    ) -> None:
        super().__init__(
            message,
            kind="conflict" if taken else "invalid",
            field=slot.value if slot else None,
        )
        self.slot = slot


class KeyAlreadyConnected(KeyRefused):
    """The key (by key id) is already in use, here or in another integration."""

    def __init__(self, message: str, slot: Slot | None = None) -> None:
        super().__init__(message, slot, taken=True)


class AccountAlreadyConnected(KeyRefused):
    """Another integration is already this SendGrid account."""

    def __init__(self, account: str, holder: str, slot: Slot | None) -> None:
        self.account, self.holder = account, holder
        super().__init__(self.told(CLI_HINTS), slot, taken=True)

    def told(self, hints: Hints) -> str:
        return (
            f"account {self.account} is already connected as integration "
            f"{self.holder!r}; {hints.add_keys}"
        )


class BillingUnconfirmed(KeyRefused):
    """A billing key nobody has vouched for as the integration's account's."""

    def __init__(self, label: str, key: ApiKey, account: str | None) -> None:
        self.label, self.key = label, key
        self.whose = (
            f"SendGrid account {account}"
            if account
            else "this integration's SendGrid account"
        )
        super().__init__(self.told(CLI_HINTS), Slot.BILLING)

    @property
    def question(self) -> str:
        return (
            f"SendGrid cannot tell which account the billing key {self.key.redacted} "
            f"belongs to. Does it belong to {self.whose}?"
        )

    def told(self, hints: Hints) -> str:
        return (
            f"{self.label} ({self.key.redacted}): SendGrid does not let a billing "
            f"key tell which account it belongs to; if it belongs to {self.whose}, "
            f"{hints.confirm}"
        )


@dataclass(frozen=True, slots=True)
class CheckedKey:
    """A key SendGrid accepted, what it can read, and the slot it was given in."""

    label: str
    key: ApiKey
    report: KeyReport
    slot: Slot = Slot.ACCESS

    @property
    def shown(self) -> str:
        return f"{self.label} ({self.key.redacted})"

    @property
    def reads_account_data(self) -> bool:
        return any(self.report.capabilities[name] for name in ACCOUNT_DATA)

    @property
    def reads_billing(self) -> bool:
        return self.report.capabilities[Capability.INVOICES]

    @property
    def tells_account(self) -> bool:
        """Full and restricted keys can name their account; the others cannot."""
        return self.report.kind not in (KeyKind.BILLING, KeyKind.EMAIL_VALIDATION)


def _validation_key(item: CheckedKey) -> KeyRefused:
    return KeyRefused(
        f"{item.shown}: this is an e-mail validation key: add it to the "
        "integration in Service settings (`smp service-account add`)",
        item.slot,
    )


def _check_access(item: CheckedKey) -> None:
    if item.report.kind is KeyKind.BILLING:
        raise KeyRefused(
            f"{item.shown}: this is a billing key: give it as the "
            f"{SLOT_NAMES[Slot.BILLING]}",
            item.slot,
        )
    if item.report.kind is KeyKind.EMAIL_VALIDATION:
        raise _validation_key(item)
    if not item.reads_account_data:
        fixes = (
            capability(name).fix
            for name in (Capability.MEMBERS, Capability.USAGE_CREDITS)
        )
        raise KeyRefused(
            f"{item.shown}: the {SLOT_NAMES[Slot.ACCESS]} must read members or "
            f"usage; {'; or '.join(fixes)}",
            item.slot,
        )
    check_tells_account(item)


def check_tells_account(item: CheckedKey) -> None:
    """A full or restricted key must name its account, so none is connected twice."""
    if not item.tells_account or item.report.account is not None:
        return
    if USERNAME_SCOPE in item.report.scopes:
        why = "SendGrid did not say which account it belongs to; try again"
    else:
        why = (
            "SMP cannot tell which SendGrid account it belongs to; "
            f"add {USERNAME_SCOPE} (User Account: Read Access)"
        )
    raise KeyRefused(f"{item.shown}: {why}", item.slot)


def _check_billing(item: CheckedKey) -> None:
    if item.report.kind is KeyKind.EMAIL_VALIDATION:
        raise _validation_key(item)
    if not item.reads_billing:
        raise KeyRefused(
            f"{item.shown}: this key cannot read billing; the "
            f"{SLOT_NAMES[Slot.BILLING]} needs billing.read, which SendGrid gives "
            "only to a separate key with Billing Access",
            item.slot,
        )


def _check_swapped(checked: Sequence[CheckedKey]) -> None:
    billing_in_access = next(
        (
            c
            for c in checked
            if c.slot is Slot.ACCESS and c.report.kind is KeyKind.BILLING
        ),
        None,
    )
    access_in_billing = next(
        (c for c in checked if c.slot is Slot.BILLING and c.reads_account_data),
        None,
    )
    if billing_in_access and access_in_billing:
        raise KeyRefused(
            f"the two keys look swapped: {billing_in_access.shown} is a billing key "
            f"and {access_in_billing.shown} is not; give each in the other's place"
        )


def check_slots(checked: Sequence[CheckedKey]) -> None:
    """Every key in the right slot, and an access token whenever there are keys."""
    _check_swapped(checked)
    for item in checked:
        if item.slot is Slot.ACCESS:
            _check_access(item)
        else:
            _check_billing(item)
    if checked and not any(c.slot is Slot.ACCESS for c in checked):
        raise KeyRefused(
            f"an integration needs an {SLOT_NAMES[Slot.ACCESS]} that reads members "
            "or usage, next to any billing key",
            Slot.ACCESS,
        )
