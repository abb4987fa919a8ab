"""Base URLs: one per SendGrid region, or any URL (the simulator)."""

from __future__ import annotations

from typing import Literal

import httpx

Region = Literal["global", "eu"]

BASE_URLS: dict[str, str] = {
    "global": "https://api.sendgrid.com",
    "eu": "https://api.eu.sendgrid.com",
}


def resolve_base_url(region: str = "global", base_url: str | None = None) -> str:
    """An explicit `base_url` wins (simulator, proxies); otherwise the region's URL."""
    if base_url:
        return check_base_url(base_url)
    return BASE_URLS[check_region(region)]


def check_region(region: str) -> str:
    """`region` if SendGrid has it; a plain-words ValueError otherwise."""
    if region not in BASE_URLS:
        known = " or ".join(BASE_URLS)
        raise ValueError(f"unknown region {region!r}; expected {known}")
    return region


def check_base_url(base_url: str) -> str:
    """`base_url` without its trailing slash if it is an http(s) URL with a host."""
    problem = f"{base_url!r} is not an http:// or https:// URL with a host"
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL:
        raise ValueError(problem) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(problem)
    if url.query or url.fragment or url.userinfo:
        # Credentials in the URL would be stored and shown with it, so the
        # message does not repeat the value.
        raise ValueError("give the URL without user:password@, ?query or #fragment")
    return base_url.rstrip("/")
