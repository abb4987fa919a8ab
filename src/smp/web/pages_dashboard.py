"""One integration's dashboard: members, invites, invoices, usage, volume, history."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from smp.model import MemberStatus, Role
from smp.services.exports import Dataset, ExportFormat, download, rows
from smp.storage import list_service_accounts, list_sync_runs, read_session
from smp.storage.member_queries import SORTS
from smp.web.dashboard import MemberQuery, gather
from smp.web.deps import PagesDep
from smp.web.forms import has_control, page_number
from smp.web.pages_integrations import find
from smp.web.session import Refused, SignedIn, SignedInUser

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=4096)]


def _query(role: str, status: str, q: str, sort: str, page: str) -> MemberQuery:
    if has_control(q):
        raise Refused(400, "The search text contains control characters.")
    try:
        return MemberQuery(
            role=Role(role) if role else None,
            status=MemberStatus(status) if status else None,
            q=" ".join(q.split())[:100],
            sort=sort if sort.lstrip("-") in SORTS else "email",
            page=page_number(page),
        )
    except ValueError:
        raise Refused(400, "That role or status does not exist.") from None


@router.get("/integrations/{integration_id}")
def dashboard(
    integration_id: int,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    role: Text = "",
    status: Text = "",
    q: Text = "",
    sort: Text = "email",
    page: Text = "1",
) -> Response:
    integration = find(who, integration_id)
    query = _query(role, status, q, sort, page)
    # Asked before the read: a sync that ends in between is then polled, not
    # shown as "not synced yet" or as the run before it, with nothing to update it.
    syncing = who.state.syncs.running(integration.id)
    with read_session(who.state.engine) as session:
        board = gather(session, integration, query, who.state.context.now())
    return pages.render(
        request,
        "dashboard.html",
        who,
        board=board,
        query=query,
        roles=list(Role),
        statuses=list(MemberStatus),
        syncing=syncing,
        now=who.state.context.now(),
        # No "<" at all: the JSON sits in a <script> element, where "</" would end it.
        charts_json=json.dumps(board.charts).replace("<", "\\u003c"),
    )


@router.get("/integrations/{integration_id}/sync-status")
def sync_status(
    integration_id: int, who: SignedInUser, pages: PagesDep
) -> JSONResponse:
    """The dashboard's sync line, polled while a sync runs (static/sync_status.js)."""
    integration = find(who, integration_id)
    running = who.state.syncs.running(integration.id)
    with read_session(who.state.engine) as session:
        runs = list_sync_runs(session, integration.id, limit=1)
        said = [k.last_error for k in list_service_accounts(session, integration.id)]
    run = runs[0] if runs else None
    html = pages.templates.env.get_template("_sync_status.html").render(
        user=who.user, syncing=running, run=run, said=said, just_finished=not running
    )
    return JSONResponse(
        {
            "running": running,
            "outcome": run.outcome.value if run and run.outcome else None,
            "html": html,
        },
        headers={"Cache-Control": "no-store"},
    )


def _export(
    integration_id: int, dataset: str, who: SignedIn, format: ExportFormat
) -> Response:
    """The API's export of the same rows, through the same formatting."""
    integration = find(who, integration_id)
    try:
        chosen = Dataset(dataset)
    except ValueError:
        raise Refused(404, "There is no such export.") from None
    with read_session(who.state.engine) as session:
        data = rows(session, integration.id, chosen, who.state.context.now())
    file = download(data, integration.id, chosen, format)
    return Response(file.content, media_type=file.media_type, headers=file.headers)


@router.get("/integrations/{integration_id}/export/{dataset}.csv")
def export_csv(integration_id: int, dataset: str, who: SignedInUser) -> Response:
    return _export(integration_id, dataset, who, "csv")


@router.get("/integrations/{integration_id}/export/{dataset}.xlsx")
def export_xlsx(integration_id: int, dataset: str, who: SignedInUser) -> Response:
    return _export(integration_id, dataset, who, "xlsx")
