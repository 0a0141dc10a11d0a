"""The DICOM header as rows for the viewer's tags dialog."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from wristviewer.imaging.dicom import PARSE_ERRORS, has_dicm_prefix, looks_like_bare_dicom
from wristviewer.imaging.errors import CorruptImageError, brief, failures_as_imaging_errors
from wristviewer.imaging.files import regular_file

#: Longer values are cut to this many characters (with an ellipsis).
MAX_VALUE_CHARS = 256


@dataclass(frozen=True)
class DicomTag:
    """One header element: ``tag`` as "(0010,0010)", its keyword (or name for private tags),
    the VR, and the value as display text. Items of a sequence follow the sequence with their
    keywords prefixed by one ">" per nesting level, as DICOM dumps show them."""

    tag: str
    keyword: str
    vr: str
    value: str


def _value_text(elem: DataElement) -> str:
    if elem.VR == "SQ":
        n = len(elem.value)
        return f"<sequence of {n} item{'s' if n != 1 else ''}>"
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    text = "" if value is None else str(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return text


def _walk(ds: Dataset, depth: int) -> Iterator[DicomTag]:
    prefix = ">" * depth
    for elem in ds:
        keyword = elem.keyword or elem.name
        yield DicomTag(
            tag=f"({elem.tag.group:04X},{elem.tag.element:04X})",
            keyword=prefix + keyword,
            vr=str(elem.VR),
            value=_value_text(elem),
        )
        if elem.VR == "SQ":
            for item in elem.value:
                yield from _walk(item, depth + 1)


def read_dicom_tags(path: str | Path) -> list[DicomTag]:
    """All header elements of a DICOM file (file meta first, pixel data left out).

    Returns ``[]`` for files that are not DICOM (PNG, JPEG, empty files). Raises
    :class:`FileAccessError` when the path is not a regular file or cannot be opened, and
    :class:`CorruptImageError` when a DICOM header cannot be parsed (whatever the parser raised:
    it runs behind the imaging layer's one failure boundary).
    """
    path = Path(path)
    with failures_as_imaging_errors(path, "the DICOM header"):
        regular_file(path)
        with path.open("rb") as fh:
            head = fh.read(132)
        if not (has_dicm_prefix(head) or looks_like_bare_dicom(head)):
            return []
        try:
            ds = pydicom.dcmread(path, force=True, stop_before_pixels=True)
            rows = list(_walk(ds.file_meta, 0)) if ds.file_meta is not None else []
            rows += list(_walk(ds, 0))
        except PARSE_ERRORS as exc:
            if not has_dicm_prefix(head):
                return []
            raise CorruptImageError(
                path, f"the DICOM header cannot be parsed ({brief(exc)})"
            ) from exc
        return rows
