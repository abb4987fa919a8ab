"""What one caller sees: an account, or a subuser reached through on-behalf-of."""

from __future__ import annotations

from dataclasses import dataclass, field

from smp.simulator.stats import MonthIndex, month_index
from smp.simulator.world import (
    AccessActivity,
    Account,
    AllowedIp,
    Credits,
    DailyStat,
    Invoice,
    PendingInvite,
    Profile,
    SimKey,
    SsoIntegration,
    Subuser,
    SubuserAccess,
    Teammate,
    ValidationJob,
    World,
)


@dataclass
class Tenant:
    username: str
    user_id: int
    email: str
    type: str
    reputation: float
    profile: Profile
    credits: Credits
    teammates: list[Teammate]
    pending: list[PendingInvite]
    subusers: list[Subuser]
    subuser_access: dict[str, list[SubuserAccess]]
    daily_stats: list[DailyStat]
    invoices: list[Invoice]
    validation_jobs: list[ValidationJob]
    keys: list[SimKey]
    sso_integrations: list[SsoIntegration] = field(default_factory=list)
    ip_allowlist: list[AllowedIp] = field(default_factory=list)
    access_activity: list[AccessActivity] = field(default_factory=list)
    # The stats by month, of this tenant and of each of its subusers.
    months: MonthIndex | None = None
    subuser_months: dict[str, MonthIndex] = field(default_factory=dict)
    teammate_index: dict[str, Teammate] = field(default_factory=dict)
    subuser_index: dict[str, Subuser] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.teammate_index = {t["username"]: t for t in self.teammates}
        self.subuser_index = {s.username: s for s in self.subusers}


def account_tenant(
    world: World, account: Account, subuser_months: dict[str, MonthIndex]
) -> Tenant:
    """`subuser_months`: each subuser's MonthIndex, shared with its own tenant."""
    return Tenant(
        username=account.username,
        user_id=account.user_id,
        email=account.email,
        type=account.type,
        reputation=account.reputation,
        profile=account.profile,
        credits=account.credits,
        teammates=account.teammates,
        pending=account.pending,
        subusers=account.subusers,
        subuser_access=account.subuser_access,
        daily_stats=account.daily_stats,
        invoices=account.invoices,
        validation_jobs=account.validation_jobs,
        keys=[k for k in world.keys if k.account == account.username],
        sso_integrations=account.sso_integrations,
        ip_allowlist=account.ip_allowlist,
        access_activity=account.access_activity,
        months=month_index(account.daily_stats),
        subuser_months=subuser_months,
    )


def subuser_tenant(parent: Account, sub: Subuser, months: MonthIndex) -> Tenant:
    """A subuser has its own user data and stats, one owner and no subusers."""
    profile = Profile(**{**parent.profile, "first_name": sub.first_name})
    profile["last_name"] = sub.last_name
    owner = Teammate(
        **{
            **parent.teammates[0],
            "username": sub.username,
            "email": sub.email,
            "first_name": sub.first_name,
            "last_name": sub.last_name,
            "is_sso": False,
        }
    )
    # The spec requires numbers here; what SendGrid answers on behalf of an
    # unlimited subuser is not documented, so it answers zeros.
    credits = Credits(
        remain=sub.credits["remain"] or 0,
        total=sub.credits["total"] or 0,
        overage=0,
        used=sub.credits["used"] or 0,
        last_reset=parent.credits["last_reset"],
        next_reset=parent.credits["next_reset"],
        reset_frequency=sub.credits["reset_frequency"] or "monthly",
    )
    return Tenant(
        username=sub.username,
        user_id=sub.id,
        email=sub.email,
        type="paid",
        reputation=parent.reputation,
        profile=profile,
        credits=credits,
        teammates=[owner],
        pending=[],
        subusers=[],
        subuser_access={},
        daily_stats=sub.daily_stats,
        invoices=[],
        validation_jobs=[],
        keys=[],
        months=months,
    )
