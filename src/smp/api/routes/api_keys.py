"""`/api-keys`: the API-key inventory of an integration's SendGrid account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from smp.api.auth import CurrentUser, State
from smp.api.params import IntegrationParam, find_integration
from smp.api.problems import ApiProblem, problem_responses
from smp.services import api_keys as inventory
from smp.storage import RecordNotFoundError, read_session

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


class ScopeChangeOut(BaseModel):
    key_id: str
    name: str | None = Field(description="The key's name as last listed")
    seen_at: str = Field(
        description="When a sync of SMP saw it: SendGrid keeps no history"
    )
    change: str = Field(description="first_seen (its scopes then) or changed")
    added: list[str]
    removed: list[str]


class ScopeHistory(BaseModel):
    items: list[ScopeChangeOut]
    total: int


KeyIdPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
]


@router.get(
    "/api-keys/{key_id}/history",
    summary="Show how an API key's scopes changed between syncs",
    response_model=ScopeHistory,
)
def api_key_history(
    key_id: KeyIdPath, integration: IntegrationParam, state: State, _user: CurrentUser
) -> ScopeHistory:
    """The key's scopes when a sync first saw it, then each change a later
    sync saw (scopes added and removed), oldest first. A key SendGrid no
    longer lists keeps its history."""
    with read_session(state.engine) as session:
        find_integration(session, integration)
        try:
            changes = inventory.key_history(session, integration, key_id)
        except RecordNotFoundError as error:
            raise ApiProblem(404, str(error)) from None
    return ScopeHistory(
        items=[ScopeChangeOut(**change) for change in changes], total=len(changes)
    )
