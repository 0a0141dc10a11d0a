"""PNG, JPEG and TIFF radiographs (8 or 16 bit), read with OpenCV.

Plain images are assumed bone-bright (the radiograph convention) and are not inverted.
Greyscale stored as RGB is collapsed to one channel, alpha is dropped, true colour becomes grey
(Rec. 601 luma). JPEG EXIF orientation is applied here, by our own code, so the result does not
depend on which OpenCV flags honour it. Dimensions are read from the header and checked against
the size limit before anything is decoded, and the decoded image must have those dimensions.
Float TIFF pixels that are not finite (NaN, infinity) are shown as the darkest finite value, with
a warning in ``Radiograph.warnings``; an image with no finite pixel at all is refused.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from wristviewer.imaging.codestreams import jpeg_segments, jpeg_size
from wristviewer.imaging.errors import CorruptImageError, TruncatedPixelDataError
from wristviewer.imaging.radiograph import Radiograph, View
from wristviewer.imaging.scaling import check_size, colour_to_grey, to_unit_range
from wristviewer.imaging.views import laterality_from_filename, view_from_filename

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*")

_DECODE_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR | cv2.IMREAD_IGNORE_ORIENTATION


def sniff_raster(head: bytes) -> str | None:
    """The format ("PNG", "JPEG" or "TIFF") from the first bytes of a file, else None."""
    if head.startswith(PNG_MAGIC):
        return "PNG"
    if head.startswith(JPEG_MAGIC):
        return "JPEG"
    if head[:4] in TIFF_MAGICS:
        return "TIFF"
    return None


# --- header dimensions -------------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(height), int(width)


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    endian = "<" if data[:2] == b"II" else ">"
    if len(data) < 8:
        return None
    (ifd,) = struct.unpack(endian + "I", data[4:8])
    if ifd + 2 > len(data):
        return None
    (count,) = struct.unpack(endian + "H", data[ifd : ifd + 2])
    width = height = None
    for i in range(count):
        entry = data[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        if len(entry) < 12:
            break
        tag, typ = struct.unpack(endian + "HH", entry[:4])
        if tag in (256, 257):
            value = (
                struct.unpack(endian + "H", entry[8:10])[0]
                if typ == 3
                else struct.unpack(endian + "I", entry[8:12])[0]
            )
            if tag == 256:
                width = value
            else:
                height = value
    if width is None or height is None:
        return None
    return int(height), int(width)


def header_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """(rows, cols) from the PNG/JPEG/TIFF header without decoding, or None if not found."""
    if fmt == "PNG":
        return _png_size(data)
    if fmt == "JPEG":
        return jpeg_size(data)
    return _tiff_size(data)


# --- EXIF orientation --------------------------------------------------------------------------


def exif_orientation(data: bytes) -> int:
    """The EXIF Orientation tag (1..8) of a JPEG, 1 when absent or unreadable."""
    for marker, payload in jpeg_segments(data):
        if marker != 0xE1 or not payload.startswith(b"Exif\x00\x00"):
            continue
        tiff = payload[6:]
        if len(tiff) < 8 or tiff[:4] not in TIFF_MAGICS:
            return 1
        endian = "<" if tiff[:2] == b"II" else ">"
        (ifd,) = struct.unpack(endian + "I", tiff[4:8])
        if ifd + 2 > len(tiff):
            return 1
        (count,) = struct.unpack(endian + "H", tiff[ifd : ifd + 2])
        for i in range(count):
            entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
            if len(entry) < 12:
                break
            tag, typ = struct.unpack(endian + "HH", entry[:4])
            if tag == 0x0112 and typ == 3:
                value = struct.unpack(endian + "H", entry[8:10])[0]
                return value if 1 <= value <= 8 else 1
        return 1
    return 1


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright according to an EXIF orientation (1 = as stored)."""
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1, :]
    if orientation == 5:
        return np.swapaxes(pixels, 0, 1)
    if orientation == 6:
        return np.rot90(pixels, k=-1)
    if orientation == 7:
        return np.rot90(pixels, k=1)[::-1, :]
    if orientation == 8:
        return np.rot90(pixels, k=1)
    return pixels


