"""Reading back what Qt's PDF writer wrote: page count and text (via the ToUnicode maps).

Qt subsets each font and draws glyph ids (``<0001> Tj``) in FlateDecode streams; each font
has an uncompressed or compressed ToUnicode CMap (``bfrange`` with arrays or starts,
``bfchar``). This decodes them, so tests can search the text (spaces are not drawn as
glyphs, so compare without whitespace).
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

_OBJ = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def page_count(pdf: bytes) -> int:
    """Number of ``/Type /Page`` objects (not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def _objects(pdf: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in _OBJ.finditer(pdf)}


def _stream(obj: bytes) -> bytes:
    m = _STREAM.search(obj)
    if m is None:
        return b""
    data = m.group(1)
    if b"FlateDecode" in obj[: m.start()]:
        try:
            return zlib.decompress(data)
        except zlib.error:
            return b""
    return data


def _cmap(data: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, rest in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\[.*?\]|<[0-9A-Fa-f]+>)", block, re.S
        ):
            lo_i, hi_i = int(lo, 16), int(hi, 16)
            if rest.startswith(b"["):
                values = re.findall(rb"<([0-9A-Fa-f]+)>", rest)
                for i, v in enumerate(values):
                    mapping[lo_i + i] = bytes.fromhex(v.decode()).decode("utf-16-be")
            else:
                start = int(rest[1:-1], 16)
                for i in range(hi_i - lo_i + 1):
                    mapping[lo_i + i] = chr(start + i)
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    return mapping


def pdf_text(path: str | Path) -> str:
    """All text drawn in the PDF, in drawing order, without spaces between glyph runs."""
    pdf = Path(path).read_bytes()
    objects = _objects(pdf)
    font_maps: dict[int, dict[int, str]] = {}
    for num, obj in objects.items():
        m = re.search(rb"/ToUnicode\s+(\d+)\s+0\s+R", obj)
        if m and int(m.group(1)) in objects:
            font_maps[num] = _cmap(_stream(objects[int(m.group(1))]))
    names: dict[bytes, int] = {}
    for obj in objects.values():
        for name, ref in re.findall(rb"/(F\d+)\s+(\d+)\s+0\s+R", obj):
            names[name] = int(ref)
    out: list[str] = []
    for obj in objects.values():
        data = _stream(obj)
        if b"Tj" not in data and b"TJ" not in data:
            continue
        current: dict[int, str] = {}
        for token in re.finditer(rb"/(F\d+)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]+)>\s*Tj", data):
            if token.group(1):
                current = font_maps.get(names.get(token.group(1), -1), {})
            else:
                hexes = token.group(2)
                for i in range(0, len(hexes), 4):
                    out.append(current.get(int(hexes[i : i + 4], 16), "?"))
    return "".join(out)


def squash(text: str) -> str:
    """Text without whitespace and with the fi/fl ligatures spelled out (for comparisons)."""
    return re.sub(r"\s+", "", text.replace("\ufb01", "fi").replace("\ufb02", "fl"))
