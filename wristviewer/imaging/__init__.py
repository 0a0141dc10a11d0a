"""Reading radiographs, sorting them into studies and views, and enhancing them.

numpy, OpenCV and pydicom only: no torch, no Qt.
"""

from wristviewer.imaging.enhance import ClaheSettings, apply_clahe, apply_window, clahe, invert
from wristviewer.imaging.errors import (
    EmptyFileError,
    ImageTooLargeError,
    ImagingError,
    NonImageDicomError,
    NotAnImageError,
    TruncatedPixelDataError,
    UnsupportedTransferSyntaxError,
)
from wristviewer.imaging.radiograph import Radiograph, SkippedFile, Study, View, Window

__all__ = [
    "ClaheSettings",
    "EmptyFileError",
    "ImageTooLargeError",
    "ImagingError",
    "NonImageDicomError",
    "NotAnImageError",
    "Radiograph",
    "SkippedFile",
    "Study",
    "TruncatedPixelDataError",
    "UnsupportedTransferSyntaxError",
    "View",
    "Window",
    "apply_clahe",
    "apply_window",
    "clahe",
    "invert",
]
