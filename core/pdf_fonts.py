"""The CJK font embedded in every PDF the service makes (Noto Sans SC, OFL, subset to GB2312)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_NAME = "NotoSansSC-GB2312"
FONT_FILE = Path(__file__).resolve().parent / "fonts" / "NotoSansSC-GB2312.ttf"
# Made by tools/subset_font.py; a different file (corrupt, replaced) is refused rather than embedded.
FONT_SHA256 = "6ec26212e6f99fe09c526eb33f12d26cfefdb5c105ba85d68cefe957a01db017"
_lock = threading.Lock()


class FontFileMismatch(RuntimeError):
    """The shipped font file is not the one tools/subset_font.py made."""


def cjk_font_name() -> str:
    """Register the embedded CJK TrueType font with reportlab once; returns its name for `setFont`."""
    with _lock:
        if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            data = FONT_FILE.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest != FONT_SHA256:
                raise FontFileMismatch(f"{FONT_FILE}: sha256 {digest}, expected {FONT_SHA256}")
            # reportlab embeds only the glyphs each document uses (its own subset per PDF).
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_FILE)))
    return FONT_NAME
