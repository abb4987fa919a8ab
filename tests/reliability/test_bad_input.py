"""Bad input corpus: every endpoint the sync reads, answered badly in 12 ways
(and issue M's endpoints also with 429s, 5xx, timeouts and resets).

Each case either fails only the capability that reads the endpoint, with a
message naming the endpoint, keeping that capability's data; or (for answers
that are odd but usable) stores exactly the right data. Invoices in a shape SMP
does not know are `unavailable` instead of failed (the endpoint is
undocumented, ADR 3), their data kept too. Nothing crashes, the
rest of the sync is unaffected, and no secret reaches the log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.reliability.soak import wire
from tests.support.corpus import CASES, RTL, Spoiler
from tests.support.figures import record
from tests.support.simulator import BASE_URL, CONFIRMED_BY, forget_world, new_key
from tests.support.truth import expected, integrity_problems, stored

from smp.model import Outcome
from smp.services.onboarding import add_key, connect
from smp.simulator import FaultRule, generate_world
from smp.storage import SecretBox, generate_key
from smp.storage.access import (
    list_access_attempts,
    list_allowlist,
    list_sso,
    list_validation_jobs,
)
from smp.storage.api_keys import list_api_keys, list_teammate_scopes
from smp.sync import SyncContext, run_sync

# endpoint pattern -> (capability that reads it, the snapshot part it writes)
ENDPOINTS: dict[str, tuple[str | None, str | None]] = {
    "/v3/scopes": (None, None),
    "/v3/user/username": ("account_identity", None),
    "/v3/user/account": ("account_identity", None),
    "/v3/teammates": ("members", "members"),
    "/v3/teammates/pending": ("invites", "invites"),
    "/v3/subusers": ("subusers", "subusers"),
    "/v3/subusers/*/credits": ("subusers", "subusers"),
    "/v3/user/credits": ("usage_credits", "credits"),
    "/v3/stats": ("usage_volume", "volume"),
    "/v3/subusers/stats": ("usage_volume", "volume"),
    "/v3/billing/invoices": ("invoices", "invoices"),
    # Issue M: the key inventory, teammates' scopes, SSO, IP access, validation.
    "/v3/api_keys": ("api_keys", "m:api_keys"),
    "/v3/api_keys/*": ("api_keys", "m:api_keys"),
    "/v3/teammates/*": ("teammate_scopes", "m:teammate_scopes"),
    "/v3/sso/integrations": ("sso", "m:sso"),
    "/v3/sso/integrations/*/certificates": ("sso", "m:sso"),
    "/v3/access_settings/whitelist": ("ip_allowlist", "m:ip_allowlist"),
    "/v3/access_settings/activity": ("access_activity", "m:access_activity"),
    "/v3/validations/email/jobs": ("email_validation", "m:validation_jobs"),
    "/v3/validations/email/jobs/*": ("email_validation", "m:validation_jobs"),
}
# Paths a pattern above matches that belong to another endpoint.
UNLESS = {"/v3/teammates/*": "/v3/teammates/pending"}
MUST_FAIL = {"wrong_types", "missing_fields", "nulls", "empty_body", "html_error_page"}
# Every field of these answers is optional in the client's models: an empty or
# all-null object is taken as "nothing known" (see docs/reliability.md, doubts).
TOLERANT = {"/v3/user/account"}
MUST_WORK = {"extra_fields", "wrong_content_type", "duplicated_items"}


# Capabilities that read what another one listed: teammates' permissions are
# read per member, so they wait for the members listing.
AFTER = {"members": ("teammate_scopes",)}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_bad_answers_fail_one_capability_cleanly(
    engine: Engine, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    world = generate_world(seed=21, accounts=1, teammates=8, pending=2, subusers=2)
    wired = wire(world)
    box = SecretBox.from_key(generate_key())
    keys = [new_key(world, kind) for kind in ("full", "billing")]
    validation = new_key(world, "validation")
    forget_world(engine, world)
    integration, _ = await connect(
        engine,
        box,
        f"bad {case} {uuid.uuid4().hex[:6]}",
        keys,
        wired.context,
        base_url=BASE_URL,
        billing_confirmed_by=CONFIRMED_BY,
    )
    iid = integration.id
    # A separate key of its own, added as a user does (`smp service-account add`).
    await add_key(engine, box, iid, validation, wired.context)
    keys.append(validation)
    assert (await run_sync(engine, box, iid, wired.context)).outcome is Outcome.OK
    truth = expected(world.accounts[0])
    # Issue M's data as the clean sync stored it: the world's, which the
    # ground-truth tests check (tests/access, tests/keys).
    truth |= m_stored(engine, iid)
    caplog.set_level(logging.DEBUG)
    failed_cleanly = tolerated = unavailable = 0
    for pattern, (capability, part) in ENDPOINTS.items():
        before = stored(engine, iid) | m_stored(engine, iid)
        spoiler: list[Spoiler] = []

        def spoiled_transport(
            pattern: str = pattern, made: list[Spoiler] = spoiler
        ) -> Spoiler:
            made.append(
                Spoiler(wired.sim.transport(), pattern, case, UNLESS.get(pattern))
            )
            return made[-1]

        context = SyncContext(
            transport_factory=spoiled_transport,
            clock=wired.context.clock,
            policy=wired.context.policy,
            now=wired.context.now,
            # Re-read identity and subuser credits too: every endpoint is spoiled.
            refresh_after=dt.timedelta(0),
        )
        report = await run_sync(engine, box, iid, context)
        assert sum(s.spoiled for s in spoiler) > 0, pattern
        now = stored(engine, iid) | m_stored(engine, iid)
        outcomes = {c: r.outcome for c, r in report.capabilities.items()}
        # What needs the spoiled capability's listing is skipped, saying why.
        spoiled_ok = outcomes.get(capability) is Outcome.OK if capability else True
        waiting = () if spoiled_ok else AFTER.get(capability or "", ())
        for follower in waiting:
            assert outcomes[follower] is Outcome.SKIPPED, (pattern, follower)
        others = {c: o for c, o in outcomes.items() if c not in (capability, *waiting)}
        assert set(others.values()) == {Outcome.OK}, (pattern, report.to_json())
        for name in now:
            if name != part:
                assert now[name] == truth[name], (pattern, name)
        if capability is None:
            continue  # a bad scopes answer: the key's stored scopes carry on
        result = report.capabilities[capability]
        if result.outcome is Outcome.UNAVAILABLE:
            unavailable += 1
            assert (capability, case in MUST_FAIL) == ("invoices", True), pattern
            assert (result.error or "").startswith(
                "SendGrid did not provide invoices to this key (GET /v3/billing/"
            ), result
            assert now["invoices"] == before["invoices"], pattern
        elif result.outcome is Outcome.FAILED:
            failed_cleanly += 1
            assert case not in MUST_WORK, (pattern, result.error)
            error = result.error or ""
            # Clear: it names the endpoint, or the capability and the field.
            assert f"GET {pattern.split('*')[0]}" in error or error.startswith(
                f"{capability}: "
            ), result
            assert part is None or now[part] == before[part], pattern
            assert f"{capability} failed" in caplog.text
        else:
            tolerated += 1
            assert case not in MUST_FAIL or pattern in TOLERANT, (pattern, case)
            assert part is None or _usable(case, pattern, now[part], truth[part])
        assert integrity_problems(engine) == []
    for secret in {k.raw for k in keys} | {k.raw.split(".")[2] for k in keys}:
        assert secret not in caplog.text
    record(
        f"bad_input {case}",
        {
            "database": engine.dialect.name,
            "endpoints": len(ENDPOINTS),
            "failed_cleanly": failed_cleanly,
            "unavailable": unavailable,
            "stored_correctly": tolerated,
        },
    )


def _usable(case: str, pattern: str, now: object, truth: object) -> bool:
    """A tolerated answer stored exactly what it said."""
    if case == "unicode_rtl_names" and pattern == "/v3/teammates":
        members = now
        assert isinstance(members, frozenset)
        return {(m[3], m[4]) for m in members} == {(RTL, RTL)}
    return now == truth or case in {"huge_string", "negative_numbers", "absurd_numbers"}


def m_stored(engine: Engine, iid: int) -> dict[str, frozenset[object]]:
    """Issue M's stored data, as comparable sets."""
    with Session(engine) as session:
        keys = list_api_keys(session, iid)
        mates = list_teammate_scopes(session, iid)
        sso = list_sso(session, iid)
        allowed = list_allowlist(session, iid)
        attempts = list_access_attempts(session, iid)
        jobs = list_validation_jobs(session, iid)
    certificates = {
        s.sso_id: tuple((c.cert_id, c.not_after) for c in s.certificates) for s in sso
    }
    return {
        "m:api_keys": frozenset((k.key_id, k.name, tuple(k.scopes)) for k in keys),
        "m:teammate_scopes": frozenset(
            (m.username, m.user_type, tuple(m.scopes), m.two_factor_exempt)
            for m in mates
        ),
        "m:sso": frozenset((s.sso_id, s.enabled, certificates[s.sso_id]) for s in sso),
        "m:ip_allowlist": frozenset(a.ip for a in allowed),
        "m:access_activity": frozenset((a.ip, a.allowed) for a in attempts),
        "m:validation_jobs": frozenset((j.job_id, j.status, j.segments) for j in jobs),
    }


