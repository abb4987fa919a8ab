"""An evidence pack's manifest: the SHA-256 of every file, and checking them.

`manifest.json` lists each file of the pack with its SHA-256 and size, the
campaign's stored snapshot hash and the one recomputed from the pack's
`campaign.json`. It also holds `manifest_sha256`, the hash of its own bytes
with that value written as 64 zeros, so that a changed byte in the manifest
itself is caught too. An auditor needs nothing but `sha256sum` to check the
files (docs/evidence-pack.md); `smp reviews verify DIR` does it all.

None of this proves who made the pack: anyone can rewrite a file and its
hash together. What ties a pack to SMP is the campaign's snapshot hash and
the audit trail's `review.export` entry, which records the manifest's hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smp.services.review_json_reader import snapshot_of

MANIFEST = "manifest.json"
# The pack's items as JSON (written by smp.services.review_pack).
JSON_FILE = "campaign.json"
FORMAT = "smp-review-evidence/1"
SELF_FIELD = "manifest_sha256"
_PLACEHOLDER = "0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


class ManifestError(ValueError):
    """No usable manifest in the directory; the message says why in one line."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(directory: Path, fields: Mapping[str, Any], files: list[str]) -> str:
    """Hash `files` of `directory` and write the manifest; returns its own hash."""
    listed = {
        name: {
            "sha256": file_sha256(directory / name),
            "bytes": (directory / name).stat().st_size,
        }
        for name in sorted(files)
    }
    body = {"format": FORMAT, **fields, "files": listed, SELF_FIELD: _PLACEHOLDER}
    text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    own = hashlib.sha256(text.encode()).hexdigest()
    # The placeholder is the only run of 64 zeros: no file hashes to it.
    final = text.replace(
        f'"{SELF_FIELD}": "{_PLACEHOLDER}"', f'"{SELF_FIELD}": "{own}"'
    )
    (directory / MANIFEST).write_text(final, encoding="utf-8")
    return own


@dataclass(slots=True)
class PackCheck:
    """What `verify_pack` found; `ok` when every file matches."""

    directory: str
    manifest: dict[str, Any]
    checked: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    # campaign.json's items hash to the manifest's snapshot_sha256 (None: the
    # pack has no campaign.json to read).
    json_snapshot_matches: bool | None = None

    @property
    def snapshot_matches(self) -> bool:
        """The pack's snapshot hashes to the one stored when the campaign
        started; False means its items were changed in the database since."""
        stored = self.manifest.get("snapshot_sha256")
        return stored is not None and stored == self.manifest.get(
            "snapshot_sha256_of_pack"
        )

    @property
    def ok(self) -> bool:
        return (
            self.snapshot_matches
            and self.json_snapshot_matches is not False
            and not (self.changed or self.missing or self.unexpected)
        )

    def problems(self) -> list[str]:
        snapshot = (
            []
            if self.snapshot_matches
            else [
                "the snapshot in the pack does not hash to the campaign's "
                "snapshot_sha256 (frozen when it started): its items were "
                "changed in the database since"
            ]
        )
        if self.json_snapshot_matches is False:
            snapshot.append(
                f"the snapshot in {JSON_FILE} does not match the campaign's "
                "snapshot hash"
            )
        return snapshot + (
            [
                f"{name}: changed (its SHA-256 differs from the manifest)"
                for name in self.changed
            ]
            + [f"{name}: missing" for name in self.missing]
            + [
                f"{name}: not in the manifest (an extra file)"
                for name in self.unexpected
            ]
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "ok": self.ok,
            "campaign_id": self.manifest.get("campaign_id"),
            "draft": self.manifest.get("draft"),
            "snapshot_sha256": self.manifest.get("snapshot_sha256"),
            "snapshot_matches": self.snapshot_matches,
            "json_snapshot_matches": self.json_snapshot_matches,
            "checked": self.checked,
            "changed": self.changed,
            "missing": self.missing,
            "unexpected": self.unexpected,
        }


def read_manifest(directory: Path) -> tuple[dict[str, Any], bytes]:
    if not directory.is_dir():
        raise ManifestError(f"{directory} is not a directory")
    path = directory / MANIFEST
    if not path.is_file():
        raise ManifestError(f"{directory} has no {MANIFEST}: not an evidence pack")
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(
            f"{MANIFEST} is not valid JSON (changed or damaged): {error}"
        ) from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(files, dict)
        or not all(
            isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
            for entry in files.values()
        )
    ):
        raise ManifestError(
            f"{MANIFEST} is not an SMP evidence manifest ({FORMAT}): changed or damaged"
        )
    return manifest, raw


def _self_intact(manifest: Mapping[str, Any], raw: bytes) -> bool:
    claimed = manifest.get(SELF_FIELD)
    if not isinstance(claimed, str) or not _HEX64.fullmatch(claimed):
        return False
    written = f'"{SELF_FIELD}": "{claimed}"'.encode()
    if raw.count(written) != 1:
        return False
    blank = raw.replace(written, f'"{SELF_FIELD}": "{_PLACEHOLDER}"'.encode())
    return hashlib.sha256(blank).hexdigest() == claimed


def verify_pack(directory: Path) -> PackCheck:
    """Every listed file present and unchanged, nothing else beside them.

    Raises ManifestError when the manifest is missing or unreadable.
    """
    manifest, raw = read_manifest(directory)
    check = PackCheck(str(directory), manifest)
    if not _self_intact(manifest, raw):
        check.changed.append(MANIFEST)
    for name, entry in sorted(manifest["files"].items()):
        path = directory / name
        # A name that leaves the directory is never read: the manifest is data.
        if Path(name).name != name or not path.is_file():
            check.missing.append(name)
            continue
        check.checked.append(name)
        if file_sha256(path) != entry["sha256"]:
            check.changed.append(name)
    if JSON_FILE in check.checked:
        # Recomputed, not read off the manifest: rewriting the file and its
        # hash together must not pass.
        check.json_snapshot_matches = snapshot_of(
            directory / JSON_FILE
        ) == manifest.get("snapshot_sha256")
    expected = set(manifest["files"]) | {MANIFEST}
    check.unexpected = sorted(
        entry.name for entry in directory.iterdir() if entry.name not in expected
    )
    return check
