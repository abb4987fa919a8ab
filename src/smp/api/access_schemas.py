"""Body of `/usage/validation`: bulk e-mail validation per month (issue M).

The same keys as the `validation` object of `smp usage --json`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from smp.model.access import SINGLE_VALIDATIONS, VALIDATION_BOUND_NOTE

VALIDATION_EXAMPLE: dict[str, Any] = {
    "readable": True,
    "message": None,
    "months": [
        {"month": "2026-11", "jobs": 2, "segments": 13, "addresses_up_to": 19500}
    ],
    "single_validations": SINGLE_VALIDATIONS,
    "note": VALIDATION_BOUND_NOTE,
}


class ValidationMonthOut(BaseModel):
    month: str = Field(description="YYYY-MM, the UTC month the jobs started in")
    jobs: int
    segments: int
    addresses_up_to: int = Field(
        description="segments x 1,500: an upper bound, SendGrid gives no count"
    )


class ValidationUsageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [VALIDATION_EXAMPLE]})

    readable: bool = Field(description="whether a connected key reads validation")
    message: str | None = Field(description="why not, and how to fix it")
    months: list[ValidationMonthOut]
    single_validations: str = Field(
        description="real-time validations: SendGrid offers no count of them"
    )
    note: str
