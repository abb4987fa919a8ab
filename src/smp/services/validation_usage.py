"""E-mail validation usage as SMP can know it: jobs and segments per month.

SendGrid has no usage endpoint for validation (fact sheet §9). Bulk jobs'
segments hold up to 1,500 addresses each, so "up to N addresses" is an upper
bound; single (real-time) validations cannot be counted at all. Both are
said in words wherever the figures are shown (`smp usage`, the API, the
integration's page). A month with a job whose segments SMP never read has no
bound: it says "at least N segments; K jobs not read".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from smp.model.access import SINGLE_VALIDATIONS, VALIDATION_BOUND_NOTE
from smp.storage import list_service_accounts
from smp.storage.access import validation_usage
from smp.vocabulary import Capability

NO_VALIDATION_KEY = (
    "No e-mail validation key is connected: SendGrid gives validation jobs only "
    "to a separate Email Validation key (validations.email.read; Pro plans and "
    "up). Add one with smp service-account add."
)


def validation_json(session: Session, integration_id: int) -> dict[str, Any]:
    """`{"readable", "message", "months": [{month, jobs, segments,
    jobs_not_read, addresses_up_to (None when a job was not read), summary}],
    "single_validations", "note"}`, oldest month first."""
    keys = list_service_accounts(session, integration_id)
    readable = any(
        Capability.EMAIL_VALIDATION in k.capabilities for k in keys if not k.is_removed
    )
    return {
        "readable": readable,
        "message": None if readable else NO_VALIDATION_KEY,
        "months": [
            {
                "month": m.month.strftime("%Y-%m"),
                "jobs": m.jobs,
                "segments": m.segments,
                "jobs_not_read": m.jobs_not_read,
                "addresses_up_to": m.addresses_up_to,
                "summary": m.summary,
            }
            for m in validation_usage(session, integration_id)
        ],
        "single_validations": SINGLE_VALIDATIONS,
        "note": VALIDATION_BOUND_NOTE,
    }
