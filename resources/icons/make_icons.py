"""Render the application icon: PNGs (16..512 px), a Windows .ico and a macOS .icns.

Reproducible from ``wristviewer.svg`` with Qt alone (QtSvg and Qt's ico/icns image plugins
shipped with PySide6)::

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/icons/make_icons.py

Writes ``wristviewer-<N>.png`` for each N in :data:`SIZES`, ``wristviewer.ico`` (16..256)
and ``wristviewer.icns`` (16..512) next to this file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SVG = HERE / "wristviewer.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(size: int):  # -> QImage
    """The icon as a ``size``×``size`` ARGB image (transparent outside the film)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise ValueError(f"{SVG}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication, QImageWriter

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (Qt needs one)
    for size in SIZES:
        out = HERE / f"wristviewer-{size}.png"
        if not render(size).save(str(out), "PNG"):
            raise OSError(f"{out}: could not write the PNG")
    (HERE / "wristviewer.ico").write_bytes(ico_bytes([png_bytes(render(s)) for s in ICO_SIZES]))
    # Qt's icns writer derives the smaller icns sizes from the 512 px image.
    out = HERE / "wristviewer.icns"
    writer = QImageWriter(str(out), b"icns")
    if not writer.write(render(512)):
        raise OSError(f"{out}: could not write ({writer.errorString()})")
    return 0


def png_bytes(image) -> bytes:  # noqa: ANN001 - QImage
    """``image`` encoded as PNG."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("could not encode the icon as PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: list[bytes]) -> bytes:
    """A Windows .ico holding PNG-compressed square images (Vista and later read these).

    Layout: ICONDIR (6 bytes), one 16-byte ICONDIRENTRY per image, then the PNG data; a
    width/height byte of 0 means 256 px.
    """
    import struct

    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, blobs = b"", b""
    for png in pngs:
        width, height = struct.unpack(">II", png[16:24])  # from the IHDR chunk
        entries += struct.pack(
            "<BBBBHHII", width % 256, height % 256, 0, 0, 1, 32, len(png), offset + len(blobs)
        )
        blobs += png
    return header + entries + blobs


if __name__ == "__main__":
    raise SystemExit(main())
