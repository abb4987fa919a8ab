"""`diagnose(client)`: what a key is and what SMP can read with it.

Used by `smp doctor` and, later, by "add service account" in the sync/API layers.
Only `/v3/scopes` decides capabilities; the username and key name are extras
read when the scopes allow it, and their failure is a warning, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smp.sendgrid.capabilities import (
    CAPABILITIES,
    CapabilityRule,
    applicable,
    classify_key,
    has_capability,
    missing_scopes,
    over_privilege_warning,
    permission_scopes,
    write_scopes,
)
from smp.sendgrid.client import SendGridClient
from smp.sendgrid.errors import ApiError, ProtocolError
from smp.vocabulary import Capability, KeyKind


@dataclass(slots=True)
class KeyReport:
    """The doctor's findings for one key; `to_json()` is the `--json` object."""

    valid: bool | None
    key_id: str | None
    kind: KeyKind = KeyKind.UNKNOWN
    account: str | None = None
    # SendGrid's numeric id of the account, with the username (None: unreadable).
    user_id: int | None = None
    key_name: str | None = None
    scopes: list[str] = field(default_factory=list)
    capabilities: dict[str, bool] = field(
        default_factory=lambda: {c.name: False for c in CAPABILITIES}
    )
    missing: dict[str, list[str]] = field(default_factory=dict)
    write_scopes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def fixes(self) -> dict[str, str]:
        """One-line fix for each capability the key lacks."""
        return {c.name: c.fix for c in CAPABILITIES if c.name in self.missing}

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "kind": self.kind.value,
            "key_id": self.key_id,
            "account": self.account,
            "capabilities": dict(self.capabilities),
            "missing": {k: list(v) for k, v in self.missing.items()},
            "write_scopes": list(self.write_scopes),
            "warnings": list(self.warnings),
        }


def report_from_scopes(key_id: str, scopes: list[str]) -> KeyReport:
    """Everything that follows from the scope list alone (pure, no I/O)."""
    granted = permission_scopes(scopes)
    report = KeyReport(valid=True, key_id=key_id, scopes=sorted(set(scopes)))
    report.kind = classify_key(granted)
    possible = applicable(report.kind)
    for capability in CAPABILITIES:
        available = has_capability(capability, granted)
        report.capabilities[capability.name] = available
        if not available and capability.name in possible:
            report.missing[capability.name] = missing_scopes(capability, granted)
    report.write_scopes = write_scopes(granted)
    if report.write_scopes:
        report.warnings.append(over_privilege_warning(report.write_scopes))
    if report.kind is KeyKind.UNKNOWN:
        report.warnings.append("the key has no permission scopes at all")
    return report


async def diagnose(client: SendGridClient) -> KeyReport:
    """Read `/v3/scopes` (errors propagate: 401 means an invalid key), then extras."""
    scopes = await client.scopes()
    report = report_from_scopes(client.key.key_id, scopes)
    if client.key.trimmed:
        report.warnings.append("whitespace around the key was removed")
    granted = permission_scopes(scopes)
    if "user.username.read" in granted:
        try:
            found = await client.user_username()
            report.account, report.user_id = found.username, found.user_id
        except (ApiError, ProtocolError) as exc:
            report.warnings.append(f"could not read the account username: {exc}")
    if "api_keys.read" in granted:
        try:
            report.key_name = (await client.own_api_key()).name
        except (ApiError, ProtocolError) as exc:
            report.warnings.append(f"could not read the key's name: {exc}")
    return report


def capability(name: Capability) -> CapabilityRule:
    for candidate in CAPABILITIES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
