"""People, one person's access, accounts by classification, and the directory upload.

Everyone signed in reads; only an admin uploads a directory (viewers do not
see the form, and their POST is refused like every admin-only form).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response

from smp.model.people import Classification, PersonStatus
from smp.services import audit, people, refusals
from smp.services.input_rules import MAX_ID
from smp.services.people_import import (
    MAX_FILE_BYTES,
    ClassificationFailed,
    import_people,
)
from smp.storage import StorageError, list_integrations, read_session
from smp.web.deps import PagesDep
from smp.web.forms import FormText, clean_text, has_control, page_number
from smp.web.people_words import (
    CLASSIFICATIONS,
    MEANINGS,
    classification_words,
    lag_words,
    matched_by_words,
)
from smp.web.session import Refused, SignedIn, SignedInUser, check_csrf, require_admin

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
UPLOAD_PATH = "/people/import"
# The multipart wrapping around the file (boundaries, the other fields): the
# body may exceed the file by this much, so a file just over the limit still
# reaches the page, which says so in words.
FORM_ROOM = 64 * 1024
UPLOADS = {UPLOAD_PATH: MAX_FILE_BYTES + FORM_ROOM}
MAX_MB = MAX_FILE_BYTES // (1024 * 1024)

Text = Annotated[str, Query(max_length=4096)]


def _page_number(page: str) -> int:
    return page_number(page)


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def _words() -> dict[str, Any]:
    """The helpers every people template may call."""
    return {
        "classification_words": classification_words,
        "matched_by_words": matched_by_words,
        "lag_words": lag_words,
    }


def home_card(who: SignedIn) -> dict[str, Any]:
    """What the home page's card (templates/_people_card.html) shows."""
    return {
        "directory": people.directory_summary(who.state.engine),
        "lag_words": lag_words,
    }


@dataclass(frozen=True, slots=True)
class PeopleQuery:
    q: str = ""
    status: str = ""
    page: int = 1


@router.get("/people")
def people_page(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    q: Text = "",
    status: Text = "",
    page: Text = "1",
) -> Response:
    if has_control(q):
        raise Refused(400, "The search text contains control characters.")
    if status and status not in set(PersonStatus):
        raise Refused(400, "That status does not exist.")
    query = PeopleQuery(" ".join(q.split())[:100], status, _page_number(page))
    found = people.list_people(
        who.state.engine,
        status=PersonStatus(status) if status else None,
        search=query.q or None,
        limit=PAGE_SIZE,
        offset=(query.page - 1) * PAGE_SIZE,
    )
    # A filter that matches nobody is not an empty directory.
    known = found.total > 0 or people.directory_summary(who.state.engine).has_directory
    return pages.render(
        request,
        "people.html",
        who,
        people=found.items,
        total=found.total,
        pages=_pages(found.total),
        query=query,
        statuses=[s.value for s in PersonStatus],
        directory_known=known,
    )


# Digits only: /people/import is another page.
@router.get("/people/{person_id:int}")
def person_page(
    person_id: int, request: Request, who: SignedInUser, pages: PagesDep
) -> Response:
    try:
        detail = people.person_detail(who.state.engine, str(person_id))
    except refusals.Refused:
        raise Refused(404, "There is no such person.") from None
    return pages.render(request, "person.html", who, detail=detail, **_words())


@dataclass(frozen=True, slots=True)
class AccountsQuery:
    classification: str = ""
    integration: int | None = None
    page: int = 1


def _accounts_query(classification: str, integration: str, page: str) -> AccountsQuery:
    if classification and classification not in set(Classification):
        raise Refused(400, "That classification does not exist.")
    if integration and not (integration.isascii() and integration.isdigit()):
        raise Refused(400, "Choose the integration from the list.")
    chosen = int(integration) if integration else None
    if chosen is not None and chosen > MAX_ID:  # past any id the database can hold
        raise Refused(404, "There is no such integration.")
    return AccountsQuery(classification, chosen, _page_number(page))


