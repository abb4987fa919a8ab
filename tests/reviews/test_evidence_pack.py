"""The evidence pack on a synced simulator world, on SQLite and PostgreSQL:
its files say what the world and the decisions are, an open campaign's pack
is a draft everywhere, `smp reviews verify` passes on a fresh pack and names
every changed, missing or extra file, and export never overwrites files that
are not a previous pack's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import html5lib
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session
from tests.reviews.world import ADMIN, ReviewWorld, build
from tests.support.people_cli import use_database
from typer.testing import CliRunner, Result

from smp.cli.main import app
from smp.model.reviews import ReviewerRule
from smp.services import reviews
from smp.services.refusals import Refused
from smp.services.review_evidence import export_pack
from smp.services.review_manifest import write_manifest
from smp.storage.tables import AuditEventRow, ReviewCampaignRow, ReviewItemRow

# A name that HTML must escape and a spreadsheet must keep as text.
NAME = "Q4 <b>access</b> & review"
FILES = ("campaign.json", "manifest.json", "report.html", "reviews.xlsx")
EXPORTED_AT = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Packs:
    rw: ReviewWorld
    final: Path
    draft: Path
    final_id: int
    draft_id: int
    revoked: str  # the e-mail decided revoke


def _campaign(rw: ReviewWorld, name: str) -> int:
    made = reviews.create_campaign(
        rw.engine,
        name=name,
        integrations=[rw.name],
        due=dt.date(2027, 1, 31),
        rule=ReviewerRule.OWNER,
        actor=ADMIN,
        now=rw.now,
    )
    return made.id


def _teammate_items(engine: Engine, campaign_id: int) -> list[ReviewItemRow]:
    with Session(engine, expire_on_commit=False) as session:
        rows = list(
            session.scalars(
                select(ReviewItemRow)
                .where(ReviewItemRow.campaign_id == campaign_id)
                .order_by(ReviewItemRow.id)
            )
        )
        session.expunge_all()
    return rows


@pytest.fixture(scope="module")
def packs(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Packs:
    rw = build(engine, "evidence world")
    final = _campaign(rw, NAME)
    draft = _campaign(rw, "Q4 still open")
    mates = [t for t in rw.world.accounts[0].teammates if t["user_type"] != "owner"]
    revoked = mates[0]["email"]
    later = rw.now + dt.timedelta(hours=1)
    for campaign_id in (final, draft):
        items = _teammate_items(engine, campaign_id)
        target = next(i.id for i in items if i.email == revoked)
        reviews.decide(
            engine, campaign_id, ADMIN, "revoke", item_ids=[target],
            reason="left the team", now=later,
        )  # fmt: skip
    reviews.decide(engine, final, ADMIN, "keep", expression="decision=none", now=later)
    reviews.sign_off(engine, final, ADMIN, now=later)
    out = tmp_path_factory.mktemp("packs")
    export_pack(engine, final, out / "final", ADMIN, now=EXPORTED_AT)
    export_pack(engine, draft, out / "draft", ADMIN, now=EXPORTED_AT)
    return Packs(rw, out / "final", out / "draft", final, draft, revoked)


def verify(*args: str) -> Result:
    return CliRunner().invoke(app, ["reviews", "verify", *args], catch_exceptions=False)


def _copy(pack: Path, tmp_path: Path) -> Path:
    copied = tmp_path / "copy"
    shutil.copytree(pack, copied)
    return copied


def _manifest(pack: Path) -> dict[str, Any]:
    return dict(json.loads((pack / "manifest.json").read_text()))


def _world_accounts(rw: ReviewWorld) -> set[str]:
    """The world's accounts as `kind:name` (a subuser by its username)."""
    account = rw.world.accounts[0]
    return (
        {f"teammate:{t['email'].lower()}" for t in account.teammates}
        | {f"invite:{p['email'].lower()}" for p in account.pending}
        | {f"subuser:{s.username}" for s in account.subusers}
    )


def _shown(kind: str, email: str | None, username: str | None) -> str:
    name = username if kind == "subuser" else (email or "").lower()
    return f"{kind}:{name}"


def test_a_fresh_pack_verifies(packs: Packs) -> None:
    result = verify(str(packs.final))
    assert result.exit_code == 0, result.output
    assert "Pack verified: 3 files and manifest.json match" in result.stdout
    assert sorted(p.name for p in packs.final.iterdir()) == list(FILES)


