"""Base URLs: one per SendGrid region, or any URL (the simulator)."""

from __future__ import annotations

from typing import Literal

Region = Literal["global", "eu"]

BASE_URLS: dict[str, str] = {
    "global": "https://api.sendgrid.com",
    "eu": "https://api.eu.sendgrid.com",
}


def resolve_base_url(region: str = "global", base_url: str | None = None) -> str:
    """An explicit `base_url` wins (simulator, proxies); otherwise the region's URL."""
    if base_url:
        return base_url.rstrip("/")
    try:
        return BASE_URLS[region]
    except KeyError:
        known = ", ".join(sorted(BASE_URLS))
        raise ValueError(
            f"unknown region {region!r}; expected one of {known}"
        ) from None
