"""The enterprise extension as SMP reads it: a manager given by id alone is accepted.

RFC 7643 §4.3 marks manager.$ref REQUIRED, and scim2-models enforces it, but
identity providers send the manager's id only (Okta maps managerId to
manager.value). Refusing those users would stop their whole provisioning, so
SMP publishes, and accepts, a manager whose $ref is optional. Everything else
is scim2-models' EnterpriseUser, under its own schema URN.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from scim2_models import (
    CaseExact,
    ComplexAttribute,
    EnterpriseUser,
    Mutability,
    Reference,
    Required,
    User,
)


class Manager(ComplexAttribute):
    """The user's manager: `value` is the manager's SCIM id."""

    value: Annotated[str | None, Required.true, CaseExact.true] = None
    ref: Annotated[
        Reference[User] | None,  # type: ignore[type-arg]
        Required.false,
    ] = Field(None, serialization_alias="$ref", validation_alias="$ref")
    display_name: Annotated[str | None, Mutability.read_only] = None


class SmpEnterpriseUser(EnterpriseUser):
    manager: Manager | None = None  # type: ignore[assignment]
