"""Rules over credits and sending: credits running out, subusers that never send.

Never a figure SendGrid does not give: unlimited credits, credits without a
total, or a period SMP cannot place in time produce no finding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from smp.model.findings import Fact, Facts, Observation, Rule, Severity, Threshold
from smp.model.usage import forecast_used_at_reset, has_ended, period_end
from smp.model.volume import add_months, month_start


@dataclass(frozen=True, slots=True)
class CreditPeriod:
    """The latest stored credit period of the account ('' ) or of a subuser."""

    subuser: str
    credit_type: str | None
    reset_frequency: str | None
    last_reset: dt.date
    next_reset: dt.date | None
    total: int | None
    used: int | None
    observed_at: dt.datetime


# The latest period of the account and of each subuser.
CREDIT_PERIODS: Fact[Sequence[CreditPeriod]] = Fact("credit_periods")
# Subusers SendGrid still lists and that are not disabled.
ENABLED_SUBUSERS: Fact[Sequence[str]] = Fact("enabled_subusers")
# Requests per stored month, by subuser: a month SMP never stored is absent.
SUBUSER_MONTHS: Fact[Mapping[str, Mapping[dt.date, int]]] = Fact("subuser_months")


def credits_running_out(facts: Facts) -> list[Observation]:
    found = []
    for period in facts.get(CREDIT_PERIODS):
        if period.credit_type == "unlimited" or not period.total:
            continue
        end = period_end(period.last_reset, period.next_reset, period.reset_frequency)
        if end is None or has_ended(end, facts.now):
            continue  # nothing resets (nonrecurring), or the period is over
        forecast = _forecast(period, end)
        # Beyond the credits by the reset; used up, for a subuser (see _forecast).
        given = period.next_reset is not None
        if forecast is None or (given and forecast <= period.total):
            continue
        whose = f"subuser {period.subuser}" if period.subuser else "the account"
        key = f"subuser:{period.subuser}" if period.subuser else "account"
        found.append(
            Observation(
                subject_key=key,
                subject_label=whose,
                evidence={
                    "subuser": period.subuser or None,
                    "used": period.used,
                    "total": period.total,
                    "forecast_used": round(forecast),
                    "period_start": period.last_reset.isoformat(),
                    "reset": end.isoformat(),
                    "reset_given_by_sendgrid": period.next_reset is not None,
                    "read_at": period.observed_at.isoformat(),
                },
            )
        )
    return found


def _forecast(period: CreditPeriod, end: dt.date) -> float | None:
    """The pace up to when the figures were read, as the usage page shows it.

    SendGrid gives a subuser's credits no reset date (SMP assumes the
    calendar period), so there is no forecast for them: only credits
    already used up count, reported as used.
    """
    if period.next_reset is None:
        if period.used is None or period.total is None or period.used < period.total:
            return None
        return float(period.used)
    return forecast_used_at_reset(
        period.used, period.last_reset, end, period.observed_at
    )


def idle_subusers(facts: Facts) -> list[Observation]:
    days = facts.threshold(IDLE_SUBUSER, "days")
    first = month_start((facts.now - dt.timedelta(days=days)).date())
    last = month_start(facts.now.date())
    window = []
    month = first
    while month <= last:
        window.append(month)
        month = add_months(month, 1)
    stored = facts.get(SUBUSER_MONTHS)
    found = []
    for username in facts.get(ENABLED_SUBUSERS):
        months = stored.get(username, {})
        # No data is not no sends: every month of the window must be stored.
        if any(m not in months or months[m] for m in window):
            continue
        found.append(
            Observation(
                subject_key=username,
                subject_label=username,
                evidence={
                    "subuser": username,
                    "months": [m.strftime("%Y-%m") for m in window],
                    "requests": 0,
                    "threshold_days": days,
                },
            )
        )
    return found


CREDITS_RUNNING_OUT = Rule(
    id="credits_running_out",
    severity=Severity.HIGH,
    title="Credits forecast to run out before the reset",
    explanation=(
        "At the pace of sending so far this period, the credits will be used up "
        "before SendGrid resets them; sending beyond them is overage or stops."
    ),
    fix=(
        "In SendGrid, open Settings → Account Details → Your Products (or, for a "
        "subuser, Settings → Subuser Management → the subuser → Credits).",
        "Raise the plan or the subuser's credits, or slow the sending down.",
    ),
    needs=(CREDIT_PERIODS,),
    evaluate=credits_running_out,
)

IDLE_SUBUSER = Rule(
    id="idle_subuser",
    severity=Severity.LOW,
    title="Subuser with no sends",
    explanation=(
        "An enabled subuser has sent nothing in any month that overlaps the "
        "threshold's days, and SMP holds the statistics of each of those months."
    ),
    fix=(
        "Ask whoever owns the subuser whether it is still needed.",
        "In SendGrid, open Settings → Subuser Management, select the subuser and "
        "disable or delete it.",
    ),
    needs=(ENABLED_SUBUSERS, SUBUSER_MONTHS),
    evaluate=idle_subusers,
    thresholds=(
        Threshold(
            name="days",
            default=90,
            minimum=1,
            maximum=3650,
            unit="days",
            description="Days without a send before a subuser is reported.",
        ),
    ),
)
