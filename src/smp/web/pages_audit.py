"""The audit trail page: admins only (viewers are refused like every admin page).

Filters by action and start date, paged newest first; a button checks the
hash chain, and the whole trail downloads as CSV or XLSX.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from smp.model.audit import ChainReport
from smp.services import audit
from smp.spreadsheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from smp.web.deps import PagesDep
from smp.web.forms import FormText, has_control, page_number
from smp.web.session import Refused, SignedInUser, check_csrf, require_admin

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=64)]
MEDIA = {".csv": CSV_MEDIA_TYPE, ".xlsx": XLSX_MEDIA_TYPE}


def _since(text: str) -> dt.datetime | None:
    """A date's 00:00 UTC; raises ValueError for anything else."""
    if not text:
        return None
    day = dt.date.fromisoformat(text.strip())
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _render(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    *,
    action: str = "",
    since: str = "",
    page: str = "1",
    verdict: ChainReport | None = None,
) -> Response:
    number = page_number(page)
    error = None
    start = None
    try:
        start = _since(since)
    except ValueError:
        error = "The start date must be a date like 2027-01-31."
    chosen = action.strip() if action and not has_control(action) else None
    entries, total = audit.list_entries(
        who.state.engine,
        since=start,
        action=chosen,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    return pages.render(
        request,
        "audit.html",
        who,
        status=422 if error else 200,
        entries=entries,
        total=total,
        page=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        action=chosen or "",
        since=since if not error else "",
        since_error=error,
        verdict=None if verdict is None else audit.verdict(verdict),
        intact=None if verdict is None else verdict.intact,
    )


@router.get("/audit")
def audit_page(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    action: Text = "",
    since: Text = "",
    page: Text = "1",
) -> Response:
    require_admin(who)
    return _render(request, who, pages, action=action, since=since, page=page)


@router.post("/audit/verify")
def verify(
    request: Request, who: SignedInUser, pages: PagesDep, csrf_token: FormText = ""
) -> Response:
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    report = audit.verify(who.state.engine)
    return _render(request, who, pages, verdict=report)


@router.get("/audit/export{suffix}")
def export(suffix: str, who: SignedInUser) -> Response:
    require_admin(who)
    if suffix not in MEDIA:
        raise Refused(404, "There is no such export.")
    content = audit.export_bytes(who.state.engine, suffix)
    return Response(
        content,
        media_type=MEDIA[suffix],
        headers={
            "Content-Disposition": f'attachment; filename="smp-audit{suffix}"',
            "Cache-Control": "no-store",
        },
    )
