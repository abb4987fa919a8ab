"""Query parameters shared by every collection: the same names and bounds everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from sqlalchemy.orm import Session

from smp.api.problems import ApiProblem
from smp.model import Integration
from smp.services.input_rules import MAX_ID, PRINTABLE
from smp.storage import RecordNotFoundError, get_integration

MAX_LIMIT = 500

IntegrationParam = Annotated[
    int, Query(ge=1, le=MAX_ID, description="The integration's id")
]
IntegrationPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip")]
Search = Annotated[
    str | None,
    Query(max_length=100, pattern=PRINTABLE, description="Text search"),
]


def find_integration(session: Session, integration_id: int) -> Integration:
    try:
        return get_integration(session, integration_id)
    except RecordNotFoundError:
        raise ApiProblem(404, f"no integration {integration_id}") from None
