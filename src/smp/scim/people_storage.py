"""SMP's people as scim2-server's storage: SCIM users read and written in SQL.

scim2-server handles the protocol (validation, PATCH, errors, discovery);
this class is where it reads and writes. SQLAlchemy here is synchronous, so
every call runs in a worker thread, never on the event loop.

After every write, the accounts the user can claim (by their e-mails before
and after, or matched to them) are reclassified in every integration, so a
user set `active: false` turns their SendGrid accounts into leavers at once,
in milliseconds rather than the seconds a full reclassification takes.

Searching: with no filter, the page is counted and read in SQL. `userName
eq` and `emails.value eq` narrow the candidates in SQL on indexed columns;
any other filter is evaluated by scim2-models over every SCIM user (fine for
a directory of thousands; each such search reads them all). The filter then
decides exactly, so both paths agree with RFC 7644 §3.4.2.2.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from scim2_models import (
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimFilter,
    SearchRequest,
    UniquenessException,
)
from scim2_models.path import CompareOperator, Comparison
from scim2_server.storage import AsyncScimStorage, SearchPage
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from smp.model.people import email_key
from smp.scim.people_mapping import (
    ATTRIBUTE_OF_COLUMN,
    RESOURCE_TYPE,
    fields_of,
    resource_of,
    version_number,
)
from smp.services import audit
from smp.services.directory_effects import claims_changed
from smp.storage import RecordNotFoundError, read_session
from smp.storage.errors import ValueTooLong
from smp.storage.scim_people import (
    ScimUserNameTaken,
    ScimVersionMismatch,
    StoredScimPerson,
    count_scim_people,
    delete_scim_person,
    find_scim_people,
    get_scim_person,
    insert_scim_person,
    update_scim_person,
)

T = TypeVar("T")

USER_NAME_URN = "urn:ietf:params:scim:schemas:core:2.0:User:userName"
EMAIL_VALUE_URN = "urn:ietf:params:scim:schemas:core:2.0:User:emails.value"


@contextmanager
def _scim_errors() -> Iterator[None]:
    """Storage refusals as the SCIM errors scim2-server answers with."""
    try:
        yield
    except RecordNotFoundError as error:
        raise NotFoundException(detail=str(error)) from None
    except ScimUserNameTaken as error:
        raise UniquenessException(detail=str(error)) from None
    except ScimVersionMismatch as error:
        raise PreconditionFailedException(detail=str(error)) from None
    except ValueTooLong as error:
        attribute = ATTRIBUTE_OF_COLUMN.get(error.column, error.column)
        raise InvalidValueException(
            detail=f"{attribute} is {error.length:,} characters long; "
            f"SMP keeps at most {error.limit}"
        ) from None


def _narrowing(scim_filter: ScimFilter[Any] | None) -> tuple[str | None, str | None]:
    """The userName key or e-mail key a simple `eq` filter can be answered
    from on an indexed column, if any."""
    if scim_filter is None:
        return None, None
    node = scim_filter.ast
    if (
        not isinstance(node, Comparison)
        or node.op != CompareOperator.eq
        or not isinstance(node.value, str)
    ):
        return None, None
    binding = scim_filter.resolve_comparison(node.attr_path, strict=False)
    if binding is None:
        return None, None
    if binding.urn == USER_NAME_URN:
        return email_key(node.value), None
    if binding.urn == EMAIL_VALUE_URN:
        return None, email_key(node.value)
    return None, None


# Who sends the request being served (the token's label, the client address),
# set by ScimApp once the token is checked: the audit trail's actor and source.
ACTING: ContextVar[audit.Actor | None] = ContextVar("smp_scim_acting", default=None)


def _record(session: Session, action: str, person_id: int, user_name: object) -> None:
    details = {} if user_name is None else {"userName": str(user_name)[:320]}
    by = ACTING.get() or audit.Actor(None, "scim")
    audit.record(session, by, action, f"person {person_id}", details)


class PeopleStorage(AsyncScimStorage):
    """SCIM Users kept as SMP's people (source "scim")."""

    def __init__(
        self,
        engine: Engine,
        model: type[Resource[Any]],
        *,
        now: Callable[[], dt.datetime],
    ) -> None:
        self.engine = engine
        self.model = model
        self.now = now

    @staticmethod
    async def _off_loop(work: Callable[[], T]) -> T:
        with _scim_errors():
            return await run_in_threadpool(work)

    def _resource(self, stored: StoredScimPerson) -> Resource[Any]:
        return resource_of(stored, self.model)

    @staticmethod
    def _ensure_users(resource_type: ResourceType) -> None:
        if resource_type.name != RESOURCE_TYPE:
            raise NotFoundException(detail=f"no {resource_type.name} here")

    def _written(
        self, person_id: int, claimed: frozenset[str], now: dt.datetime
    ) -> None:
        """After a write: accounts of a person who left become leavers now."""
        claims_changed(self.engine, claimed, now=now, person_ids=[person_id])

    def _updated(self, stored: StoredScimPerson, now: dt.datetime) -> None:
        """After an update: reclassify even when matching reads nothing new.

        The write commits before the reclassification; if that fails (a 500),
        the provider retries the same user, which changes nothing matching
        reads: reclassifying anyway heals it, for milliseconds per update.
        """
        self._written(stored.id, stored.claimed, now)

    async def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,  # noqa: ARG002
    ) -> Resource[Any]:
        self._ensure_users(resource_type)

        def work() -> StoredScimPerson:
            with read_session(self.engine) as session:
                return get_scim_person(session, resource_id)

        return self._resource(await self._off_loop(work))

    async def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,  # noqa: ARG002 - no cursors are declared
    ) -> SearchPage:
        if not any(rt.name == RESOURCE_TYPE for rt in resource_types):
            return SearchPage(0, [])
        scim_filter = search_request.filter
        if scim_filter is not None and not scim_filter.models:
            scim_filter = cast(Any, ScimFilter)[self.model](str(scim_filter))

        start = search_request.start_index_0 or 0
        count = search_request.count

        # All in the worker thread: building resources and matching a filter
        # over thousands of users would hold up the event loop.
        def work() -> SearchPage:
            with read_session(self.engine) as session:
                if scim_filter is None:
                    total = count_scim_people(session)
                    page = find_scim_people(session, offset=start, limit=count)
                    return SearchPage(total, [self._resource(s) for s in page])
                user_name, email = _narrowing(scim_filter)
                stored = find_scim_people(
                    session, user_name_key=user_name, email_key=email
                )
            users = (self._resource(one) for one in stored)
            found = [user for user in users if scim_filter.match(user)]
            stop = None if count is None else start + count
            return SearchPage(len(found), found[start:stop])

        return await self._off_loop(work)

    async def create(
        self, resource_type: ResourceType, resource: Resource[Any]
    ) -> Resource[Any]:
        self._ensure_users(resource_type)
        fields = fields_of(resource)

        def work() -> StoredScimPerson:
            now = self.now()
            with Session(self.engine) as session, session.begin():
                stored = insert_scim_person(session, fields, now=now)
                _record(
                    session,
                    "scim.create",
                    stored.id,
                    getattr(resource, "user_name", None),
                )
            self._written(stored.id, stored.claimed, now)
            return stored

        return self._resource(await self._off_loop(work))

    async def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        self._ensure_users(resource_type)
        fields = fields_of(resource)
        resource_id = str(resource.id)

        def work() -> StoredScimPerson:
            now = self.now()
            with Session(self.engine) as session, session.begin():
                stored = update_scim_person(
                    session,
                    resource_id,
                    fields,
                    now=now,
                    expected_version=version_number(expected_version),
                )
                _record(
                    session,
                    "scim.update",
                    stored.id,
                    getattr(resource, "user_name", None),
                )
            self._updated(stored, now)
            return stored

        return self._resource(await self._off_loop(work))

    async def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        self._ensure_users(resource_type)

        def work() -> None:
            now = self.now()
            with Session(self.engine) as session, session.begin():
                deleted = delete_scim_person(
                    session,
                    resource_id,
                    now=now,
                    expected_version=version_number(expected_version),
                )
                _record(session, "scim.delete", deleted.id, None)
            self._written(deleted.id, deleted.claimed, now)

        await self._off_loop(work)
