"""SendGrid API keys: format check, key id, and a repr that never shows the secret."""

from __future__ import annotations

import hmac
import re

from smp.sendgrid.errors import MalformedKeyError

# `SG.` + 22-character key id + `.` + 43-character secret: 69 characters in all.
_KEY_PATTERN = re.compile(r"SG\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})")
KEY_LENGTH = 69


def contains_key(text: str) -> bool:
    """Whether `text` holds a whole key, e.g. one pasted into a name field."""
    return _KEY_PATTERN.search(text) is not None


class ApiKey:
    """A validated SendGrid API key.

    The secret leaves this object only through `secret()`; `str()` and `repr()`
    show `SG.<key id>…`, so a key that ends up in a log or a traceback is harmless.
    """

    __slots__ = ("_secret", "key_id", "trimmed")

    key_id: str
    trimmed: bool
    _secret: str

    def __init__(self, raw: str) -> None:
        # Keys pasted into files or env vars often carry a newline or spaces.
        stripped = raw.strip()
        match = _KEY_PATTERN.fullmatch(stripped)
        if match is None:
            raise MalformedKeyError(_describe_problem(stripped))
        self.key_id = match.group(1)
        self.trimmed = stripped != raw
        self._secret = stripped

    @classmethod
    def parse(cls, raw: str) -> ApiKey:
        """Check the format before any network call; raise `MalformedKeyError`."""
        return cls(raw)

    def secret(self) -> str:
        """The full key, for the Authorization header and nothing else."""
        return self._secret

    @property
    def redacted(self) -> str:
        return f"SG.{self.key_id}…"

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        return f"ApiKey({self.redacted!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiKey):
            return NotImplemented
        return hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self.key_id)

    def __reduce__(self) -> str | tuple[object, ...]:
        # Pickling would copy the secret into caches or queues without anyone noticing.
        raise TypeError("ApiKey cannot be pickled")


def _describe_problem(stripped: str) -> str:
    """Say what is wrong without echoing any part of the key."""
    if not stripped:
        return "the API key is empty"
    if any(ch.isspace() for ch in stripped):
        return "the API key contains whitespace inside it"
    if not stripped.startswith("SG."):
        return "the API key does not start with 'SG.'"
    if len(stripped) != KEY_LENGTH:
        return (
            f"the API key has {len(stripped)} characters; a SendGrid key has "
            f"{KEY_LENGTH} ('SG.' + 22 + '.' + 43)"
        )
    return "the API key is not 'SG.' + 22 + '.' + 43 characters of [A-Za-z0-9_-]"
