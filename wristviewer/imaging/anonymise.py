"""De-identification of DICOM files for a teaching file: the DICOM Basic Application Level
Confidentiality Profile (PS3.15 Annex E), every attribute of Table E.1-1
(:mod:`wristviewer.imaging.confidentiality_profile`), applied at every nesting level, plus
what the profile leaves to the implementer. pydicom only.

Action codes (:data:`PROFILE`):

* ``X`` remove; ``Z`` keep the attribute with an empty value (an empty sequence for SQ);
* ``D`` replace with a dummy value of the same VR (``"ANONYMOUS"``, ``"ANON"``; a sequence
  becomes empty, a binary value empty);
* ``U`` replace a UID by a new one (``2.25.<uuid>``), **consistently**: within one export the
  same input UID always maps to the same output UID (:class:`UidMap`), so studies, series and
  references stay linked;
* ``C`` clean: keep the text but blank out any identifying value of the same file (name parts,
  IDs, accession number, birth date) found in it — only with the Clean Descriptors Option
  (``clean_descriptors=True``), and only for the descriptors in :data:`CLEANED_DESCRIPTORS`
  (study/series descriptions such as "PA wrist"); without the option they are removed.

Where the table offers a choice (``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D``, ``X/Z/U*``) the
strictest choice a valid object allows is taken: ``Z`` for the Type 2 attributes every image
has (:data:`EMPTIED_NOT_REMOVED`: patient name/ID/birth date/sex, study date/time, …), ``X``
otherwise.

Beyond the table, because the profile lets an implementer remove more and "nothing bad gets
through" is the point:

* the 128-byte preamble is zeroed, and the file meta information is rebuilt from scratch
  (SOP class and new instance UID, transfer syntax, pydicom's implementation UID), so source,
  sending and receiving AE titles, presentation addresses and private information are gone;
* private attributes are removed (no Retain Safe Private Option), and so are curves (50xx),
  overlays (60xx), command (0000) and stray file-meta (0002) groups, group lengths, public
  attributes pydicom's dictionary does not know, and values of VR UN (unparsed bytes);
* every date, time and date-time (DA, TM, DT) is removed unless the table empties it (``Z``):
  none survives with a value, so ``LongitudinalTemporalInformationModified`` is ``REMOVED``;
* free text (LT, ST, UT, UC, UR) and person names (PN) are removed unless the table says
  otherwise, wherever they are (e.g. a TextValue in an SR item);
* every remaining text or code value (LO, SH, AE, CS, …, in any sequence, e.g. a CodeMeaning)
  is cleaned of the identifying values the file held anywhere (names and their parts, IDs,
  accession number, and each text value the profile removed or emptied), and every remaining
  UID that DICOM itself does not define is replaced like a ``U`` attribute;
* a last pass checks the result and refuses to write a file where any of this failed.

Pixel data is never changed: text burned into the pixels stays there, so
:func:`burned_in_warning` names the files whose header says (or whose modality suggests) there
may be some.

The result carries ``PatientIdentityRemoved = YES``, ``DeidentificationMethod``, and
``DeidentificationMethodCodeSequence`` with the PS3.16 CID 7050 codes of exactly what was done:
DCM 113100 (Basic Application Confidentiality Profile), plus 113105 (Clean Descriptors Option)
only when a descriptor was actually kept in cleaned form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pydicom
from pydicom.datadict import dictionary_has_tag, dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID_dictionary, generate_uid

from wristviewer.imaging.confidentiality_profile import BASIC_PROFILE
from wristviewer.imaging.dicom import PARSE_ERRORS
from wristviewer.imaging.errors import CorruptImageError, FileAccessError, ImagingError
from wristviewer.imaging.reader import detect_format, read

#: attributes whose table entry allows ``Z`` and that stay, emptied: Type 2 in modules every
#: radiograph has (Patient, General Study, General Image/DX Image), so the object stays valid
EMPTIED_NOT_REMOVED = frozenset(
    {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyDate",
        "StudyTime",
        "StudyID",
        "AccessionNumber",
        "ReferringPhysicianName",
        "ContentDate",
        "ContentTime",
    }
)

#: descriptors kept in cleaned form with the Clean Descriptors Option (removed without it)
CLEANED_DESCRIPTORS = frozenset(
    {"StudyDescription", "SeriesDescription", "ProtocolName", "ImageComments"}
)

#: kept on purpose though not in the table (documentation: everything else not in the table is
#: kept too, subject to the rules beyond the table in the module docstring)
KEPT = (
    "Modality",
    "BodyPartExamined",
    "ViewPosition",
    "ImageLaterality",
    "Laterality",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "BurnedInAnnotation",
)

ACTIONS = frozenset("XZDUC")


def _resolve(keyword: str, code: str) -> str:
    """One action from the table's code (see the module docstring for the rule)."""
    if keyword in CLEANED_DESCRIPTORS:
        return "C"
    choices = code.rstrip("*").split("/")
    if len(choices) == 1:
        return choices[0]
    if "X" in choices and keyword not in EMPTIED_NOT_REMOVED:
        return "X"
    return "Z" if "Z" in choices else choices[0]


