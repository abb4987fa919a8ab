"""Alert settings from the environment: the digest hour is checked, the
public URL makes each alert's link."""

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


def test_the_public_url_and_hour_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMP_ALERT_DIGEST_HOUR", "23")
    monkeypatch.setenv("SMP_PUBLIC_URL", "https://smp.example.com/base/")
    settings = AlertSettings.from_environment()
    assert settings.digest_hour == 23
    assert settings.link(7) == "https://smp.example.com/base/findings/7"
    monkeypatch.delenv("SMP_PUBLIC_URL")
    assert AlertSettings.from_environment().link(7) is None
