"""Loaders of the SSO and IP-access facts (smp.model.rules_access), one bulk
query each over every integration in scope (docs/findings.md).

"Read" is decided by the integration's latest finished sync run: only when
it read the capability ("ok" in `sync_runs.capabilities`) do the stored rows
say how the account is. An integration never synced, or whose latest run
could not read it (no key with the scope, a fault), gets no value, so its
default (None) makes the rule leave its findings as they are: a key holding
the scope is not data read. SSO that the plan no longer has ("unavailable":
SendGrid refused a key holding the scope) is SSO off, whatever rows an
earlier run stored, so its findings resolve.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smp.model import Outcome
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
    SsoCertificateRow,
    SsoIntegrationRow,
    SyncRunRow,
)
from smp.vocabulary import Capability

if TYPE_CHECKING:
    from smp.storage.finding_facts import Loaded, Scope


def _last_outcomes(
    session: Session, scope: Scope, capability: Capability
) -> dict[int, str | None]:
    """Integration -> the outcome of `capability` in its latest finished run."""
    r = SyncRunRow
    latest = (
        select(func.max(r.id))
        .where(scope.where(r.integration_id), r.finished_at.is_not(None))
        .group_by(r.integration_id)
    )
    rows = session.execute(
        select(r.integration_id, r.capabilities).where(r.id.in_(latest))
    )
    return {
        iid: (capabilities or {}).get(capability, {}).get("outcome")
        for iid, capabilities in rows
    }


def _read(session: Session, scope: Scope, capability: Capability) -> set[int]:
    """The integrations whose latest run read `capability`."""
    outcomes = _last_outcomes(session, scope, capability)
    return {iid for iid, outcome in outcomes.items() if outcome == Outcome.OK}


def sso_setup(session: Session, scope: Scope) -> Loaded:
    outcomes = _last_outcomes(session, scope, Capability.SSO)
    readable = {iid for iid, o in outcomes.items() if o == Outcome.OK}
    lacking = {iid for iid, o in outcomes.items() if o == Outcome.UNAVAILABLE}
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
    found = {iid: SsoSetup(enabled[iid], tuple(certs[iid])) for iid in readable}
    # The plan has no SSO (any more): rows from before the downgrade are stale.
    found.update(dict.fromkeys(lacking, SsoSetup(False, ())))
    return found


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
    counts = dict.fromkeys(_read(session, scope, Capability.IP_ALLOWLIST), 0)
    a = IpAllowlistRow
    for (iid,) in session.execute(
        select(a.integration_id).where(scope.where(a.integration_id))
    ):
        if iid in counts:
            counts[iid] += 1
    return counts


def access_addresses(session: Session, scope: Scope) -> Loaded:
    found: dict[int, list[AccessAddress]] = {
        iid: [] for iid in _read(session, scope, Capability.ACCESS_ACTIVITY)
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
