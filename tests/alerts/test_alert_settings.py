"""Alert settings from the environment: the digest hour is checked."""

from __future__ import annotations

import pytest

from smp.services.alerts.delivery import AlertSettingError, AlertSettings


@pytest.mark.parametrize("hour", ["24", "-1", "eight", "7.5"])
def test_a_digest_hour_outside_0_to_23_is_refused(
    hour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMP_ALERT_DIGEST_HOUR", hour)
    with pytest.raises(AlertSettingError, match=r"^SMP_ALERT_DIGEST_HOUR must be"):
        AlertSettings.from_environment()


def test_the_hour_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMP_ALERT_DIGEST_HOUR", "23")
    assert AlertSettings.from_environment().digest_hour == 23
