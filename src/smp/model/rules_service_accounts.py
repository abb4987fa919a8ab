"""Rules over the keys SMP itself holds for an integration (service accounts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smp.model.findings import Fact, Facts, Observation, Rule, Severity


@dataclass(frozen=True, slots=True)
class ServiceKey:
    id: int
    label: str
    key_id: str
    kind: str
    status: str  # smp.model.enums.KeyStatus


SERVICE_KEYS: Fact[Sequence[ServiceKey]] = Fact("service_keys")


def keys_needing_attention(facts: Facts) -> list[Observation]:
    return [
        Observation(
            subject_key=f"service_account:{key.id}",
            subject_label=f"{key.label} (SG.{key.key_id}…)",
            evidence={
                "label": key.label,
                "key_id": key.key_id,
                "kind": key.kind,
                "status": key.status,
            },
        )
        for key in facts.get(SERVICE_KEYS)
        if key.status in ("needs_attention", "invalid")
    ]


KEY_NEEDS_ATTENTION = Rule(
    id="key_needs_attention",
    severity=Severity.MEDIUM,
    title="Key needs attention",
    explanation=(
        "A key SMP syncs with was refused by SendGrid or lacks scopes it needs, "
        "so part of the integration's data is no longer read."
    ),
    fix=(
        "Run `smp service-account list NAME --json` (NAME: the integration) to "
        "see the key's status and what it misses, or check the key itself with "
        "`smp doctor --key-env VAR`, VAR holding the key.",
        "In SendGrid, open Settings → API Keys and edit the key's permissions, "
        "or create a new read-only key with `smp doctor`'s body and add it to SMP.",
    ),
    needs=(SERVICE_KEYS,),
    evaluate=keys_needing_attention,
)
