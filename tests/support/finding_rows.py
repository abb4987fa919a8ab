"""Rows written straight into the tables: the ground truth of the findings tests.

`seed_findings_world` writes one integration whose members, classified
accounts, subusers, credits, volumes and keys meet some rules' conditions and
miss others by a little (a day, a month, a flag). `EXPECTED` lists, by hand,
the findings those rows must produce with the built-in thresholds.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.months import month_start

from smp.storage import create_integration
from smp.storage.tables import (
    AccountClassificationRow,
    CompanyDomainRow,
    MemberRow,
    MonthlyVolumeRow,
    ServiceAccountRow,
    SubuserRow,
    UsagePeriodRow,
)

# (rule, subject key) of every finding the seeded integration must have.
EXPECTED = {
    ("leaver_with_access", "bob@acme.test"),
    ("leaver_with_access", "len@acme.test"),
    ("external_admin", "eve@evil.test"),
    ("external_admin", "own@evil.test"),
    ("external_invite", "inv@evil.test"),
    ("expired_invite", "old@acme.test"),
    ("expired_invite", "edge@acme.test"),
    ("credits_running_out", "account"),
    ("idle_subuser", "idle"),
    ("key_needs_attention", "service_account:{attention}"),
}

# Classified accounts: kind, e-mail, role, classification, present.
ACCOUNTS = """
teammate bob@acme.test  user  leaver   yes
invite   len@acme.test  -     leaver   yes
subuser  sub@acme.test  -     leaver   yes
teammate gone@acme.test user  leaver   no
teammate eve@evil.test  admin external yes
teammate own@evil.test  owner external yes
teammate usr@evil.test  user  external yes
invite   inv@evil.test  -     external yes
teammate adm@acme.test  admin employee yes
"""


@dataclass(frozen=True)
class SeededFindings:
    integration_id: int
    name: str
    # Ids of the service accounts by short name (attention, fine, removed).
    keys: dict[str, int]

    def expected(self) -> set[tuple[str, str]]:
        return {(r, k.format(**self.keys)) for r, k in EXPECTED}


def _member(
    iid: int, key: str, role: str, status: str, now: dt.datetime, **more: object
) -> MemberRow:
    return MemberRow(
        integration_id=iid,
        member_key=key,
        email=key,
        role=role,
        status=status,
        first_seen=now,
        last_seen=now,
        **more,
    )


def _months(
    iid: int, subuser: str, first: dt.date, requests: list[int], now: dt.datetime
) -> list[MonthlyVolumeRow]:
    rows = []
    for back, count in enumerate(requests):
        month = month_start(first, back)
        rows.append(
            MonthlyVolumeRow(
                integration_id=iid,
                subuser=subuser,
                month=month,
                closed=False,
                requests=count,
                synced_at=now,
            )
        )
    return rows


def _key(
    iid: int, label: str, status: str, now: dt.datetime, removed: bool = False
) -> ServiceAccountRow:
    return ServiceAccountRow(
        integration_id=iid,
        label=label,
        kind="full",
        key_id=f"k{uuid.uuid4().hex[:10]}",
        encrypted_secret="not-a-secret",
        scopes=[],
        capabilities=[],
        missing={},
        status=status,
        created_at=now,
        removed_at=now if removed else None,
    )


def seed_findings_world(engine: Engine, now: dt.datetime) -> SeededFindings:
    """One integration holding the rows `EXPECTED` is about."""
    name = f"Findings {uuid.uuid4().hex[:8]}"
    with Session(engine) as session, session.begin():
        iid = create_integration(session, name).id
        if session.get(CompanyDomainRow, "acme.test") is None:
            session.add(CompanyDomainRow(domain="acme.test", created_at=now))
        for line in ACCOUNTS.strip().splitlines():
            kind, email, role, classification, present = line.split()
            session.add(
                AccountClassificationRow(
                    integration_id=iid,
                    kind=kind,
                    account_key=email,
                    email=email,
                    email_key=email,
                    role=None if role == "-" else role,
                    status="pending" if kind == "invite" else "active",
                    classification=classification,
                    present=present == "yes",
                    leaver_since=now if classification == "leaver" else None,
                    updated_at=now,
                )
            )
        # 3 admins of 10 active teammates: 30 %, not above the default 30 %.
        roles = ["owner", "admin", "admin", "admin"] + ["user"] * 6
        session.add_all(
            _member(iid, f"t{n}@acme.test", role, "active", now)
            for n, role in enumerate(roles)
        )
        day = dt.timedelta(days=1)
        session.add_all(
            [
                _member(
                    iid,
                    "old@acme.test",
                    "user",
                    "pending",
                    now,
                    invite_expires_at=now - 8 * day,
                ),
                # Exactly the threshold's 7 days: reported (at least N days).
                _member(
                    iid,
                    "edge@acme.test",
                    "user",
                    "pending",
                    now,
                    invite_expires_at=now - 7 * day,
                ),
                _member(
                    iid,
                    "new@acme.test",
                    "user",
                    "pending",
                    now,
                    invite_expires_at=now - 6 * day,
                ),
                _member(
                    iid,
                    "open@acme.test",
                    "user",
                    "pending",
                    now,
                    invite_expires_at=None,
                ),
                _member(
                    iid,
                    "rm@acme.test",
                    "user",
                    "pending",
                    now,
                    invite_expires_at=now - 99 * day,
                    removed_at=now,
                ),
            ]
        )
        this_month = month_start(now.date())
        for username, disabled, removed in (
            ("idle", False, False),
            ("busy", False, False),
            ("gap", False, False),
            ("off", True, False),
            ("gone", False, True),
        ):
            session.add(
                SubuserRow(
                    integration_id=iid,
                    username=username,
                    disabled=disabled,
                    first_seen=now,
                    last_seen=now,
                    removed_at=now if removed else None,
                    synced_at=now,
                )
            )
        # 90 days back from any day reach into the 3rd or 4th month before:
        # five zero months always cover the window; "gap" misses one of them.
        session.add_all(_months(iid, "idle", this_month, [0, 0, 0, 0, 0], now))
        session.add_all(_months(iid, "busy", this_month, [0, 0, 1, 0, 0], now))
        session.add_all(_months(iid, "off", this_month, [0, 0, 0, 0, 0], now))
        session.add_all(_months(iid, "gone", this_month, [0, 0, 0, 0, 0], now))
        gap = _months(iid, "gap", this_month, [0, 0, 0, 0, 0], now)
        del gap[1]
        session.add_all(gap)
        # The account: 600 of 1,000 used 10 days into a 30-day period, so
        # 1,800 by the reset. A subuser: 100 of 1,000 at the same pace, 300.
        start = (now - 10 * day).date()
        for subuser, used, kind in (
            ("", 600, "recurring"),
            ("busy", 100, "recurring"),
            ("idle", None, "unlimited"),
        ):
            session.add(
                UsagePeriodRow(
                    integration_id=iid,
                    subuser=subuser,
                    last_reset=start,
                    next_reset=start + 30 * day,
                    reset_frequency="monthly",
                    credit_type=kind,
                    total=None if used is None else 1000,
                    used=used,
                    synced_at=now,
                )
            )
        # An older period of the account that ran out: not the latest, ignored.
        session.add(
            UsagePeriodRow(
                integration_id=iid,
                subuser="",
                last_reset=start - 30 * day,
                next_reset=start,
                reset_frequency="monthly",
                credit_type="recurring",
                total=10,
                used=9_999,
                synced_at=now - 11 * day,
            )
        )
        keys = {
            "attention": _key(iid, "main", "needs_attention", now),
            "fine": _key(iid, "billing", "ok", now),
            "removed": _key(iid, "old", "invalid", now, removed=True),
        }
        session.add_all(keys.values())
        session.flush()
        return SeededFindings(iid, name, {k: row.id for k, row in keys.items()})
