"""A refused key as problem details: a conflict when it or its account is taken."""

from __future__ import annotations

from smp.api.problems import ApiProblem
from smp.sync import AccountAlreadyConnected, Hints, KeyAlreadyConnected, KeyRefused

API_HINTS = Hints(
    add_keys="add keys to it with POST /api/v1/service-accounts",
    confirm="set billing_account_confirmed to true",
)


def key_problem(error: KeyRefused, hints: Hints = API_HINTS) -> ApiProblem:
    taken = isinstance(error, KeyAlreadyConnected | AccountAlreadyConnected)
    return ApiProblem(409 if taken else 422, error.told(hints))
