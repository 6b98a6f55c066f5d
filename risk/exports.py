"""The at-risk list as CSV and Excel files with Chinese headers (written by core.exports: no live formulas)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from core import exports as safe
from risk.at_risk import RiskRow, under_way

HEADERS = [
    "序号",
    "姓名",
    "身份证号",
    "所在社区/村",
    "年龄",
    "卧床",
    "养老金状态",
    "认证截止日期",
    "剩余天数",
    "App认证失败次数",
    "上门认证任务",
    "上门截止日期",
    "已发提醒短信",
    "风险原因",
    "已采取措施",
]
_STATUS_ZH = {"active": "正常发放", "on_hold": "暂停核实", "suspended": "暂停发放", "terminated": "终止发放"}
_VISIT_ZH = {None: "无", "open": "进行中", "done": "已完成", "cancelled": "已取消"}


def export_cells(row: RiskRow, index: int) -> list[Any]:
    """One export line, in Chinese."""
    return [
        index,
        row.name,
        row.national_id,
        row.region_name,
        row.age,
        "是" if row.bedridden else "否",
        _STATUS_ZH.get(row.pension_status, row.pension_status),
        row.deadline,
        row.days_left,
        row.failed_attempts,
        _VISIT_ZH.get(row.visit_status, row.visit_status or ""),
        row.visit_due_date or "",
        row.reminders_sent,
        "；".join(r.zh for r in row.reasons),
        "；".join(r.zh for r in under_way(row)),
    ]


def csv_bytes(rows: Iterable[RiskRow]) -> tuple[bytes, int]:
    """UTF-8 CSV with a BOM, so Excel shows Chinese; and the row count."""
    # Column 2 gets a tab: keeps Excel from turning the 18-digit ID into a float.
    return safe.csv_bytes(HEADERS, _lines(rows), text_columns=(2,))


def xlsx_bytes(rows: Iterable[RiskRow]) -> tuple[bytes, int]:
    """An Excel workbook with one sheet and bold headers; and the row count."""
    return safe.xlsx_bytes(HEADERS, _lines(rows), sheet="风险名单", widths={"C": 22, "N": 50})


def _lines(rows: Iterable[RiskRow]) -> Iterator[list[Any]]:
    for i, row in enumerate(rows, start=1):
        yield export_cells(row, i)
