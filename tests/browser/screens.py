"""Where browser tests save their screenshots: docs/screens with PENSION_CERT_SCREENSHOTS=1, else a temp folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

DOCS_SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"


def screens_dir() -> Path:
    """docs/screens when asked for (to refresh the committed pictures), else a throw-away folder."""
    if os.environ.get("PENSION_CERT_SCREENSHOTS") == "1":
        folder = DOCS_SCREENS
    else:
        folder = Path(os.environ.get("PENSION_CERT_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="screens-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