#: tag (int) -> (keyword, or the standard's name where pydicom has no keyword; action)
PROFILE: dict[int, tuple[str, str]] = {}
for _tag, _code, _name in BASIC_PROFILE:
    _keyword = keyword_for_tag(_tag) or _name
    PROFILE[_tag] = (_keyword, _resolve(_keyword, _code))

#: repeating groups removed whole: curves (50xx) and overlays (60xx)
REMOVED_GROUPS: tuple[tuple[int, int], ...] = ((0x5000, 0x50FF), (0x6000, 0x60FF))

DATE_VRS = frozenset({"DA", "TM", "DT"})
FREE_TEXT_VRS = frozenset({"LT", "ST", "UT", "UC", "UR"})
#: text VRs whose values, where the profile removes them, are identifying wherever they appear
CLEANED_VRS = frozenset({"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT"})
#: text VRs cleaned of identifying values wherever they remain (codes too: "XXX" is a valid
#: code string; not DS, IS, UI: a cleaned value there would be invalid)
SCRUBBED_VRS = CLEANED_VRS | {"CS"}

#: modalities whose images often carry burned-in text (ultrasound, secondary capture,
#: fluoroscopy, endoscopy, photographs, scanned documents, CR plates with flashed ID blocks)
BURNED_IN_PRONE = frozenset({"US", "SC", "OT", "XA", "RF", "ES", "XC", "GM", "SM", "DOC", "CR"})

METHOD_TEXT = "PS3.15 E.1-1 Basic Profile (WristViewer)"  # LO: 64 characters at most
BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")
CLEAN_DESCRIPTORS_CODE = ("113105", "Clean Descriptors Option")
DUMMY_BY_VR = {
    "PN": "ANONYMOUS",
    "LO": "ANON",
    "SH": "ANON",
    "LT": "ANON",
    "ST": "ANON",
    "UT": "ANON",
    "UC": "ANON",
    "CS": "ANON",
    "AE": "ANON",
    "AS": "000Y",
    "IS": "0",
    "DS": "0",
}
_IDENTIFYING_FOR_CLEAN = (
    "PatientName",
    "PatientID",
    "OtherPatientIDs",
    "OtherPatientNames",
    "AccessionNumber",
    "PatientBirthDate",
    "PatientBirthName",
    "PatientMotherBirthName",
    "ReferringPhysicianName",
    "InstitutionName",
    "StudyID",
)


class AnonymisationError(ImagingError):
    """A file could not be de-identified or written (``"<path>: <reason>"``)."""


