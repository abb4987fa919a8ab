"""The sweep's strict HTML check, shared by every test that parses a page."""

from __future__ import annotations

import html5lib

# Attributes that name another element's id: each must point at one that exists.
IDREFS = ("aria-describedby", "aria-labelledby", "aria-controls", "for", "list")


def html_problems(text: str) -> list[str]:
    """Parse errors, duplicate ids and references to ids the page lacks."""
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    tree = parser.parse(text)
    lines = text.splitlines()
    found = [
        f"line {line}:{col} {code} {data or ''}: {lines[line - 1].strip()[:120]}"
        for (line, col), code, data in parser.errors
    ]
    ids = [e.get("id") for e in tree.iter() if e.get("id")]
    found += [
        f"duplicate id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    for element in tree.iter():
        for attribute in IDREFS:
            for ref in (element.get(attribute) or "").split():
                if ref not in ids:
                    found.append(f"<{element.tag} {attribute}={ref!r}>: no such id")
    return found
