"""Who and which examination a radiograph belongs to: the patient banner's data, Qt-free.

A DICOM read carries a :class:`PatientIdentity` (``Radiograph.identity``): the patient's name
formatted for display ("DOE, John"), ID and its issuer, sex, birth date, and the study's date,
time, accession number, Study ID, Study Instance UID and description, plus the side from
Image Laterality / Laterality. PNG, JPEG and TIFF files carry no patient data: their identity is
``None`` and the banner says "no patient data in file" beside the file or folder name.

Whether two studies show the same patient (:func:`compare_patients`) is answered "same" only
when the Patient IDs agree and so does the name or the birth date, with nothing that
disagrees; any field present on both sides that differs gives "different"; everything else
(missing fields, plain images, IDs from different issuers) is "unknown". A viewer must never
say "same patient" with a certainty it does not have.

Reading the identity never refuses a file: a field that cannot be decoded is left out.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wristviewer.imaging.dicom import PARSE_ERRORS
from wristviewer.imaging.views import dicom_text, laterality_from_dataset

if TYPE_CHECKING:
    from wristviewer.imaging.radiograph import Study

#: What the banner says for files that carry no patient data (PNG, JPEG, TIFF).
NO_PATIENT_DATA = "no patient data in file"

_SEX = {"M": "M", "F": "F", "O": "other"}


@dataclass(frozen=True)
class PatientIdentity:
    """The patient and examination a DICOM image names, as display text (None when absent).

    ``name``: "FAMILY, Given Middle" from the PN value; ``sex``: "M", "F" or "other";
    dates as ISO text "YYYY-MM-DD" (the raw text when it is not a valid DICOM date);
    ``study_time`` as "HH:MM"; ``laterality``: "L" or "R" from the header only.
    """

    name: str | None = None
    patient_id: str | None = None
    issuer: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    study_date: str | None = None
    study_time: str | None = None
    accession_number: str | None = None
    study_id: str | None = None
    study_uid: str | None = None
    study_description: str | None = None
    laterality: str | None = None

    @property
    def age(self) -> str | None:
        """Age at the study in whole years ("44 y"), months under two years, else None."""
        born, seen = _date(self.birth_date), _date(self.study_date)
        if born is None or seen is None or seen < born:
            return None
        months = (seen.year - born.year) * 12 + seen.month - born.month - (seen.day < born.day)
        return f"{months // 12} y" if months >= 24 else f"{months} mo"


class PatientMatch(enum.StrEnum):
    """Whether two images or studies show the same patient, as far as the headers can say."""

    SAME = "same"
    DIFFERENT = "different"
    UNKNOWN = "unknown"


# --- reading -----------------------------------------------------------------------------


def _text(ds: Any, keyword: str) -> str | None:
    """An element's value as stripped text, or None when absent, empty or undecodable."""
    try:
        text = dicom_text(ds.get(keyword)).strip()
    except PARSE_ERRORS:  # a damaged optional field is left out, never fatal
        return None
    return text or None


def format_person_name(value: Any) -> str | None:
    """A DICOM PN value ("Doe^John^Q^Dr^Jr") as "DOE, John Q" (prefix and suffix kept:
    "DOE, Dr John Q, Jr"); only the alphabetic component group; None when empty."""
    text = dicom_text(value).split("=")[0].strip()
    if not text:
        return None
    parts = [p.strip() for p in text.split("^")] + [""] * 5
    family, given, middle, prefix, suffix = parts[:5]
    first = " ".join(p for p in (prefix, given, middle) if p)
    name = family.upper()
    if first:
        name = f"{name}, {first}" if name else first
    if suffix:
        name = f"{name}, {suffix}"
    return name or None


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def format_date(value: str | None) -> str | None:
    """A DICOM DA ("19800131", or the old "1980.01.31") as "1980-01-31"; other text as is."""
    if not value:
        return None
    digits = value.replace(".", "").replace("-", "").strip()
    if len(digits) == 8 and digits.isdigit():
        try:
            return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).isoformat()
        except ValueError:
            pass
    return value