class UidMap:
    """Same input UID → same new UID, within one export (``2.25.<uuid4>`` by default)."""

    def __init__(self, prefix: str | None = None) -> None:
        self._prefix = prefix
        self.mapping: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        uid = str(uid).strip()
        if not uid:
            return uid
        new = self.mapping.get(uid)
        if new is None:
            new = str(generate_uid(prefix=self._prefix))
            self.mapping[uid] = new
        return new


@dataclass
class AnonymisedStudy:
    """The files written (in input order; plain images as PNG), one warning sentence per file that may carry
    burned-in text, and the UID mapping used (input → output; keep it private)."""

    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    uid_map: dict[str, str] = field(default_factory=dict)


def _in_removed_group(tag: int) -> bool:
    group = tag >> 16
    return any(lo <= group <= hi for lo, hi in REMOVED_GROUPS)


def _values(elem: DataElement) -> list[Any]:
    value = elem.value
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | MultiValue) else [value]


def _walk(ds: Dataset) -> Iterator[DataElement]:
    """Every element of ``ds`` and of the items of its sequences (depth first)."""
    for elem in ds:
        yield elem
        if elem.VR == "SQ" and elem.value is not None:
            for item in elem.value:
                yield from _walk(item)


def _identifying_values(ds: Dataset) -> list[str]:
    """Text worth blanking wherever it appears: the parts of names and IDs (three characters
    or more), and each whole text value the profile removes or empties, at any depth."""
    values: set[str] = set()
    for keyword in _IDENTIFYING_FOR_CLEAN:
        elem = ds.data_element(keyword) if keyword in ds else None
        for item in _values(elem) if elem is not None else []:
            text = str(item)
            values.update(p for p in re.split(r"[\^=\s]+", text) if len(p) >= 3)
    for elem in _walk(ds):
        if elem.VR not in CLEANED_VRS or elem.tag.is_private:
            continue
        action = PROFILE.get(int(elem.tag), ("", "K"))[1]
        if action not in ("X", "Z", "D") and elem.VR != "PN":
            continue  # kept, and descriptors (C): cleaned, not sources of what to clean
        for item in _values(elem):
            text = str(item).strip()
            if elem.VR == "PN":
                values.update(p for p in re.split(r"[\^=\s]+", text) if len(p) >= 3)
            if len(text) >= 3:
                values.add(text)
    return sorted(values, key=len, reverse=True)


