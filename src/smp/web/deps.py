"""Dependencies of the web pages: the templates object stored on the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from smp.web.rendering import Pages


def pages(request: Request) -> Pages:
    found = request.app.state.pages
    assert isinstance(found, Pages)
    return found


PagesDep = Annotated[Pages, Depends(pages)]
