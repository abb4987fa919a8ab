"""Loaders of the SSO and IP-access facts (smp.model.rules_access), one bulk
query each over every integration in scope (docs/findings.md).

"Readable" is decided by the keys: an integration none of whose live keys
has the capability gets no value, so its default (None) makes the rule
leave its findings as they are.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from smp.model.rules_access import (
    AccessAddress,
    PrivilegedMember,
    SsoCertificateFact,
    SsoSetup,
)
from smp.storage.tables import (
    AccessAttemptRow,
    IpAllowlistRow,
    MemberRow,
    ServiceAccountRow,
    SsoCertificateRow,
    SsoIntegrationRow,
)
from smp.vocabulary import Capability

if TYPE_CHECKING:
    from smp.storage.finding_facts import Loaded, Scope


def _reading(session: Session, scope: Scope, capability: Capability) -> set[int]:
    """The integrations with a live key that has `capability`."""
    k = ServiceAccountRow
    rows = session.execute(
        select(k.integration_id, k.capabilities).where(
            scope.where(k.integration_id), k.removed_at.is_(None)
        )
    )
    return {iid for iid, capabilities in rows if capability in (capabilities or ())}


def sso_setup(session: Session, scope: Scope) -> Loaded:
    readable = _reading(session, scope, Capability.SSO)
    enabled: dict[int, bool] = dict.fromkeys(readable, False)
    names: dict[tuple[int, str], tuple[str | None, bool]] = {}
    s = SsoIntegrationRow
    for iid, sso_id, name, on in session.execute(
        select(s.integration_id, s.sso_id, s.name, s.enabled).where(
            scope.where(s.integration_id)
        )
    ):
        if iid in readable:
            enabled[iid] = enabled[iid] or on
            names[iid, sso_id] = (name, on)
    certs: dict[int, list[SsoCertificateFact]] = defaultdict(list)
    c = SsoCertificateRow
    for iid, sso_id, cert_id, not_after in session.execute(
        select(c.integration_id, c.sso_id, c.cert_id, c.not_after).where(
            scope.where(c.integration_id)
        )
    ):
        if iid in readable:
            name, on = names.get((iid, sso_id), (None, False))
            certs[iid].append(SsoCertificateFact(sso_id, name, on, cert_id, not_after))
    return {iid: SsoSetup(enabled[iid], tuple(certs[iid])) for iid in readable}


def privileged_members(session: Session, scope: Scope) -> Loaded:
    m = MemberRow
    rows = session.execute(
        select(
            m.integration_id, m.member_key, m.email, m.username, m.role, m.is_sso
        ).where(
            scope.where(m.integration_id),
            m.removed_at.is_(None),
            m.status == "active",
            m.role.in_(("owner", "admin")),
        )
    )
    found: dict[int, list[PrivilegedMember]] = defaultdict(list)
    for iid, key, email, username, role, is_sso in rows:
        found[iid].append(PrivilegedMember(key, email, username, role, is_sso))
    return found


def allowlist_rules(session: Session, scope: Scope) -> Loaded:
    counts = dict.fromkeys(_reading(session, scope, Capability.IP_ALLOWLIST), 0)
    a = IpAllowlistRow
    for (iid,) in session.execute(
        select(a.integration_id).where(scope.where(a.integration_id))
    ):
        if iid in counts:
            counts[iid] += 1
    return counts


def access_addresses(session: Session, scope: Scope) -> Loaded:
    found: dict[int, list[AccessAddress]] = {
        iid: [] for iid in _reading(session, scope, Capability.ACCESS_ACTIVITY)
    }
    a = AccessAttemptRow
    rows = session.execute(
        select(
            a.integration_id, a.ip, a.allowed, a.auth_method, a.location,
            a.first_at, a.last_at, a.first_seen,
        ).where(scope.where(a.integration_id))
    )  # fmt: skip
    for iid, ip, allowed, method, location, first_at, last_at, first_seen in rows:
        if iid in found:
            found[iid].append(
                AccessAddress(
                    ip, allowed, method, location, first_at, last_at, first_seen
                )
            )
    return found


def not_read() -> None:
    """The value of an integration no key reads this for."""
    return