def _counts(who: SignedIn, integration: int | None) -> dict[str, int]:
    """Accounts per classification, in the chosen integration or in all."""
    if integration is None:
        summary = people.directory_summary(who.state.engine)
        return {str(c): n for c, n in summary.accounts.items()}
    return {
        str(c): people.list_accounts(
            who.state.engine, integration=str(integration), classification=c, limit=0
        ).total
        for c in Classification
    }


@router.get("/accounts")
def accounts_page(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    classification: Text = "",
    integration: Text = "",
    page: Text = "1",
) -> Response:
    query = _accounts_query(classification, integration, page)
    try:
        found = people.list_accounts(
            who.state.engine,
            integration=None if query.integration is None else str(query.integration),
            classification=Classification(classification) if classification else None,
            limit=PAGE_SIZE,
            offset=(query.page - 1) * PAGE_SIZE,
        )
    except refusals.Refused:
        raise Refused(404, "There is no such integration.") from None
    with read_session(who.state.engine) as session:
        integrations = list_integrations(session)
    return pages.render(
        request,
        "accounts.html",
        who,
        accounts=found.items,
        total=found.total,
        pages=_pages(found.total),
        query=query,
        counts=_counts(who, query.integration),
        classifications=CLASSIFICATIONS,
        meanings=MEANINGS,
        integrations=integrations,
        directory_known=people.directory_summary(who.state.engine).has_directory,
        **_words(),
    )


def _import_page(
    request: Request,
    who: SignedIn,
    pages: PagesDep,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    **shown: object,
) -> Response:
    shown.setdefault("source", "")
    shown.setdefault("partial", False)
    return pages.render(
        request,
        "people_import.html",
        who,
        status=status,
        errors=errors or {},
        max_bytes=MAX_FILE_BYTES,
        max_mb=MAX_MB,
        **shown,
    )


@router.get(UPLOAD_PATH)
def import_form(request: Request, who: SignedInUser, pages: PagesDep) -> Response:
    require_admin(who)
    return _import_page(request, who, pages)


@router.post(UPLOAD_PATH)
def import_file(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    file: Annotated[UploadFile | None, File()] = None,
    source: FormText = "",
    partial: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """A sync route: FastAPI runs it in a worker thread, so the import (seconds
    for a large directory) never holds up the event loop."""
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    ticked = bool(partial)
    shown: dict[str, Any] = {"source": source[:200], "partial": ticked}
    try:
        named = clean_text(source, "The source name", required=False)
    except ValueError as error:
        shown["source"] = ""
        return _import_page(
            request, who, pages, status=422, errors={"source": str(error)}, **shown
        )
    if file is None or not file.filename:
        return _import_page(
            request,
            who,
            pages,
            status=422,
            errors={"file": "Choose a CSV or XLSX file to import."},
            **shown,
        )
    # One byte more than allowed is enough to know the file is too large.
    data = file.file.read(MAX_FILE_BYTES + 1)
    try:
        report = import_people(
            who.state.engine,
            data,
            filename=file.filename,
            source=named or None,
            partial=ticked,
            now=who.state.context.now(),
            audit_as=audit.request_actor(who.user.name, request),
        )
    except ClassificationFailed as error:
        # The people are saved: say so, not "nothing was imported".
        return _import_page(
            request, who, pages, status=503, errors={"file": f"{error}."}, **shown
        )
    except StorageError as error:
        # The import is one transaction: a database failure leaves nothing half
        # written, and the page says so instead of a server error.
        message = f"Nothing was imported: the database failed ({error})."
        return _import_page(
            request, who, pages, status=503, errors={"file": message}, **shown
        )
    except refusals.Refused as error:
        where = error.field if error.field in ("source", "file") else "file"
        status = 413 if len(data) > MAX_FILE_BYTES else error.http_status
        return _import_page(
            request, who, pages, status=status, errors={where: str(error)}, **shown
        )
    status = 200 if report.applied else 422
    return _import_page(request, who, pages, status=status, report=report, **shown)
