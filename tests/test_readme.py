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
