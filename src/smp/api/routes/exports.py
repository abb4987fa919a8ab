"""`/exports/{dataset}`: a whole collection as CSV, XLSX or JSON.

CSV and XLSX come from `smp.spreadsheets`, as the CLI's and the web's do: no
exported name can become a spreadsheet formula.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from smp.api.auth import CurrentUser, State
from smp.api.convert import (
    Sources,
    event_out,
    invoice_out,
    member_out,
    subuser_out,
    volume_out,
)
from smp.api.params import IntegrationParam, find_integration
from smp.api.problems import problem_responses
from smp.spreadsheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_text, xlsx_bytes
from smp.storage import (
    list_invoices,
    list_member_events,
    list_members,
    list_monthly_volumes,
    list_subusers,
    read_session,
)

router = APIRouter(tags=["exports"], responses=problem_responses(404))


class Dataset(StrEnum):
    MEMBERS = "members"
    MEMBER_EVENTS = "member-events"
    SUBUSERS = "subusers"
    INVOICES = "invoices"
    VOLUMES = "volumes"


def rows(
    session: Session, integration_id: int, dataset: Dataset, now: dt.datetime
) -> list[dict[str, Any]]:
    """`now` decides which pending invites have expired."""
    source = Sources(session, integration_id)
    items: list[BaseModel]
    if dataset is Dataset.MEMBERS:
        found_members = list_members(session, integration_id)
        items = [member_out(m, source, now) for m in found_members]
    elif dataset is Dataset.MEMBER_EVENTS:
        found = list_member_events(session, integration_id, limit=None)
        items = [event_out(e, source) for e in found]
    elif dataset is Dataset.SUBUSERS:
        found_subusers = list_subusers(session, integration_id)
        items = [subuser_out(s, source, now) for s in found_subusers]
    elif dataset is Dataset.INVOICES:
        items = [invoice_out(i, source) for i in list_invoices(session, integration_id)]
    else:
        found_volumes = list_monthly_volumes(session, integration_id, all_subusers=True)
        return [
            {
                "month": v.month.isoformat(),
                "subuser": v.subuser,
                **volume_out(v).metrics,
            }
            for v in found_volumes
        ]
    return [item.model_dump(mode="json") for item in items]


ExportFormat = Literal["csv", "xlsx", "json"]


def download(
    data: list[dict[str, Any]],
    integration_id: int,
    dataset: Dataset,
    format: ExportFormat,
) -> Response:
    """The rows as a file to save: the API's exports and the web's."""
    filename = f"smp-{integration_id}-{dataset.value}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "json":
        return JSONResponse(data, headers=headers)
    if format == "xlsx":
        sheet = xlsx_bytes({dataset.value: data})
        return Response(sheet, media_type=XLSX_MEDIA_TYPE, headers=headers)
    return Response(csv_text(data), media_type=CSV_MEDIA_TYPE, headers=headers)


@router.get(
    "/exports/{dataset}",
    summary="Download a dataset as CSV, XLSX or JSON",
    responses={
        200: {
            "description": "The dataset",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                "application/json": {
                    "schema": {"type": "array", "items": {"type": "object"}}
                },
            },
        }
    },
)
def export(
    dataset: Dataset,
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    format: ExportFormat = "csv",
) -> Response:
    with read_session(state.engine) as session:
        found = find_integration(session, integration)
        data = rows(session, integration, dataset, state.context.now())
    return download(data, found.id, dataset, format)
