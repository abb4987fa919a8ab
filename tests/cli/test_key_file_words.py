"""A key file that cannot be read is explained in words, not a class name."""

from __future__ import annotations

from pathlib import Path

import pytest

from smp.cli.key_source import KeySourceError, file_text


def _message(path: Path) -> str:
    with pytest.raises(KeySourceError) as raised:
        file_text(path, "--key-file")
    return str(raised.value)


def test_a_missing_key_file_is_said_in_plain_words(tmp_path: Path) -> None:
    path = tmp_path / "absent.key"
    assert _message(path) == f"--key-file: cannot read key file {path}: no such file"


def test_a_folder_given_as_key_file_is_said_in_plain_words(tmp_path: Path) -> None:
    message = _message(tmp_path)
    assert message == (
        f"--key-file: cannot read key file {tmp_path}: that is a folder, not a file"
    )
    assert "Error" not in message
