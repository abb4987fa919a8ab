"""The --region and --base-url options, checked before anything runs."""

from __future__ import annotations

from typing import Annotated

import typer

from smp.sendgrid import check_base_url, check_region


def _region(value: str) -> str:
    try:
        return check_region(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _base_url(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_base_url(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


RegionOption = Annotated[
    str, typer.Option(help="SendGrid region: global or eu.", callback=_region)
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(help="Another API URL, e.g. the simulator.", callback=_base_url),
]