def _pattern(identifying: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for all the values, longest first."""
    values = sorted({v for v in identifying if v}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, values)), re.IGNORECASE) if values else None


def clean_text(text: str, identifying: Sequence[str] | re.Pattern[str] | None) -> str:
    """``text`` with each identifying value (case-insensitive) replaced by ``"XXX"``."""
    pattern = identifying if isinstance(identifying, re.Pattern | None) else _pattern(identifying)
    return text if pattern is None else pattern.sub("XXX", text)


def _vr(elem: DataElement) -> str:
    """The element's VR; the dictionary's for a value read as UN when pydicom knows the tag."""
    if elem.VR == "UN" and dictionary_has_tag(elem.tag):
        return str(dictionary_VR(elem.tag)).split(" or ")[0]
    return str(elem.VR)


def _removed_beyond_table(elem: DataElement, action: str) -> bool:
    """The rules beyond the table (module docstring): True when ``elem`` goes."""
    tag = int(elem.tag)
    group, number = tag >> 16, tag & 0xFFFF
    if elem.tag.is_private or _in_removed_group(tag) or group in (0x0000, 0x0002):
        return True
    if number == 0x0000 or elem.VR == "UN":
        return True
    if tag not in PROFILE and not dictionary_has_tag(elem.tag):
        return True
    if action in ("K", "U"):
        vr = _vr(elem)
        return vr in DATE_VRS or vr in FREE_TEXT_VRS or vr == "PN"
    return False


@dataclass
class _Pass:
    uids: UidMap
    identifying: re.Pattern[str] | None
    clean_descriptors: bool
    cleaned_descriptors: int = 0


def _apply(ds: Dataset, run: _Pass) -> None:
    for elem in list(ds):
        keyword, action = PROFILE.get(int(elem.tag), ("", "K"))
        if action == "C" and not run.clean_descriptors:
            action = "X"
        if action == "X" or _removed_beyond_table(elem, action):
            del ds[elem.tag]
            continue
        if elem.VR == "SQ":
            if action in ("Z", "D"):
                elem.value = DicomSequence([])
            else:
                for item in elem.value or []:
                    _apply(item, run)
            continue
        if action == "Z":
            elem.value = None
        elif action == "D" and elem.VR == "UI":
            elem.value = [run.uids(v) for v in _values(elem)] or None
        elif action == "D":
            elem.value = DUMMY_BY_VR.get(elem.VR)  # None (empty) for dates and binary values
        elif action == "U":
            values = [run.uids(v) for v in _values(elem)]
            elem.value = values if len(values) != 1 else values[0]
        elif action == "C":
            elem.value = clean_text(str(elem.value or ""), run.identifying)
            run.cleaned_descriptors += 1
        elif elem.VR == "UI" and elem.value is not None:
            # a UID DICOM does not define (an instance, a private root) is replaced too
            mapped = [v if str(v) in UID_dictionary else run.uids(v) for v in _values(elem)]
            elem.value = mapped if len(mapped) != 1 else mapped[0]
        elif elem.VR in SCRUBBED_VRS and elem.value is not None:
            cleaned = [clean_text(str(v), run.identifying) for v in _values(elem)]
            elem.value = cleaned if len(cleaned) != 1 else cleaned[0]


def _leaks(ds: Dataset) -> list[str]:
    """What the result must not hold (the last check before writing)."""
    found = []
    for elem in _walk(ds):
        tag = int(elem.tag)
        keyword = keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
        if elem.tag.is_private or _in_removed_group(tag) or elem.VR == "UN":
            found.append(f"{keyword} (private, curve, overlay or unparsed)")
        elif _vr(elem) in DATE_VRS and _values(elem) and str(elem.value).strip():
            found.append(f"{keyword} (a date or time)")
        elif PROFILE.get(tag, ("", ""))[1] == "X":
            found.append(f"{keyword} (removed by the profile)")
    return found


def _rebuild_file_meta(ds: Dataset) -> None:
    old = getattr(ds, "file_meta", None)
    if old is None:
        return
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.get("SOPClassUID") or old.get("MediaStorageSOPClassUID")
    meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID") or generate_uid()
    if "TransferSyntaxUID" in old:
        meta.TransferSyntaxUID = old.TransferSyntaxUID
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"PYDICOM {pydicom.__version__}"[:16]
    ds.file_meta = meta


def anonymise_dataset(
    ds: Dataset, uids: UidMap | None = None, *, clean_descriptors: bool = False
) -> Dataset:
    """De-identify ``ds`` in place (its preamble and file meta too) and return it. See the
    module docstring. Raises :class:`ValueError` when the result would still hold something
    it must not (never expected; the file is then not written)."""
    identifying = _pattern(_identifying_values(ds))
    run = _Pass(uids if uids is not None else UidMap(), identifying, clean_descriptors)
    _apply(ds, run)
    _rebuild_file_meta(ds)
    if hasattr(ds, "preamble"):
        ds.preamble = b"\x00" * 128
    leaks = _leaks(ds)
    if leaks:
        raise ValueError(f"de-identification left {', '.join(leaks[:5])}")
    ds.PatientIdentityRemoved = "YES"
    applied = [BASIC_PROFILE_CODE]
    if run.cleaned_descriptors:
        applied.append(CLEAN_DESCRIPTORS_CODE)
    ds.DeidentificationMethod = METHOD_TEXT + (
        " + Clean Descriptors" if run.cleaned_descriptors else ""
    )
    items = []
    for value, meaning in applied:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = DicomSequence(items)
    # true by construction: every DA/TM/DT is removed or empty (checked by _leaks above)
    ds.LongitudinalTemporalInformationModified = "REMOVED"
    return ds


def burned_in_warning(ds: Dataset, name: str) -> str | None:
    """A sentence naming ``name`` when the header says the pixels carry burned-in text
    (BurnedInAnnotation = YES), or when it is absent for a modality prone to it."""
    flag = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    modality = str(ds.get("Modality", "") or "").strip().upper()
    if flag == "YES":
        return (
            f"{name}: the header says the image has burned-in annotation "
            "(BurnedInAnnotation = YES); text on the pixels may identify the patient — "
            "check the image before sharing it."
        )
    if not flag and modality in BURNED_IN_PRONE:
        return (
            f"{name}: the header does not say whether the image has burned-in text, and "
            f"{modality} images often do; check the pixels before sharing it."
        )
    return None


def anonymise_files(
    paths: Iterable[str | Path],
    out_dir: str | Path,
    *,
    clean_descriptors: bool = False,
    uids: UidMap | None = None,
) -> AnonymisedStudy:
    """De-identify DICOM files into ``out_dir`` as ``image001.dcm``, ``image002.dcm`` … (names
    that say nothing about the patient). Raises :class:`AnonymisationError` naming the file."""
    out = Path(out_dir)
    uids = uids if uids is not None else UidMap()
    result = AnonymisedStudy()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AnonymisationError(out, f"cannot create the folder ({exc.strerror or exc})") from exc
    for i, src in enumerate(paths, start=1):
        src = Path(src)
        if detect_format(src) != "DICOM":
            result.files.append(_anonymise_plain(src, out / f"image{i:03d}.png"))
            continue
        try:
            ds = pydicom.dcmread(src)
        except FileNotFoundError as exc:
            raise FileAccessError(src, "the file does not exist") from exc
        except OSError as exc:
            raise FileAccessError(src, f"cannot be read ({exc.strerror or exc})") from exc
        except InvalidDicomError as exc:
            raise AnonymisationError(src, "not a DICOM file; only DICOM can be anonymised") from exc
        except PARSE_ERRORS as exc:
            raise CorruptImageError(src, f"the DICOM header cannot be parsed ({exc})") from exc
        dest = out / f"image{i:03d}.dcm"
        try:
            warning = burned_in_warning(ds, src.name)
            anonymise_dataset(ds, uids, clean_descriptors=clean_descriptors)
            ds.save_as(dest, enforce_file_format=True)
        except OSError as exc:
            dest.unlink(missing_ok=True)
            raise AnonymisationError(dest, f"cannot be written ({exc.strerror or exc})") from exc
        except PARSE_ERRORS as exc:
            dest.unlink(missing_ok=True)
            raise CorruptImageError(src, f"could not be de-identified: {exc}") from exc
        result.files.append(dest)
        if warning:
            result.warnings.append(warning)
    result.uid_map = dict(uids.mapping)
    return result


def _anonymise_plain(src: Path, dest: Path) -> Path:
    """A plain image (PNG/JPEG/TIFF) re-encoded as a 16-bit greyscale PNG from its pixels:
    no EXIF, no text chunks, a neutral name. Burned-in text, as ever, stays in the pixels."""
    radiograph = read(src)
    pixels = np.rint(np.clip(radiograph.pixels, 0.0, 1.0) * 65535.0).astype(np.uint16)
    if not cv2.imwrite(str(dest), pixels):
        raise AnonymisationError(dest, "cannot be written")
    return dest


def vr_of(keyword: str) -> str:
    """The dictionary VR of a keyword in :data:`PROFILE` (used by tests building files)."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(f"pydicom's dictionary has no keyword {keyword!r}")
    return str(dictionary_VR(tag))
