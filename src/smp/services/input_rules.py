"""Input rules every entry point shares: the id range, printable text, no key as text.

A whole API key pasted into a name or a label would be stored and shown to
everyone as text, so such text is refused.
"""

from __future__ import annotations

from smp.sendgrid.keys import contains_key

# Control characters are refused: PostgreSQL cannot even compare NUL.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
# PostgreSQL's integer: a larger id is "not found", never a database error.
MAX_ID = 2**31 - 1

KEY_IN_TEXT = "this is a SendGrid API key; it belongs in a key field"


def not_a_key(value: str) -> str:
    """`value` unchanged; ValueError when it holds a whole API key."""
    if contains_key(value):
        raise ValueError(KEY_IN_TEXT)
    return value