def format_time(value: str | None) -> str | None:
    """A DICOM TM ("103245.123456", "1032") as "10:32"; other text as is."""
    if not value:
        return None
    text = value.replace(":", "").strip()
    if len(text) >= 4 and text[:4].isdigit() and int(text[:2]) < 24 and int(text[2:4]) < 60:
        return f"{text[:2]}:{text[2:4]}"
    return value


def identity_from_dataset(ds: Any) -> PatientIdentity:
    """The :class:`PatientIdentity` a DICOM data set names (absent fields are None)."""
    try:
        name = format_person_name(ds.get("PatientName"))
    except PARSE_ERRORS:  # an undecodable name is left out, never fatal
        name = None
    sex = _text(ds, "PatientSex")
    try:
        laterality = laterality_from_dataset(ds)
    except PARSE_ERRORS:  # a damaged optional field is left out, never fatal
        laterality = None
    return PatientIdentity(
        name=name,
        patient_id=_text(ds, "PatientID"),
        issuer=_text(ds, "IssuerOfPatientID"),
        sex=_SEX.get((sex or "").upper(), sex),
        birth_date=format_date(_text(ds, "PatientBirthDate")),
        study_date=format_date(_text(ds, "StudyDate")),
        study_time=format_time(_text(ds, "StudyTime")),
        accession_number=_text(ds, "AccessionNumber"),
        study_id=_text(ds, "StudyID"),
        study_uid=_text(ds, "StudyInstanceUID"),
        study_description=_text(ds, "StudyDescription"),
        laterality=laterality,
    )


# --- comparing ---------------------------------------------------------------------------


def _norm(text: str | None) -> str | None:
    """Case, spaces, commas and carets do not tell patients apart."""
    if not text:
        return None
    return re.sub(r"[\s,^]+", " ", text).strip().upper() or None


def compare_patients(a: PatientIdentity | None, b: PatientIdentity | None) -> PatientMatch:
    """SAME, DIFFERENT or UNKNOWN (see the module docstring for the rule)."""
    if a is None or b is None:
        return PatientMatch.UNKNOWN
    pairs = [
        (_norm(a.patient_id), _norm(b.patient_id)),
        (_norm(a.name), _norm(b.name)),
        (a.birth_date, b.birth_date),
    ]
    if any(x is not None and y is not None and x != y for x, y in pairs):
        return PatientMatch.DIFFERENT
    issuers = _norm(a.issuer), _norm(b.issuer)
    if issuers[0] is not None and issuers[1] is not None and issuers[0] != issuers[1]:
        return PatientMatch.UNKNOWN  # the same number from two registries proves nothing
    ids_agree = pairs[0][0] is not None and pairs[0][1] is not None
    more_agrees = any(x is not None and y is not None for x, y in pairs[1:])
    return PatientMatch.SAME if ids_agree and more_agrees else PatientMatch.UNKNOWN


def _worst(matches: Sequence[PatientMatch]) -> PatientMatch:
    if PatientMatch.DIFFERENT in matches:
        return PatientMatch.DIFFERENT
    if PatientMatch.UNKNOWN in matches:
        return PatientMatch.UNKNOWN
    return PatientMatch.SAME


def study_identity(study: Study) -> PatientIdentity | None:
    """The identity of the study's first DICOM view (None for a study of plain images)."""
    return next((r.identity for r in study.views if r.identity is not None), None)


def within_study(study: Study) -> PatientMatch:
    """Whether all views of a study show one patient: DIFFERENT when any two disagree."""
    views = study.views
    if len(views) < 2:
        return PatientMatch.SAME
    first = views[0].identity
    return _worst([compare_patients(first, r.identity) for r in views[1:]])


