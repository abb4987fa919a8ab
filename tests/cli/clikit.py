"""Running the CLI in process, and the members the world says it must list."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from smp.cli.main import app
from smp.simulator import World

ROLE = {"owner": "owner", "admin": "admin", "teammate": "user"}


def run(*args: str) -> str:
    """The output of `smp ARGS`, which must succeed."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def expected_members(world: World) -> list[tuple[object, ...]]:
    account = world.accounts[0]
    active = [
        (
            t["username"],
            t["email"],
            t["first_name"],
            t["last_name"],
            ROLE[t["user_type"]],
            "active",
            t["is_sso"],
        )
        for t in account.teammates
    ]
    pending = [
        (
            None,
            p["email"],
            None,
            None,
            "admin" if p["is_admin"] else "user",
            "pending",
            None,
        )
        for p in account.pending
    ]
    return sorted(active + pending, key=repr)


def as_tuples(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    fields = (
        "username",
        "email",
        "first_name",
        "last_name",
        "role",
        "status",
        "is_sso",
    )
    return sorted((tuple(r[f] for f in fields) for r in rows), key=repr)


def smp(*args: str, stdin: str | None = None) -> Result:
    """The result of `smp ARGS`, whatever its exit code."""
    return CliRunner().invoke(app, list(args), input=stdin, catch_exceptions=False)
