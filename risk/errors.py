"""Named errors of the risk domain."""

from __future__ import annotations

from core.errors import NotFound


class NoCurrentSeason(NotFound):
    """No season has opened yet and none was asked for."""

    code = "season_not_found"
    message_zh = "当前没有认证期。"
    message_en = "No certification season."
