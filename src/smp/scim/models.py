"""The enterprise extension as SMP reads it: a manager given by id alone is accepted.

RFC 7643 §4.3 marks manager.$ref REQUIRED, and scim2-models enforces it, but
identity providers send the manager's id only (Okta maps managerId to
manager.value). Refusing those users would stop their whole provisioning, so
SMP publishes, and accepts, a manager whose $ref is optional; and Entra ID
patches the manager as a bare id string, which is read as manager.value.
Everything else is scim2-models' EnterpriseUser, under its own schema URN.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
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

    @field_validator("manager", mode="before")
    @classmethod
    def _manager_id_alone(cls, value: Any) -> Any:
        """Entra ID patches the manager as its bare id: `"value": "2819c223"`."""
        return {"value": value} if isinstance(value, str) else value
