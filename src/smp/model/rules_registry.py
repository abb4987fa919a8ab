"""Every rule SMP evaluates, one line each; ids must be unique (a test checks)."""

from __future__ import annotations

from smp.model import (
    rules_access,
    rules_keys,
    rules_people,
    rules_reviews,
    rules_service_accounts,
    rules_usage,
)
from smp.model.findings import Rule

RULES: tuple[Rule, ...] = (
    rules_people.LEAVER_WITH_ACCESS,
    rules_people.EXTERNAL_ADMIN,
    rules_people.EXTERNAL_INVITE,
    rules_people.TOO_MANY_ADMINS,
    rules_people.EXPIRED_INVITES,
    rules_usage.CREDITS_RUNNING_OUT,
    rules_usage.IDLE_SUBUSER,
    rules_service_accounts.KEY_NEEDS_ATTENTION,
    *rules_keys.KEY_RULES,
    *rules_access.ACCESS_RULES,
    rules_reviews.STILL_PRESENT,
)

BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
