"""Make core/fonts/NotoSansSC-GB2312.ttf: Noto Sans CJK SC (OFL) subset to GB2312 + the form's characters.

Reproducible: `uv run --frozen python tools/subset_font.py` (source: Debian's fonts-noto-cjk). reportlab embeds
TrueType outlines only, so the CFF outlines are converted to quadratic `glyf` curves (fontTools cu2qu).
Prints the file's size and SHA-256; core/pdf_fonts.py checks that SHA-256 at load.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SC_INDEX = 2  # Noto Sans CJK SC in the collection
TARGET = ROOT / "core" / "fonts" / "NotoSansSC-GB2312.ttf"
FAMILY = "Noto Sans SC GB2312 subset"
# Source files whose Chinese text the PDFs print (besides GB2312, which covers names and addresses).
TEXT_SOURCES = ("home_visit/form_pdf.py", "home_visit/router.py", "models/enums.py")
EXTRA = "□■☑✓×·—…“”‘’、。，：；！？（）《》【】〔〕－／％＋"
MAX_ERR = 1.0  # font units (of 1000): cubic → quadratic tolerance


def gb2312_chars() -> set[str]:
    """Every character GB2312 encodes: rows 01–09 (symbols) and 16–87 (6,763 hanzi)."""
    chars: set[str] = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def wanted_chars() -> set[str]:
    """GB2312, printable ASCII, Latin-1 letters, the extra punctuation and every non-ASCII character of the sources."""
    chars = gb2312_chars() | {chr(c) for c in range(0x20, 0x7F)} | {chr(c) for c in range(0xA0, 0x100)} | set(EXTRA)
    for name in TEXT_SOURCES:
        chars |= set(re.findall(r"[^\x00-\x7f]", (ROOT / name).read_text(encoding="utf-8")))
    return {c for c in chars if c.isprintable() or c == " "}


def to_truetype(font: TTFont) -> None:
    """Replace the CFF outlines with quadratic glyf outlines (what reportlab can embed)."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, MAX_ERR, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 1 if attr == "maxZones" else 0)
    maxp.maxComponentDepth = 0
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"


def rename(font: TTFont) -> None:
    """Name the derivative apart from the original (family, full and PostScript names)."""
    names = font["name"]
    for rec in list(names.names):
        if rec.nameID in (1, 3, 4, 16):
            names.setName(
                FAMILY if rec.nameID != 3 else f"{FAMILY};subset", rec.nameID, rec.platformID, rec.platEncID, rec.langID
            )
        elif rec.nameID == 6:
            names.setName("NotoSansSC-GB2312-subset", 6, rec.platformID, rec.platEncID, rec.langID)


def build(target: Path) -> Path:
    """Subset, convert and save; returns the path."""
    font = TTCollection(str(SOURCE), lazy=False).fonts[SC_INDEX]
    options = subset.Options()
    options.layout_features = []  # no GSUB/GPOS shaping needed for horizontal Chinese
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    options.drop_tables += ["vhea", "vmtx", "VORG", "BASE", "GSUB", "GPOS", "GDEF"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in wanted_chars()))
    subsetter.subset(font)
    to_truetype(font)
    rename(font)
    font.recalcTimestamp = False  # keep the source's head.modified: the same input makes the same bytes
    target.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(target), reorderTables=True)
    return target


def main() -> int:
    """Build the font and print its size, glyph count and SHA-256."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args()
    path = build(args.out)
    data = path.read_bytes()
    glyphs = len(TTFont(str(path))["glyf"].glyphs)
    print(f"{path}: {len(data)} bytes, {glyphs} glyphs, {len(wanted_chars())} characters wanted")
    print(f"sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
