"""Image dimensions read from compressed codestream headers, without decoding anything.

A decoder allocates its output from the size its codestream claims, not from the size the
container (a DICOM header, a file name) says. So that size is read here first and checked:
against the pixel limit for plain JPEG files, against Rows and Columns for a DICOM frame. A
600-byte JPEG frame claiming 30000 × 30000 pixels would otherwise cost gigabytes and minutes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

#: Start-of-frame markers: JPEG baseline, extended, progressive, lossless (Huffman and
#: arithmetic), and JPEG-LS (SOF55, 0xF7).
SOF_MARKERS = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}
)

#: How far into a JPEG 2000 frame the SIZ marker segment is looked for (a JP2 wrapper's
#: boxes come first).
_J2K_SEARCH = 4096


def jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield (marker, payload) of the JPEG header segments up to the first scan."""
    pos = 2
    n = len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        yield marker, data[pos + 4 : pos + 2 + length]
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return
        pos += 2 + length


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(rows, cols) from the first start-of-frame segment of a JPEG or JPEG-LS stream."""
    for marker, payload in jpeg_segments(data):
        if marker in SOF_MARKERS and len(payload) >= 5:
            height, width = struct.unpack(">HH", payload[1:5])
            return int(height), int(width)
    return None


def j2k_size(data: bytes) -> tuple[int, int] | None:
    """(rows, cols) from the SIZ segment of a JPEG 2000 (or HTJ2K) codestream: the reference
    grid less its offsets."""
    start = data.find(b"\xff\x4f\xff\x51", 0, _J2K_SEARCH)
    if start < 0 or len(data) < start + 24:
        return None
    xsiz, ysiz, xosiz, yosiz = struct.unpack(">IIII", data[start + 8 : start + 24])
    if xosiz >= xsiz or yosiz >= ysiz:
        return None
    return int(ysiz - yosiz), int(xsiz - xosiz)
