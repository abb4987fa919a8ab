"""What SMP's SCIM service declares: Users (enterprise extension) and capabilities.

Only what SMP really does is declared: PATCH (scim2-server applies it to the
stored user), filtering (any filter; `userName eq` and `emails.value eq` are
answered from indexed columns, the rest is evaluated over every SCIM user),
paging by startIndex/count. No bulk, sorting, ETags, password changes or
Groups: the server answers 501 to those, as RFC 7644 §3.12 says.
"""

from __future__ import annotations

from typing import Any, cast

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Filter,
    Patch,
    Resource,
    ResourceType,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

# The largest page a search returns, whatever `count` asks for.
MAX_RESULTS = 200

USER_RESOURCE_TYPE = ResourceType.from_resource(User[EnterpriseUser])

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


def scim_provider() -> ScimProvider:
    """The description /ServiceProviderConfig, /ResourceTypes and /Schemas publish."""
    return ScimProvider(
        models=[User, EnterpriseUser],
        resource_types=[USER_RESOURCE_TYPE],
        config=CONFIG,
    )


def user_model(provider: ScimProvider) -> type[Resource[Any]]:
    """The composed model of a SCIM user: User[EnterpriseUser]."""
    return cast(type[Resource[Any]], provider.model_for(USER_RESOURCE_TYPE))