# --- reading -----------------------------------------------------------------------------------


def _check_complete(path: Path, data: bytes, fmt: str) -> None:
    if fmt == "JPEG":
        scan = data.rfind(b"\xff\xda")
        if scan < 0 or data.find(b"\xff\xd9", scan) < 0:
            raise TruncatedPixelDataError(
                path,
                "the JPEG data ends before the image does (no end-of-image marker): the file is truncated",
            )
    elif fmt == "PNG" and data.rfind(b"IEND") < 0:
        raise TruncatedPixelDataError(
            path, "the PNG data ends before the image does (no IEND chunk): the file is truncated"
        )


def _finite_range(path: Path, stored: np.ndarray, warnings: list[str]) -> np.ndarray:
    """Float pixels with non-finite values replaced by the lowest finite one (and a warning)."""
    stored = stored.astype(np.float32)
    finite = np.isfinite(stored)
    if finite.all():
        return stored
    if not finite.any():
        raise CorruptImageError(path, "no pixel of the image is a finite number")
    bad = int(stored.size - np.count_nonzero(finite))
    warnings.append(
        f"{bad} pixel value(s) are not finite numbers (NaN or infinity) and are shown as the "
        "darkest value"
    )
    stored[~finite] = stored[finite].min()
    return stored


def read_raster(path: Path, data: bytes, fmt: str, max_pixels: int | None = None) -> Radiograph:
    """Decode PNG/JPEG/TIFF bytes to a :class:`Radiograph` (bone bright, 0..1, float32).

    ``max_pixels``: the size limit (see :func:`~wristviewer.imaging.scaling.check_size`).
    """
    size = header_size(data, fmt)
    if size is None:
        raise CorruptImageError(path, f"the {fmt} header gives no image size; the file is damaged")
    check_size(path, *size, limit=max_pixels)
    _check_complete(path, data, fmt)
    stored = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), _DECODE_FLAGS)
    if stored is None or stored.size == 0:
        raise CorruptImageError(
            path, f"OpenCV could not decode the {fmt} data; the file is damaged"
        )
    if stored.shape[:2] != size:
        raise CorruptImageError(
            path,
            f"the decoded image is {stored.shape[1]} × {stored.shape[0]} pixels but the {fmt} "
            f"header says {size[1]} × {size[0]}; the file is damaged",
        )

    warnings: list[str] = []
    if stored.dtype == np.uint8:
        bits, lo, hi = 8, 0.0, 255.0
    elif stored.dtype == np.uint16:
        bits, lo, hi = 16, 0.0, 65535.0
    else:  # float or 32-bit TIFF: no fixed range, use the data's own
        bits = int(stored.dtype.itemsize * 8)
        stored = _finite_range(path, stored, warnings)
        lo, hi = float(stored.min()), float(stored.max())

    photometric = "MONOCHROME2"
    if stored.ndim == 3 and stored.shape[2] < 3:  # grey + alpha
        stored = np.ascontiguousarray(stored[..., 0])
    if stored.ndim == 3:
        photometric = "RGB"
        stored = colour_to_grey(stored[..., :3], order="BGR")  # OpenCV gives BGR
    if fmt == "JPEG":
        stored = apply_orientation(stored, exif_orientation(data))
    pixels, lo, hi = to_unit_range(stored, lo, hi)

    return Radiograph(
        pixels=np.ascontiguousarray(pixels),
        path=path,
        format=fmt,
        bits_stored=bits,
        photometric=photometric,
        view=view_from_filename(path) or View.UNKNOWN,
        laterality=laterality_from_filename(path),
        warnings=tuple(warnings),
        value_range=(lo, hi),
    )
