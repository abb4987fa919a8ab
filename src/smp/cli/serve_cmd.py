"""`smp serve`: the web UI and REST API on uvicorn, with the interval scheduler.

The first run creates the user `admin` with `$SMP_ADMIN_PASSWORD`, or with a
generated password printed once.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer
import uvicorn

from smp.api import ServerConfig
from smp.api.bootstrap import FIRST_ADMIN, ensure_first_admin
from smp.cli.runtime import EXIT_BAD_INPUT, console, fail, open_runtime, user_errors
from smp.storage import StorageError
from smp.web import create_app

HOURS = 3600


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
        sync_every: Annotated[
            float, typer.Option(help="Default hours between syncs.", min=0.1)
        ] = 6.0,
        no_scheduler: Annotated[
            bool, typer.Option("--no-scheduler", help="Only sync when asked.")
        ] = False,
        secure_cookies: Annotated[
            bool, typer.Option(help="Mark cookies Secure (serve behind https).")
        ] = False,
        sendgrid_url: Annotated[
            str | None,
            typer.Option(help="Another SendGrid base URL, e.g. a local simulator."),
        ] = None,
    ) -> None:
        """Serve the web UI and the REST API (`/api/v1`, docs at `/docs`)."""
        runtime = open_runtime()
        with user_errors():
            try:
                generated = ensure_first_admin(
                    runtime.engine, os.environ.get("SMP_ADMIN_PASSWORD") or None
                )
            except StorageError as error:
                fail(f"SMP_ADMIN_PASSWORD: {error}", EXIT_BAD_INPUT)
        if generated:
            console.print(
                f"Created user [bold]{FIRST_ADMIN}[/] with password "
                f"[bold]{generated}[/] (shown once; change it with "
                "`smp users password admin`)",
                highlight=False,
            )
        config = ServerConfig(
            sendgrid_base_url=sendgrid_url,
            default_sync_interval_s=int(sync_every * HOURS),
            secure_cookies=secure_cookies,
        )
        app = create_app(
            runtime.engine,
            runtime.box,
            runtime.context,
            scheduler=not no_scheduler,
            config=config,
        )
        logging.basicConfig(
            level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
        )
        console.print(f"SMP serving on http://{host}:{port}", highlight=False)
        uvicorn.run(app, host=host, port=port, log_level="info")
