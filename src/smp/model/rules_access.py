"""Rules over SSO, the IP allowlist and access attempts (issue M).

Each fact is None for an integration whose latest sync run did not read it
(never synced, no key with the scope, a failed read): the rule then cannot
tell, and leaves that integration's findings as they are
(smp.storage.access_facts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from smp.model.findings import Fact, Facts, Observation, Rule, Severity, Threshold


@dataclass(frozen=True, slots=True)
class SsoCertificateFact:
    sso_id: str
    sso_name: str | None
    sso_enabled: bool
    cert_id: str
    not_after: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SsoSetup:
    """SSO as last read: whether an integration is on, and every certificate."""

    enabled: bool
    certificates: tuple[SsoCertificateFact, ...]


@dataclass(frozen=True, slots=True)
class PrivilegedMember:
    member_key: str
    email: str | None
    username: str | None
    role: str  # owner | admin
    is_sso: bool | None


@dataclass(frozen=True, slots=True)
class AccessAddress:
    ip: str
    allowed: bool
    auth_method: str | None
    location: str | None
    first_at: dt.datetime | None
    last_at: dt.datetime | None
    first_seen: dt.datetime  # when SMP first saw the address


SSO_SETUP: Fact[SsoSetup | None] = Fact("sso_setup")
PRIVILEGED_MEMBERS: Fact[Sequence[PrivilegedMember]] = Fact("privileged_members")
# None: the latest sync did not read the allowlist; else its number of rules.
ALLOWLIST_RULES: Fact[int | None] = Fact("allowlist_rules")
ACCESS_ADDRESSES: Fact[Sequence[AccessAddress] | None] = Fact("access_addresses")


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def admins_without_sso(facts: Facts) -> list[Observation] | None:
    setup = facts.get(SSO_SETUP)
    if setup is None:
        return None
    if not setup.enabled:
        return []
    return [
        Observation(
            subject_key=member.member_key,
            subject_label=member.email or member.username or member.member_key,
            evidence={
                "email": member.email,
                "username": member.username,
                "role": member.role,
                # null: SendGrid did not say (the field is not in the spec).
                "is_sso": member.is_sso,
            },
        )
        for member in facts.get(PRIVILEGED_MEMBERS)
        # Only a stated False: an unknown is not reported as a finding.
        if member.is_sso is False
    ]


ADMIN_WITHOUT_SSO = Rule(
    id="admin_without_sso",
    severity=Severity.HIGH,
    title="Owner or admin signs in without SSO",
    explanation=(
        "SSO is enabled for the account, yet this owner or admin is a password "
        "teammate: their access escapes the identity provider's controls, and "
        "offboarding there does not remove it."
    ),
    fix=(
        "In SendGrid, open Settings → Teammates.",
        "Create the person as an SSO teammate (Add Teammate → SSO), give the "
        "same permissions, then delete the password teammate.",
        "The account owner cannot be an SSO teammate: keep its password strong, "
        "with two-factor authentication, and accept this finding with a reason.",
    ),
    needs=(SSO_SETUP, PRIVILEGED_MEMBERS),
    evaluate=admins_without_sso,
)


def certificates_expiring(facts: Facts) -> list[Observation] | None:
    setup = facts.get(SSO_SETUP)
    if setup is None:
        return None
    days = facts.threshold(SSO_CERTIFICATE_EXPIRING, "days")
    limit = facts.now + dt.timedelta(days=days)
    found = []
    for cert in setup.certificates:
        if cert.not_after is None or cert.not_after > limit:
            continue
        left = cert.not_after - facts.now
        found.append(
            Observation(
                subject_key=f"sso_certificate:{cert.sso_id}:{cert.cert_id}",
                subject_label=(
                    f"{cert.sso_name or cert.sso_id} certificate {cert.cert_id}"
                ),
                evidence={
                    "sso_integration": cert.sso_id,
                    "sso_name": cert.sso_name,
                    "sso_enabled": cert.sso_enabled,
                    "certificate_id": cert.cert_id,
                    "not_after": cert.not_after.isoformat(),
                    "expired": left.total_seconds() <= 0,
                    "days_left": max(0, left.days),
                },
            )
        )
    return found


SSO_CERTIFICATE_EXPIRING = Rule(
    id="sso_certificate_expiring",
    severity=Severity.HIGH,
    title="SSO certificate expires soon",
    explanation=(
        "SendGrid checks SAML answers with this certificate; once it expires, "
        "nobody can sign in with SSO until a new one is uploaded."
    ),
    fix=(
        "In your identity provider, create a new signing certificate for the "
        "SendGrid app.",
        "In SendGrid, open Settings → SSO Settings, edit the integration and "
        "paste the new X509 certificate; save.",
        "Sign in once with SSO to check it, then remove the old certificate.",
    ),
    needs=(SSO_SETUP,),
    evaluate=certificates_expiring,
    thresholds=(
        Threshold("days", 30, 1, 365, "days", "warn this many days before expiry"),
    ),
)


def no_allowlist(facts: Facts) -> list[Observation] | None:
    rules = facts.get(ALLOWLIST_RULES)
    if rules is None:
        return None
    if rules:
        return []
    return [
        Observation(
            subject_key="account",
            subject_label="the account",
            evidence={"allowlist_rules": 0},
        )
    ]


NO_IP_ALLOWLIST = Rule(
    id="no_ip_allowlist",
    severity=Severity.MEDIUM,
    title="No IP allowlist",
    explanation=(
        "Without an IP allowlist, the account's web sign-in and API keys work "
        "from any address: a leaked password or key works from anywhere."
    ),
    fix=(
        "In SendGrid, open Settings → IP Access Management.",
        "Add your offices' and servers' addresses or ranges (add your current "
        "address first, or you lock yourself out).",
    ),
    needs=(ALLOWLIST_RULES,),
    evaluate=no_allowlist,
)


def new_addresses(facts: Facts) -> list[Observation] | None:
    addresses = facts.get(ACCESS_ADDRESSES)
    if addresses is None:
        return None
    days = facts.threshold(NEW_ACCESS_ADDRESS, "days")
    since = facts.now - dt.timedelta(days=days)
    return [
        Observation(
            subject_key=f"ip:{a.ip}",
            subject_label=f"{a.ip} ({a.location})" if a.location else a.ip,
            evidence={
                "ip": a.ip,
                "allowed": a.allowed,
                "auth_method": a.auth_method,
                "location": a.location,
                "first_at": _iso(a.first_at),
                "last_at": _iso(a.last_at),
                "first_seen_by_smp": a.first_seen.isoformat(),
                # SendGrid records access per IP, never per teammate.
                "teammate": "not available from SendGrid",
            },
        )
        for a in addresses
        # SendGrid's first attempt, else when SMP first saw the address.
        if (a.first_at or a.first_seen) >= since
    ]


NEW_ACCESS_ADDRESS = Rule(
    id="new_access_address",
    severity=Severity.MEDIUM,
    title="Access from a new address",
    explanation=(
        "Someone tried to reach the account from an address not seen in the "
        "N days before. SendGrid records the address, not the teammate: check "
        "that the place is expected."
    ),
    fix=(
        "In SendGrid, open Settings → IP Access Management → Recent Access "
        "Attempts and look at the address, its location and method.",
        "If it is unknown, reset the passwords of teammates who could have "
        "used it, rotate API keys, and add an IP allowlist.",
    ),
    needs=(ACCESS_ADDRESSES,),
    evaluate=new_addresses,
    thresholds=(
        Threshold(
            "days",
            30,
            1,
            365,
            "days",
            "an address is new this many days after its first attempt",
        ),
    ),
)

ACCESS_RULES: tuple[Rule, ...] = (
    ADMIN_WITHOUT_SSO,
    SSO_CERTIFICATE_EXPIRING,
    NO_IP_ALLOWLIST,
    NEW_ACCESS_ADDRESS,
)
