"""Scope catalogue and the scope set of each simulated API-key kind.

SendGrid's rules (fact sheet §2, §9, §10): billing scopes are exclusive, full
keys lack billing and validation, validation needs its own key.
"""

from __future__ import annotations

from typing import Final

KEY_KINDS: Final = ("full", "restricted", "billing", "validation", "revoked")

# Resource groups that carry the usual read/create/update/delete quartet.
_CRUD_GROUPS: Final = (
    "access_settings.activity",
    "access_settings.whitelist",
    "alerts",
    "api_keys",
    "asm.groups",
    "asm.suppressions",
    "categories",
    "design_library",
    "ips",
    "mail_settings",
    "marketing_campaigns",
    "partner_settings",
    "sso.settings",
    "subusers",
    "subusers.credits",
    "subusers.reputations",
    "suppression",
    "teammates",
    "templates",
    "tracking_settings",
    "user.account",
    "user.credits",
    "user.email",
    "user.multifactor_authentication",
    "user.password",
    "user.profile",
    "user.settings.enforced_tls",
    "user.timezone",
    "user.username",
    "user.webhooks.event.settings",
    "whitelabel",
)
_READ_ONLY: Final = (
    "browsers.stats.read",
    "categories.stats.read",
    "categories.stats.sums.read",
    "clients.desktop.stats.read",
    "clients.phone.stats.read",
    "clients.stats.read",
    "clients.tablet.stats.read",
    "clients.webmail.stats.read",
    "devices.stats.read",
    "email_activity.read",
    "geo.stats.read",
    "mailbox_providers.stats.read",
    "marketing.automation.read",
    "marketing.read",
    "messages.read",
    "stats.global.read",
    "stats.read",
    "subusers.monitor.read",
    "subusers.stats.monthly.read",
    "subusers.stats.read",
    "subusers.stats.sums.read",
    "subusers.summary.read",
)
_OTHER: Final = ("mail.batch.create", "mail.send", "sso.teammates.create")
BILLING_SCOPES: Final = (
    "billing.create",
    "billing.delete",
    "billing.read",
    "billing.update",
)
VALIDATION_SCOPES: Final = ("validations.email.create", "validations.email.read")
# Flags SendGrid adds to /v3/scopes output although they grant nothing.
AUTO_FLAGS: Final = ("2fa_required", "sender_verification_eligible")


def _crud(group: str) -> list[str]:
    return [f"{group}.{verb}" for verb in ("create", "delete", "read", "update")]


def permission_scopes() -> list[str]:
    """Every permission scope except billing and validation, sorted."""
    scopes: set[str] = set(_READ_ONLY) | set(_OTHER)
    for group in _CRUD_GROUPS:
        scopes.update(_crud(group))
    return sorted(scopes)


RESTRICTED_SCOPES: Final = (
    "marketing.read",
    "teammates.read",
    "user.account.read",
    "user.credits.read",
    "user.email.read",
    "user.multifactor_authentication.read",
    "user.profile.read",
    "user.settings.enforced_tls.read",
    "user.timezone.read",
    "user.username.read",
)


def scopes_for_kind(kind: str) -> list[str]:
    """The scope list a key of `kind` carries (as /v3/scopes would list it)."""
    if kind == "full":
        return sorted([*permission_scopes(), *AUTO_FLAGS])
    if kind == "restricted":
        return sorted([*RESTRICTED_SCOPES, *AUTO_FLAGS])
    if kind == "billing":
        return list(BILLING_SCOPES)
    if kind == "validation":
        return list(VALIDATION_SCOPES)
    if kind == "revoked":
        # What it carried before revocation; it never authenticates.
        return sorted(RESTRICTED_SCOPES)
    raise ValueError(f"unknown key kind {kind!r}")


TWO_FACTOR_REQUIRED: Final = "2fa_required"
TWO_FACTOR_EXEMPT: Final = "2fa_exempt"
# SendGrid keeps at most this many API keys per account (fact sheet §10).
MAX_API_KEYS: Final = 100


def two_factor_flag(position: int) -> str:
    """The 2FA flag SendGrid adds to a teammate's scopes (fact sheet §14).

    By position, not by the generator's random stream, so adding the flags
    left every other generated value as it was. Every seventh teammate from
    the fifth on is exempt; the owner (position 0) never is.
    """
    return TWO_FACTOR_EXEMPT if position % 7 == 4 else TWO_FACTOR_REQUIRED


def admin_teammate_scopes() -> list[str]:
    """Human admins get everything, billing included (fact sheet §2)."""
    return sorted([*permission_scopes(), *BILLING_SCOPES])


TEAMMATE_SCOPE_POOL: Final = (
    "stats.read",
    "stats.global.read",
    "categories.stats.read",
    "templates.read",
    "marketing_campaigns.read",
    "suppression.read",
    "teammates.read",
    "user.profile.read",
    "mail.send",
    "alerts.read",
)
