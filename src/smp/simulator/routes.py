"""The endpoint table: path template, required read scope, handler."""

from __future__ import annotations

import re
from dataclasses import dataclass

from smp.simulator import handlers as h


@dataclass(frozen=True)
class Route:
    template: str
    scope: str | None
    handler: h.Handler

    def write_scope(self, method: str) -> str | None:
        """The scope a write method would need (`teammates.read` -> `.create`)."""
        if self.scope is None:
            return None
        verb = {"POST": "create", "PUT": "update", "PATCH": "update"}.get(
            method, "delete"
        )
        return self.scope.rsplit(".", 1)[0] + "." + verb


ROUTES: tuple[Route, ...] = (
    Route("/v3/scopes", None, h.scopes),
    Route("/v3/teammates", "teammates.read", h.teammates),
    Route("/v3/teammates/pending", "teammates.read", h.pending),
    Route("/v3/teammates/{username}", "teammates.read", h.teammate),
    Route(
        "/v3/teammates/{username}/subuser_access", "teammates.read", h.subuser_access
    ),
    Route("/v3/user/account", "user.account.read", h.user_account),
    Route("/v3/user/profile", "user.profile.read", h.user_profile),
    Route("/v3/user/email", "user.email.read", h.user_email),
    Route("/v3/user/username", "user.username.read", h.user_username),
    Route("/v3/user/credits", "user.credits.read", h.user_credits),
    Route("/v3/stats", "stats.read", h.stats),
    Route("/v3/subusers", "subusers.read", h.subusers),
    Route("/v3/subusers/stats", "subusers.stats.read", h.subusers_stats),
    Route(
        "/v3/subusers/stats/monthly", "subusers.stats.monthly.read", h.subusers_monthly
    ),
    Route("/v3/subusers/{name}/credits", "subusers.credits.read", h.subuser_credits),
    Route("/v3/api_keys", "api_keys.read", h.api_keys),
    Route("/v3/api_keys/{key_id}", "api_keys.read", h.api_key),
    Route("/v3/billing/invoices", "billing.read", h.invoices),
    Route("/v3/validations/email/jobs", "validations.email.read", h.validation_jobs),
    Route(
        "/v3/validations/email/jobs/{job_id}",
        "validations.email.read",
        h.validation_job,
    ),
    Route("/v3/sso/integrations", "sso.settings.read", h.sso_integrations),
    Route("/v3/sso/integrations/{id}", "sso.settings.read", h.sso_integration),
    Route(
        "/v3/sso/integrations/{integration_id}/certificates",
        "sso.settings.read",
        h.sso_certificates,
    ),
    Route(
        "/v3/access_settings/whitelist",
        "access_settings.whitelist.read",
        h.ip_allowlist,
    ),
    Route(
        "/v3/access_settings/activity",
        "access_settings.activity.read",
        h.access_activity,
    ),
)

_STATIC = {r.template: r for r in ROUTES if "{" not in r.template}
_DYNAMIC = [
    (re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", r.template) + "$"), r)
    for r in ROUTES
    if "{" in r.template
]


def match(path: str) -> tuple[Route, dict[str, str]] | None:
    """Static paths win over templates, so `/v3/teammates/pending` is not a name."""
    route = _STATIC.get(path)
    if route is not None:
        return route, {}
    for pattern, candidate in _DYNAMIC:
        found = pattern.match(path)
        if found is not None:
            return candidate, found.groupdict()
    return None
