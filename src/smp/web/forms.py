"""Form input rules: bounded lengths, no control characters, keys never echoed back.

A whole API key in a text field (a name, a label) is refused: stored, it
would be shown to everyone as text.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Form

from smp.sendgrid.keys import contains_key
from smp.services.input_rules import KEY_IN_TEXT
from smp.web.session import Refused

MAX_KEY = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# No bound here: the body limit caps a field, and the rules below answer inline.
FormText = Annotated[str, Form()]


def has_control(value: str) -> bool:
    """Control characters (NUL among them: PostgreSQL cannot even compare it)."""
    return _CONTROL.search(value) is not None


def clean_text(
    value: str, what: str, *, max_length: int = 200, required: bool = True
) -> str:
    cleaned = " ".join(value.split())
    if required and not cleaned:
        raise ValueError(f"{what} is required.")
    if len(cleaned) > max_length:
        raise ValueError(f"{what} has at most {max_length} characters.")
    if has_control(cleaned):
        raise ValueError(f"{what} contains control characters.")
    if contains_key(cleaned):
        raise ValueError(f"{what}: {KEY_IN_TEXT}.")
    return cleaned


def clean_key(value: str, what: str, *, required: bool) -> str:
    """A pasted key without surrounding whitespace; its format is the client's job."""
    cleaned = value.strip()
    if required and not cleaned:
        raise ValueError(f"{what} is required.")
    if len(cleaned) > MAX_KEY:
        raise ValueError(f"{what} is too long to be a SendGrid API key.")
    if has_control(cleaned):
        raise ValueError(f"{what} contains control characters.")
    return cleaned


# ASCII digits only: str.isdigit() also says yes to "²" and "١", which
# int() then refuses (or reads as another number).
_DIGITS = re.compile(r"[0-9]+")
LAST_PAGE = 100_000


def _number(value: str, high: int) -> int | None:
    """The whole number written in ASCII digits, anything above `high` as
    high + 1 (so a thousand-digit number costs nothing); None if not one."""
    text = value.strip()
    if not _DIGITS.fullmatch(text):
        return None
    if len(text.lstrip("0")) > len(str(high)):
        return high + 1
    return int(text)


def bounded_int(value: str, what: str, low: int, high: int) -> int:
    number = _number(value, high)
    if number is None or not low <= number <= high:
        raise Refused(422, f"{what} must be a whole number from {low} to {high}.")
    return number


def page_number(value: str) -> int:
    """The page asked for in a query string: 1 unless it is a whole number,
    and never past LAST_PAGE (the listing then says the page is empty)."""
    number = _number(value, LAST_PAGE)
    return 1 if number is None else max(1, min(number, LAST_PAGE))
