"""Typed errors for input that cannot be read. Each message names the file and the reason."""

from __future__ import annotations

from pathlib import Path


class ImagingError(Exception):
    """A file could not be turned into a radiograph.

    ``str(err)`` is one sentence a clinician can read: ``"<path>: <reason>"``.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
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
    """The path does not exist, is a folder, or cannot be opened (permissions, I/O error)."""


class CorruptImageError(ImagingError):
    """Recognised as DICOM, PNG, JPEG or TIFF, but its content cannot be decoded."""
