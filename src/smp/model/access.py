"""SSO, IP access and e-mail validation: records and the monthly validation figures.

What SendGrid gives, and no more (fact sheet §9, §14):
- access attempts are per IP address, never per teammate;
- validation usage has no endpoint: bulk jobs' `segments` (1,500 addresses
  each) give only an upper bound, "up to N addresses";
- single (real-time) validations cannot be counted at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

ADDRESSES_PER_SEGMENT = 1_500
SINGLE_VALIDATIONS = "not available from SendGrid"
VALIDATION_BOUND_NOTE = (
    "up to segments x 1,500 addresses: SendGrid counts bulk jobs in segments of "
    "up to 1,500 addresses and has no usage figure; single validations are "
    "not available from SendGrid"
)


@dataclass(frozen=True, slots=True)
class SsoCertificate:
    cert_id: str
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class SsoIntegration:
    sso_id: str
    enabled: bool
    name: str | None = None
    completed: bool | None = None
    last_updated: dt.datetime | None = None
    certificates: tuple[SsoCertificate, ...] = ()


@dataclass(frozen=True, slots=True)
class AllowedIp:
    rule_id: str
    ip: str
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class AccessAttempt:
    """Recent access from one IP; `first_seen` is when SMP first saw the address."""

    ip: str
    allowed: bool
    auth_method: str | None = None
    location: str | None = None
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None
    first_seen: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ValidationJob:
    job_id: str
    status: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    # None until the job's details have been read.
    segments: int | None = None
    segments_processed: int | None = None


@dataclass(frozen=True, slots=True)
class ValidationMonth:
    """Bulk validation in one calendar month (UTC), by the jobs started in it."""

    month: dt.date  # the month's first day
    jobs: int
    segments: int  # of the jobs whose details were read
    # Jobs whose segments SMP has not read (details never fetched or not given
    # yet): their segments are missing from `segments`, so no bound holds.
    jobs_not_read: int = 0

    @property
    def complete(self) -> bool:
        return self.jobs_not_read == 0

    @property
    def addresses_up_to(self) -> int | None:
        """An upper bound: the last segment of a job may hold fewer addresses.
        None when a job was not read: any bound would be wrong."""
        return self.segments * ADDRESSES_PER_SEGMENT if self.complete else None

    @property
    def summary(self) -> str:
        """The month in one line, e.g. `at least 13 segments; 2 jobs not read`."""
        if self.addresses_up_to is not None:
            return (
                f"{self.segments:,} segments, up to {self.addresses_up_to:,} addresses"
            )
        jobs = "job" if self.jobs_not_read == 1 else "jobs"
        return (
            f"at least {self.segments:,} segments; {self.jobs_not_read:,} {jobs} "
            "not read"
        )


def validation_months(jobs: Iterable[ValidationJob]) -> list[ValidationMonth]:
    """Jobs and segments per month of their start, oldest month first.

    A job's month is that of `started_at` in UTC, as SendGrid stamps it; a job
    with no start time belongs to no month. A job whose segments were never
    read counts as a job, in `jobs_not_read`, never as 0 segments.
    """
    jobs_in: dict[dt.date, int] = {}
    segments_in: dict[dt.date, int] = {}
    unread_in: dict[dt.date, int] = {}
    for job in jobs:
        if job.started_at is None:
            continue
        month = job.started_at.astimezone(dt.UTC).date().replace(day=1)
        jobs_in[month] = jobs_in.get(month, 0) + 1
        segments_in[month] = segments_in.get(month, 0) + (job.segments or 0)
        unread = job.segments is None
        unread_in[month] = unread_in.get(month, 0) + unread
    return [
        ValidationMonth(month, jobs_in[month], segments_in[month], unread_in[month])
        for month in sorted(jobs_in)
    ]


def sso_enabled(integrations: Iterable[SsoIntegration]) -> bool:
    return any(sso.enabled for sso in integrations)
