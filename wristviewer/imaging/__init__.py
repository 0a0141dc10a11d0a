"""Reading radiographs, sorting them into studies and views, and enhancing them.

numpy, OpenCV and pydicom only: no torch, no Qt.
"""

from wristviewer.imaging.enhance import ClaheSettings, apply_clahe, apply_window, clahe, invert
from wristviewer.imaging.errors import (
    CorruptImageError,
    DecoderFailureError,
    EmptyFileError,
    FileAccessError,
    ImageTooLargeError,
    ImagingError,
    NonImageDicomError,
    NotAnImageError,
    TruncatedPixelDataError,
    UnsupportedTransferSyntaxError,
)
from wristviewer.imaging.radiograph import Radiograph, SkippedFile, Study, View, Window
from wristviewer.imaging.reader import detect_format, read
from wristviewer.imaging.studies import (
    expand_paths,
    group_studies,
    iter_load_studies,
    load_studies,
    merge_studies,
    read_many,
    split_study,
    study_key,
)
from wristviewer.imaging.tags import DicomTag, read_dicom_tags

__all__ = [
    "ClaheSettings",
    "CorruptImageError",
    "DecoderFailureError",
    "DicomTag",
    "EmptyFileError",
    "FileAccessError",
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
    "detect_format",
    "expand_paths",
    "group_studies",
    "iter_load_studies",
    "invert",
    "load_studies",
    "merge_studies",
    "read",
    "read_dicom_tags",
    "read_many",
    "split_study",
    "study_key",
]
