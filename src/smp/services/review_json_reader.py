"""Reading an evidence pack's `campaign.json` back, item by item.

`smp reviews verify` recomputes the campaign's snapshot hash from the items'
`snapshot` fields, so an edited `campaign.json` whose file hashes were
rewritten in the manifest still fails. The items are decoded one at a time
(json's `raw_decode` over a buffer read in chunks): a pack of 200,000 items
never sits in memory as one parsed document. Any layout of valid JSON is
read, not only the one SMP writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from json import JSONDecodeError, JSONDecoder
from pathlib import Path
from typing import Any, TextIO

from smp.model.reviews import SNAPSHOT_FIELDS, snapshot_digest

_CHUNK = 1 << 20
_SPACE = " \t\r\n"


class _Reader:
    """A JSON text read forward, refilled from the file as decoding needs."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._buffer = ""
        self._at = 0
        self._done = False

    def _more(self) -> bool:
        if self._done:
            return False
        chunk = self._stream.read(_CHUNK)
        if not chunk:
            self._done = True
            return False
        self._buffer = self._buffer[self._at :] + chunk
        self._at = 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            while self._at < len(self._buffer) and self._buffer[self._at] in _SPACE:
                self._at += 1
            if self._at < len(self._buffer):
                return self._buffer[self._at]
            if not self._more():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r}")
        self._at += 1

    def value(self, decoder: JSONDecoder) -> Any:
        self.peek()
        while True:
            try:
                found, end = decoder.raw_decode(self._buffer, self._at)
            except JSONDecodeError:
                # Perhaps cut off by the chunk's end: read on, else it is bad.
                if self._more():
                    continue
                raise ValueError("not valid JSON") from None
            # A number at the buffer's end may go on in the next chunk.
            if end == len(self._buffer) and self._more():
                continue
            self._at = end
            return found


def _items(reader: _Reader, decoder: JSONDecoder) -> Iterator[Any]:
    reader.expect("{")
    while reader.peek() != "}":
        key = reader.value(decoder)
        reader.expect(":")
        if key != "items":
            reader.value(decoder)
        else:
            reader.expect("[")
            while reader.peek() != "]":
                yield reader.value(decoder)
                if reader.peek() == ",":
                    reader.expect(",")
            reader.expect("]")
        if reader.peek() == ",":
            reader.expect(",")
    reader.expect("}")


def _snapshots(path: Path) -> Iterator[Mapping[str, Any]]:
    decoder = JSONDecoder()
    with path.open(encoding="utf-8") as stream:
        for item in _items(_Reader(stream), decoder):
            snapshot = item.get("snapshot") if isinstance(item, dict) else None
            if not isinstance(snapshot, dict) or set(snapshot) != set(SNAPSHOT_FIELDS):
                raise ValueError("an item without its snapshot fields")
            yield snapshot


def snapshot_of(path: Path) -> str | None:
    """The snapshot hash of `campaign.json`'s items, computed as campaign
    creation does (smp.model.reviews.snapshot_digest); None when the file is
    no readable campaign.json."""
    try:
        return snapshot_digest(_snapshots(path))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
