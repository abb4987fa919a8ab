"""The evidence pack of an access review: export it, and verify one.

`export_pack` writes, into a new directory, `reviews.xlsx` (a summary sheet
and one sheet per integration), `campaign.json` (the frozen snapshot, the
decisions and the remediation), `report.html` (printable) and
`manifest.json` (smp.services.review_manifest). An open campaign's pack is a
draft, and says so in every file. `verify_pack` checks a pack's files
against its manifest. docs/evidence-pack.md is the auditor's guide.

The pack is written into a hidden sibling directory and renamed into place
at the end, inside the transaction of its audit entry, so a failed export
leaves no half pack behind and no entry claiming one. An existing
directory is only used when it is empty, or, with `replace`, when it holds a
previous pack and nothing else (its files are the only ones removed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

import smp
from smp.services.audit import record
from smp.services.refusals import Refused, refusing
from smp.services.review_manifest import (
    JSON_FILE,
    MANIFEST,
    ManifestError,
    PackCheck,
    read_manifest,
    verify_pack,
    write_manifest,
)
from smp.services.review_pack import (
    REPORT,
    WORKBOOK,
    PackFacts,
    when,
    write_json,
    write_workbook_and_report,
)
from smp.services.reviews import Actor, campaign_detail
from smp.storage.review_exports import pack_source

__all__ = ["ExportResult", "ManifestError", "PackCheck", "export_pack", "verify_pack"]

PACK_FILES = (WORKBOOK, JSON_FILE, REPORT)


@dataclass(frozen=True, slots=True)
class ExportResult:
    directory: Path
    campaign_id: int
    name: str
    draft: bool
    items: int
    files: tuple[str, ...]
    manifest_sha256: str
    snapshot_sha256: str
    # False when the items' frozen fields no longer hash to the value stored
    # at creation: someone changed the snapshot in the database.
    snapshot_matches: bool


def export_pack(
    engine: Engine,
    campaign_id: str | int,
    out: Path,
    actor: Actor,
    *,
    now: dt.datetime,
    replace: bool = False,
) -> ExportResult:
    """Write the pack of a campaign into `out` (admins only)."""
    if not actor.is_admin:
        raise Refused("only an admin may export a review's evidence", kind="forbidden")
    found = campaign_detail(engine, campaign_id, actor)  # not_found, as elsewhere
    target = out.expanduser().absolute()
    old_files = _usable_target(target, replace=replace)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    moved = False
    previous: Path | None = None  # the old directory, set aside until the commit
    try:
        with refusing(), pack_source(engine, found.id) as source:
            facts = PackFacts.read(source, now)
            write_workbook_and_report(work, source, facts)
            recomputed = write_json(work, source, facts)
        stored = str(facts.header.fields["snapshot_sha256"])
        own = write_manifest(
            work,
            {
                "campaign_id": found.id,
                "campaign_name": facts.name,
                "draft": facts.draft,
                "generated_at": when(now),
                "smp_version": smp.__version__,
                "snapshot_sha256": stored,
                "snapshot_sha256_of_pack": recomputed,
            },
            list(PACK_FILES),
        )
        # The entry and the pack land together: the move happens inside the
        # entry's transaction, so a failed move leaves no entry (and no
        # pack). Should the commit itself fail after the move, the pack is
        # removed again and the previous one put back: no pack stands without
        # its `review.export` entry, and a failed --force loses nothing.
        with refusing(), Session(engine) as session, session.begin():
            record(
                session,
                actor.audited,
                "review.export",
                f"review {found.id}",
                {
                    "name": facts.name,
                    "draft": facts.draft,
                    "items": facts.total,
                    "manifest_sha256": own,
                },
                now=now,
            )
            session.flush()
            previous = _set_aside(target, work)
            _move_into_place(work, target)
            moved = True
    except BaseException:
        shutil.rmtree(target if moved else work, ignore_errors=True)
        if previous is not None:
            previous.rename(target)
        raise
    if previous is not None:
        _remove_previous(previous, old_files)
    return ExportResult(
        target,
        found.id,
        facts.name,
        facts.draft,
        facts.total,
        (*sorted(PACK_FILES), MANIFEST),
        own,
        stored,
        stored == recomputed,
    )


def _usable_target(target: Path, *, replace: bool) -> list[Path]:
    """The files to remove before the pack moves in; refuses any other content."""
    if not target.exists():
        return []
    if not target.is_dir():
        raise Refused(f"{target} exists and is not a directory", field="out")
    present = sorted(target.iterdir())
    if not present:
        return []
    if not replace:
        raise Refused(
            f"{target} is not empty: give a new or empty directory "
            "(or --force to replace a previous evidence pack there)",
            kind="conflict",
            field="out",
        )
    try:
        manifest, _ = read_manifest(target)
    except ManifestError:
        raise Refused(
            f"{target} is not empty and holds no evidence pack: SMP replaces "
            "only a previous pack, never other files",
            kind="conflict",
            field="out",
        ) from None
    ours = set(manifest["files"]) | {MANIFEST}
    others = [p.name for p in present if p.name not in ours or not p.is_file()]
    if others:
        raise Refused(
            f"{target} holds files that are not the previous pack's "
            f"({', '.join(others[:3])}): SMP leaves them alone; "
            "choose another directory",
            kind="conflict",
            field="out",
        )
    return present


def _set_aside(target: Path, work: Path) -> Path | None:
    """Rename an existing `target` (empty, or a previous pack) to a hidden
    sibling, so that a failed commit can put it back; None when there is none."""
    if not target.exists():
        return None
    aside = work.with_name(f"{work.name}.previous")
    target.rename(aside)
    return aside


def _move_into_place(work: Path, target: Path) -> None:
    work.chmod(0o755)  # mkdtemp's 0700 would hide the pack from its readers
    work.rename(target)


def _remove_previous(aside: Path, old_files: list[Path]) -> None:
    """Delete the previous pack's files, by name, and their directory.

    Only the files `_usable_target` found are removed: anything that appeared
    there since is left, with the hidden directory that now holds it."""
    for old in old_files:
        (aside / old.name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        aside.rmdir()
