"""`/service-accounts`: SendGrid keys; a POST checks the key and reports its reach."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from smp.api.acting import Acting
from smp.api.auth import AdminUser, CurrentUser, State
from smp.api.convert import key_check, service_account_out
from smp.api.params import IdPath, IntegrationParam, Limit, Offset, find_integration
from smp.api.problems import ApiProblem, problem_responses
from smp.api.refusals import problem
from smp.api.schemas import (
    CheckedServiceAccount,
    Page,
    ServiceAccountCreate,
    ServiceAccountOut,
)
from smp.model import ServiceAccount
from smp.services.onboarding import NewKey, add_key, remove_key
from smp.services.refusals import Refused
from smp.storage import (
    RecordNotFoundError,
    get_service_account,
    list_service_accounts,
    read_session,
)

router = APIRouter(tags=["service accounts"])


def _find(session: Session, sa_id: int) -> ServiceAccount:
    try:
        return get_service_account(session, sa_id)
    except RecordNotFoundError:
        raise ApiProblem(404, f"no service account {sa_id}") from None


@router.get(
    "/service-accounts",
    summary="List an integration's keys",
    response_model=Page[ServiceAccountOut],
    responses=problem_responses(404),
)
def list_all(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    include_removed: Annotated[bool, Query()] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ServiceAccountOut]:
    with read_session(state.engine) as session:
        find_integration(session, integration)
        found = list_service_accounts(
            session, integration, include_removed=include_removed
        )
    items = [service_account_out(sa) for sa in found[offset : offset + limit]]
    return Page(items=items, total=len(found), limit=limit, offset=offset)


@router.post(
    "/service-accounts",
    summary="Add a key to an integration (checked first)",
    status_code=201,
    response_model=CheckedServiceAccount,
    responses=problem_responses(403, 404, 409),
)
async def create(
    body: ServiceAccountCreate, state: State, user: AdminUser, by: Acting
) -> CheckedServiceAccount:
    """Check a key against SendGrid, store it if usable, and report its capabilities.

    A billing key needs `billing_account_confirmed`; a key, or a SendGrid
    account, already connected elsewhere is a conflict.
    """
    with read_session(state.engine) as session:
        find_integration(session, body.integration_id)
    try:
        stored, report = await add_key(
            state.engine,
            state.box,
            body.integration_id,
            NewKey(body.label, body.key.get_secret_value()),
            state.context,
            billing_confirmed_by=(
                f"{user.name} (API)" if body.billing_account_confirmed else None
            ),
            audit_as=by,
        )
    except Refused as error:
        raise problem(error) from None
    return CheckedServiceAccount(
        service_account=service_account_out(stored), check=key_check(report)
    )


@router.get(
    "/service-accounts/{service_account_id}",
    summary="Read a key's status and reach",
    response_model=ServiceAccountOut,
    responses=problem_responses(404),
)
def read(
    service_account_id: IdPath, state: State, _user: CurrentUser
) -> ServiceAccountOut:
    with read_session(state.engine) as session:
        return service_account_out(_find(session, service_account_id))


@router.delete(
    "/service-accounts/{service_account_id}",
    summary="Remove a key (what it collected is kept)",
    status_code=204,
    response_class=Response,
    responses=problem_responses(403, 404),
)
def remove(
    service_account_id: IdPath, state: State, _user: AdminUser, by: Acting
) -> Response:
    """Stop using a key; what it collected is kept, shown as from a removed key."""
    try:
        remove_key(state.engine, service_account_id, audit_as=by)
    except Refused as error:
        raise problem(error) from None
    return Response(status_code=204)
