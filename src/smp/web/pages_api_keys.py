"""One integration's API keys (the inventory a sync reads) and teammates' 2FA."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from smp.services import api_keys as inventory
from smp.storage import read_session
from smp.web.deps import PagesDep
from smp.web.pages_integrations import find
from smp.web.session import SignedInUser

router = APIRouter(include_in_schema=False)


@router.get("/integrations/{integration_id}/api-keys")
def api_keys(
    integration_id: int, request: Request, who: SignedInUser, pages: PagesDep
) -> Response:
    integration = find(who, integration_id)
    with read_session(who.state.engine) as session:
        keys = inventory.api_keys(session, integration.id)
        problem = inventory.unreadable_message(session, integration.id)
        mates = inventory.teammate_scope_rows(session, integration.id)
        # A first sighting lists every scope; the page shows what changed.
        changes = [
            c
            for c in inventory.key_history(session, integration.id)
            if c["change"] == "changed"
        ]
    return pages.render(
        request,
        "api_keys.html",
        who,
        i=integration,
        keys=keys,
        problem=problem,
        dates_note=inventory.DATES_NOTE,
        exempt=[m for m in mates if m["two_factor_exempt"]],
        teammates_read=len(mates),
        changes=changes[::-1],  # newest first
    )
