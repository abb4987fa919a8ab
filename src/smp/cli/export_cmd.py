"""`smp export NAME --format csv|json|xlsx --out DIR`.

File names come from a slug of the integration's name, never the raw name, so
a name like `../../etc` cannot write outside DIR. The content is
`smp.services.exports`, shared with the API and the web (no secrets, no text
that becomes a formula); this command writes it, 0600: it holds member data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from smp.cli.opening import EXIT_BAD_INPUT, console, fail, open_runtime, user_errors
from smp.services import exports
from smp.services.exports import Format
from smp.storage import get_integration
from smp.storage.engine import PRIVATE_FILE_MODE


def _save(path: Path, data: bytes) -> None:
    """Write member data 0600, like the database, whatever the umask; a file an
    earlier export left at a laxer mode is made 0600 before the new data goes in."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
        handle.write(data)


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        name: Annotated[str, typer.Argument(help="Integration name or id.")],
        format_: Annotated[
            Format,
            typer.Option("--format", help="csv (one file per table), json or xlsx."),
        ] = Format.CSV,
        out: Annotated[
            Path, typer.Option("--out", help="Folder to write into.")
        ] = Path("."),
    ) -> None:
        """Write members, subusers, invoices, usage and history to files."""
        runtime = open_runtime()
        with user_errors(), Session(runtime.engine) as session:
            integration = get_integration(session, name)
            found = exports.tables(session, integration.id)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            fail(f"cannot create {out}: {error.strerror}", EXIT_BAD_INPUT)
        base = exports.slug(integration.name)
        for filename, data in exports.files(format_, base, found).items():
            path = out / filename
            try:
                _save(path, data)
            except OSError as error:
                fail(f"cannot write {path}: {error.strerror}", EXIT_BAD_INPUT)
            console.print(f"wrote {path}")
