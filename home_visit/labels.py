"""Chinese and English labels of the home-visit codes the field page and the form show."""

from __future__ import annotations

from models.enums import HomeVisitReason, VisitOutcome

REASONS: dict[str, tuple[str, str]] = {
    HomeVisitReason.BEDRIDDEN.value: ("长期卧床", "bedridden"),
    HomeVisitReason.LIMITED_MOBILITY.value: ("行动不便", "limited mobility"),
    HomeVisitReason.AGE_80.value: ("80周岁以上高龄", "aged 80 or over"),
    HomeVisitReason.FAILED_ATTEMPTS.value: ("手机认证多次未通过", "several failed app attempts"),
    HomeVisitReason.HELP_REQUEST.value: ("本人或家属申请", "asked for by the pensioner or family"),
}
OUTCOMES: dict[str, tuple[str, str]] = {
    VisitOutcome.CERTIFIED.value: ("本人健在，认证通过", "alive, certified"),
    VisitOutcome.NOT_AT_HOME.value: ("不在家", "not at home"),
    VisitOutcome.HOSPITALISED.value: ("住院", "in hospital"),
    VisitOutcome.MOVED.value: ("已迁居", "moved"),
    VisitOutcome.REFUSED.value: ("拒绝认证", "refused"),
    VisitOutcome.DECEASED.value: ("已死亡", "deceased"),
}


def reason_label(code: str) -> tuple[str, str]:
    """A task reason's (zh, en) label; the code itself when unknown."""
    return REASONS.get(code, (code, code))
