"""Words the people pages show for stored values: classifications, lags, statuses.

Stored values (`unknown_internal`, seconds of lag) stay in JSON and the API;
a page says "Unknown (company domain)" and "3 days 4 hours" instead.
"""

from __future__ import annotations

import datetime as dt

from smp.model.people import Classification

CLASSIFICATIONS: dict[str, str] = {
    Classification.EMPLOYEE: "Employee",
    Classification.CONTRACTOR: "Contractor",
    Classification.PARTNER: "Partner",
    Classification.SERVICE: "Service account",
    Classification.LEAVER: "Leaver",
    Classification.UNKNOWN_INTERNAL: "Unknown (company domain)",
    Classification.EXTERNAL: "External",
    Classification.AMBIGUOUS: "Ambiguous",
}
# What each classification means, for the filter's help and the table's title.
MEANINGS: dict[str, str] = {
    Classification.LEAVER: "matched to someone terminated or gone, still in SendGrid",
    Classification.UNKNOWN_INTERNAL: "on a company domain, but no person has it",
    Classification.EXTERNAL: "on a domain that is not the company's",
    Classification.AMBIGUOUS: "more than one person claims the e-mail",
}
MATCHED_BY: dict[str, str] = {
    "email": "primary e-mail",
    "alias": "alias",
    "manual": "manual link",
}


def classification_words(value: str | None) -> str:
    if not value:
        return "—"
    return CLASSIFICATIONS.get(str(value), str(value).replace("_", " ").capitalize())


def matched_by_words(value: str | None) -> str:
    return "not matched" if not value else MATCHED_BY.get(str(value), str(value))


def _unit(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def lag_words(lag: dt.timedelta | int | float | None) -> str:
    """A duration as people say it: "3 days 4 hours", "5 hours", "under an hour".

    Offboarding is measured in days; minutes would be noise, so the two
    largest units are enough.
    """
    if lag is None:
        return "—"
    seconds = int(lag.total_seconds() if isinstance(lag, dt.timedelta) else lag)
    if seconds < 0:
        return "—"
    days, rest = divmod(seconds, 86_400)
    hours = rest // 3600
    if days and hours:
        return f"{_unit(days, 'day')} {_unit(hours, 'hour')}"
    if days:
        return _unit(days, "day")
    if hours:
        return _unit(hours, "hour")
    return "under an hour"
