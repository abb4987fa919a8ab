"""A service's refusal as problem details: its kind gives the status code."""

from __future__ import annotations

from smp.api.problems import ApiProblem
from smp.services.refusals import Hints, Refused

API_HINTS = Hints(
    add_keys="add keys to it with POST /api/v1/service-accounts",
    confirm="set billing_account_confirmed to true",
)


def problem(error: Refused, hints: Hints = API_HINTS) -> ApiProblem:
    """409 when a key, account or name is taken, 422 when refused, 404 when absent."""
    return ApiProblem(error.http_status, error.told(hints))
