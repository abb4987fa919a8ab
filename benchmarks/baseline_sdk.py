"""The baseline: a plain sequential script on the official `sendgrid` SDK.

It reads what SMP reads, through the same endpoints and the same pages, one
request after another, the way a cron script would:

    python benchmarks/baseline_sdk.py KEYS.json [--json]

KEYS.json: [{"base_url": ..., "full": "SG...", "billing": "SG..."}, ...]
It prints the request count and the wall time; the data is only counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from typing import Any

from sendgrid import SendGridAPIClient

TEAMMATE_PAGE, SUBUSER_PAGE, INVOICE_PAGE, NAMES_PER_STATS_CALL = 500, 500, 100, 10
HISTORY_MONTHS = 24


class Counted:
    """Wraps the SDK client to count requests and decode bodies."""

    def __init__(self, key: str, base_url: str) -> None:
        self.client = SendGridAPIClient(api_key=key, host=base_url).client
        self.requests = 0

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        node = self.client
        for part in path.strip("/").split("/")[1:]:  # skip "v3"
            node = node._(part)
        self.requests += 1
        response = node.get(query_params=params)
        return json.loads(response.body or b"null")


def _pages(sg: Counted, path: str, size: int, key: str | None = None) -> list[Any]:
    items: list[Any] = []
    offset = 0
    while True:
        page = sg.get(path, {"limit": size, "offset": offset})
        rows = page[key] if key else page
        items += rows
        if len(rows) < size:
            return items
        offset += size


def _start_month(today: dt.date) -> dt.date:
    month = today.year * 12 + today.month - 1 - (HISTORY_MONTHS - 1)
    return dt.date(month // 12, month % 12 + 1, 1)


def sync_account(full: Counted, billing: Counted) -> int:
    """Everything SMP's full sync reads for one account; returns a record count."""
    today = dt.datetime.now(dt.UTC).date()
    window = {
        "start_date": _start_month(today).isoformat(),
        "end_date": today.isoformat(),
        "aggregated_by": "month",
    }
    full.get("/v3/scopes")
    billing.get("/v3/scopes")
    records = len(full.get("/v3/user/username")) + len(full.get("/v3/user/account"))
    records += len(_pages(full, "/v3/teammates", TEAMMATE_PAGE, "result"))
    records += len(full.get("/v3/teammates/pending")["result"])
    subusers = _pages(full, "/v3/subusers", SUBUSER_PAGE)
    names = [s["username"] for s in subusers]
    for name in names:
        records += len(full.get(f"/v3/subusers/{name}/credits"))
    records += len(full.get("/v3/user/credits"))
    records += len(full.get("/v3/stats", {**window, "limit": 500, "offset": 0}))
    for start in range(0, len(names), NAMES_PER_STATS_CALL):
        chunk = names[start : start + NAMES_PER_STATS_CALL]
        params = {**window, "subusers": chunk, "limit": 500, "offset": 0}
        records += len(full.get("/v3/subusers/stats", params))
    records += len(_pages(billing, "/v3/billing/invoices", INVOICE_PAGE, "result"))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("keys_file")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with open(args.keys_file, encoding="utf-8") as handle:
        accounts = json.load(handle)
    started = time.perf_counter()
    requests = records = 0
    for account in accounts:
        full = Counted(account["full"], account["base_url"])
        billing = Counted(account["billing"], account["base_url"])
        records += sync_account(full, billing)
        requests += full.requests + billing.requests
    seconds = time.perf_counter() - started
    result = {
        "accounts": len(accounts),
        "requests": requests,
        "records": records,
        "seconds": round(seconds, 3),
    }
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
