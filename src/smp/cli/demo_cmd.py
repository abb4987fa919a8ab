"""`smp demo`: for now, a self-check of the simulator over real loopback HTTP.

A later issue replaces this with the full demo; `register(app)` stays.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import typer
from rich.console import Console
from rich.table import Table

from smp.simulator import Simulator, generate_world

CHECKS = ("/v3/scopes", "/v3/teammates?limit=10", "/v3/billing/invoices")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_self_check(console: Console) -> bool:
    import uvicorn

    world = generate_world(seed=1, accounts=1)
    sim = Simulator(world)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(sim.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        table = Table(title=f"SendGrid simulator self-check on 127.0.0.1:{port}")
        table.add_column("key kind")
        table.add_column("key")
        for path in CHECKS:
            table.add_column(path.split("?")[0])
        ok = True
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for key in world.keys:
                headers = {"Authorization": f"Bearer {key.key}"}
                statuses = [client.get(p, headers=headers).status_code for p in CHECKS]
                ok = ok and all(s in (200, 401, 403) for s in statuses)
                table.add_row(
                    key.kind, f"SG.{key.key_id}…", *(str(s) for s in statuses)
                )
        console.print(table)
        return ok
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo() -> None:
        """Start the simulator on loopback and show what each key kind may read."""
        console = Console()
        if not _run_self_check(console):
            console.print("[red]self-check failed[/red]")
            raise typer.Exit(1)
        console.print("[green]self-check passed[/green]")
