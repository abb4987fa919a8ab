"""Pure domain types and rules: no I/O, imports nothing else from smp.

- `enums`: Role, MemberStatus, KeyStatus, EventKind, Outcome (KeyKind: smp.vocabulary)
- `records`: the dataclasses storage accepts and returns
- `roles`: `role_from_user_type`
- `members`: member identity and the diff rules that emit `MemberEvent`s
- `usage`: utilization, linear forecast to the next reset, overage risk
- `volume`: which months of volume statistics still need fetching
- `users`: SMP's own users: roles, records, the name and password rules
"""

from __future__ import annotations

from smp.model.enums import (
    EventKind,
    KeyStatus,
    MemberStatus,
    Outcome,
    Role,
)
from smp.model.members import (
    MemberDiff,
    MemberState,
    SuspiciousListing,
    diff_active,
    diff_pending,
    member_key,
)
from smp.model.records import (
    AccountIdentity,
    CapabilityResult,
    Integration,
    Invoice,
    ListedInvite,
    ListedTeammate,
    Member,
    MemberEvent,
    MonthlyVolume,
    ServiceAccount,
    Subuser,
    SyncRun,
    UsagePeriod,
    UsageView,
    VolumeMetrics,
)
from smp.model.roles import role_from_user_type
from smp.model.usage import (
    forecast_used_at_reset,
    has_ended,
    overage_risk,
    period_end,
    period_start,
    subuser_credits_ended,
    utilization,
)
from smp.model.volume import (
    DEFAULT_HISTORY_MONTHS,
    add_months,
    is_month_closed,
    month_start,
    months_to_fetch,
)
from smp.vocabulary import KeyKind

__all__ = [
    "DEFAULT_HISTORY_MONTHS",
    "AccountIdentity",
    "CapabilityResult",
    "EventKind",
    "Integration",
    "Invoice",
    "KeyKind",
    "KeyStatus",
    "ListedInvite",
    "ListedTeammate",
    "Member",
    "MemberDiff",
    "MemberEvent",
    "MemberState",
    "MemberStatus",
    "MonthlyVolume",
    "Outcome",
    "Role",
    "ServiceAccount",
    "Subuser",
    "SuspiciousListing",
    "SyncRun",
    "UsagePeriod",
    "UsageView",
    "VolumeMetrics",
    "add_months",
    "diff_active",
    "diff_pending",
    "forecast_used_at_reset",
    "has_ended",
    "is_month_closed",
    "member_key",
    "month_start",
    "months_to_fetch",
    "overage_risk",
    "period_end",
    "period_start",
    "role_from_user_type",
    "subuser_credits_ended",
    "utilization",
]
