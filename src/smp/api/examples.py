"""Example answers for the API reference: made-up values in the real shapes.

Each is checked against its model by the tests, so an example cannot drift
from the schema it illustrates.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

AT = "2026-03-01T09:30:00Z"

EXAMPLES: dict[str, dict[str, Any]] = {
    "IntegrationOut": {
        "id": 1,
        "name": "Acme mail",
        "region": "global",
        "created_at": AT,
        "sync_interval_s": 21600,
        "last_sync_at": AT,
        "syncing": False,
        "service_accounts": 2,
        "needs_attention": 0,
        "billing_confirmed_by": "ada",
        "billing_confirmed_at": AT,
    },
    "ServiceAccountOut": {
        "id": 3,
        "integration_id": 1,
        "label": "Read-only key",
        "key": "SG.a1B2c3D4e5F6g7H8i9J0kL…",
        "kind": "restricted",
        "status": "ok",
        "scopes": ["teammates.read", "subusers.read"],
        "capabilities": ["members", "subusers"],
        "missing": {"invoices": ["billing.read"]},
        "last_sync_at": AT,
        "last_error": None,
        "created_at": AT,
        "removed_at": None,
    },
    "MemberOut": {
        "id": 42,
        "email": "grace@example.com",
        "username": "grace",
        "first_name": "Grace",
        "last_name": "Hopper",
        "role": "admin",
        "status": "active",
        "is_sso": False,
        "invite_expires_at": None,
        "invite_expired": None,
        "first_seen": AT,
        "removed_at": None,
        "source": "Read-only key",
    },
    "MemberEventOut": {
        "id": 9,
        "kind": "role_changed",
        "member_key": "grace",
        "email": "grace@example.com",
        "username": "grace",
        "old_role": "user",
        "new_role": "admin",
        "occurred_at": AT,
        "members_found": None,
        "invites_found": None,
        "source": "Read-only key",
    },
    "MemberCountsOut": {
        "active": 12,
        "roles": {"owner": 1, "admin": 3, "user": 8},
        "pending_invites": 2,
        "expired_invites": 1,
        "removed": 4,
    },
    "SubuserOut": {
        "username": "acme-marketing",
        "email": "marketing@example.com",
        "disabled": False,
        "region": "global",
        "credit_type": "recurring",
        "credits_total": 50000,
        "credits_used": 12000,
        "credits_remain": 38000,
        "reset_frequency": "monthly",
        "credits_read_at": AT,
        "credits_period_ended": False,
        "source": "Full key",
    },
    "InvoiceOut": {
        "invoice_id": "INV-2026-0042",
        "number": "42",
        "date": "2026-03-01",
        "due_date": "2026-03-15",
        "period_start": "2026-02-01",
        "period_end": "2026-02-28",
        "amount": "89.95",
        "currency": "USD",
        "status": "paid",
        "balance": "0.00",
        "source": "Billing key",
    },
    "UsageOut": {
        "subuser": None,
        "last_reset": "2026-03-01",
        "next_reset": "2026-04-01",
        "total": 100000,
        "used": 40000,
        "remain": 60000,
        "overage": 0,
        "utilization": 0.4,
        "forecast_used_at_reset": 96000.0,
        "overage_risk": False,
        "observed_at": AT,
        "period_ended": False,
        "unreadable": [],
    },
    "MonthlyVolumeOut": {
        "month": "2026-02-01",
        "subuser": None,
        "closed": True,
        "metrics": {"requests": 120000, "delivered": 118500},
    },
    "SyncRunOut": {
        "id": 17,
        "integration_id": 1,
        "trigger": "schedule",
        "started_at": AT,
        "finished_at": "2026-03-01T09:30:08Z",
        "outcome": "ok",
        "capabilities": {"members": {"outcome": "ok"}},
        "requests": 14,
        "retries": 0,
        "rate_limit_waits": 0,
        "errors": [],
    },
}


def example(model: str) -> ConfigDict:
    """The model config that puts `model`'s example in the OpenAPI schema."""
    return ConfigDict(json_schema_extra={"examples": [EXAMPLES[model]]})
