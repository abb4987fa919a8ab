"""Rules over who holds a SendGrid account: leavers, externals, admins, invites.

Facts come from the members listing and from each account's classification
against the directory (issue L, docs/people.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from smp.model.findings import Fact, Facts, Observation, Rule, Severity, Threshold


@dataclass(frozen=True, slots=True)
class FlaggedAccount:
    """A present teammate or invite classified `leaver` or `external`
    (the only classes these rules read, so only those are loaded)."""

    kind: str  # teammate | invite
    account_key: str
    email: str | None
    role: str | None
    classification: str
    leaver_since: dt.datetime | None


@dataclass(frozen=True, slots=True)
class PendingInvite:
    member_key: str
    email: str | None
    invite_expires_at: dt.datetime | None


FLAGGED_ACCOUNTS: Fact[Sequence[FlaggedAccount]] = Fact("flagged_accounts")
# True when the directory or a company domain exists: without either, every
# account is `external` and external rules would only make noise.
DIRECTORY_KNOWN: Fact[bool] = Fact("directory_known")
# Active teammates (the owner included) by role.
ROLE_COUNTS: Fact[Mapping[str, int]] = Fact("role_counts")
PENDING_INVITES: Fact[Sequence[PendingInvite]] = Fact("pending_invites")


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _account(account: FlaggedAccount) -> Observation:
    return Observation(
        subject_key=account.account_key,
        subject_label=account.email or account.account_key,
        evidence={
            "kind": account.kind,
            "email": account.email,
            "role": account.role,
            "classification": account.classification,
            "leaver_since": _when(account.leaver_since),
        },
    )


def leavers_with_access(facts: Facts) -> list[Observation]:
    return [
        _account(a)
        for a in facts.get(FLAGGED_ACCOUNTS)
        if a.classification == "leaver" and a.kind in ("teammate", "invite")
    ]


def external_admins(facts: Facts) -> list[Observation] | None:
    if not facts.get(DIRECTORY_KNOWN):
        return None
    return [
        _account(a)
        for a in facts.get(FLAGGED_ACCOUNTS)
        if a.classification == "external"
        and a.kind == "teammate"
        and a.role in ("admin", "owner")
    ]


def external_invites(facts: Facts) -> list[Observation] | None:
    if not facts.get(DIRECTORY_KNOWN):
        return None
    return [
        _account(a)
        for a in facts.get(FLAGGED_ACCOUNTS)
        if a.classification == "external" and a.kind == "invite"
    ]


def too_many_admins(facts: Facts) -> list[Observation]:
    counts = facts.get(ROLE_COUNTS)
    members = sum(counts.values())
    admins = counts.get("admin", 0)
    limit = facts.threshold(TOO_MANY_ADMINS, "share_percent")
    # Integer comparison: admins / members > limit %, without rounding.
    if not members or admins * 100 <= limit * members:
        return []
    share = round(admins * 100 / members, 1)
    label = f"{admins} of {members} teammates are admins ({share} %)"
    return [
        Observation(
            subject_key="account",
            subject_label=label,
            evidence={
                "admins": admins,
                "members": members,
                "share_percent": share,
                "threshold_percent": limit,
            },
        )
    ]


def lingering_expired_invites(facts: Facts) -> list[Observation]:
    days = facts.threshold(EXPIRED_INVITES, "days")
    cutoff = facts.now - dt.timedelta(days=days)
    return [
        Observation(
            subject_key=invite.member_key,
            subject_label=invite.email or invite.member_key,
            evidence={
                "email": invite.email,
                "expired_at": invite.invite_expires_at.isoformat(),
                "days_expired": (facts.now - invite.invite_expires_at).days,
                "threshold_days": days,
            },
        )
        for invite in facts.get(PENDING_INVITES)
        if invite.invite_expires_at is not None and invite.invite_expires_at <= cutoff
    ]


LEAVER_WITH_ACCESS = Rule(
    id="leaver_with_access",
    severity=Severity.HIGH,
    title="Leaver still has access",
    explanation=(
        "The account belongs to a person your directory says has left, and "
        "SendGrid still lists them as a teammate or holds a pending invite for them."
    ),
    fix=(
        "In SendGrid, open Settings → Teammates.",
        "Find the address under Teammates or Pending invites.",
        "Choose Delete (or Remove invite) and confirm.",
    ),
    needs=(FLAGGED_ACCOUNTS,),
    evaluate=leavers_with_access,
)

EXTERNAL_ADMIN = Rule(
    id="external_admin",
    severity=Severity.HIGH,
    title="External admin",
    explanation=(
        "A teammate with the admin or owner role has an address that matches no "
        "person of your directory and none of the company's domains."
    ),
    fix=(
        "Check with the account's owner whether this admin still needs access.",
        "In SendGrid, open Settings → Teammates and select the teammate.",
        "Lower the permissions to what is needed, or delete the teammate.",
        "If the address is the company's, add its domain or link it in SMP.",
    ),
    needs=(FLAGGED_ACCOUNTS, DIRECTORY_KNOWN),
    evaluate=external_admins,
)

EXTERNAL_INVITE = Rule(
    id="external_invite",
    severity=Severity.MEDIUM,
    title="Invite to an external address",
    explanation=(
        "A pending invite goes to an address that matches no person of your "
        "directory and none of the company's domains."
    ),
    fix=(
        "Confirm the invite was meant for this address.",
        "If not, in SendGrid open Settings → Teammates → Pending invites "
        "and remove it.",
    ),
    needs=(FLAGGED_ACCOUNTS, DIRECTORY_KNOWN),
    evaluate=external_invites,
)

TOO_MANY_ADMINS = Rule(
    id="too_many_admins",
    severity=Severity.MEDIUM,
    title="Too many admins",
    explanation=(
        "More of the account's active teammates have the admin role than the "
        "threshold allows (the owner is not counted as an admin, but is a member)."
    ),
    fix=(
        "In SendGrid, open Settings → Teammates.",
        "For each admin who does not need full access, choose Edit and give "
        "restricted access with only the permissions they use.",
    ),
    needs=(ROLE_COUNTS,),
    evaluate=too_many_admins,
    thresholds=(
        Threshold(
            name="share_percent",
            default=30,
            minimum=0,
            maximum=100,
            unit="percent",
            description="Largest share of active teammates that may be admins.",
        ),
    ),
)

EXPIRED_INVITES = Rule(
    id="expired_invite",
    severity=Severity.LOW,
    title="Expired invite lingering",
    explanation=(
        "An invite expired more than the threshold's days ago and SendGrid still "
        "lists it as pending."
    ),
    fix=(
        "In SendGrid, open Settings → Teammates → Pending invites.",
        "Remove the expired invite, or resend it if the person still needs access.",
    ),
    needs=(PENDING_INVITES,),
    evaluate=lingering_expired_invites,
    thresholds=(
        Threshold(
            name="days",
            default=7,
            minimum=0,
            maximum=3650,
            unit="days",
            description="Days an invite may stay listed after it expired.",
        ),
    ),
)
