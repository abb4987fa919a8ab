"""`smp keys rotate-master`: re-encrypt every stored API key under a new master key."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from smp.cli.opening import console, open_runtime, read_env, user_errors
from smp.services import audit
from smp.storage import generate_key, rotate_master_key

keys_app = typer.Typer(
    help="The master key that encrypts stored API keys.", no_args_is_help=True
)


def _recorded(session: Session, keys: int, channels: int) -> None:
    details = {"keys": keys, "channel_secrets": channels}
    audit.record(session, audit.cli_actor(), "master_key.rotate", "master key", details)


@keys_app.command("rotate-master")
def rotate_master(
    new_key_env: Annotated[
        str | None,
        typer.Option(
            help="Env var with the new key (needed when SMP_SECRET_KEY is set)."
        ),
    ] = None,
) -> None:
    """Re-encrypt all keys in one transaction, then replace the master key."""
    runtime = open_runtime()
    new_key = read_env(new_key_env, "--new-key-env") if new_key_env else None
    if os.environ.get("SMP_SECRET_KEY") and new_key is None:
        new_key = generate_key()
        console.print(
            "SMP_SECRET_KEY is set, so SMP cannot replace it for you. New key "
            "(set SMP_SECRET_KEY to it now; it is shown once):"
        )
        console.print(new_key, highlight=False)
    with user_errors():
        count = rotate_master_key(runtime.engine, new_key=new_key, audit=_recorded)
    console.print(f"Re-encrypted {count:,} stored key(s) under the new master key.")
