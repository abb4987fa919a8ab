"""The running server's state: what API and web handlers need, on `app.state.smp`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine

from smp.model.users import User
from smp.runtime.in_process import SyncRunner
from smp.runtime.server_config import ServerConfig
from smp.storage import SecretBox
from smp.sync import SyncContext


@dataclass(slots=True)
class AppState:
    engine: Engine
    box: SecretBox
    context: SyncContext
    config: ServerConfig
    syncs: SyncRunner
    # Set by the web UI: the signed-in user of a browser session, if any.
    cookie_auth: Callable[[Request], User | None] | None = None


def app_state(request: Request) -> AppState:
    state = request.app.state.smp
    assert isinstance(state, AppState)
    return state
