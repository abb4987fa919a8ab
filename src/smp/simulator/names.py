"""Name pools for generated people and companies, deliberately international."""

from __future__ import annotations

import unicodedata
from typing import Final

FIRST_NAMES: Final = (
    "Zoë", "José", "Øyvind", "Małgorzata", "Đặng", "美咲", "Ana", "Björn",
    "Chloé", "Dmitri", "Émile", "Fatima", "Grace", "Hiroshi", "Inès", "Jürgen",
    "Katarzyna", "Liam", "Mónica", "Nikolaj", "Olivia", "Priya", "Raúl", "Søren",
    "Thi", "Uxía", "Valentina", "William", "Xiadani", "Yusuf", "Zeynep", "Ngozi",
)  # fmt: skip
LAST_NAMES: Final = (
    "Müller", "García", "Østergaard", "Wiśniewska", "Nguyễn", "山田", "Smith",
    "Çelik", "Dubois", "Kowalski", "Lefèvre", "Novák", "O'Brien", "Pérez",
    "Rossi", "Sørensen", "Tanaka", "Van der Berg", "Walsh", "Yılmaz", "Åberg",
    "Jones", "Okafor", "Silva",
)  # fmt: skip
COMPANIES: Final = (
    "Acme Mail GmbH", "Brightwave Labs", "Côte Data SARL", "Nordlys AS",
    "Kraków Systems", "Sakura Digital", "Hanoi Retail", "Lumen & Co",
)  # fmt: skip
CITIES: Final = (
    ("Berlin", "BE", "10115", "Germany"),
    ("Oslo", "", "0150", "Norway"),
    ("Kraków", "", "30-001", "Poland"),
    ("Madrid", "M", "28001", "Spain"),
    ("Denver", "CO", "80202", "United States"),
    ("Tokyo", "", "100-0001", "Japan"),
)

# Letters NFKD cannot take apart, and CJK names, need explicit spellings.
_SPECIAL: Final = {
    "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ß": "ss",
    "ı": "i", "æ": "ae", "å": "a", "Å": "A", "美咲": "Misaki", "山田": "Yamada",
}  # fmt: skip


def ascii_slug(name: str) -> str:
    """An ASCII, lower-case form of a name, fit for usernames and e-mails."""
    text = _SPECIAL.get(name, name)
    text = "".join(_SPECIAL.get(char, char) for char in text)
    decomposed = unicodedata.normalize("NFKD", text)
    letters = [c for c in decomposed if c.isascii() and (c.isalnum())]
    return "".join(letters).lower() or "user"
