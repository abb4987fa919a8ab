"""`/sync-runs`: the history of syncs, and a POST to start one now."""

from __future__ import annotations

from fastapi import APIRouter

from smp.api.acting import Acting
from smp.api.auth import AdminUser, CurrentUser, State
from smp.api.convert import run_out
from smp.api.params import IdPath, IntegrationParam, Limit, Offset, find_integration
from smp.api.problems import ApiProblem, problem_responses
from smp.api.schemas import Page, SyncRunOut, SyncStart, SyncStarted
from smp.storage import RecordNotFoundError, get_sync_run, list_sync_runs, read_session

router = APIRouter(tags=["syncs"], responses=problem_responses(404))


@router.get(
    "/sync-runs",
    summary="List sync runs, most recent first",
    response_model=Page[SyncRunOut],
)
def runs(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[SyncRunOut]:
    """Sync runs, the most recent first."""
    with read_session(state.engine) as session:
        find_integration(session, integration)
        found = list_sync_runs(session, integration, limit=offset + limit)
        total = len(list_sync_runs(session, integration, limit=1_000_000))
    items = [run_out(r) for r in found[offset:]]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/sync-runs",
    summary="Start a sync of an integration",
    status_code=202,
    response_model=SyncStarted,
    responses=problem_responses(403),
)
async def start(
    body: SyncStart, state: State, _user: AdminUser, by: Acting
) -> SyncStarted:
    """Start a sync in the background; follow it with `GET /sync-runs`."""
    with read_session(state.engine) as session:
        find_integration(session, body.integration_id)
    started = state.syncs.start(
        body.integration_id, "api", started_by=by.name, source=by.source
    )
    return SyncStarted(integration_id=body.integration_id, started=started)


@router.get(
    "/sync-runs/{run_id}",
    summary="Show one sync run",
    response_model=SyncRunOut,
)
def run(run_id: IdPath, state: State, _user: CurrentUser) -> SyncRunOut:
    with read_session(state.engine) as session:
        try:
            return run_out(get_sync_run(session, run_id))
        except RecordNotFoundError:
            raise ApiProblem(404, f"no sync run {run_id}") from None
