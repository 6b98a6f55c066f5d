"""Fail when a function outside tests, migrations and benchmarks is longer than the limit (lint check)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LIMIT = 60
PACKAGES = (
    "api",
    "auth",
    "certification",
    "cli",
    "core",
    "faces",
    "home_visit",
    "messaging",
    "models",
    "registry",
    "risk",
    "scheduler",
    "verification",
    "tools",
)


def long_functions(root: Path, limit: int = LIMIT) -> list[tuple[str, int, str, int]]:
    """(file, line, name, length) of every function longer than `limit` lines, decorators excluded."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > limit:
                        found.append((str(path.relative_to(root)), node.lineno, node.name, length))
    return found


def main() -> int:
    """Print the offenders; exit 1 when there are any."""
    root = Path(__file__).resolve().parent.parent
    offenders = long_functions(root)
    for file, line, name, length in offenders:
        print(f"{file}:{line}: {name} is {length} lines (limit {LIMIT})")
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())
