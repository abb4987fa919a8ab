"""Facts of the key rules (smp.model.rules_keys), one query each for every
integration evaluated (registered in smp.storage.finding_facts.LOADERS)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from smp.model.rules_keys import InventoryKey, TwoFactorExempt
from smp.storage.tables import ApiKeyRow, TeammateScopeRow

if TYPE_CHECKING:
    from smp.storage.finding_facts import Loaded, Scope


def api_key_inventory(session: Session, scope: Scope) -> Loaded:
    k = ApiKeyRow
    rows = session.execute(
        select(
            k.integration_id,
            k.key_id,
            k.name,
            k.scopes,
            k.first_seen,
            k.scopes_changed_at,
        ).where(scope.where(k.integration_id), k.present.is_(True))
    )
    found: dict[int, list[InventoryKey]] = defaultdict(list)
    for integration_id, key_id, name, scopes, first_seen, changed in rows:
        found[integration_id].append(
            InventoryKey(key_id, name, tuple(scopes), first_seen, changed)
        )
    return found


def two_factor_exempt(session: Session, scope: Scope) -> Loaded:
    """Exempt teammates of each integration whose teammates' scopes were read
    at all; integrations never read are left out (their default is None)."""
    t = TeammateScopeRow
    read = session.scalars(
        select(t.integration_id).where(scope.where(t.integration_id)).distinct()
    )
    found: dict[int, list[TwoFactorExempt]] = {iid: [] for iid in read}
    rows = session.execute(
        select(t.integration_id, t.username, t.user_type, t.fetched_at).where(
            scope.where(t.integration_id), t.two_factor_exempt.is_(True)
        )
    )
    for integration_id, username, user_type, read_at in rows:
        found[integration_id].append(TwoFactorExempt(username, user_type, read_at))
    return found


def not_read() -> None:
    """The fact of an integration whose teammates' scopes were never read."""
    return
