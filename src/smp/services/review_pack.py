"""The files of an evidence pack: the workbook, the JSON and the printable report.

Each file streams the campaign's items from one `PackSource` (one
consistent read), so a campaign of 200,000 items never sits in memory: the
workbook goes through smp.spreadsheets' write-only mode, the JSON is
written item by item, the report through jinja2's `generate`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from smp.model.reviews import SNAPSHOT_FIELDS, snapshot_digest
from smp.model.rules_reviews import checklist
from smp.services.review_manifest import JSON_FILE
from smp.spreadsheets import write_xlsx
from smp.storage.review_exports import CampaignHeader, PackSource

WORKBOOK = "reviews.xlsx"
REPORT = "report.html"
SUMMARY_SHEET = "Summary"

# The workbook's item columns: (title, record key), in the sheet's order.
ITEM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Item", "item_id"),
    ("Kind", "account_kind"),
    ("Account", "account_key"),
    ("Email", "email"),
    ("Username", "username"),
    ("Name", "person_name"),
    ("Department", "department"),
    ("Manager", "manager_email"),
    ("Role", "role"),
    ("Scopes", "scopes_text"),
    ("SSO", "sso_text"),
    ("2FA exempt", "two_fa_exempt"),
    ("2FA required", "two_fa_required"),
    ("Classification", "classification"),
    ("Open findings", "findings_text"),
    ("Reviewer", "reviewer_text"),
    ("Decision", "decision"),
    ("New role", "new_role"),
    ("Reason", "reason"),
    ("Decided by", "decided_by"),
    ("Decided at", "decided_at_text"),
    ("Remediation", "remediation"),
    ("Verified at", "verified_at_text"),
    ("To change in SendGrid", "checklist_text"),
)
NOT_READ = "not read"


def when(value: dt.datetime | dt.date | None) -> str | None:
    """ISO 8601 in UTC, a time with its `Z`."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    return value.isoformat()


def _flag(value: bool | None) -> str:
    return NOT_READ if value is None else ("yes" if value else "no")


def record(item: Mapping[str, Any], integration: str) -> dict[str, Any]:
    """One item as the pack's files show it (stored row → shown values)."""
    two_fa = item["two_fa"]
    scopes = item["scopes"]
    steps = checklist(
        kind=item["account_kind"],
        decision=item["decision"],
        email=item["email"],
        username=item["username"],
        new_role=item["new_role"],
    )
    return {
        **item,
        "item_id": item["id"],
        "integration": integration,
        "scopes_text": NOT_READ if scopes is None else ", ".join(scopes),
        "sso_text": _flag(item["is_sso"]),
        "two_fa_exempt": _flag(None if two_fa is None else two_fa.get("2fa_exempt")),
        "two_fa_required": _flag(
            None if two_fa is None else two_fa.get("2fa_required")
        ),
        "findings_text": "; ".join(
            f"{f.get('title')} ({f.get('severity')})" for f in item["open_findings"]
        ),
        "reviewer_text": item["reviewer"] or "admins",
        "decided_at_text": when(item["decided_at"]),
        "verified_at_text": when(item["remediation_verified_at"]),
        "checklist": steps,
        "checklist_text": " ".join(steps),
    }


@dataclass(slots=True)
class PackFacts:
    """What the summary states: the campaign and its counts."""

    header: CampaignHeader
    generated_at: dt.datetime
    draft: bool
    decisions: Counter[str] = field(default_factory=Counter)
    remediation: Counter[str] = field(default_factory=Counter)
    per_integration: dict[int, Counter[str]] = field(default_factory=dict)
    total: int = 0

    @classmethod
    def read(cls, source: PackSource, generated_at: dt.datetime) -> PackFacts:
        header = source.header()
        facts = cls(header, generated_at, header.fields["status"] != "closed")
        facts.per_integration = {iid: Counter() for iid, _ in header.integrations}
        for iid, decision, remediation, count in source.counts():
            facts.decisions[decision or "undecided"] += count
            facts.remediation[remediation] += count
            facts.per_integration.setdefault(iid, Counter())[
                decision or "undecided"
            ] += count
            facts.total += count
        return facts

    @property
    def name(self) -> str:
        return str(self.header.fields["name"])

    def campaign_json(self) -> dict[str, Any]:
        f = self.header.fields
        return {
            "id": f["id"],
            "name": f["name"],
            "status": f["status"],
            "draft": self.draft,
            "integrations": [
                {"id": iid, "name": name} for iid, name in self.header.integrations
            ],
            "due": when(f["due"]),
            "reviewer_rule": f["reviewer_rule"],
            "created_by": f["created_by"],
            "created_at": when(f["created_at"]),
            "signed_off_by": f["signed_off_by"],
            "signed_off_at": when(f["signed_off_at"]),
            "snapshot_sha256": f["snapshot_sha256"],
            "items": self.total,
            "decisions": dict(sorted(self.decisions.items())),
            "remediation": dict(sorted(self.remediation.items())),
        }

    def summary_rows(self) -> list[tuple[str, object]]:
        c = self.campaign_json()
        rows: list[tuple[str, object]] = [
            ("Campaign", c["name"]),
            ("Campaign id", c["id"]),
            ("Status", c["status"]),
            (
                "Pack",
                "DRAFT: the campaign is still open, decisions may change"
                if self.draft
                else "final: the campaign is signed off",
            ),
            ("Integrations", ", ".join(i["name"] for i in c["integrations"])),
            ("Due", c["due"] or "no due date"),
            ("Reviewers", c["reviewer_rule"]),
            ("Created by", c["created_by"] or "SMP"),
            ("Created at", c["created_at"]),
            ("Signed off by", c["signed_off_by"] or "not signed off"),
            ("Signed off at", c["signed_off_at"] or "not signed off"),
            ("Snapshot SHA-256", c["snapshot_sha256"]),
            ("Generated at", when(self.generated_at)),
            ("Items", self.total),
        ]
        rows += [(f"Decision: {k}", v) for k, v in c["decisions"].items()]
        rows += [(f"Remediation: {k}", v) for k, v in c["remediation"].items()]
        return rows


