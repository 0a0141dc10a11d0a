"""Typed errors for input that cannot be read, and the one boundary that produces them.

Each message names the file and the reason. :class:`failures_as_imaging_errors` is the boundary
every read and decode of a file runs behind: whatever a parser or a native decoder raises
inside it reaches the caller as an :class:`ImagingError` naming the file, so one damaged file is
one skipped file and never stops a folder.
"""

from __future__ import annotations

import errno
from pathlib import Path
from types import TracebackType
from typing import Literal

#: Raised through the boundary unchanged: the user or the interpreter stopping the program.
PASSED_THROUGH: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, GeneratorExit)

#: Longest error text of a foreign exception quoted in a reason.
_MAX_QUOTED = 160


class ImagingError(Exception):
    """A file could not be turned into a radiograph.

    ``str(err)`` is one sentence a clinician can read: ``"<path>: <reason>"`` (the reason on
    one line, whatever text a decoder contributed to it).
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = " ".join(reason.split())
        super().__init__(f"{self.path}: {reason}")


class EmptyFileError(ImagingError):
    """The file has no bytes."""


class NotAnImageError(ImagingError):
    """The file is neither DICOM nor a supported raster image."""


class TruncatedPixelDataError(ImagingError):
    """The pixel data ends before the image does."""


class NonImageDicomError(ImagingError):
    """A DICOM object without pixels: a structured report, a DICOMDIR, a presentation state."""


class UnsupportedTransferSyntaxError(ImagingError):
    """Compressed pixel data that no installed decoder handles."""


class ImageTooLargeError(ImagingError):
    """An image beyond the size limit (guards memory against corrupt headers)."""


class FileAccessError(ImagingError):
    """The path does not exist, is a folder or a special file (a named pipe, a device), or
    cannot be opened (permissions, I/O error)."""


class CorruptImageError(ImagingError):
    """Recognised as DICOM, PNG, JPEG or TIFF, but its content cannot be decoded."""


class DecoderFailureError(CorruptImageError):
    """A parser or decoder failed in a way it does not document: a native-extension panic, a
    ``zlib.error`` from a Deflate data set, an unexpected Python error. The data is damaged (or
    the decoder has a bug); either way this file, and only this file, is skipped."""


def brief(exc: BaseException) -> str:
    """A foreign exception's message on one short line, to quote in a reason."""
    text = " ".join(str(exc).split())
    return text if len(text) <= _MAX_QUOTED else text[: _MAX_QUOTED - 1] + "…"


def quote_exception(exc: BaseException) -> str:
    """``"TypeName: message"`` of a foreign exception on one short line, for a reason."""
    text = brief(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


class failures_as_imaging_errors:
    """Context manager: any failure inside becomes an :class:`ImagingError` naming ``path``.

    :class:`ImagingError` passes unchanged; so do KeyboardInterrupt, SystemExit and
    GeneratorExit. ``MemoryError`` becomes :class:`ImageTooLargeError`; an ``OSError`` carrying
    an operating-system error number (I/O error, file removed meanwhile) becomes
    :class:`FileAccessError`; everything else - any ``BaseException`` subclass, such as
    ``pyo3_runtime.PanicException`` from a Rust decoder - becomes :class:`DecoderFailureError`.
    ``what`` names the data in the sentence ("the DICOM data", "the DICOM header").
    """

    def __init__(self, path: str | Path, what: str = "the file") -> None:
        self.path = Path(path)
        self.what = what

    def __enter__(self) -> failures_as_imaging_errors:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if exc is None or isinstance(exc, (ImagingError, *PASSED_THROUGH)):
            return False
        raise translate_failure(self.path, exc, self.what) from exc


def translate_failure(path: Path, exc: BaseException, what: str = "the file") -> ImagingError:
    """The :class:`ImagingError` a foreign failure while reading ``path`` stands for."""
    if isinstance(exc, MemoryError):
        return ImageTooLargeError(path, f"not enough memory to decode {what}")
    if isinstance(exc, PermissionError):
        return FileAccessError(path, "permission denied: the file cannot be opened")
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno in errno.errorcode:
        return FileAccessError(path, f"the file cannot be read ({exc.strerror or exc})")
    return DecoderFailureError(
        path, f"{what} cannot be decoded: the decoder failed ({quote_exception(exc)})"
    )
