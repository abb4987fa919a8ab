"""SendGrid has no role API: derive a member's role from `user_type` and `is_admin`."""

from __future__ import annotations

from smp.model.enums import Role


def role_from_user_type(user_type: str | None, is_admin: bool = False) -> Role:
    """`owner` stays owner; `admin`, or any teammate flagged `is_admin`, is admin.

    `teammate` (and anything unknown or missing) is a plain `user` unless
    `is_admin` says otherwise; SendGrid sets both fields, and `is_admin` is the
    one that decides what the person may do.
    """
    kind = (user_type or "").strip().lower()
    if kind == "owner":
        return Role.OWNER
    if kind == "admin" or is_admin:
        return Role.ADMIN
    return Role.USER
