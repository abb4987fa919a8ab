"""Repositories on both dialects: integrations, keys, members, data, runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model import (
    AccountIdentity,
    EventKind,
    Integration,
    Invoice,
    KeyKind,
    KeyStatus,
    ListedInvite,
    ListedTeammate,
    MemberStatus,
    MonthlyVolume,
    Outcome,
    Role,
    Subuser,
    UsagePeriod,
    VolumeMetrics,
)
from smp.storage import (
    DuplicateNameError,
    RecordNotFoundError,
    add_service_account,
    count_members,
    count_members_by_role,
    create_integration,
    current_usage,
    delete_integration,
    finish_sync_run,
    get_identity,
    get_integration,
    list_invoices,
    list_member_events,
    list_members,
    list_monthly_volumes,
    list_service_accounts,
    list_subusers,
    list_sync_runs,
    remove_service_account,
    save_identity,
    save_invites,
    save_invoices,
    save_members,
    save_subusers,
    save_usage_period,
    save_volume_sets,
    session_factory,
    set_service_account_status,
    set_sync_interval,
    start_sync_run,
    stored_volume_months_of,
    usage_history,
)

T0 = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=6)


def _key(session: Session, integration_id: int, key_id: str | None = None) -> int:
    # One key per integration by default: a key is never stored in two.
    key_id = key_id or str(integration_id).rjust(22, "k")
    return add_service_account(
        session,
        integration_id,
        label="main",
        kind=KeyKind.RESTRICTED,
        scopes=["teammates.read"],
        capabilities=["members", "invites"],
        missing={"subusers": ["subusers.read"]},
        key_id=key_id,
        encrypted_secret="token",
        status=KeyStatus.OK,
    ).id


def test_integration_names_unicode_spaces_and_duplicates(session: Session) -> None:
    created = create_integration(session, "Ünïcode  Mail Team", "eu")
    session.commit()
    assert created.name == "Ünïcode Mail Team"
    assert get_integration(session, "ünïcode mail team").id == created.id
    assert get_integration(session, created.id).region == "eu"
    with pytest.raises(DuplicateNameError):
        create_integration(session, "ÜNÏCODE MAIL TEAM")
    assert set_sync_interval(session, created.id, 900).sync_interval_s == 900
    delete_integration(session, created.id)
    session.commit()
    with pytest.raises(RecordNotFoundError):
        get_integration(session, created.id)


def test_service_accounts_soft_removal_keeps_data(
    session: Session, new_integration: Integration
) -> None:
    iid = new_integration.id
    sa_id = _key(session, iid)
    with pytest.raises(DuplicateNameError):
        _key(session, iid)
    other = create_integration(session, f"Other {iid}")
    with pytest.raises(DuplicateNameError, match=f"to '{new_integration.name}'$"):
        _key(session, other.id, str(iid).rjust(22, "k"))
    save_members(
        session, iid, [ListedTeammate("a", "a@x.example")], source_sa_id=sa_id, now=T0
    )
    save_invoices(
        session,
        iid,
        [Invoice("inv-1", amount=Decimal("12.30"))],
        source_sa_id=sa_id,
        now=T0,
    )
    session.commit()
    removed = remove_service_account(session, sa_id, T1)
    session.commit()
    assert removed.removed_at == T1
    assert list_service_accounts(session, iid) == []
    assert [
        sa.id for sa in list_service_accounts(session, iid, include_removed=True)
    ] == [sa_id]
    (member,) = list_members(session, iid)
    assert member.source_service_account_id == sa_id
    assert member.source_removed is True
    (invoice,) = list_invoices(session, iid)
    assert invoice.amount == Decimal("12.30")
    assert invoice.source_removed is True
    updated = set_service_account_status(
        session,
        sa_id,
        KeyStatus.NEEDS_ATTENTION,
        last_error="403",
        missing={"m": ["x"]},
    )
    assert (updated.status, updated.last_error, updated.missing) == (
        KeyStatus.NEEDS_ATTENTION,
        "403",
        {"m": ["x"]},
    )
    assert "token" not in repr(updated)


def test_member_lifecycle_is_stored_with_events(
    session: Session, new_integration: Integration
) -> None:
    iid = new_integration.id
    sa_id = _key(session, iid)
    invite = ListedInvite("new@x.example", expires_at=T0 + dt.timedelta(days=7))
    save_invites(session, iid, [invite], source_sa_id=sa_id, now=T0)
    save_members(
        session,
        iid,
        [
            ListedTeammate("own", "own@x.example", role=Role.OWNER),
            ListedTeammate("b", "B@x.example"),
        ],
        source_sa_id=sa_id,
        now=T0,
    )
    session.commit()
    assert count_members_by_role(session, iid) == {
        Role.OWNER: 1,
        Role.ADMIN: 0,
        Role.USER: 1,
    }
    assert count_members(session, iid, status=MemberStatus.PENDING) == 1

    # The invite is accepted, b leaves, the owner stays.
    events = save_members(
        session,
        iid,
        [
            ListedTeammate("own", "own@x.example", role=Role.OWNER),
            ListedTeammate("nu", "new@x.example"),
        ],
        source_sa_id=sa_id,
        now=T1,
    )
    save_invites(session, iid, [], source_sa_id=sa_id, now=T1)
    session.commit()
    assert sorted((e.kind, e.member_key) for e in events) == [
        (EventKind.INVITE_ACCEPTED, "new@x.example"),
        (EventKind.LEFT, "b@x.example"),
    ]
    stored = {m.email: m for m in list_members(session, iid)}
    assert stored["new@x.example"].status is MemberStatus.ACTIVE
    assert stored["new@x.example"].first_seen == T0
    assert stored["B@x.example"].status is MemberStatus.REMOVED
    assert stored["B@x.example"].removed_at == T1
    kinds = [e.kind for e in list_member_events(session, iid)]
    assert sorted(kinds) == sorted(
        [
            EventKind.INVITED,
            EventKind.JOINED,
            EventKind.JOINED,
            EventKind.INVITE_ACCEPTED,
            EventKind.LEFT,
        ]
    )
    assert [m.username for m in list_members(session, iid, search="NU")] == ["nu"]
    by_seen = list_members(session, iid, status=MemberStatus.ACTIVE, sort="-username")
    assert [m.username for m in by_seen] == ["own", "nu"]
    assert len(list_members(session, iid, limit=1, offset=1)) == 1


def test_subusers_usage_volume_identity_and_runs(
    session: Session, new_integration: Integration
) -> None:
    iid = new_integration.id
    sa_id = _key(session, iid)
    save_identity(
        session, iid, AccountIdentity("acme", 123, "paid"), source_sa_id=sa_id, now=T0
    )
    save_subusers(
        session,
        iid,
        [Subuser("s1", 1, credits_total=100), Subuser("s2", 2)],
        source_sa_id=sa_id,
        now=T0,
    )
    session.commit()
    # A later listing without credits must not blank them; s2 is gone.
    save_subusers(
        session, iid, [Subuser("s1", 1, email="s1@x")], source_sa_id=sa_id, now=T1
    )
    session.commit()
    assert get_identity(session, iid) == AccountIdentity(
        "acme", 123, "paid", source_service_account_id=sa_id, synced_at=T0
    )
    (s1,) = list_subusers(session, iid)
    assert (s1.username, s1.email, s1.credits_total, s1.first_seen) == (
        "s1",
        "s1@x",
        100,
        T0,
    )
    removed = {
        s.username: s.removed_at
        for s in list_subusers(session, iid, include_removed=True)
    }
    assert removed == {"s1": None, "s2": T1}

    jan = UsagePeriod(dt.date(2026, 1, 1), dt.date(2026, 1, 31), total=40000, used=2000)
    save_usage_period(session, iid, jan, source_sa_id=sa_id, now=T0)
    later = UsagePeriod(
        dt.date(2026, 1, 1), dt.date(2026, 1, 31), total=40000, used=3000
    )
    save_usage_period(session, iid, later, source_sa_id=sa_id, now=T1)
    save_usage_period(
        session,
        iid,
        UsagePeriod(dt.date(2025, 12, 1), dt.date(2026, 1, 1), 40000, 39000),
        source_sa_id=sa_id,
        now=T0,
    )
    session.commit()
    assert [p.last_reset for p in usage_history(session, iid)] == [
        dt.date(2026, 1, 1),
        dt.date(2025, 12, 1),
    ]
    # Read while the period runs; afterwards it has ended (no forecast).
    view = current_usage(session, iid, now=T1)
    assert view is not None
    assert view.period.used == 3000
    assert view.utilization == 3000 / 40000
    elapsed = (T1 - dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).total_seconds()
    assert view.forecast_used == pytest.approx(3000 * 30 * 86400 / elapsed)
    assert view.overage_risk is False
    ended = current_usage(session, iid, now=dt.datetime(2026, 1, 31, tzinfo=dt.UTC))
    assert ended is not None
    assert (ended.ended, ended.forecast_used, ended.period.used) == (True, None, 3000)

    dec, jan1 = dt.date(2025, 12, 1), dt.date(2026, 1, 1)
    save_volume_sets(
        session,
        iid,
        {
            None: [
                MonthlyVolume(dec, VolumeMetrics(requests=10)),
                MonthlyVolume(jan1, VolumeMetrics(requests=5)),
            ]
        },
        source_sa_id=sa_id,
        now=T0,
    )
    save_volume_sets(
        session,
        iid,
        {None: [MonthlyVolume(jan1, VolumeMetrics(requests=7, delivered=6))]},
        source_sa_id=sa_id,
        now=T1,
    )
    save_volume_sets(
        session,
        iid,
        {"s1": [MonthlyVolume(jan1, VolumeMetrics(requests=1))]},
        source_sa_id=sa_id,
        now=T1,
    )
    session.commit()
    assert stored_volume_months_of(session, iid, [None]) == {
        None: {dec: True, jan1: False}
    }
    account = list_monthly_volumes(session, iid)
    assert [(v.month, v.metrics.requests) for v in account] == [(dec, 10), (jan1, 7)]
    assert account[1].metrics.delivered == 6
    assert len(list_monthly_volumes(session, iid, all_subusers=True)) == 3

    # Several subusers in one statement; the account's months stay as they were.
    feb = dt.date(2026, 2, 1)
    written = save_volume_sets(
        session,
        iid,
        {
            "s1": [MonthlyVolume(feb, VolumeMetrics(requests=2))],
            "s2": [
                MonthlyVolume(jan1, VolumeMetrics(requests=3)),
                MonthlyVolume(feb, VolumeMetrics(requests=4)),
            ],
        },
        source_sa_id=sa_id,
        now=T1,
    )
    session.commit()
    assert written == 3
    assert stored_volume_months_of(session, iid, [None, "s1", "s2", "nobody"]) == {
        None: {dec: True, jan1: False},
        "s1": {jan1: False, feb: False},
        "s2": {jan1: False, feb: False},
        "nobody": {},
    }
    s2 = list_monthly_volumes(session, iid, "s2")
    assert [(v.month, v.metrics.requests, v.subuser) for v in s2] == [
        (jan1, 3, "s2"),
        (feb, 4, "s2"),
    ]

    run_id = start_sync_run(session, iid, "cli", now=T0)
    finish_sync_run(
        session,
        run_id,
        outcome=Outcome.OK,
        capabilities={"members": {"outcome": "ok", "count": 2}},
        requests=9,
        retries=1,
        rate_limit_waits=0,
        errors=[],
        now=T1,
    )
    session.commit()
    (run,) = list_sync_runs(session, iid)
    assert (run.outcome, run.requests, run.finished_at) == (Outcome.OK, 9, T1)
    assert run.capabilities["members"]["count"] == 2
    assert get_integration(session, iid).last_sync_at == T1


def test_failed_capability_rolls_back_and_keeps_data(
    engine: Engine, new_integration: Integration
) -> None:
    iid = new_integration.id
    factory = session_factory(engine)
    with factory.begin() as session:
        save_members(
            session,
            iid,
            [ListedTeammate("a", "a@x.example")],
            source_sa_id=None,
            now=T0,
        )

    def failing_capability() -> None:
        with factory.begin() as session:
            other = [ListedTeammate("z", "z@x.example")]
            save_members(session, iid, other, source_sa_id=None, now=T1)
            raise RuntimeError("the listing failed half-way")

    with pytest.raises(RuntimeError):
        failing_capability()
    with factory() as session:
        (member,) = list_members(session, iid)
        assert member.status is MemberStatus.ACTIVE
        assert list_member_events(session, iid, kind=EventKind.LEFT) == []
