"""Loaders of the facts rules read: one query per fact for all integrations.

The rules run over hundreds of integrations at once (docs/findings.md), so a
loader never queries per integration: it selects the columns its fact needs
for every integration in scope and groups the rows in Python. A loader returns
only integrations that have rows; `FactLoader.default` makes the value of the
others (an empty tuple, zero counts).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from smp.model.rules_people import FlaggedAccount, PendingInvite
from smp.model.rules_service_accounts import ServiceKey
from smp.model.rules_usage import CreditPeriod
from smp.storage import access_facts, key_facts, review_facts
from smp.storage.tables import (
    AccountClassificationRow,
    CompanyDomainRow,
    MemberRow,
    MonthlyVolumeRow,
    PersonRow,
    ServiceAccountRow,
    SubuserRow,
    UsagePeriodRow,
)


@dataclass(frozen=True, slots=True)
class Scope:
    """The integrations being evaluated; `everything` skips the IN list."""

    ids: Sequence[int]
    everything: bool
    now: dt.datetime

    def where(self, column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
        return true() if self.everything else column.in_(self.ids)


Loaded = Mapping[int, Any]


@dataclass(frozen=True, slots=True)
class FactLoader:
    load: Callable[[Session, Scope], Loaded]
    # The value of an integration the loader found no rows for.
    default: Callable[[], Any] = tuple


def _grouped(rows: Any, make: Callable[..., Any]) -> dict[int, list[Any]]:
    """Rows whose first column is the integration id, grouped into `make(*rest)`."""
    found: dict[int, list[Any]] = defaultdict(list)
    for integration_id, *rest in rows:
        found[integration_id].append(make(*rest))
    return found


def flagged_accounts(session: Session, scope: Scope) -> Loaded:
    c = AccountClassificationRow
    rows = session.execute(
        select(
            c.integration_id,
            c.kind,
            c.account_key,
            c.email,
            c.role,
            c.classification,
            c.leaver_since,
        ).where(
            scope.where(c.integration_id),
            c.present.is_(True),
            c.kind.in_(("teammate", "invite")),
            c.classification.in_(("leaver", "external")),
        )
    )
    return _grouped(rows, FlaggedAccount)


def directory_known(session: Session, scope: Scope) -> Loaded:
    known = bool(
        session.scalar(
            select(or_(exists(PersonRow.id), exists(CompanyDomainRow.domain)))
        )
    )
    return dict.fromkeys(scope.ids, known)


def role_counts(session: Session, scope: Scope) -> Loaded:
    m = MemberRow
    rows = session.execute(
        select(m.integration_id, m.role, func.count())
        .where(
            scope.where(m.integration_id),
            m.removed_at.is_(None),
            m.status == "active",
        )
        .group_by(m.integration_id, m.role)
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for integration_id, role, count in rows:
        counts[integration_id][role] = count
    return counts


def pending_invites(session: Session, scope: Scope) -> Loaded:
    m = MemberRow
    rows = session.execute(
        select(m.integration_id, m.member_key, m.email, m.invite_expires_at).where(
            scope.where(m.integration_id),
            m.removed_at.is_(None),
            m.status == "pending",
            m.invite_expires_at.is_not(None),
        )
    )
    return _grouped(rows, PendingInvite)


def credit_periods(session: Session, scope: Scope) -> Loaded:
    """The latest period of the account and of each enabled, listed subuser."""
    u, s = UsagePeriodRow, SubuserRow
    latest = (
        select(u.integration_id, u.subuser, func.max(u.last_reset).label("last"))
        .where(scope.where(u.integration_id))
        .group_by(u.integration_id, u.subuser)
        .subquery()
    )
    rows = session.execute(
        select(
            u.integration_id,
            u.subuser,
            u.credit_type,
            u.reset_frequency,
            u.last_reset,
            u.next_reset,
            u.total,
            u.used,
            u.synced_at,
        )
        .join(
            latest,
            and_(
                latest.c.integration_id == u.integration_id,
                latest.c.subuser == u.subuser,
                latest.c.last == u.last_reset,
            ),
        )
        .outerjoin(
            s, and_(s.integration_id == u.integration_id, s.username == u.subuser)
        )
        .where(
            or_(
                u.subuser == "",
                and_(s.removed_at.is_(None), s.disabled.is_(False)),
            )
        )
    )
    return _grouped(rows, CreditPeriod)


def enabled_subusers(session: Session, scope: Scope) -> Loaded:
    s = SubuserRow
    rows = session.execute(
        select(s.integration_id, s.username).where(
            scope.where(s.integration_id),
            s.removed_at.is_(None),
            s.disabled.is_(False),
        )
    )
    return _grouped(rows, str)


def subuser_months(session: Session, scope: Scope) -> Loaded:
    v = MonthlyVolumeRow
    rows = session.execute(
        select(v.integration_id, v.subuser, v.month, v.requests).where(
            scope.where(v.integration_id), v.subuser != ""
        )
    )
    months: dict[int, dict[str, dict[dt.date, int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for integration_id, subuser, month, requests in rows:
        months[integration_id][subuser][month] = requests
    return months


def service_keys(session: Session, scope: Scope) -> Loaded:
    k = ServiceAccountRow
    rows = session.execute(
        select(k.integration_id, k.id, k.label, k.key_id, k.kind, k.status).where(
            scope.where(k.integration_id), k.removed_at.is_(None)
        )
    )
    return _grouped(rows, ServiceKey)


# Fact name (smp.model.findings.Fact.name) -> its loader: one line per fact.
LOADERS: Mapping[str, FactLoader] = {
    "flagged_accounts": FactLoader(flagged_accounts),
    "directory_known": FactLoader(directory_known, default=bool),
    "role_counts": FactLoader(role_counts, default=dict),
    "pending_invites": FactLoader(pending_invites),
    "credit_periods": FactLoader(credit_periods),
    "enabled_subusers": FactLoader(enabled_subusers),
    "subuser_months": FactLoader(subuser_months, default=dict),
    "service_keys": FactLoader(service_keys),
    "api_key_inventory": FactLoader(key_facts.api_key_inventory),
    "two_factor_exempt": FactLoader(
        key_facts.two_factor_exempt, default=key_facts.not_read
    ),
    "sso_setup": FactLoader(access_facts.sso_setup, default=access_facts.not_read),
    "privileged_members": FactLoader(access_facts.privileged_members),
    "allowlist_rules": FactLoader(
        access_facts.allowlist_rules, default=access_facts.not_read
    ),
    "access_addresses": FactLoader(
        access_facts.access_addresses, default=access_facts.not_read
    ),
    "pending_remediations": FactLoader(review_facts.pending_remediations),
}
