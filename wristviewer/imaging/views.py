"""Which projection (view) and which side (laterality) a radiograph shows.

Sources, strongest first: for DICOM, ViewPosition, ViewCodeSequence (DICOM CID 4010 "DX View",
SNOMED CT or the legacy SNOMED-RT codes), SeriesDescription, ImageComments, ProtocolName; then,
for every file, hints in the file name ("wrist_PA.jpg", "hand-lateral.png", "LeftObl.dcm").
A text that names two different views ("PA and lateral") gives no answer rather than a guess.
Multi-valued text elements (a Series Description written as "PA\\Wrist") are read as one text,
their values joined by DICOM's own separator (:func:`dicom_text`).

"Frontal" without AP or PA is filed as PA: a wrist frontal is taken postero-anterior by
convention, and AP and PA hang in the same place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from wristviewer.imaging.radiograph import View

#: Words (lower case, whole tokens) that name a view in file names and free-text DICOM fields.
VIEW_WORDS: dict[str, View] = {
    "pa": View.PA,
    "dp": View.PA,  # dorso-palmar is the wrist PA
    "dorsopalmar": View.PA,
    "posteroanterior": View.PA,
    "frontal": View.PA,
    "ap": View.AP,
    "anteroposterior": View.AP,
    "obl": View.OBLIQUE,
    "oblique": View.OBLIQUE,
    "oblq": View.OBLIQUE,
    "lat": View.LATERAL,
    "lateral": View.LATERAL,
    "lateromedial": View.LATERAL,
    "mediolateral": View.LATERAL,
}

#: Exact ViewPosition (0018,5101) values beyond the words above (chest-style obliques and laterals).
VIEW_POSITIONS: dict[str, View] = {
    "LL": View.LATERAL,
    "RL": View.LATERAL,
    "LAO": View.OBLIQUE,
    "RAO": View.OBLIQUE,
    "LPO": View.OBLIQUE,
    "RPO": View.OBLIQUE,
}

#: ViewCodeSequence codes of CID 4010, as SNOMED CT (SCT) and legacy SNOMED-RT (SRT) values.
VIEW_CODES: dict[str, View] = {
    # postero-anterior (R-10214 is the older SNOMED-RT code still written by many CR systems)
    "272479007": View.PA, "R-40888": View.PA, "R-10214": View.PA,
    # frontal, unspecified
    "399033003": View.PA, "R-10202": View.PA,
    # antero-posterior
    "399348003": View.AP, "R-10206": View.AP,
    # lateral, right/left lateral, latero-medial, medio-lateral
    "399067008": View.LATERAL, "R-102CD": View.LATERAL,
    "399198007": View.LATERAL, "R-10232": View.LATERAL,
    "399173006": View.LATERAL, "R-10236": View.LATERAL,
    "399352003": View.LATERAL, "R-10228": View.LATERAL,
    "399260004": View.LATERAL, "R-10224": View.LATERAL,
    # oblique and its variants
    "399182000": View.OBLIQUE, "R-102C1": View.OBLIQUE,
    "399059000": View.OBLIQUE, "R-10216": View.OBLIQUE,
    "399312000": View.OBLIQUE, "R-10208": View.OBLIQUE,
    "260427002": View.OBLIQUE, "R-40783": View.OBLIQUE,
    "399236003": View.OBLIQUE, "R-10234": View.OBLIQUE,
    "399184004": View.OBLIQUE, "R-10238": View.OBLIQUE,
    "399160007": View.OBLIQUE, "R-10204": View.OBLIQUE,
    "399099002": View.OBLIQUE, "R-10230": View.OBLIQUE,
    "399368009": View.OBLIQUE, "R-10226": View.OBLIQUE,
    "260426006": View.OBLIQUE, "R-40782": View.OBLIQUE,
    "399038007": View.OBLIQUE, "R-10210": View.OBLIQUE,
    "399135007": View.OBLIQUE, "R-10220": View.OBLIQUE,
    "399356000": View.OBLIQUE, "R-40985": View.OBLIQUE,
    "399006002": View.OBLIQUE, "R-10212": View.OBLIQUE,
}  # fmt: skip

#: Words that name a side.
LATERALITY_WORDS: dict[str, str] = {
    "l": "L",
    "lt": "L",
    "left": "L",
    "r": "R",
    "rt": "R",
    "right": "R",
}

# Upper-case runs, capitalised words, lower-case runs and digit runs: "LeftObl2" -> Left, Obl, 2.
_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens of ``text``, split at punctuation, digits and camelCase."""
    return [t.lower() for t in _TOKEN.findall(text)]


