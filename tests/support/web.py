"""Signing in to the web UI with httpx, and reading CSRF tokens out of pages."""

from __future__ import annotations

import re

import httpx
from tests.support.app import PASSWORD, Server

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, name: str, password: str = PASSWORD
) -> httpx.Response:
    form = await client.get("/login")
    return await client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": csrf_of(form.text)},
    )


def web_client(srv: Server, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client of the app in process; `address` is the client address it reports."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=srv.app, client=(address, 50000)),
        base_url="http://testserver",
    )
