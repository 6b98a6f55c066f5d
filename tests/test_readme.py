"""The README documents every setting and every CLI command."""

from pathlib import Path

from cli import app
from core.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [
        f"PENSION_CERT_{n.upper()}" for n in Settings.model_fields if f"`PENSION_CERT_{n.upper()}`" not in README
    ]
    assert missing == []


def test_every_command_is_documented() -> None:
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    missing = [n for n in names if n and f"`{n}" not in README]
    assert missing == []


def test_readme_has_the_two_commands() -> None:
    assert "make run" in README and "make test" in README


def test_no_setting_or_command_listed_twice() -> None:
    rows = [line.split("|")[1].strip() for line in README.splitlines() if line.startswith("| `PENSION_CERT_")]
    assert len(rows) == len(set(rows))
    commands = [line.split("|")[1].strip() for line in README.splitlines() if line.startswith("| `")]
    commands = [c for c in commands if not c.startswith("`PENSION_CERT_")]
    assert len(commands) == len(set(commands))


def test_commands_work_from_a_fresh_checkout_after_make_run() -> None:
    """uv lives in .tools/ (the Makefile puts it there): no bare `uv run` line a newcomer would copy."""
    import re

    bare = [
        line for line in README.splitlines() if re.search(r"(^|[\s`])uv run ", line) and ".tools/bin/uv run" not in line
    ]
    assert bare == [] or all("PATH" in line for line in bare)


def test_region_codes_are_twelve_digits_and_limits_match_the_code() -> None:
    import re

    assert re.findall(r"(?<![_\d])37\d{4}(?![\d_])", README) == []  # 6-digit district codes: the CLI wants 12 digits
    assert f"`{Settings().max_video_bytes}`" in README and f"= {Settings().max_video_bytes}" in README
    assert f"`{Settings().max_frame_bytes}`" in README and f"`{Settings().max_upload_bytes}`" in README


def test_readme_walks_a_newcomer_through_the_app() -> None:
    for needed in ("/app/", "pension-cert enroll", "pension-cert outbox --phone", "rm -rf var/", "Ctrl-C", "succeed"):
        assert needed in README, needed
