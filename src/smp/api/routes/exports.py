"""`/exports/{dataset}`: a whole collection as CSV, XLSX or JSON.

The rows and their formatting are `smp.services.exports`, shared with the web
and the CLI: no exported name can become a spreadsheet formula.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from smp.api.auth import CurrentUser, State
from smp.api.params import IntegrationParam, find_integration
from smp.api.problems import problem_responses
from smp.services.exports import Dataset, ExportFormat, download, rows
from smp.spreadsheets import XLSX_MEDIA_TYPE
from smp.storage import read_session

router = APIRouter(tags=["exports"], responses=problem_responses(404))


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
    file = download(data, found.id, dataset, format)
    return Response(file.content, media_type=file.media_type, headers=file.headers)