def compare_studies(a: Study, b: Study) -> PatientMatch:
    """Whether two studies show the same patient: every view of one against every view of
    the other, the worst answer wins (one disagreeing pair makes them DIFFERENT)."""
    return _worst([compare_patients(x.identity, y.identity) for x in a.views for y in b.views])


def other_patients(study: Study, open_studies: Sequence[Study]) -> dict[str, PatientMatch]:
    """For each other open study (by ``Study.id``) that is not certainly the same patient as
    ``study``: DIFFERENT or UNKNOWN. Empty when every other open study is the same patient."""
    found: dict[str, PatientMatch] = {}
    for other in open_studies:
        if other is study or other.id == study.id:
            continue
        match = compare_studies(study, other)
        if match is not PatientMatch.SAME:
            found[other.id] = match
    return found


# --- text for the banner and the report ---------------------------------------------------


def _side(study: Study) -> str | None:
    sides = {r.laterality for r in study.views if r.laterality}
    if not sides:
        return None
    if sides == {"L"}:
        return "Left"
    if sides == {"R"}:
        return "Right"
    return "Left and right images"


def study_source_name(study: Study) -> str:
    """``Study.name``, else the file name of a one-image study or its folder's name."""
    if study.name:
        return study.name
    if len(study.views) == 1:
        return study.views[0].path.name
    parents = {r.path.parent for r in study.views}
    if len(parents) == 1:
        folder = parents.pop()
        return f"folder {folder.name or folder}"
    return f"{len(study.views)} images from {len(parents)} folders"


def banner_lines(study: Study, open_studies: Sequence[Study] = ()) -> list[str]:
    """The patient banner as text lines (the window only displays them).

    DICOM: "DOE, John · ID 12345 · F · born 1980-01-31 (44 y)", then
    "Study 2024-01-01 10:32 · Acc. A123 · Left"; plain images: "wrist_PA.jpg · no patient data
    in file". A warning line (starting "⚠") follows when the study's own images disagree, or
    when another open study is of a different patient (:func:`other_patients`).
    """
    who = study_identity(study)
    lines: list[str] = []
    if who is None:
        lines.append(f"{study_source_name(study)} · {NO_PATIENT_DATA}")
    else:
        person = [who.name or "(no name)", f"ID {who.patient_id or '?'}"]
        if who.sex:
            person.append(who.sex)
        if who.birth_date:
            age = who.age
            person.append(f"born {who.birth_date}" + (f" ({age})" if age else ""))
        lines.append(" · ".join(person))
        when = " ".join(t for t in (who.study_date, who.study_time) if t)
        exam = [f"Study {when}" if when else "Study (no date in file)"]
        if who.accession_number:
            exam.append(f"Acc. {who.accession_number}")
        side = _side(study)
        if side:
            exam.append(side)
        lines.append(" · ".join(exam))
    if within_study(study) is PatientMatch.DIFFERENT:
        lines.append("⚠ The images of this study do not all name the same patient.")
    others = other_patients(study, open_studies)
    different = sum(m is PatientMatch.DIFFERENT for m in others.values())
    if different:
        lines.append(
            f"⚠ Different patient from {different} other open stud"
            f"{'y' if different == 1 else 'ies'}."
        )
    return lines


def study_reference(study: Study) -> str:
    """A short reference to the examination for a report: "study 2024-01-01 10:32,
    accession A123" (else the Study ID or Study Instance UID), or the file/folder name."""
    who = study_identity(study)
    if who is None:
        return f"{study_source_name(study)} ({NO_PATIENT_DATA})"
    parts = []
    when = " ".join(t for t in (who.study_date, who.study_time) if t)
    if when:
        parts.append(f"study {when}")
    if who.accession_number:
        parts.append(f"accession {who.accession_number}")
    elif who.study_id:
        parts.append(f"study ID {who.study_id}")
    elif who.study_uid:
        parts.append(f"study UID {who.study_uid}")
    return ", ".join(parts) or "study without date or accession number"