def _sheet_names(integrations: Sequence[tuple[int, str]]) -> dict[int, str]:
    """One distinct sheet name per integration (Excel: ≤ 31 characters,
    unique without case, and none may be the summary's)."""
    used = {SUMMARY_SHEET.casefold()}
    names = {}
    for iid, name in integrations:
        title = name[:31]
        if title.casefold() in used:
            suffix = f" ({iid})"
            title = name[: 31 - len(suffix)] + suffix
        used.add(title.casefold())
        names[iid] = title
    return names


_ENV = Environment(
    loader=PackageLoader("smp.services", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def write_workbook_and_report(
    directory: Path, source: PackSource, facts: PackFacts
) -> None:
    """reviews.xlsx and report.html in one pass over the items: both list
    them per integration, in the same order (one database read, not two)."""
    keys = [key for _, key in ITEM_COLUMNS]
    sheet_names = _sheet_names(facts.header.integrations)
    # The template's macros (head, section_head, row, section_tail, tail).
    report: Any = _ENV.get_template("review_report.html").make_module()
    with (directory / REPORT).open("w", encoding="utf-8") as html:
        html.write(report.head(facts, facts.summary_rows()))

        def rows(iid: int, integration: str) -> Iterator[list[object]]:
            counts = facts.per_integration.get(iid, Counter())
            html.write(report.section_head(integration, dict(sorted(counts.items()))))
            for item in source.items(iid):
                shown = record(item, integration)
                html.write(report.row(shown))
                yield [shown[key] for key in keys]
            html.write(report.section_tail())

        sheets: list[tuple[str, Sequence[str], Iterable[Sequence[object]]]] = [
            (SUMMARY_SHEET, ["Field", "Value"], facts.summary_rows())
        ]
        sheets += [
            (sheet_names[iid], [title for title, _ in ITEM_COLUMNS], rows(iid, name))
            for iid, name in facts.header.integrations
        ]
        write_xlsx(directory / WORKBOOK, sheets)
        html.write(report.tail())


def _json_item(shown: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "snapshot": {name: shown[name] for name in SNAPSHOT_FIELDS},
        "integration": shown["integration"],
        "reviewer": shown["reviewer"],
        "decision": {
            "decision": shown["decision"],
            "new_role": shown["new_role"],
            "reason": shown["reason"],
            "decided_by": shown["decided_by"],
            "decided_at": shown["decided_at_text"],
        },
        "remediation": {
            "status": shown["remediation"],
            "checked_at": when(shown["remediation_checked_at"]),
            "verified_at": shown["verified_at_text"],
            "steps": list(shown["checklist"]),
        },
    }


def write_json(directory: Path, source: PackSource, facts: PackFacts) -> str:
    """campaign.json, item by item; returns the snapshot's hash recomputed
    from what it wrote (smp.model.reviews.snapshot_digest, fed as it goes)."""
    names = dict(facts.header.integrations)
    with (directory / JSON_FILE).open("w", encoding="utf-8") as out:
        head = {
            "format": "smp-review-campaign/1",
            "draft": facts.draft,
            "generated_at": when(facts.generated_at),
            "campaign": facts.campaign_json(),
        }
        # The header as JSON without its closing brace, then the items.
        out.write(json.dumps(head, indent=1, ensure_ascii=False)[:-2])
        out.write(',\n "items": [')

        def written() -> Iterator[Mapping[str, Any]]:
            for number, item in enumerate(source.items()):
                one = _json_item(record(item, names.get(item["integration_id"], "")))
                out.write("\n  " if number == 0 else ",\n  ")
                out.write(json.dumps(one, ensure_ascii=False))
                yield one["snapshot"]

        digest = snapshot_digest(written())
        out.write("\n ]\n}\n")
    return digest
