"""Jinja templates from the package, with the filters the pages share."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from smp.web.session import SignedIn


def _zone_of(context: Context) -> zoneinfo.ZoneInfo:
    """The signed-in user's display zone; UTC for anyone else or an unknown name."""
    name = getattr(context.get("user"), "time_zone", "UTC") or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def local_time(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    """`value` (UTC when naive) in `zone`, with the zone's abbreviation then."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


@pass_context
def _day(context: Context, value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return local_time(value, _zone_of(context))
    return value.isoformat()


def _number(value: int | float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _money(value: Decimal | str | None) -> str:
    if value is None:
        return "—"
    try:
        return f"{Decimal(value):,.2f}"
    except InvalidOperation:
        return str(value)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("smp.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(day=_day, number=_number, money=_money, percent=_percent)
    return Jinja2Templates(env=env)


class Pages:
    def __init__(self) -> None:
        self.templates = make_templates()

    def render(
        self,
        request: Request,
        template: str,
        who: SignedIn | None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        context.update(
            user=who.user if who else None,
            csrf=who.csrf if who else "",
            path=request.url.path,
        )
        return self.templates.TemplateResponse(
            request, template, context, status_code=status
        )
