"""The monthly volume trend as readers show it: the parent's own sends, each
subuser's, and their sum.

SendGrid's `/v3/stats` for a parent account counts only the parent's own sends;
each subuser's are counted apart (`/v3/subusers/stats`). The whole account is
therefore the sum of the parts, never the parent's figure alone. The trend
starts at the first month with any sends: the months before it are history
SendGrid filled with zeros, not sending that stopped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from smp.model.records import MonthlyVolume
from smp.model.volume import add_months, month_start


@dataclass(frozen=True, slots=True)
class VolumeTrend:
    months: list[dt.date]  # first days, oldest first, without gaps
    parent: list[int]  # the parent account's own sends, month by month
    subusers: dict[str, list[int]]  # subuser -> its sends, month by month

    @property
    def subuser_sums(self) -> list[int]:
        series = list(self.subusers.values())
        return [sum(s[index] for s in series) for index in range(len(self.months))]

    @property
    def totals(self) -> list[int]:
        """The whole account: the parent's own sends plus every subuser's."""
        return [p + s for p, s in zip(self.parent, self.subuser_sums, strict=True)]


def volume_trend(volumes: Iterable[MonthlyVolume]) -> VolumeTrend:
    """Requests per month of the parent (subuser None) and of each subuser."""
    parent: dict[dt.date, int] = {}
    per_subuser: dict[str, dict[dt.date, int]] = {}
    for volume in volumes:
        month = month_start(volume.month)
        series = (
            parent
            if volume.subuser is None
            else per_subuser.setdefault(volume.subuser, {})
        )
        series[month] = volume.metrics.requests
    everything = [parent, *per_subuser.values()]
    sending = [m for series in everything for m, n in series.items() if n]
    if not sending:
        return VolumeTrend([], [], {name: [] for name in sorted(per_subuser)})
    first = min(sending)
    last = max(m for series in everything for m in series)
    months = [first]
    while months[-1] < last:
        months.append(add_months(months[-1], 1))
    return VolumeTrend(
        months=months,
        parent=[parent.get(m, 0) for m in months],
        subusers={
            name: [series.get(m, 0) for m in months]
            for name, series in sorted(per_subuser.items())
        },
    )
