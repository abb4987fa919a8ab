"""A channel's secrets follow the master key: `smp keys rotate-master` re-encrypts
them with the API keys, so channels still send after a rotation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.services.alerts import manage
from smp.services.alerts.channels import ChannelOptions
from smp.storage import MasterKeyError, SecretBox, rotate_master_key
from smp.storage import alerts as store

URL = "https://hooks.slack.com/services/T000/B000/ROTATEDTOKEN"


def test_rotation_reencrypts_channel_secrets(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMP_SECRET_KEY", raising=False)
    old_box = SecretBox.load(tmp_path)
    old_key = (tmp_path / "master.key").read_text()
    manage.add_channel(
        engine,
        old_box,
        "rotated",
        ChannelOptions(kind="slack", url=URL),
        created_by=None,
        now=dt.datetime.now(dt.UTC),
    )
    rotate_master_key(engine, home=tmp_path)
    with Session(engine) as session:
        _, token = store.get_channel(session, "rotated")
    assert json.loads(SecretBox.load(tmp_path).decrypt(token)) == {"url": URL}
    with pytest.raises(MasterKeyError):
        SecretBox.from_key(old_key).decrypt(token)
