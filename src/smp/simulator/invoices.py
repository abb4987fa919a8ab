"""`GET /v3/billing/invoices` (undocumented; see ADR 0003) and its variants.

`spec` is the shape we assume; the other formats exist so that the client can be
tested against the shapes third-party code has seen in the wild.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from smp.simulator.world import Invoice

_DATE_FIELDS = ("date", "due_date", "period_start", "period_end")
_AMOUNT_FIELDS = ("amount", "balance", "unpaid_balance")


def _epoch(day: str) -> int:
    parsed = dt.date.fromisoformat(day)
    return int(
        dt.datetime(parsed.year, parsed.month, parsed.day, tzinfo=dt.UTC).timestamp()
    )


def _item(invoice: Invoice, invoice_format: str) -> dict[str, Any]:
    item: dict[str, Any] = dict(invoice)
    if invoice_format == "total_amount":
        item["total_amount"] = item.pop("amount")
    elif invoice_format == "epoch_dates":
        for name in _DATE_FIELDS:
            item[name] = _epoch(item[name])
    elif invoice_format == "string_amounts":
        for name in _AMOUNT_FIELDS:
            item[name] = f"{item[name]:.2f}"
    return item


def invoices_body(page: list[Invoice], invoice_format: str) -> object:
    items = [_item(invoice, invoice_format) for invoice in page]
    if invoice_format == "bare":
        return items
    if invoice_format == "invoices_key":
        return {"invoices": items}
    if invoice_format == "data_key":
        return {"data": items}
    return {"result": items}
