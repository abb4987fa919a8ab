"""`/api-keys`: the API-key inventory of an integration's SendGrid account."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from smp.api.auth import CurrentUser, State
from smp.api.params import IntegrationParam, find_integration
from smp.api.problems import problem_responses
from smp.services import api_keys as inventory
from smp.storage import read_session

router = APIRouter(tags=["data"], responses=problem_responses(404))


class ApiKeyOut(BaseModel):
    key_id: str = Field(description="The middle part of SG.<key id>.<secret>")
    name: str
    scopes: list[str] = Field(description="As SendGrid lists them, flags included")
    first_seen: str = Field(description="When a sync of SMP first saw the key")
    last_seen: str = Field(description="When a sync of SMP last saw the key")
    full_access: bool = Field(
        description="Holds api_keys.create/delete, teammates.create and mail.send "
        "among at least 50 permission scopes (docs/sync.md)"
    )
    write_scopes: list[str] = Field(
        description="Scopes ending in .create, .update or .delete, and mail.send"
    )


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
    total: int
    dates: str = Field(
        description="Creation and last-use dates: not available from SendGrid"
    )
    unreadable: str | None = Field(
        description="Why no key reads the inventory, or null"
    )


@router.get(
    "/api-keys",
    summary="List the API keys of an integration's SendGrid account",
    response_model=ApiKeyList,
)
def api_keys(
    integration: IntegrationParam, state: State, _user: CurrentUser
) -> ApiKeyList:
    """Every key the last sync saw, with its scopes; a key no longer listed
    by SendGrid is not shown."""
    with read_session(state.engine) as session:
        find_integration(session, integration)
        rows = inventory.api_keys(session, integration)
        problem = inventory.unreadable_message(session, integration)
    return ApiKeyList(
        items=[ApiKeyOut(**row) for row in rows],
        total=len(rows),
        dates=inventory.DATES_NOTE,
        unreadable=problem,
    )
