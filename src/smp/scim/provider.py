"""What SMP's SCIM service declares: Users (enterprise extension) and capabilities.

Only what SMP really does is declared: PATCH (scim2-server applies it to the
stored user), filtering (any filter; `userName eq` and `emails.value eq` are
answered from indexed columns, the rest is evaluated over every SCIM user),
paging by startIndex/count. No bulk, sorting, password changes or Groups:
the server answers 501 to those, as RFC 7644 §3.12 says. ETags are declared
unsupported, yet users carry versions and a write with If-Match of an older
version is still refused (412).
"""

from __future__ import annotations

import unicodedata
from typing import Any, cast

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ETag,
    Filter,
    Patch,
    Resource,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

from smp.model.people import email_key
from smp.scim.models import SmpEnterpriseUser

# The largest page a search returns, whatever `count` asks for.
MAX_RESULTS = 200

USER_RESOURCE_TYPE = ResourceType.from_resource(User[SmpEnterpriseUser])

BEARER_SCHEME = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="SMP SCIM token",
    description="A bearer token made with `smp people scim-token` (shown once).",
    primary=True,
)

CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=False),
    authentication_schemes=[BEARER_SCHEME],
)


def comparison_key(binding: Any, value: str) -> str:
    """How SCIM compares strings here: as SMP compares e-mails, when not caseExact.

    NFKC, casefolded, trimmed (smp.model.people.email_key), so a filter on
    userName or emails.value finds exactly what the userName's uniqueness
    and SMP's matching consider the same address.
    """
    if binding.case_exact:
        return unicodedata.normalize("NFC", value)
    return email_key(value)


# Strict, except where Microsoft Entra ID departs from RFC 7644 in ways that
# cannot be mistaken for anything else: a PATCH `remove` naming the value to
# remove, and a `replace` on emails[type eq "work"].value when no such entry
# exists yet (Entra expects it created).
POLICY = ScimPolicy(
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
    comparison_key=comparison_key,
)


def scim_provider() -> ScimProvider:
    """The description /ServiceProviderConfig, /ResourceTypes and /Schemas publish."""
    return ScimProvider(
        models=[User, SmpEnterpriseUser],
        resource_types=[USER_RESOURCE_TYPE],
        config=CONFIG,
        policy=POLICY,
    )


def user_model(provider: ScimProvider) -> type[Resource[Any]]:
    """The composed model of a SCIM user: User[SmpEnterpriseUser]."""
    return cast(type[Resource[Any]], provider.model_for(USER_RESOURCE_TYPE))
