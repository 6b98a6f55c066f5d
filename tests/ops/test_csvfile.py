"""CSV reading: a plain file (the fast path, nothing to strip) reads exactly as the same file with padding."""

from __future__ import annotations

from core.csvfile import stream_rows


def _rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    columns, records, _ = stream_rows(text.encode(), {"身份证号": "national_id"}, {"national_id"})
    return columns, list(records)


def test_plain_and_padded_files_give_the_same_rows_and_lines() -> None:
    plain = "身份证号,source\nA1,hospital\n\n,\nB2,bank_counter\r\nC3,\n"
    padded = '身份证号 , source\n A1 ,\thospital\n\n , \n"B2", bank_counter \r\nC3\u3000,\x0b\n'
    assert _rows(plain) == _rows(padded)
    assert _rows(plain) == (
        ["national_id", "source"],
        [(2, ["A1", "hospital"]), (5, ["B2", "bank_counter"]), (6, ["C3", ""])],
    )


def test_only_the_ends_of_a_value_are_stripped() -> None:
    assert _rows('身份证号\n" a b "\n\u3000c d\u3000\n')[1] == [(2, ["a b"]), (3, ["c d"])]
    assert _rows("身份证号\na b\n")[1] == [(2, ["a b"])]  # a space in the file: not plain, still one value