def dicom_text(value: Any) -> str:
    """A DICOM element value as one text: multi-valued values joined with ``"\\"`` (the DICOM
    value separator), bytes decoded as Latin-1, None as ``""``."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "\\".join(dicom_text(v) for v in value)
    return str(value)


def _one(values: Iterable[Any]) -> Any | None:
    """The single distinct non-None value, or None when there is none or more than one."""
    distinct = {v for v in values if v is not None}
    return distinct.pop() if len(distinct) == 1 else None


def view_from_text(text: str | None) -> View | None:
    """The view a free text names ("Wrist PA", "hand_lateral"), or None when unclear."""
    if not text:
        return None
    return _one(VIEW_WORDS.get(t) for t in tokens(text))


def laterality_from_text(text: str | None) -> str | None:
    """The side ("L" or "R") when the text names exactly one, else None."""
    if not text:
        return None
    return _one(LATERALITY_WORDS.get(t) for t in tokens(text))


def view_from_view_position(value: str | None) -> View | None:
    """ViewPosition (0018,5101): "PA", "AP", "LATERAL", "LL", "OBLIQUE", "RAO", ..."""
    if not value:
        return None
    key = str(value).strip().upper()
    if key in VIEW_POSITIONS:
        return VIEW_POSITIONS[key]
    return view_from_text(key.lower())


def view_from_code_sequence(items: Iterable[Any]) -> View | None:
    """ViewCodeSequence items (CodeValue, CodingSchemeDesignator, CodeMeaning) to a view."""
    for item in items:
        code = dicom_text(getattr(item, "CodeValue", None)).strip()
        if code in VIEW_CODES:
            return VIEW_CODES[code]
        meaning = dicom_text(getattr(item, "CodeMeaning", None))
        from_meaning = view_from_text(meaning.replace("-", ""))
        if from_meaning is not None:
            return from_meaning
    return None


def view_from_dataset(ds: Any) -> View | None:
    """The view named by a DICOM header, or None when the header does not say."""
    codes = ds.get("ViewCodeSequence")
    candidates = (
        view_from_view_position(dicom_text(ds.get("ViewPosition"))),
        view_from_code_sequence(codes if isinstance(codes, Sequence) else []),
        view_from_text(dicom_text(ds.get("SeriesDescription"))),
        view_from_text(dicom_text(ds.get("ImageComments"))),
        view_from_text(dicom_text(ds.get("ProtocolName"))),
    )
    return next((v for v in candidates if v is not None), None)


def laterality_from_dataset(ds: Any) -> str | None:
    """ImageLaterality (0020,0062), else the series' Laterality (0020,0060): "L", "R" or None."""
    for keyword in ("ImageLaterality", "Laterality"):
        value = dicom_text(ds.get(keyword)).strip().upper()
        if value in ("L", "R"):
            return value
    return None


def view_from_filename(path: str | Path) -> View | None:
    """The view hinted by the file name (not the folders), e.g. ``wrist_PA.jpg`` -> PA."""
    return view_from_text(Path(path).stem)


def laterality_from_filename(path: str | Path) -> str | None:
    """The side hinted by the file name, e.g. ``left_wrist_lat.png`` -> "L"."""
    return laterality_from_text(Path(path).stem)
