"""`smp reviews export ID --out DIR` and `smp reviews verify DIR`: the evidence pack.

`verify` opens no database and needs no master key: an auditor runs it on a
copy of the pack anywhere SMP is installed (docs/evidence-pack.md).
Exit codes of `verify`: 0 every file matches, 1 a file changed, is missing
or was added (each named), 2 no usable manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from smp.cli.opening import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    console,
    errors,
    fail,
    open_runtime,
    print_json,
    user_errors,
)
from smp.services import reviews
from smp.services.findings import COMMAND_LINE
from smp.services.review_evidence import ManifestError, export_pack, verify_pack
from smp.services.reviews import Actor

SOURCE = "cli"


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False)


def export(
    campaign_id: Annotated[
        str, typer.Argument(help="The campaign's id (from `smp reviews list`).")
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="A new or empty directory for the pack."),
    ],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace a previous evidence pack in DIR (never other files).",
        ),
    ] = False,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Act as this SMP user (an admin).")
    ] = None,
) -> None:
    """Write a campaign's evidence pack; an open campaign's is marked draft."""
    runtime = open_runtime()
    with user_errors():
        actor = (
            Actor(COMMAND_LINE, True, SOURCE)
            if as_user is None
            else reviews.acting_user(runtime.engine, as_user, source=SOURCE)
        )
        done = export_pack(
            runtime.engine,
            campaign_id,
            out,
            actor,
            now=runtime.context.now(),
            replace=force,
        )
    kind = (
        "DRAFT evidence pack (the campaign is open)" if done.draft else "Evidence pack"
    )
    _say(
        f"{kind} of campaign {done.campaign_id} {done.name!r}: "
        f"{done.items:,} items in {done.directory}"
    )
    _say(f"Files: {', '.join(done.files)}")
    _say(f"Manifest SHA-256: {done.manifest_sha256}")
    if not done.snapshot_matches:
        fail(
            "the items no longer hash to the snapshot frozen when the campaign "
            "started: they were changed in the database (the pack says so)"
        )


def verify(
    directory: Annotated[Path, typer.Argument(help="The evidence pack's directory.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON for scripts.")
    ] = False,
) -> None:
    """Check every file of a pack against its manifest.json."""
    try:
        check = verify_pack(directory)
    except ManifestError as error:
        fail(escape(str(error)), EXIT_BAD_INPUT)
    except OSError as error:
        fail(escape(f"{directory}: {error.strerror or error}"), EXIT_BAD_INPUT)
    if as_json:
        print_json(check.to_json())
    elif check.ok:
        state = "draft" if check.manifest.get("draft") else "final"
        _say(
            f"Pack verified: {len(check.checked)} files and manifest.json match "
            f"(campaign {check.manifest.get('campaign_id')}, {state})"
        )
    else:
        for problem in check.problems():
            errors.print(problem, highlight=False, markup=False)
    if not check.ok:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("verify")(verify)
