"""`/integrations`: create (checking keys first), read, change the interval, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from smp.api.acting import Acting
from smp.api.auth import AdminUser, CurrentUser, State
from smp.api.convert import integration_out, key_check, service_account_out
from smp.api.params import IntegrationPath, Limit, Offset, find_integration
from smp.api.problems import ApiProblem, problem_responses
from smp.api.refusals import problem
from smp.api.schemas import (
    CheckedServiceAccount,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationOut,
    IntegrationUpdate,
    Page,
)
from smp.model import Integration
from smp.runtime.server_state import AppState
from smp.services import integrations
from smp.services.key_rules import Slot
from smp.services.onboarding import NewKey, connect
from smp.services.refusals import Refused
from smp.storage import list_integrations, read_session

router = APIRouter(tags=["integrations"])


def _out(state: AppState, session: Session, integration: Integration) -> IntegrationOut:
    return integration_out(
        session,
        integration,
        default_interval_s=state.config.default_sync_interval_s,
        syncing=state.syncs.running(integration.id),
    )


@router.get(
    "/integrations",
    summary="List integrations",
    response_model=Page[IntegrationOut],
)
def list_all(
    state: State, _user: CurrentUser, limit: Limit = 50, offset: Offset = 0
) -> Page[IntegrationOut]:
    with read_session(state.engine) as session:
        found = list_integrations(session)
        items = [_out(state, session, i) for i in found[offset : offset + limit]]
    return Page(items=items, total=len(found), limit=limit, offset=offset)


@router.post(
    "/integrations",
    summary="Connect a SendGrid account (keys checked first)",
    status_code=201,
    response_model=IntegrationCreated,
    responses=problem_responses(403, 409),
)
async def create(
    body: IntegrationCreate, state: State, user: AdminUser, by: Acting
) -> IntegrationCreated:
    """Create an integration; every key is checked against SendGrid before storing.

    One SendGrid account is one integration: an account already connected is
    a conflict. A billing key needs `billing_account_confirmed`.
    """
    keys = [NewKey(k.label, k.key.get_secret_value(), Slot(k.slot)) for k in body.keys]
    try:
        integration, stored = await connect(
            state.engine,
            state.box,
            body.name,
            keys,
            state.context,
            region=body.region,
            base_url=state.config.sendgrid_base_url,
            billing_confirmed_by=(
                f"{user.name} (API)" if body.billing_account_confirmed else None
            ),
            sync_interval_s=body.sync_interval_s,
            audit_as=by,
        )
    except Refused as error:
        raise problem(error) from None
    if stored:
        state.syncs.start(
            integration.id, "connect", started_by=by.name, source=by.source
        )
    with read_session(state.engine) as session:
        out = _out(state, session, integration)
    checked = [
        CheckedServiceAccount(
            service_account=service_account_out(sa), check=key_check(report)
        )
        for sa, report in stored
    ]
    return IntegrationCreated(integration=out, service_accounts=checked)


@router.get(
    "/integrations/{integration_id}",
    summary="Read an integration",
    response_model=IntegrationOut,
    responses=problem_responses(404),
)
def read(
    integration_id: IntegrationPath, state: State, _user: CurrentUser
) -> IntegrationOut:
    with read_session(state.engine) as session:
        return _out(state, session, find_integration(session, integration_id))


@router.patch(
    "/integrations/{integration_id}",
    summary="Rename an integration or change its sync interval",
    response_model=IntegrationOut,
    responses=problem_responses(403, 404, 409),
)
def update(
    integration_id: IntegrationPath,
    body: IntegrationUpdate,
    state: State,
    _user: AdminUser,
    by: Acting,
) -> IntegrationOut:
    """Rename (`name`) and/or set the sync interval in seconds (`sync_interval_s`;
    null returns to the server's default). Fields left out stay as they are.
    A name another integration has, in any case, is a conflict.
    """
    with read_session(state.engine) as session:
        find_integration(session, integration_id)
    if body.name is not None:
        try:
            integrations.rename(state.engine, integration_id, body.name, audit_as=by)
        except Refused as error:
            raise problem(error) from None
    if "sync_interval_s" in body.model_fields_set:
        try:
            integrations.set_interval(
                state.engine, integration_id, body.sync_interval_s, audit_as=by
            )
        except Refused as error:
            raise problem(error) from None
    with read_session(state.engine) as session:
        return _out(state, session, find_integration(session, integration_id))


@router.delete(
    "/integrations/{integration_id}",
    summary="Delete an integration, its keys and all its data",
    status_code=204,
    response_class=Response,
    responses=problem_responses(403, 404, 409),
)
def delete(
    integration_id: IntegrationPath, state: State, _user: AdminUser, by: Acting
) -> Response:
    """Delete an integration with its keys and everything collected for it.

    This cannot be undone. Refused (409) while a sync of it is running.
    """
    if state.syncs.running(integration_id):
        raise ApiProblem(409, "a sync of this integration is running; try again later")
    with read_session(state.engine) as session:
        find_integration(session, integration_id)
    try:
        integrations.delete(state.engine, integration_id, audit_as=by)
    except Refused as error:
        raise problem(error) from None
    return Response(status_code=204)
