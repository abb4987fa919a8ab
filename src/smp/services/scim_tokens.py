"""Making SCIM tokens: what `smp people scim-token` (and any admin page) shares.

An identity provider pushes the directory with this token; it opens
`/scim/v2` only. The label says which provider holds it, so it must be
readable text and never a pasted secret.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.sendgrid.keys import contains_key
from smp.services.audit import Actor, named, record
from smp.services.input_rules import KEY_IN_TEXT, MAX_ID, PRINTABLE
from smp.services.refusals import Refused
from smp.storage.scim_tokens import (
    ScimToken,
    create_scim_token,
    list_scim_tokens,
    revoke_scim_token,
)

MAX_LABEL = 100
DEFAULT_LABEL = "scim"


def clean_label(label: str) -> str:
    """The label as stored; `Refused` (field "label") when it cannot be one."""
    cleaned = " ".join(label.split())
    if not cleaned:
        raise Refused("the label is empty", kind="invalid", field="label")
    if len(cleaned) > MAX_LABEL:
        raise Refused(
            f"the label is longer than {MAX_LABEL} characters",
            kind="invalid",
            field="label",
        )
    if not re.match(PRINTABLE, cleaned):
        raise Refused("the label has control characters", kind="invalid", field="label")
    if contains_key(cleaned):
        raise Refused(KEY_IN_TEXT, kind="invalid", field="label")
    return cleaned


def new_scim_token(
    engine: Engine,
    label: str,
    *,
    created_by: str | None,
    now: dt.datetime,
    audit_as: Actor | None = None,
) -> tuple[ScimToken, str]:
    """A new SCIM token: (its record, the token, to show once)."""
    cleaned = clean_label(label)
    with Session(engine) as session, session.begin():
        made = create_scim_token(session, cleaned, created_by=created_by, now=now)
        by = named(created_by, audit_as)
        record(session, by, "scim_token.create", cleaned, {"token_id": made[0].id})
        return made


def scim_tokens(engine: Engine) -> list[ScimToken]:
    """Every SCIM token's record (the tokens themselves are not kept)."""
    with Session(engine) as session:
        return list_scim_tokens(session)


def revoke(engine: Engine, token_id: int, *, audit_as: Actor | None = None) -> None:
    """Revoke a SCIM token: its provider's next request gets 401."""
    found = False
    if 0 < token_id <= MAX_ID:
        with Session(engine) as session, session.begin():
            found = revoke_scim_token(session, token_id)
            if found:
                target = f"SCIM token {token_id}"
                record(session, audit_as, "scim_token.revoke", target)
    if not found:
        raise Refused(f"no SCIM token has the id {token_id}", kind="not_found")
