"""`/audit` and `/audit/verify`: the audit trail, for admins only (403 for viewers).

docs/audit.md says what is recorded and what the hash chain proves.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from smp.api.auth import AdminUser, State
from smp.api.params import Limit, Offset
from smp.api.problems import problem_responses
from smp.api.schemas import Page
from smp.services import audit
from smp.services.input_rules import PRINTABLE

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int
    occurred_at: dt.datetime
    actor: str | None
    source: str
    action: str
    target: str
    details: dict[str, Any]


class AuditVerifyOut(BaseModel):
    intact: bool
    entries: int
    broken_at: int | None
    reason: str | None
    message: str


@router.get(
    "/audit",
    summary="List the audit trail, newest first",
    response_model=Page[AuditEntryOut],
    responses=problem_responses(403),
)
def entries(
    state: State,
    _user: AdminUser,
    since: Annotated[
        AwareDatetime | None, Query(description="Only entries from this time on")
    ] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=PRINTABLE,
            description="Only this action (login.failed) or family (user)",
        ),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AuditEntryOut]:
    found, total = audit.list_entries(
        state.engine, since=since, action=action, limit=limit, offset=offset
    )
    items = [AuditEntryOut.model_validate(audit.entry_json(e)) for e in found]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/audit/verify",
    summary="Check the audit trail's hash chain",
    response_model=AuditVerifyOut,
    responses=problem_responses(403),
)
def verify(state: State, _user: AdminUser) -> AuditVerifyOut:
    """`intact` false names the first edited or deleted entry (`broken_at`)."""
    report = audit.verify(state.engine)
    broken = report.broken
    return AuditVerifyOut(
        intact=report.intact,
        entries=report.entries,
        broken_at=None if broken is None else broken.row_id,
        reason=None if broken is None else broken.reason,
        message=audit.verdict(report),
    )
