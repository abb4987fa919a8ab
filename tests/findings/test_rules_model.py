"""The rules as pure functions, on plain values: the registry's promises, the
posture formula, and the windows and periods that cross a month or year end."""

from __future__ import annotations

import datetime as dt
import re
from itertools import takewhile

import pytest
from tests.support.months import edge_days, month_start
from typer.testing import CliRunner

from smp.cli.main import app
from smp.model.findings import Facts, posture_score
from smp.model.rules_registry import RULES
from smp.model.rules_usage import (
    CREDIT_PERIODS,
    ENABLED_SUBUSERS,
    SUBUSER_MONTHS,
    CreditPeriod,
    credits_running_out,
    idle_subusers,
)
from smp.storage.finding_facts import LOADERS


def test_registry_ids_unique_and_every_fact_loaded() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.fix, rule.id
        assert rule.explanation.strip(), rule.id
        assert rule.severity in ("high", "medium", "low")
        for fact in rule.needs:
            assert fact.name in LOADERS, (rule.id, fact.name)
        for threshold in rule.thresholds:
            assert threshold.minimum <= threshold.default <= threshold.maximum


def test_every_command_a_fix_names_exists_with_its_options() -> None:
    """A fix step that names `smp ...` names a command SMP has, with options
    it takes and an argument only where it takes one (once `smp doctor NAME`)."""
    quoted = [
        (rule.id, command)
        for rule in RULES
        for step in rule.fix
        for command in re.findall(r"`(smp [^`]*)`", step)
    ]
    assert quoted, "no fix step names a command: nothing was checked"
    for rule_id, command in quoted:
        words = command.split()[1:]
        path = list(takewhile(lambda w: w.islower() and not w.startswith("-"), words))
        rest = words[len(path) :]
        shown = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
        assert shown.exit_code == 0, (rule_id, command, shown.output)
        for n, word in enumerate(rest):
            if word.startswith("--"):
                assert word in shown.output, (rule_id, command)
            elif n == 0 or not rest[n - 1].startswith("--"):
                assert "Arguments" in shown.output, (rule_id, command)


@pytest.mark.parametrize(
    ("counts", "score"),
    [
        ({}, 100),
        ({"high": 1}, 80),
        ({"medium": 2, "low": 3}, 78),
        ({"high": 4, "medium": 1, "low": 5}, 2),
        ({"high": 6}, 0),
    ],
)
def test_posture_score(counts: dict[str, int], score: int) -> None:
    assert posture_score(counts) == score


def facts(now: dt.datetime, **values: object) -> Facts:
    return Facts(integration_id=1, now=now, values=values)


@pytest.mark.parametrize("day", edge_days())
def test_idle_needs_every_month_of_the_window(day: dt.date) -> None:
    now = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    # The window starts in the month holding now - 90 days; written by hand
    # from the test's own calendar helper.
    first = month_start(day - dt.timedelta(days=90))
    window = []
    back = 0
    while (m := month_start(day, back)) >= first:
        window.append(m)
        back += 1
    months = dict.fromkeys(window, 0)
    values = {
        ENABLED_SUBUSERS.name: ["quiet", "short", "busy"],
        SUBUSER_MONTHS.name: {
            "quiet": months,
            # The window's first month missing: no data is not no sends.
            "short": dict.fromkeys(window[:-1], 0),
            "busy": {**months, window[-1]: 5},
        },
    }
    found = idle_subusers(facts(now, **values))
    assert [o.subject_key for o in found] == ["quiet"]
    assert found[0].evidence["months"] == sorted(m.strftime("%Y-%m") for m in window)


def period(**given: object) -> CreditPeriod:
    base: dict[str, object] = {
        "subuser": "",
        "credit_type": "recurring",
        "reset_frequency": "monthly",
        "last_reset": dt.date(2026, 12, 22),
        "next_reset": dt.date(2027, 1, 22),
        "total": 1000,
        "used": 500,
        "observed_at": dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    }
    return CreditPeriod(**{**base, **given})  # type: ignore[arg-type]


def test_credits_only_with_figures_sendgrid_gives() -> None:
    now = dt.datetime(2027, 1, 1, 6, tzinfo=dt.UTC)
    # 500 used in 10 of 31 days: 1,550 by the reset, over 1,000.
    over = period()
    cases = [
        over,
        period(subuser="s1", credit_type="unlimited", total=None, used=None),
        period(subuser="s2", total=None),
        period(
            subuser="s3",
            credit_type="nonrecurring",
            next_reset=None,
            reset_frequency=None,
        ),
        period(subuser="s4", used=100),  # 310 by the reset
        # Ended before now: the next period is not read yet.
        period(
            subuser="s5",
            last_reset=dt.date(2026, 11, 22),
            next_reset=dt.date(2026, 12, 22),
        ),
        # No reset date from SendGrid (subusers): only credits used up count.
        period(subuser="s6", last_reset=dt.date(2027, 1, 1), next_reset=None, used=999),
        period(
            subuser="s7", last_reset=dt.date(2027, 1, 1), next_reset=None, used=1000
        ),
    ]
    found = credits_running_out(facts(now, **{CREDIT_PERIODS.name: cases}))
    assert [o.subject_key for o in found] == ["account", "subuser:s7"]
    assert found[0].evidence["forecast_used"] == 1550
    assert found[1].evidence["forecast_used"] == 1000
    assert found[1].evidence["reset_given_by_sendgrid"] is False
    assert found[0].evidence["reset"] == "2027-01-22"
