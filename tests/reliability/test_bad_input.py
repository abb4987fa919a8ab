"""Bad input corpus: every endpoint the sync reads, answered badly in 12 ways.

Each case either fails only the capability that reads the endpoint, with a
message naming the endpoint, keeping that capability's data; or (for answers
that are odd but usable) stores exactly the right data. Invoices in a shape SMP
does not know are `unavailable` instead of failed (the endpoint is
undocumented, ADR 3), their data kept too. Nothing crashes, the
rest of the sync is unaffected, and no secret reaches the log.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import pytest
from sqlalchemy import Engine
from tests.reliability.soak import wire
from tests.support.corpus import CASES, RTL, Spoiler
from tests.support.figures import record
from tests.support.simulator import BASE_URL, CONFIRMED_BY, forget_world, new_key
from tests.support.truth import expected, integrity_problems, stored

from smp.model import Outcome
from smp.services.onboarding import connect
from smp.simulator import generate_world
from smp.storage import SecretBox, generate_key
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
}
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
    assert (await run_sync(engine, box, iid, wired.context)).outcome is Outcome.OK
    truth = expected(world.accounts[0])
    caplog.set_level(logging.DEBUG)
    failed_cleanly = tolerated = unavailable = 0
    for pattern, (capability, part) in ENDPOINTS.items():
        before = stored(engine, iid)
        spoiler: list[Spoiler] = []

        def spoiled_transport(
            pattern: str = pattern, made: list[Spoiler] = spoiler
        ) -> Spoiler:
            made.append(Spoiler(wired.sim.transport(), pattern, case))
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
        now = stored(engine, iid)
        outcomes = {c: r.outcome for c, r in report.capabilities.items()}
        # No e-mail validation key is connected: that one is skipped. What
        # needs the spoiled capability's listing is skipped too, saying why.
        spoiled_ok = outcomes.get(capability) is Outcome.OK if capability else True
        waiting = () if spoiled_ok else AFTER.get(capability or "", ())
        for follower in waiting:
            assert outcomes[follower] is Outcome.SKIPPED, (pattern, follower)
        others = {
            c: o
            for c, o in outcomes.items()
            if c not in (capability, "email_validation", *waiting)
        }
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
