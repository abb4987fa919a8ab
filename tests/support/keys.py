"""The simulator world's API keys as the tests pick and present them."""

from __future__ import annotations

from smp.services.key_rules import Slot
from smp.services.onboarding import NewKey
from smp.simulator import Account, SimKey, World

# The world's keys are each of one account: tests vouch for the billing key.
CONFIRMED_BY = "the test (its world's keys)"


def key_of(world: World, kind: str, account: Account | None = None) -> SimKey:
    """The key of `kind` of `account` (the world's first account by default)."""
    username = (account or world.accounts[0]).username
    return next(k for k in world.keys if k.account == username and k.kind == kind)


def new_key(world: World, kind: str, account: Account | None = None) -> NewKey:
    """The world's key of `kind`, in the slot it belongs in."""
    slot = Slot.BILLING if kind == "billing" else Slot.ACCESS
    return NewKey(label=kind, raw=key_of(world, kind, account).key, slot=slot)


def auth(key: SimKey) -> dict[str, str]:
    """The header SendGrid reads a key from."""
    return {"Authorization": f"Bearer {key.key}"}
