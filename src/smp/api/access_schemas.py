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
        {
            "month": "2026-11",
            "jobs": 2,
            "segments": 13,
            "jobs_not_read": 0,
            "addresses_up_to": 19500,
            "summary": "13 segments, up to 19,500 addresses",
        }
    ],
    "single_validations": SINGLE_VALIDATIONS,
    "note": VALIDATION_BOUND_NOTE,
}


class ValidationMonthOut(BaseModel):
    month: str = Field(description="YYYY-MM, the UTC month the jobs started in")
    jobs: int
    segments: int = Field(
        description="segments of the jobs whose details were read; at least this"
    )
    jobs_not_read: int = Field(
        description="jobs whose segments SMP has not read: the month is incomplete"
    )
    addresses_up_to: int | None = Field(
        description="segments x 1,500: an upper bound, SendGrid gives no count; "
        "null when a job was not read (no bound holds then)"
    )
    summary: str = Field(description='e.g. "at least 13 segments; 2 jobs not read"')


class ValidationUsageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [VALIDATION_EXAMPLE]})

    readable: bool = Field(description="whether a connected key reads validation")
    message: str | None = Field(description="why not, and how to fix it")
    months: list[ValidationMonthOut]
    single_validations: str = Field(
        description="real-time validations: SendGrid offers no count of them"
    )
    note: str
