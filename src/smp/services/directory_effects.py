"""What follows a change of the directory, a link or a company domain.

Accounts are reclassified at once (a termination makes leavers without a
sync), and the findings of the integrations that may have changed are
evaluated again, so "a leaver is still a teammate" opens as soon as the
directory says so, not at the next sync.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import Engine

from smp.storage.classifications import (
    integrations_claiming,
    reclassify,
    reclassify_emails,
)
from smp.storage.findings import evaluate_findings


def directory_changed(engine: Engine, *, now: dt.datetime) -> None:
    """After an import or a company-domain change: every account may change."""
    reclassify(engine, now=now)
    evaluate_findings(engine, now=now)


def claims_changed(
    engine: Engine,
    email_keys: Collection[str],
    *,
    now: dt.datetime,
    person_ids: Collection[int] = (),
) -> None:
    """After a SCIM write or a link: only the accounts on these e-mails, or
    matched to these people, can change (milliseconds, not seconds)."""
    reclassify_emails(engine, email_keys, now=now, person_ids=person_ids)
    touched = integrations_claiming(engine, email_keys, person_ids)
    if touched:
        evaluate_findings(engine, now=now, integration_ids=touched)
