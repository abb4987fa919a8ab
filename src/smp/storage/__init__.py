"""Storage: SQLAlchemy 2 tables, Alembic migrations, repositories, secrets at rest.

Repository functions take a `Session` and never commit: the caller (the sync
engine, the CLI) owns the transaction, so one capability's writes commit or
roll back together. Queries return `smp.model` records, never ORM rows.
"""

from __future__ import annotations

from smp.storage.accounts import (
    credit_bases,
    get_identity,
    list_invoices,
    list_subusers,
    save_credit_bases,
    save_identity,
    save_invoices,
    save_subusers,
)
from smp.storage.baseline import first_listing, record_baseline
from smp.storage.engine import (
    database_url,
    describe,
    ensure_home,
    make_engine,
    normalize_url,
    read_session,
    session_factory,
)
from smp.storage.errors import (
    ConfigError,
    DuplicateNameError,
    LockBusyError,
    MasterKeyError,
    RecordNotFoundError,
    StorageError,
)
from smp.storage.integrations import (
    add_service_account,
    create_integration,
    delete_integration,
    get_integration,
    get_service_account,
    list_integrations,
    list_service_accounts,
    remove_service_account,
    set_service_account_status,
    set_sync_interval,
)
from smp.storage.lock import integration_lock
from smp.storage.member_queries import (
    COUNT_LIMIT,
    InviteCounts,
    MemberPage,
    count_invites,
    count_members,
    count_members_by_role,
    list_member_events,
    list_members,
    page_members,
)
from smp.storage.members import save_invites, save_members
from smp.storage.migrate import check_database, head_revision, migrate
from smp.storage.runs import (
    close_interrupted_runs,
    finish_sync_run,
    get_sync_run,
    list_sync_runs,
    start_sync_run,
)
from smp.storage.secrets import (
    SecretBox,
    check_master_key,
    generate_key,
    rotate_master_key,
)
from smp.storage.upsert import upsert
from smp.storage.usage import (
    current_usage,
    list_monthly_volumes,
    save_usage_period,
    save_volume_sets,
    stored_volume_months_of,
    usage_history,
    usage_view,
)

__all__ = [
    "COUNT_LIMIT",
    "ConfigError",
    "DuplicateNameError",
    "InviteCounts",
    "LockBusyError",
    "MasterKeyError",
    "MemberPage",
    "RecordNotFoundError",
    "SecretBox",
    "StorageError",
    "add_service_account",
    "check_database",
    "check_master_key",
    "close_interrupted_runs",
    "count_invites",
    "count_members",
    "count_members_by_role",
    "create_integration",
    "credit_bases",
    "current_usage",
    "database_url",
    "delete_integration",
    "describe",
    "ensure_home",
    "finish_sync_run",
    "first_listing",
    "generate_key",
    "get_identity",
    "get_integration",
    "get_service_account",
    "get_sync_run",
    "head_revision",
    "integration_lock",
    "list_integrations",
    "list_invoices",
    "list_member_events",
    "list_members",
    "list_monthly_volumes",
    "list_service_accounts",
    "list_subusers",
    "list_sync_runs",
    "make_engine",
    "migrate",
    "normalize_url",
    "page_members",
    "read_session",
    "record_baseline",
    "remove_service_account",
    "rotate_master_key",
    "save_credit_bases",
    "save_identity",
    "save_invites",
    "save_invoices",
    "save_members",
    "save_subusers",
    "save_usage_period",
    "save_volume_sets",
    "session_factory",
    "set_service_account_status",
    "set_sync_interval",
    "start_sync_run",
    "stored_volume_months_of",
    "upsert",
    "usage_history",
    "usage_view",
]