def test_manifest_states_every_file_and_the_snapshot(packs: Packs) -> None:
    manifest = _manifest(packs.final)
    for name in ("campaign.json", "report.html", "reviews.xlsx"):
        data = (packs.final / name).read_bytes()
        assert manifest["files"][name] == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
        }
    with Session(packs.rw.engine) as session:
        stored = session.get(ReviewCampaignRow, packs.final_id)
        assert stored is not None
        assert manifest["snapshot_sha256"] == stored.snapshot_sha256
    # Recomputed here from the pack's own JSON: the canonical array of the
    # frozen fields in item order (docs/evidence-pack.md).
    items = json.loads((packs.final / "campaign.json").read_text())["items"]
    canonical = json.dumps(
        [i["snapshot"] for i in items],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    assert manifest["snapshot_sha256_of_pack"] == hashlib.sha256(canonical).hexdigest()
    assert manifest["snapshot_sha256"] == manifest["snapshot_sha256_of_pack"]
    assert manifest["campaign_id"] == packs.final_id
    assert manifest["draft"] is False
    assert manifest["generated_at"] == "2026-12-31T23:30:00Z"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", manifest["smp_version"])


def test_the_files_hold_the_world_and_the_decisions(packs: Packs) -> None:
    rw = packs.rw
    expected = _world_accounts(rw)
    data = json.loads((packs.final / "campaign.json").read_text())
    assert data["draft"] is False
    assert data["campaign"]["name"] == NAME
    assert data["campaign"]["status"] == "closed"
    assert data["campaign"]["integrations"] == [
        {"id": rw.integration_id, "name": rw.name}
    ]
    assert data["campaign"]["decisions"] == {"keep": len(expected) - 1, "revoke": 1}
    shown = {
        _shown(
            i["snapshot"]["account_kind"],
            i["snapshot"]["email"],
            i["snapshot"]["username"],
        ): i
        for i in data["items"]
    }
    assert set(shown) == expected
    revoked = shown[f"teammate:{packs.revoked.lower()}"]
    assert revoked["decision"]["decision"] == "revoke"
    assert revoked["decision"]["reason"] == "left the team"
    assert revoked["remediation"]["status"] == "pending"
    assert revoked["remediation"]["steps"] == [
        "In SendGrid, open Settings → Teammates.",
        f"Find {revoked['snapshot']['email']} and choose Delete, then confirm.",
    ]

    book = load_workbook(packs.final / "reviews.xlsx", read_only=True)
    assert book.sheetnames == ["Summary", rw.name]
    summary = dict(book["Summary"].iter_rows(values_only=True))
    assert summary["Campaign"] == NAME  # text, not markup or a formula
    assert summary["Pack"] == "final: the campaign is signed off"
    assert summary["Decision: revoke"] == 1
    rows = list(book[rw.name].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    column = {name: header.index(name) for name in header}
    assert {
        _shown(r[column["Kind"]], r[column["Email"]], r[column["Username"]])
        for r in body
    } == expected
    (row,) = [r for r in body if r[column["Email"]] == revoked["snapshot"]["email"]]
    assert row[column["Decision"]] == "revoke"
    assert row[column["Reason"]] == "left the team"
    assert row[column["Remediation"]] == "pending"
    book.close()

    html = (packs.final / "report.html").read_text()
    assert "Q4 &lt;b&gt;access&lt;/b&gt; &amp; review" in html
    assert "<b>access</b>" not in html
    assert "@media print" in html
    # Nothing loaded from elsewhere: no links, scripts or imports at all.
    assert not re.search(r"\b(src|href)\s*=|<script|@import|url\(", html)
    assert html.count("<tr>") - 0 >= len(expected)
    assert "DRAFT" not in html
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    parser.parse(html)
    assert parser.errors == []


def test_an_open_campaigns_pack_is_a_draft_everywhere(packs: Packs) -> None:
    assert _manifest(packs.draft)["draft"] is True
    data = json.loads((packs.draft / "campaign.json").read_text())
    assert data["draft"] is True
    assert data["campaign"]["status"] == "open"
    assert (
        data["campaign"]["decisions"]["undecided"] == len(_world_accounts(packs.rw)) - 1
    )
    book = load_workbook(packs.draft / "reviews.xlsx", read_only=True)
    summary = dict(book["Summary"].iter_rows(values_only=True))
    assert str(summary["Pack"]).startswith("DRAFT")
    book.close()
    html = (packs.draft / "report.html").read_text()
    assert "<title>DRAFT – Access review: Q4 still open</title>" in html
    result = verify(str(packs.draft))
    assert result.exit_code == 0, result.output
    assert "draft" in result.stdout


@pytest.mark.parametrize("name", FILES)
def test_one_changed_byte_in_any_file_fails_naming_it(
    packs: Packs, tmp_path: Path, name: str
) -> None:
    pack = _copy(packs.final, tmp_path)
    path = pack / name
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0x01
    path.write_bytes(bytes(data))
    result = verify(str(pack))
    assert result.exit_code in ((1, 2) if name == "manifest.json" else (1,))
    assert name in result.output
    others = set(FILES) - {name, "manifest.json"}
    if name != "manifest.json":
        assert f"{name}: changed" in result.stderr
        assert not any(other in result.stderr for other in others)


def test_an_edited_snapshot_fails_even_with_every_hash_rewritten(
    packs: Packs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = _copy(packs.final, tmp_path)
    path = pack / "campaign.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    first = document["items"][0]["snapshot"]
    first["role"] = "owner" if first["role"] != "owner" else "user"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    # Whoever edited it also rewrote the manifest's hashes, as anyone can.
    manifest = _manifest(pack)
    fields = {
        k: v
        for k, v in manifest.items()
        if k not in ("format", "files", "manifest_sha256")
    }
    write_manifest(pack, fields, list(manifest["files"]))
    result = verify(str(pack))
    assert result.exit_code == 1
    assert (
        "the snapshot in campaign.json does not match the campaign's snapshot hash"
        in result.stderr
    )
    assert "changed" not in result.stderr
    # The same layout change without an edit still verifies.
    first["role"] = _first_role(packs.final)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    write_manifest(pack, fields, list(manifest["files"]))
    assert verify(str(pack)).exit_code == 0
    # Read in chunks of a few characters, values cut anywhere, it still does.
    monkeypatch.setattr("smp.services.review_json_reader._CHUNK", 7)
    assert verify(str(pack)).exit_code == 0
    assert verify(str(packs.final)).exit_code == 0


def _first_role(pack: Path) -> Any:
    document = json.loads((pack / "campaign.json").read_text(encoding="utf-8"))
    return document["items"][0]["snapshot"]["role"]


def test_a_missing_and_an_extra_file_are_named(packs: Packs, tmp_path: Path) -> None:
    pack = _copy(packs.final, tmp_path)
    (pack / "report.html").unlink()
    (pack / "notes.txt").write_text("added later\n")
    result = verify(str(pack))
    assert result.exit_code == 1
    assert "report.html: missing" in result.stderr
    assert "notes.txt: not in the manifest" in result.stderr
    listed = verify(str(pack), "--json")
    assert listed.exit_code == 1
    found = json.loads(listed.stdout)
    assert (found["ok"], found["missing"], found["unexpected"], found["changed"]) == (
        False,
        ["report.html"],
        ["notes.txt"],
        [],
    )


def test_no_manifest_or_a_broken_one_is_one_line(packs: Packs, tmp_path: Path) -> None:
    pack = _copy(packs.final, tmp_path)
    (pack / "manifest.json").unlink()
    result = verify(str(pack))
    assert result.exit_code == 2
    assert "has no manifest.json" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    (pack / "manifest.json").write_text("{not json")
    broken = verify(str(pack))
    assert broken.exit_code == 2
    assert "manifest.json is not valid JSON" in broken.stderr
    assert "Traceback" not in broken.output
    assert verify(str(tmp_path / "nowhere")).exit_code == 2


def test_export_takes_only_a_new_or_empty_directory(
    packs: Packs, tmp_path: Path
) -> None:
    engine = packs.rw.engine
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.docx").write_text("mine")
    with pytest.raises(Refused, match="is not empty"):
        export_pack(engine, packs.final_id, busy, ADMIN, now=EXPORTED_AT)
    with pytest.raises(Refused, match="holds no evidence pack"):
        export_pack(engine, packs.final_id, busy, ADMIN, now=EXPORTED_AT, replace=True)
    assert [p.name for p in busy.iterdir()] == ["thesis.docx"]
    # A previous pack is replaced with --force, and only then.
    again = _copy(packs.final, tmp_path)
    before = _manifest(again)
    later = EXPORTED_AT + dt.timedelta(days=1)
    with pytest.raises(Refused, match="is not empty"):
        export_pack(engine, packs.final_id, again, ADMIN, now=later)
    export_pack(engine, packs.final_id, again, ADMIN, now=later, replace=True)
    assert _manifest(again)["generated_at"] != before["generated_at"]
    assert verify(str(again)).exit_code == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_reviewer_may_not_export(packs: Packs, tmp_path: Path) -> None:
    reviewer = reviews.Actor("olga", False, "test")
    with pytest.raises(Refused) as refused:
        export_pack(
            packs.rw.engine, packs.final_id, tmp_path / "x", reviewer, now=EXPORTED_AT
        )
    assert refused.value.kind == "forbidden"
    assert not (tmp_path / "x").exists()


def test_the_cli_exports_and_says_where(
    packs: Packs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(packs.rw.engine, tmp_path, monkeypatch)
    out = tmp_path / "cli-pack"
    result = CliRunner().invoke(
        app,
        ["reviews", "export", str(packs.draft_id), "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "DRAFT evidence pack" in result.stdout
    assert verify(str(out)).exit_code == 0
    again = CliRunner().invoke(
        app,
        ["reviews", "export", str(packs.draft_id), "--out", str(out)],
        catch_exceptions=False,
    )
    assert again.exit_code == 2
    assert "is not empty" in again.stderr
    unknown = CliRunner().invoke(
        app, ["reviews", "export", "999999", "--out", str(tmp_path / "n")]
    )
    assert unknown.exit_code == 2
    assert "Traceback" not in unknown.output


def _exports(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    with Session(engine) as session:
        rows = session.execute(
            select(AuditEventRow.target, AuditEventRow.details)
            .where(AuditEventRow.action == "review.export")
            .order_by(AuditEventRow.id)
        ).all()
    return [(target, dict(details)) for target, details in rows]


def test_an_export_is_audited_with_the_pack_or_not_at_all(
    packs: Packs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = packs.rw.engine
    out = tmp_path / "audited"
    export_pack(engine, packs.final_id, out, ADMIN, now=EXPORTED_AT)
    target, details = _exports(engine)[-1]
    assert target == f"review {packs.final_id}"
    assert details["manifest_sha256"] == _manifest(out)["manifest_sha256"]
    before = _exports(engine)

    def fails(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("smp.services.review_evidence._move_into_place", fails)
    with pytest.raises(OSError, match="disk full"):
        export_pack(engine, packs.final_id, tmp_path / "failed", ADMIN, now=EXPORTED_AT)
    assert _exports(engine) == before
    assert not (tmp_path / "failed").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["audited"]


class _CommitFails(Session):
    """A session whose commit fails after the pack has moved into place."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        event.listen(self, "before_commit", self._fail)

    @staticmethod
    def _fail(_: Session) -> None:
        raise RuntimeError("the database went away")


def test_a_failed_commit_after_force_keeps_the_previous_pack(
    packs: Packs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = packs.rw.engine
    again = _copy(packs.final, tmp_path)
    before = {p.name: p.read_bytes() for p in again.iterdir()}
    exports = _exports(engine)
    monkeypatch.setattr("smp.services.review_evidence.Session", _CommitFails)
    later = EXPORTED_AT + dt.timedelta(days=2)
    with pytest.raises(RuntimeError, match="went away"):
        export_pack(engine, packs.final_id, again, ADMIN, now=later, replace=True)
    assert {p.name: p.read_bytes() for p in again.iterdir()} == before
    assert verify(str(again)).exit_code == 0
    assert _exports(engine) == exports
    assert [p.name for p in tmp_path.iterdir()] == ["copy"]


def _occurred(engine: Engine, action: str, target: str) -> list[dt.datetime]:
    with Session(engine) as session:
        found = session.scalars(
            select(AuditEventRow.occurred_at)
            .where(AuditEventRow.action == action, AuditEventRow.target == target)
            .order_by(AuditEventRow.id)
        ).all()
    # SQLite hands the stored UTC instant back without its zone.
    return [at if at.tzinfo else at.replace(tzinfo=dt.UTC) for at in found]


def test_the_trail_keeps_the_clock_the_review_was_given(
    packs: Packs, tmp_path: Path
) -> None:
    """The export's entry and the pack's `generated_at` tell the same instant,
    here half a minute before a new year, whatever the wall clock says."""
    engine = packs.rw.engine
    at = dt.datetime(2026, 12, 31, 23, 59, 30, tzinfo=dt.UTC)
    out = tmp_path / "new-year"
    export_pack(engine, packs.draft_id, out, ADMIN, now=at)
    assert _manifest(out)["generated_at"].startswith("2026-12-31T23:59:30")
    target = f"review {packs.draft_id}"
    assert _occurred(engine, "review.export", target)[-1] == at
    signed = _occurred(engine, "review.signoff", f"review {packs.final_id}")
    assert signed == [packs.rw.now + dt.timedelta(hours=1)]
    assert _occurred(engine, "review.create", target) == [packs.rw.now]
