"""`/people`, `/accounts`, `/company-domains` and `/account-links`: the directory,
how SendGrid accounts match it, and what an admin adds to the matching.

Everyone signed in reads; only admins change domains and links (403 for
viewers). Each change reclassifies before it answers: a domain change every
account, a link or unlink the accounts on that e-mail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query, Response

from smp.api.acting import Acting
from smp.api.auth import AdminUser, CurrentUser, State
from smp.api.params import IdPath, Limit, Offset, Search
from smp.api.people_schemas import (
    AccountOut,
    DomainChangeOut,
    DomainIn,
    DomainOut,
    LinkIn,
    LinkOut,
    PersonDetailOut,
    PersonOut,
)
from smp.api.problems import problem_responses
from smp.api.refusals import problem
from smp.api.schemas import Page
from smp.model.people import Classification, PersonStatus
from smp.services import people
from smp.services.input_rules import MAX_ID, PRINTABLE
from smp.services.refusals import Refused

router = APIRouter(tags=["people"])
T = TypeVar("T")

DomainPath = Annotated[str, Path(min_length=1, max_length=253, pattern=PRINTABLE)]
EmailPath = Annotated[str, Path(min_length=1, max_length=320, pattern=PRINTABLE)]
IntegrationFilter = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="Only this integration's (id)")
]


def _answer(use_case: Callable[[], T]) -> T:
    """The use case's result; its refusal as problem details."""
    try:
        return use_case()
    except Refused as error:
        raise problem(error) from None


def _no_content(use_case: Callable[[], object]) -> Response:
    _answer(use_case)
    return Response(status_code=204)


@router.get(
    "/people",
    summary="List and search the directory's people",
    response_model=Page[PersonOut],
)
def list_people(
    state: State,
    _user: CurrentUser,
    status: PersonStatus | None = None,
    q: Search = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[PersonOut]:
    """People by e-mail. `q` matches a case-insensitive substring of the name,
    e-mail, employee id or department."""
    found = people.list_people(
        state.engine, status=status, search=q, limit=limit, offset=offset
    )
    items = [PersonOut.model_validate(people.person_json(p)) for p in found.items]
    return Page(items=items, total=found.total, limit=limit, offset=offset)


@router.get(
    "/people/{person_id}",
    summary="Show a person and their accounts in every integration",
    response_model=PersonDetailOut,
    responses=problem_responses(404),
)
def person(person_id: IdPath, state: State, _user: CurrentUser) -> PersonDetailOut:
    """The person, with each account matched to them, present or removed: when
    it became a leaver's, when it was removed, and the offboarding lag."""
    detail = _answer(lambda: people.person_detail(state.engine, str(person_id)))
    return PersonDetailOut.model_validate(people.person_detail_json(detail))


@router.get(
    "/accounts",
    summary="List SendGrid accounts with their person and classification",
    response_model=Page[AccountOut],
    responses=problem_responses(404),
)
def accounts(
    state: State,
    _user: CurrentUser,
    classification: Classification | None = None,
    integration: IntegrationFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AccountOut]:
    """Accounts SendGrid still lists (teammates, pending invites, subusers),
    of every integration or one, in a stable order."""
    found = _answer(
        lambda: people.list_accounts(
            state.engine,
            integration=None if integration is None else str(integration),
            classification=classification,
            limit=limit,
            offset=offset,
        )
    )
    items = [AccountOut.model_validate(people.account_json(a)) for a in found.items]
    return Page(items=items, total=found.total, limit=limit, offset=offset)


@router.get(
    "/company-domains",
    summary="List the company's domains",
    response_model=Page[DomainOut],
)
def domains(
    state: State, _user: CurrentUser, limit: Limit = 50, offset: Offset = 0
) -> Page[DomainOut]:
    """Accounts on these domains that match no person are `unknown_internal`."""
    found = people.list_domains(state.engine)
    items = [
        DomainOut(domain=d.domain, created_at=d.created_at)
        for d in found[offset : offset + limit]
    ]
    return Page(items=items, total=len(found), limit=limit, offset=offset)


@router.post(
    "/company-domains",
    summary="Add a company domain and reclassify the accounts",
    response_model=DomainChangeOut,
    responses=problem_responses(403),
)
def add_domain(
    body: DomainIn, state: State, _user: AdminUser, by: Acting
) -> DomainChangeOut:
    """Adding a listed domain again changes nothing (`changed` false)."""
    now = state.context.now()
    change = _answer(
        lambda: people.add_domain(state.engine, body.domain, now=now, audit_as=by)
    )
    return DomainChangeOut(domain=change.domain, changed=change.changed)


@router.delete(
    "/company-domains/{domain}",
    summary="Remove a company domain and reclassify the accounts",
    status_code=204,
    response_class=Response,
    responses=problem_responses(403, 404),
)
def remove_domain(
    domain: DomainPath, state: State, _user: AdminUser, by: Acting
) -> Response:
    now = state.context.now()
    return _no_content(
        lambda: people.remove_domain(state.engine, domain, now=now, audit_as=by)
    )


@router.post(
    "/account-links",
    summary="Link an account e-mail to a person by hand",
    response_model=LinkOut,
    responses=problem_responses(403, 404),
)
def link(body: LinkIn, state: State, user: AdminUser, by: Acting) -> LinkOut:
    """A manual link wins over matching by e-mail; it replaces the e-mail's
    previous link. Any person may be linked, gone ones too (their accounts
    are then leavers); an e-mail no account has yet waits for a sync."""
    change = _answer(
        lambda: people.link_account(
            state.engine,
            body.email,
            body.person_id,
            actor=user.name,
            now=state.context.now(),
            audit_as=by,
        )
    )
    return LinkOut(
        email=change.email,
        person_id=change.person_id,
        accounts=change.accounts,
        previous=change.previous,
    )


@router.delete(
    "/account-links/{email}",
    summary="Remove an account e-mail's manual link",
    status_code=204,
    response_class=Response,
    responses=problem_responses(403, 404),
)
def unlink(email: EmailPath, state: State, _user: AdminUser, by: Acting) -> Response:
    """Its accounts are matched by e-mail again."""
    now = state.context.now()
    return _no_content(
        lambda: people.unlink_account(state.engine, email, now=now, audit_as=by)
    )
