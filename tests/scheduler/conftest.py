"""Season tests run with a 15-day grace period so the grace rules are exercised (the default is 0)."""

import pytest

from core.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings with a grace period."""
    settings.season_grace_days = 15
    return settings
