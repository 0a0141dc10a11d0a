"""``read(path)``: one file to one :class:`Radiograph`, whatever its format and extension.

The format is recognised by content, never by extension (PACS exports often have none):
``DICM`` at offset 128 is DICOM; the PNG, JPEG and TIFF signatures are raster images; a file
that starts like a preamble-less DICOM data set (a group 0002 or 0008 tag) is parsed by pydicom
with ``force=True`` and accepted only when it holds pixel data. Everything else is
:class:`NotAnImageError`.

Every failure is an :class:`ImagingError` naming the file and the reason: the whole read runs
behind one boundary (:class:`~wristviewer.imaging.errors.failures_as_imaging_errors`), so even
a native decoder's panic is one refused file. What comes out is checked too: pixels are float32,
two-dimensional, finite and within 0..1, or the file is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from wristviewer.imaging.dicom import has_dicm_prefix, looks_like_bare_dicom, read_dicom
from wristviewer.imaging.errors import (
    CorruptImageError,
    EmptyFileError,
    NotAnImageError,
    failures_as_imaging_errors,
)
from wristviewer.imaging.files import regular_file
from wristviewer.imaging.radiograph import Radiograph
from wristviewer.imaging.raster import read_raster, sniff_raster

#: How many leading bytes decide the format.
HEAD_BYTES = 132


def _head(path: Path) -> bytes:
    """The first bytes of a regular, non-empty file (see :func:`regular_file`)."""
    if regular_file(path).st_size == 0:
        raise EmptyFileError(path, "the file is empty (0 bytes)")
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES)


def detect_format(path: str | Path) -> str | None:
    """The format ("DICOM", "PNG", "JPEG" or "TIFF") from the file's content, or None.

    Preamble-less DICOM is reported as "DICOM" when it merely looks like a data set; whether it
    holds pixels is only known after parsing. Raises like :func:`read` for missing/empty files.
    """
    path = Path(os.fsdecode(path))
    with failures_as_imaging_errors(path):
        return _format_of(_head(path))


def _format_of(head: bytes) -> str | None:
    if has_dicm_prefix(head):
        return "DICOM"
    raster = sniff_raster(head)
    if raster is not None:
        return raster
    if looks_like_bare_dicom(head):
        return "DICOM"
    return None


def read(path: str | bytes | Path, *, max_pixels: int | None = None) -> Radiograph:
    """Read a DICOM, PNG, JPEG or TIFF radiograph.

    Returns pixels as float32 (rows, cols) in 0..1 with bone bright, at full bit depth, and the
    metadata (see :class:`Radiograph`). Multi-frame DICOM gives its first frame
    (``frame_count`` says how many there are). ``max_pixels`` limits the pixels the header may
    claim, all frames counted (default :func:`~wristviewer.imaging.scaling.max_pixels`).
    A ``bytes`` path (a file name that is not valid UTF-8) is decoded with ``os.fsdecode``.

    Raises an :class:`ImagingError` subclass whose message is ``"<path>: <reason>"``:
    :class:`FileAccessError`, :class:`EmptyFileError`, :class:`NotAnImageError`,
    :class:`NonImageDicomError`, :class:`TruncatedPixelDataError`,
    :class:`UnsupportedTransferSyntaxError`, :class:`ImageTooLargeError`,
    :class:`CorruptImageError` (:class:`DecoderFailureError` for a decoder that failed in an
    undocumented way, a native panic included). Only KeyboardInterrupt, SystemExit and
    GeneratorExit pass through.
    """
    path = Path(os.fsdecode(path))
    with failures_as_imaging_errors(path) as boundary:
        head = _head(path)
        fmt = _format_of(head)
        if fmt is None:
            suffix = f" ({path.suffix} file)" if path.suffix else ""
            raise NotAnImageError(path, f"not an image{suffix}: neither DICOM, PNG, JPEG nor TIFF")
        boundary.what = f"the {fmt} data"
        if fmt == "DICOM":
            radiograph = read_dicom(path, preamble=has_dicm_prefix(head), max_pixels=max_pixels)
        else:
            radiograph = read_raster(path, path.read_bytes(), fmt, max_pixels=max_pixels)
        _check_pixels(radiograph)
        return radiograph


def _check_pixels(radiograph: Radiograph) -> None:
    """Refuse a result that breaks the :class:`Radiograph` contract (whatever the decoder did)."""
    pixels, path = radiograph.pixels, radiograph.path
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.float32 or pixels.ndim != 2:
        shape = getattr(pixels, "shape", "?")
        raise CorruptImageError(path, f"the decoded pixels have an unusable shape {shape}")
    if pixels.size == 0:
        raise CorruptImageError(path, "the decoded image has no pixels")
    if not np.isfinite(pixels).all():
        raise CorruptImageError(path, "the decoded pixel values are not all finite numbers")
    if float(pixels.min()) < 0.0 or float(pixels.max()) > 1.0:
        raise CorruptImageError(path, "the decoded pixel values fall outside the 0..1 range")
