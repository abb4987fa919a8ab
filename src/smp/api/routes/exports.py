"""`/exports/{dataset}`: a whole collection as CSV or JSON, for spreadsheets, scripts.

Spreadsheet programs run cells that start with `=`, `+`, `-` or `@`; such CSV
cells get a leading `'` so an exported name cannot become a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
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


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(data: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if data:
        writer = csv.DictWriter(out, fieldnames=list(data[0]))
        writer.writeheader()
        for row in data:
            writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


@router.get(
    "/exports/{dataset}",
    responses={
        200: {
            "description": "The dataset",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
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
    format: Literal["csv", "json"] = "csv",
) -> Response:
    with read_session(state.engine) as session:
        found = find_integration(session, integration)
        data = rows(session, integration, dataset, state.context.now())
    filename = f"smp-{found.id}-{dataset.value}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "json":
        return JSONResponse(data, headers=headers)
    return Response(to_csv(data), media_type="text/csv; charset=utf-8", headers=headers)
