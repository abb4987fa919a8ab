"""GET handlers: each turns a caller's view plus query into a response body.

Handlers raise BadRequest for bad input; they never see auth or faults.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from smp.simulator import params as qp
from smp.simulator.errors import BadRequest
from smp.simulator.invoices import invoices_body
from smp.simulator.stats import AGGREGATIONS, aggregate, month_total
from smp.simulator.tenant import Tenant
from smp.simulator.world import METRIC_NAMES, SimKey, SsoIntegration, Teammate


@dataclass
class Call:
    tenant: Tenant
    params: qp.Params
    args: dict[str, str]
    key: SimKey
    today: dt.date
    invoice_format: str


Handler = Callable[[Call], object]
MONTHLY_SORT_METRICS = tuple(
    m
    for m in METRIC_NAMES
    if m
    not in (
        "bounce_drops",
        "deferred",
        "invalid_emails",
        "processed",
        "spam_report_drops",
        "spam_reports",
        "unsubscribe_drops",
    )
)


def _list_item(mate: Teammate) -> dict[str, object]:
    item: dict[str, object] = dict(mate)
    del item["scopes"]
    return item


def scopes(call: Call) -> object:
    return {"scopes": call.key.scopes}


def teammates(call: Call) -> object:
    limit = qp.integer(call.params, "limit", 500, 0, 500)
    offset = qp.integer(call.params, "offset", 0)
    page = call.tenant.teammates[offset : offset + limit]
    return {"result": [_list_item(mate) for mate in page]}


def pending(call: Call) -> object:
    return {"result": call.tenant.pending}


def teammate(call: Call) -> object:
    mate = call.tenant.teammate_index.get(call.args["username"])
    if mate is None:
        raise BadRequest(None, "Teammate not found", status=404)
    return mate


def subuser_access(call: Call) -> object:
    name = call.args["username"]
    mate = call.tenant.teammate_index.get(name)
    if mate is None:
        raise BadRequest("teammate_name", "teammate not found")
    limit = qp.integer(call.params, "limit", 100, 1, 100)
    after = qp.integer(call.params, "after_subuser_id", 0)
    wanted = qp.one(call.params, "username")
    entries = []
    for access in call.tenant.subuser_access.get(name, []):
        sub = next(s for s in call.tenant.subusers if s.id == access["subuser_id"])
        if access["subuser_id"] <= after or (wanted and wanted not in sub.username):
            continue
        entries.append(
            {
                "id": sub.id,
                "username": sub.username,
                "email": sub.email,
                "disabled": sub.disabled,
                "permission_type": access["permission_type"],
                "scopes": access["scopes"],
            }
        )
    page = entries[:limit]
    more = len(entries) > limit
    next_params: dict[str, object] = {
        "limit": limit,
        # SendGrid documents null as "no more entries" (schema says integer).
        "after_subuser_id": page[-1]["id"] if more else None,
    }
    if wanted:
        next_params["username"] = wanted
    return {
        "has_restricted_subuser_access": not mate["is_admin"],
        "subuser_access": page,
        "_metadata": {"next_params": next_params},
    }


def user_account(call: Call) -> object:
    return {"type": call.tenant.type, "reputation": call.tenant.reputation}


def user_profile(call: Call) -> object:
    return call.tenant.profile


def user_email(call: Call) -> object:
    return {"email": call.tenant.email}


def user_username(call: Call) -> object:
    return {"username": call.tenant.username, "user_id": call.tenant.user_id}


def user_credits(call: Call) -> object:
    return call.tenant.credits


def _range(call: Call) -> tuple[dt.date, dt.date, str]:
    start = qp.date(call.params, "start_date")
    end = qp.date(call.params, "end_date", call.today)
    if end < start:
        raise BadRequest("end_date", "end_date must not be before start_date")
    if start > call.today:
        raise BadRequest("start_date", "start_date must not be in the future")
    by = qp.choice(call.params, "aggregated_by", "day", AGGREGATIONS)
    return start, min(end, call.today), by


def _page(call: Call, items: list[dict[str, object]]) -> list[dict[str, object]]:
    limit = qp.integer(call.params, "limit", 500, 1)
    offset = qp.integer(call.params, "offset", 0)
    return items[offset : offset + limit]


def stats(call: Call) -> object:
    start, end, by = _range(call)
    buckets = aggregate(call.tenant.daily_stats, start, end, by, call.tenant.months)
    items: list[dict[str, object]] = [
        {"date": day, "stats": [{"metrics": m}]} for day, m in buckets
    ]
    return _page(call, items)


def subusers(call: Call) -> object:
    limit = qp.integer(call.params, "limit", 500, 0)
    offset = qp.integer(call.params, "offset", 0)
    region = qp.choice(call.params, "region", "all", ("all", "global", "eu"))
    with_region = qp.boolean(call.params, "include_region")
    wanted = qp.one(call.params, "username")
    items = []
    for sub in call.tenant.subusers:
        if (wanted and sub.username != wanted) or region not in ("all", sub.region):
            continue
        item: dict[str, object] = {
            "id": sub.id,
            "username": sub.username,
            "email": sub.email,
            "disabled": sub.disabled,
        }
        if with_region:
            item["region"] = sub.region
        items.append(item)
    return items[offset : offset + limit]


def subuser_credits(call: Call) -> object:
    sub = call.tenant.subuser_index.get(call.args["name"])
    if sub is None:
        raise BadRequest(None, "No user found")
    return sub.credits


def subusers_stats(call: Call) -> object:
    names = call.params.get("subusers", [])
    if not names:
        raise BadRequest("subusers", "subusers is required")
    if len(names) > 10:
        raise BadRequest("subusers", "no more than 10 subusers may be requested")
    for name in names:
        if name not in call.tenant.subuser_index:
            raise BadRequest("subusers", f"subuser {name} does not exist")
    start, end, by = _range(call)
    tenant = call.tenant
    series = [
        (
            name,
            aggregate(
                tenant.subuser_index[name].daily_stats,
                start,
                end,
                by,
                tenant.subuser_months.get(name),
            ),
        )
        for name in names
    ]
    items: list[dict[str, object]] = []
    for position, (day, _) in enumerate(series[0][1]):
        entries = [
            {"type": "subuser", "name": name, "metrics": buckets[position][1]}
            for name, buckets in series
        ]
        items.append({"date": day, "stats": entries})
    return _page(call, items)


def subusers_monthly(call: Call) -> object:
    day = qp.date(call.params, "date")
    metric = qp.choice(call.params, "sort_by_metric", "delivered", MONTHLY_SORT_METRICS)
    direction = qp.choice(call.params, "sort_by_direction", "desc", ("desc", "asc"))
    limit = qp.integer(call.params, "limit", 5, 1)
    offset = qp.integer(call.params, "offset", 0)
    wanted = qp.one(call.params, "subuser")
    rows = []
    for sub in call.tenant.subusers:
        if wanted and wanted not in sub.username:
            continue
        rows.append(
            {
                "first_name": sub.first_name,
                "last_name": sub.last_name,
                "name": sub.username,
                "type": "subuser",
                "metrics": month_total(sub.daily_stats, day),
            }
        )
    rows.sort(key=lambda row: str(row["name"]))
    rows.sort(key=lambda row: row["metrics"][metric], reverse=direction == "desc")  # type: ignore[index]
    return {
        "date": day.replace(day=1).isoformat(),
        "stats": rows[offset : offset + limit],
    }


def api_keys(call: Call) -> object:
    limit = qp.integer(call.params, "limit", 100, 1)
    live = [k for k in call.tenant.keys if k.kind != "revoked"][:limit]
    return {"result": [{"api_key_id": k.key_id, "name": k.name} for k in live]}


def api_key(call: Call) -> object:
    for key in call.tenant.keys:
        if key.key_id == call.args["key_id"] and key.kind != "revoked":
            # Flat, as real SendGrid answers (fact sheet §10), not the spec's list.
            return {"api_key_id": key.key_id, "name": key.name, "scopes": key.scopes}
    raise BadRequest(None, "unable to find API Key", status=404)


def invoices(call: Call) -> object:
    limit = qp.integer(call.params, "limit", 50, 1, 500)
    offset = qp.integer(call.params, "offset", 0)
    newest_first = list(reversed(call.tenant.invoices))
    return invoices_body(newest_first[offset : offset + limit], call.invoice_format)


# --- SSO, IP access and validation jobs (issue M) -----------------------------------


def _pro_only(call: Call) -> None:
    """SSO and e-mail validation are Pro plans and up (fact sheet §2, §9): a
    free account is refused as SendGrid refuses a key without the scope."""
    if call.tenant.type != "paid":
        raise BadRequest(None, "access forbidden", status=403)


def _sso_body(sso: SsoIntegration, with_completed: bool) -> dict[str, object]:
    body: dict[str, object] = {k: v for k, v in sso.items() if k != "certificates"}
    body["single_signon_url"] = body["audience_url"] = (
        f"https://api.sendgrid.com/v3/public/sso/saml/response/id/{sso['id']}"
    )
    if not with_completed:
        # Only `?si=true` adds it (spec).
        del body["completed_integration"]
    return body


def sso_integrations(call: Call) -> object:
    _pro_only(call)
    with_completed = qp.boolean(call.params, "si")
    # A bare array, as the spec has it.
    return [_sso_body(s, with_completed) for s in call.tenant.sso_integrations]


def _sso(call: Call, key: str) -> SsoIntegration:
    _pro_only(call)
    for sso in call.tenant.sso_integrations:
        if sso["id"] == call.args[key]:
            return sso
    raise BadRequest(None, "resource not found", status=404)


def sso_integration(call: Call) -> object:
    return _sso_body(_sso(call, "id"), qp.boolean(call.params, "si"))


def sso_certificates(call: Call) -> object:
    sso = _sso(call, "integration_id")
    # `intergration_id`: SendGrid's own spelling of the field.
    return [{**cert, "intergration_id": sso["id"]} for cert in sso["certificates"]]


def ip_allowlist(call: Call) -> object:
    return {"result": call.tenant.ip_allowlist}


def access_activity(call: Call) -> object:
    limit = qp.integer(call.params, "limit", 20, 1)
    latest = sorted(call.tenant.access_activity, key=lambda a: -a["last_at"])
    return {"result": latest[:limit]}


_JOB_DETAIL_ONLY = ("segments", "segments_processed", "is_download_available", "errors")


def validation_jobs(call: Call) -> object:
    _pro_only(call)
    return {
        "result": [
            {k: v for k, v in job.items() if k not in _JOB_DETAIL_ONLY}
            for job in call.tenant.validation_jobs
        ]
    }


def validation_job(call: Call) -> object:
    _pro_only(call)
    for job in call.tenant.validation_jobs:
        if job["id"] == call.args["job_id"]:
            detail: dict[str, object] = {
                "segments": 0,
                "segments_processed": 0,
                "is_download_available": job["status"] == "Done",
                "errors": [],
            }
            detail.update(job)
            return {"result": detail}
    raise BadRequest(None, "resource not found", status=404)