# Issue M's endpoints (fnmatch patterns, as FaultRule takes them) and what a
# fault there may fail: `/v3/teammates/*` also matches the pending invites.
M_FAULTS: dict[str, set[str]] = {
    "/v3/api_keys": {"api_keys"},
    "/v3/api_keys/*": {"api_keys"},
    "/v3/teammates/*": {"teammate_scopes", "invites"},
    "/v3/sso/integrations": {"sso"},
    "/v3/sso/integrations/*/certificates": {"sso"},
    "/v3/access_settings/whitelist": {"ip_allowlist"},
    "/v3/access_settings/activity": {"access_activity"},
    "/v3/validations/email/jobs": {"email_validation"},
    "/v3/validations/email/jobs/*": {"email_validation"},
}
FAULTS = {
    "429": FaultRule(kind="429"),
    "503": FaultRule(kind="status", status=503),
    "502_html": FaultRule(kind="status", status=502, html=True),
    "timeout": FaultRule(kind="timeout", timeout_s=0.05),
    "reset": FaultRule(kind="reset"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_failing_m_endpoint_fails_its_capability_in_one_line(
    engine: Engine, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A 429 that never ends, a 5xx (HTML too), a timeout or a reset on each
    of issue M's endpoints: after the retries, only what reads it fails, in
    one line naming the endpoint; its stored data is kept."""
    world = generate_world(seed=21, accounts=1, teammates=8, pending=2, subusers=2)
    wired = wire(world, max_attempts=2)
    box = SecretBox.from_key(generate_key())
    forget_world(engine, world)
    keys = [new_key(world, kind) for kind in ("full", "billing")]
    integration, _ = await connect(
        engine,
        box,
        f"fault {fault} {uuid.uuid4().hex[:6]}",
        keys,
        wired.context,
        base_url=BASE_URL,
        billing_confirmed_by=CONFIRMED_BY,
    )
    iid = integration.id
    await add_key(engine, box, iid, new_key(world, "validation"), wired.context)
    assert (await run_sync(engine, box, iid, wired.context)).outcome is Outcome.OK
    caplog.set_level(logging.INFO)
    for pattern, may_fail in M_FAULTS.items():
        before = m_stored(engine, iid)
        wired.sim.clear_faults()
        wired.sim.add_fault(dataclasses.replace(FAULTS[fault], path=pattern))
        report = await run_sync(engine, box, iid, wired.context)
        wired.sim.clear_faults()
        failed = {
            c: r.error or ""
            for c, r in report.capabilities.items()
            if r.outcome is Outcome.FAILED
        }
        assert failed, (pattern, report.to_json())
        assert set(failed) <= may_fail, (pattern, report.to_json())
        for error in failed.values():
            assert "\n" not in error
            assert error.startswith(f"GET {pattern.split('*')[0]}"), (pattern, error)
        others = {
            c: r.outcome for c, r in report.capabilities.items() if c not in may_fail
        }
        assert set(others.values()) == {Outcome.OK}, (pattern, report.to_json())
        assert m_stored(engine, iid) == before, pattern
    assert "Traceback" not in caplog.text
    for secret in {k.raw for k in keys}:
        assert secret not in caplog.text
