"""Every read call of the real client, with the scope SendGrid wants for it.

The expected scope of each client call comes from the fact sheet
(/work/shared/docs/sendgrid-api.md §3–§10), not from the client, so a client
that asked the wrong endpoint or mapped the wrong scope would show up here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from smp.sendgrid import SendGridClient
from smp.simulator import Account


@dataclass(frozen=True)
class Call:
    """One client method, the read scope SendGrid wants for it, and how to call it."""

    name: str
    scope: str | None
    run: Callable[[SendGridClient], Awaitable[object]]


async def _collect(items: Any) -> list[object]:
    return [item async for item in items]


def every_call(account: Account, today: dt.date) -> list[Call]:
    """Every public read method of `SendGridClient`, aimed at `account`'s data."""
    owner = account.teammates[0]["username"]
    subs = [s.username for s in account.subusers]
    month_ago = today - dt.timedelta(days=30)
    return [
        Call("scopes", None, lambda c: c.scopes()),
        Call("api_keys", "api_keys.read", lambda c: c.api_keys()),
        Call("own_api_key", "api_keys.read", lambda c: c.own_api_key()),
        Call("teammates", "teammates.read", lambda c: _collect(c.teammates())),
        Call("teammate", "teammates.read", lambda c: c.teammate(owner)),
        Call("pending_invites", "teammates.read", lambda c: c.pending_invites()),
        Call("subuser_access", "teammates.read", lambda c: c.subuser_access(owner)),
        Call("user_account", "user.account.read", lambda c: c.user_account()),
        Call("user_profile", "user.profile.read", lambda c: c.user_profile()),
        Call("user_email", "user.email.read", lambda c: c.user_email()),
        Call("user_username", "user.username.read", lambda c: c.user_username()),
        Call("user_credits", "user.credits.read", lambda c: c.user_credits()),
        Call("stats", "stats.read", lambda c: _collect(c.stats(month_ago, today))),
        Call(
            "subuser_stats",
            "subusers.stats.read",
            lambda c: _collect(c.subuser_stats(subs, month_ago, today)),
        ),
        Call(
            "subuser_monthly_stats",
            "subusers.stats.monthly.read",
            lambda c: _collect(c.subuser_monthly_stats(today)),
        ),
        Call("subusers", "subusers.read", lambda c: _collect(c.subusers())),
        Call(
            "subuser_credits",
            "subusers.credits.read",
            lambda c: c.subuser_credits(subs[0]),
        ),
        Call("invoices", "billing.read", lambda c: _collect(c.invoices())),
        Call(
            "validation_jobs", "validations.email.read", lambda c: c.validation_jobs()
        ),
        Call(
            "validation_job",
            "validations.email.read",
            lambda c: c.validation_job(account.validation_jobs[0]["id"]),
        ),
        Call("sso_integrations", "sso.settings.read", lambda c: c.sso_integrations()),
        Call(
            "sso_certificates",
            "sso.settings.read",
            lambda c: c.sso_certificates(account.sso_integrations[0]["id"]),
        ),
        Call(
            "ip_allowlist", "access_settings.whitelist.read", lambda c: c.ip_allowlist()
        ),
        Call(
            "access_activity",
            "access_settings.activity.read",
            lambda c: c.access_activity(),
        ),
    ]
