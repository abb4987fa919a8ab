"""`GET /reviews/{id}/evidence`: the campaign's evidence pack as one zip (admins).

The same pack as `smp reviews export` (docs/evidence-pack.md), written into a
temporary directory, zipped, sent, then removed. An open campaign's pack is
a draft, and its file name says so.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from smp.api.auth import AdminUser, State
from smp.api.params import IdPath
from smp.api.problems import problem_responses
from smp.api.refusals import problem
from smp.services.refusals import Refused
from smp.services.review_evidence import export_pack
from smp.services.reviews import Actor

router = APIRouter(prefix="/reviews", tags=["reviews"])


@router.get(
    "/{campaign_id}/evidence",
    summary="A campaign's evidence pack, zipped",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/zip": {}}},
        **problem_responses(403, 404),
    },
)
def evidence(
    campaign_id: IdPath, state: State, user: AdminUser, request: Request
) -> FileResponse:
    source = request.client.host if request.client else "api"
    work = Path(tempfile.mkdtemp(prefix="smp-evidence-"))
    try:
        pack = export_pack(
            state.engine,
            campaign_id,
            work / "pack",
            Actor(user.name, True, source),
            now=state.context.now(),
        )
        archive = shutil.make_archive(str(work / "evidence"), "zip", pack.directory)
    except Refused as error:
        shutil.rmtree(work, ignore_errors=True)
        raise problem(error) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    draft = "-draft" if pack.draft else ""
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=f"review-{pack.campaign_id}-evidence{draft}.zip",
        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True),
    )
