"""Where the vendored copies of SendGrid's official OpenAPI specs live."""

from __future__ import annotations

from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent / "sendgrid-oai"
