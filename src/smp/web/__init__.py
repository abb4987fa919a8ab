"""Server-rendered web UI on top of the API app: `create_app(engine, box, context)`."""

from __future__ import annotations

from smp.web.app import create_app

__all__ = ["create_app"]
