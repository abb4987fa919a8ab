"""Who is acting, for the audit trail: the token's user from the client's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from smp.api.auth import CurrentUser
from smp.services.audit import Actor, request_actor


def acting(request: Request, user: CurrentUser) -> Actor:
    return request_actor(user.name, request)


# FastAPI resolves `current_user` once per request, however many depend on it.
Acting = Annotated[Actor, Depends(acting)]
