"""`smp serve`: the web UI and REST API on uvicorn, with the interval scheduler.

The first run creates the user `admin` with `$SMP_ADMIN_PASSWORD`, or with a
generated password printed once. With `--ssl-certfile/--ssl-keyfile` it serves
https itself, and its cookies are Secure; behind a proxy that terminates TLS,
the proxy's X-Forwarded-Proto is trusted from `--forwarded-allow-ips` only.
Listening beyond loopback without TLS starts with a warning.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from smp.cli.opening import (
    EXIT_BAD_INPUT,
    console,
    fail,
    open_runtime,
    user_errors,
    warn,
)
from smp.model.users import UserRuleError
from smp.runtime.schedule import DEFAULT_SYNC_INTERVAL_S
from smp.settings import test_only_fast_password_hash
from smp.storage import StorageError

HOURS = 3600
LOG_LEVELS = ("debug", "info", "warning", "error")


def is_loopback(host: str) -> bool:
    """True when every address `host` stands for is this machine's loopback."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None)
        return bool(found) and all(
            ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
            for info in found
        )
    except (OSError, UnicodeError, ValueError):
        return False


def exposure_warnings(host: str, *, tls: bool) -> list[str]:
    """What a person starting the server should know about who can reach it."""
    found = []
    if not tls and not is_loopback(host):
        found.append(
            f"serving plain http on {host}, which other machines can reach: "
            "passwords, session cookies and API tokens cross the network "
            "unencrypted; give --ssl-certfile/--ssl-keyfile, or listen on "
            "127.0.0.1 behind a proxy that terminates TLS"
        )
    if test_only_fast_password_hash():
        found.append(
            "SMP_TEST_ONLY_FAST_PASSWORD_HASH is set: new passwords are hashed at "
            "a cost meant for tests only"
        )
    return found


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[
            int, typer.Option(min=1, max=65535, help="Port to listen on.")
        ] = 8000,
        sync_every: Annotated[
            float, typer.Option(help="Default hours between syncs.", min=0.1)
        ] = DEFAULT_SYNC_INTERVAL_S / HOURS,
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
        ssl_certfile: Annotated[
            Path | None,
            typer.Option(help="Serve https with this PEM certificate (chain)."),
        ] = None,
        ssl_keyfile: Annotated[
            Path | None,
            typer.Option(help="The PEM private key of --ssl-certfile."),
        ] = None,
        forwarded_allow_ips: Annotated[
            str,
            typer.Option(
                help="Proxies whose X-Forwarded-Proto/-For are trusted "
                "(comma-separated addresses, or *)."
            ),
        ] = "127.0.0.1",
        log_level: Annotated[
            str, typer.Option(help=f"One of {', '.join(LOG_LEVELS)}.")
        ] = "info",
    ) -> None:
        """Serve the web UI and the REST API (`/api/v1`, docs at `/docs`)."""
        # Here, not at the top: every other command starts without FastAPI.
        import uvicorn

        from smp.runtime.server_config import ServerConfig
        from smp.server import create_app
        from smp.services.users import FIRST_ADMIN, ensure_first_admin

        if log_level not in LOG_LEVELS:
            fail(f"--log-level is one of {', '.join(LOG_LEVELS)}", EXIT_BAD_INPUT)
        if (ssl_certfile is None) != (ssl_keyfile is None):
            fail("give --ssl-certfile and --ssl-keyfile together", EXIT_BAD_INPUT)
        for tls_file in (ssl_certfile, ssl_keyfile):
            if tls_file is not None and not tls_file.is_file():
                fail(f"cannot read {tls_file}", EXIT_BAD_INPUT)
        runtime = open_runtime()
        with user_errors():
            try:
                generated = ensure_first_admin(
                    runtime.engine, os.environ.get("SMP_ADMIN_PASSWORD") or None
                )
            except (StorageError, UserRuleError) as error:
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
            level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
        )
        scheme = "https" if ssl_certfile else "http"
        for warning in exposure_warnings(host, tls=ssl_certfile is not None):
            warn(warning)
        console.print(f"SMP serving on {scheme}://{host}:{port}", highlight=False)
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
        )
