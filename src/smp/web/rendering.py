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

from smp.model.labels import capability_label, key_kind_label, plural
from smp.sendgrid.capabilities import kind_purpose
from smp.sendgrid.capabilities import read_only_key_advice as _advice
from smp.vocabulary import KeyKind
from smp.web.flash import FLASH_COOKIE, take_flash
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


def read_only_key_advice(kind: str) -> str:
    """The read-only key to create instead, for a kind given as text."""
    return _advice(KeyKind(kind) if kind in set(KeyKind) else KeyKind.RESTRICTED)


def _sentence(value: object) -> str:
    """A message as a sentence: capital first letter, closing full stop."""
    text = str(value).strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("smp.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        day=_day,
        number=_number,
        money=_money,
        percent=_percent,
        sentence=_sentence,
        kind_label=key_kind_label,
        capability_label=capability_label,
        plural=plural,
    )
    env.globals.update(
        kind_purpose=kind_purpose, read_only_key_advice=read_only_key_advice
    )
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
            flash=take_flash(request, who),
        )
        response = self.templates.TemplateResponse(
            request, template, context, status_code=status
        )
        if FLASH_COOKIE in request.cookies:  # shown once
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response
