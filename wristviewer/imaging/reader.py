"""``read(path)``: one file to one :class:`Radiograph`, whatever its format and extension.

The format is recognised by content, never by extension (PACS exports often have none):
``DICM`` at offset 128 is DICOM; the PNG, JPEG and TIFF signatures are raster images; a file
that starts like a preamble-less DICOM data set (a group 0002 or 0008 tag) is parsed by pydicom
with ``force=True`` and accepted only when it holds pixel data. Everything else is
:class:`NotAnImageError`. Every failure is an :class:`ImagingError` naming the file and the reason.
"""

from __future__ import annotations

from pathlib import Path

from wristviewer.imaging.dicom import (
    PARSE_ERRORS,
    has_dicm_prefix,
    looks_like_bare_dicom,
    read_dicom,
)
from wristviewer.imaging.errors import (
    CorruptImageError,
    EmptyFileError,
    FileAccessError,
    ImagingError,
    NotAnImageError,
)
from wristviewer.imaging.radiograph import Radiograph
from wristviewer.imaging.raster import read_raster, sniff_raster

#: How many leading bytes decide the format.
HEAD_BYTES = 132


def _head(path: Path) -> bytes:
    """The first bytes of the file; raises for missing, empty and unreadable files."""
    if path.is_dir():
        raise FileAccessError(path, "this is a folder, not a file")
    try:
        size = path.stat().st_size
        if size == 0:
            raise EmptyFileError(path, "the file is empty (0 bytes)")
        with path.open("rb") as fh:
            return fh.read(HEAD_BYTES)
    except FileNotFoundError as exc:
        raise FileAccessError(path, "the file does not exist") from exc
    except PermissionError as exc:
        raise FileAccessError(path, "permission denied: the file cannot be opened") from exc
    except OSError as exc:
        raise FileAccessError(path, f"the file cannot be read ({exc.strerror or exc})") from exc


def detect_format(path: str | Path) -> str | None:
    """The format ("DICOM", "PNG", "JPEG" or "TIFF") from the file's content, or None.

    Preamble-less DICOM is reported as "DICOM" when it merely looks like a data set; whether it
    holds pixels is only known after parsing. Raises like :func:`read` for missing/empty files.
    """
    return _format_of(_head(Path(path)))


def _format_of(head: bytes) -> str | None:
    if has_dicm_prefix(head):
        return "DICOM"
    raster = sniff_raster(head)
    if raster is not None:
        return raster
    if looks_like_bare_dicom(head):
        return "DICOM"
    return None


def read(path: str | Path) -> Radiograph:
    """Read a DICOM, PNG, JPEG or TIFF radiograph.

    Returns pixels as float32 (rows, cols) in 0..1 with bone bright, at full bit depth, and the
    metadata (see :class:`Radiograph`). Multi-frame DICOM gives its first frame
    (``frame_count`` says how many there are).

    Raises an :class:`ImagingError` subclass whose message is ``"<path>: <reason>"``:
    :class:`FileAccessError`, :class:`EmptyFileError`, :class:`NotAnImageError`,
    :class:`NonImageDicomError`, :class:`TruncatedPixelDataError`,
    :class:`UnsupportedTransferSyntaxError`, :class:`ImageTooLargeError`,
    :class:`CorruptImageError`.
    """
    path = Path(path)
    head = _head(path)
    fmt = _format_of(head)
    if fmt is None:
        suffix = f" ({path.suffix} file)" if path.suffix else ""
        raise NotAnImageError(path, f"not an image{suffix}: neither DICOM, PNG, JPEG nor TIFF")
    try:
        if fmt == "DICOM":
            return read_dicom(path, preamble=has_dicm_prefix(head))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FileAccessError(path, f"the file cannot be read ({exc.strerror or exc})") from exc
        return read_raster(path, data, fmt)
    except ImagingError:
        raise
    except MemoryError as exc:
        raise CorruptImageError(path, "not enough memory to decode this image") from exc
    except PARSE_ERRORS + (OSError,) as exc:
        raise CorruptImageError(
            path, f"the {fmt} data cannot be decoded ({type(exc).__name__}: {exc})"
        ) from exc
