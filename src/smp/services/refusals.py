"""A use case's refusal: why, of which kind, and about which input field.

Services raise `Refused`; each entry point words it its own way: the API as
problem details with a status code, the web beside the form field, the CLI as
one line and an exit code. `Hints` word the next step for one entry point.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from smp.storage import DuplicateNameError, RecordNotFoundError, StorageError

RefusalKind = Literal["invalid", "conflict", "not_found", "forbidden", "unavailable"]

# The status an HTTP entry point (the API, a web form) answers a refusal with.
HTTP_STATUS: dict[RefusalKind, int] = {
    "invalid": 422,
    "conflict": 409,
    "not_found": 404,
    "forbidden": 403,
    "unavailable": 503,
}


@dataclass(frozen=True, slots=True)
class Hints:
    """How an entry point tells the user to add keys and to vouch for a billing key."""

    add_keys: str
    confirm: str


class Refused(Exception):
    """A use case said no; the message is for a person and never holds a secret.

    `field` names the input the refusal is about (None: the request as a whole).
    """

    def __init__(
        self, message: str, *, kind: RefusalKind = "invalid", field: str | None = None
    ) -> None:
        super().__init__(message)
        self.kind, self.field = kind, field

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.kind]

    def told(self, hints: Hints) -> str:
        """The message, with the next step worded for one entry point."""
        del hints  # most refusals need no entry-point wording
        return str(self)


@contextmanager
def refusing(*, name_field: str | None = None) -> Iterator[None]:
    """Storage's refusals as `Refused`; a taken name is about `name_field`."""
    try:
        yield
    except DuplicateNameError as error:
        raise Refused(str(error), kind="conflict", field=name_field) from None
    except RecordNotFoundError as error:
        raise Refused(str(error), kind="not_found") from None
    except StorageError as error:
        raise Refused(str(error)) from None
