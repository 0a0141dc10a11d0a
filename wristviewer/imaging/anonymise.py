"""De-identification of DICOM files for a teaching file: the DICOM Basic Application Level
Confidentiality Profile (PS3.15 Annex E, Table E.1-1), pydicom only.

Action codes, applied to the attributes of :data:`PROFILE` at every nesting level:

* ``X`` remove; ``Z`` keep the attribute with an empty value (an empty sequence for SQ);
* ``D`` replace with a dummy value of the same VR (``"ANONYMOUS"``, ``"ANON"``; a sequence
  becomes empty);
* ``U`` replace a UID by a new one (``2.25.<uuid>``), **consistently**: within one export the
  same input UID always maps to the same output UID (:class:`UidMap`), so studies, series and
  references stay linked;
* ``C`` clean: keep the text but blank out any identifying value of the same file (name parts,
  IDs, accession number, birth date) found in it — used only with the Clean Descriptors
  Option (``clean_descriptors=True``), which keeps study/series descriptions such as
  "PA wrist" instead of removing them;
* ``K`` keep (listed to document attributes kept on purpose).

Where the table offers a choice (``X/Z``, ``X/Z/D``, ``Z/D``, ``X/Z/U*``) the strictest
choice a valid object allows is taken: ``Z`` for the Type 2 attributes every image has (patient
name/ID/birth date/sex, study date/time/ID, accession number, referring physician), ``X``
otherwise. Beyond the table: every private attribute is removed (no Retain Safe Private
Option), and so are the curve (50xx) and overlay (60xx) groups. Pixel data is never
changed: text burned into the pixels stays there, so :func:`burned_in_warning` names the files
whose header says (or whose modality suggests) there may be some.

The result carries ``PatientIdentityRemoved = YES``, ``DeidentificationMethod`` and
``DeidentificationMethodCodeSequence`` (DCM 113100, plus 113105 with Clean Descriptors), and
``LongitudinalTemporalInformationModified = REMOVED`` (dates are emptied or removed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid

from wristviewer.imaging.errors import CorruptImageError, FileAccessError, ImagingError
from wristviewer.imaging.reader import detect_format, read

#: (keyword, action) from PS3.15 Table E.1-1, basic profile column (choices resolved as the
#: module docstring says). "C" entries are "X" unless clean_descriptors is asked for.
_TABLE: tuple[tuple[str, str], ...] = (
    ("AccessionNumber", "Z"),
    ("AcquisitionComments", "X"),
    ("AcquisitionContextSequence", "X"),
    ("AcquisitionDate", "Z"),
    ("AcquisitionDateTime", "X"),
    ("AcquisitionDeviceProcessingDescription", "X"),
    ("AcquisitionProtocolDescription", "X"),
    ("AcquisitionTime", "Z"),
    ("ActualHumanPerformersSequence", "X"),
    ("AdditionalPatientHistory", "X"),
    ("AdmissionID", "X"),
    ("AdmittingDate", "X"),
    ("AdmittingDiagnosesCodeSequence", "X"),
    ("AdmittingDiagnosesDescription", "X"),
    ("AdmittingTime", "X"),
    ("Allergies", "X"),
    ("Arbitrary", "X"),
    ("AuthorObserverSequence", "X"),
    ("BranchOfService", "X"),
    ("CassetteID", "X"),
    ("CommentsOnThePerformedProcedureStep", "X"),
    ("ConcatenationUID", "U"),
    ("ConfidentialityConstraintOnPatientDataDescription", "X"),
    ("ContentCreatorName", "Z"),
    ("ContentCreatorIdentificationCodeSequence", "X"),
    ("ContentDate", "Z"),
    ("ContentTime", "Z"),
    ("ContentSequence", "X"),
    ("ContextGroupExtensionCreatorUID", "U"),
    ("ContrastBolusAgent", "Z"),
    ("ContributionDescription", "X"),
    ("CountryOfResidence", "X"),
    ("CreatorVersionUID", "U"),
    ("CurrentPatientLocation", "X"),
    ("CurveDate", "X"),
    ("CurveTime", "X"),
    ("CustodialOrganizationSequence", "X"),
    ("DataSetTrailingPadding", "X"),
    ("DateOfLastCalibration", "X"),
    ("DerivationDescription", "X"),
    ("DetectorID", "X"),
    ("DeviceSerialNumber", "X"),
    ("DeviceUID", "U"),
    ("DigitalSignatureUID", "X"),
    ("DigitalSignaturesSequence", "X"),
    ("DimensionOrganizationUID", "U"),
    ("DischargeDiagnosisDescription", "X"),
    ("DistributionAddress", "X"),
    ("DistributionName", "X"),
    ("DoseReferenceUID", "U"),
    ("EthnicGroup", "X"),
    ("FailedSOPInstanceUIDList", "U"),
    ("FiducialUID", "U"),
    ("FillerOrderNumberImagingServiceRequest", "Z"),
    ("FrameComments", "X"),
    ("FrameOfReferenceUID", "U"),
    ("GantryID", "X"),
    ("GeneratorID", "X"),
    ("GraphicAnnotationSequence", "D"),
    ("HumanPerformerName", "X"),
    ("HumanPerformerOrganization", "X"),
    ("IconImageSequence", "X"),
    ("IdentifyingComments", "X"),
    ("ImageComments", "C"),
    ("ImagePresentationComments", "X"),
    ("ImagingServiceRequestComments", "X"),
    ("Impressions", "X"),
    ("InstanceCreationDate", "X"),
    ("InstanceCreationTime", "X"),
    ("InstanceCreatorUID", "U"),
    ("InstitutionAddress", "X"),
    ("InstitutionCodeSequence", "X"),
    ("InstitutionName", "X"),
    ("InstitutionalDepartmentName", "X"),
    ("InsurancePlanIdentification", "X"),
    ("IntendedRecipientsOfResultsIdentificationSequence", "X"),
    ("InterpretationApproverSequence", "X"),
    ("InterpretationAuthor", "X"),
    ("InterpretationDiagnosisDescription", "X"),
    ("InterpretationIDIssuer", "X"),
    ("InterpretationRecorder", "X"),
    ("InterpretationText", "X"),
    ("InterpretationTranscriber", "X"),
    ("IrradiationEventUID", "U"),
    ("IssuerOfAdmissionID", "X"),
    ("IssuerOfPatientID", "X"),
    ("IssuerOfServiceEpisodeID", "X"),
    ("LargePaletteColorLookupTableUID", "U"),
    ("LastMenstrualDate", "X"),
    ("MAC", "X"),
    ("MedicalAlerts", "X"),
    ("MedicalRecordLocator", "X"),
    ("MilitaryRank", "X"),
    ("ModifiedAttributesSequence", "X"),
    ("ModifiedImageDescription", "X"),
    ("ModifyingDeviceID", "X"),
    ("ModifyingDeviceManufacturer", "X"),
    ("NameOfPhysiciansReadingStudy", "X"),
    ("NamesOfIntendedRecipientsOfResults", "X"),
    ("Occupation", "X"),
    ("OperatorIdentificationSequence", "X"),
    ("OperatorsName", "X"),
    ("OrderCallbackPhoneNumber", "X"),
    ("OrderEnteredBy", "X"),
    ("OrderEntererLocation", "X"),
    ("OriginalAttributesSequence", "X"),
    ("OtherPatientIDs", "X"),
    ("OtherPatientIDsSequence", "X"),
    ("OtherPatientNames", "X"),
    ("ParticipantSequence", "X"),
    ("PatientAddress", "X"),
    ("PatientAge", "X"),
    ("PatientAlternativeCalendar", "X"),
    ("PatientBirthDate", "Z"),
    ("PatientBirthDateInAlternativeCalendar", "X"),
    ("PatientBirthName", "X"),
    ("PatientBirthTime", "X"),
    ("PatientComments", "X"),
    ("PatientDeathDateInAlternativeCalendar", "X"),
    ("PatientID", "Z"),
    ("PatientInstitutionResidence", "X"),
    ("PatientInsurancePlanCodeSequence", "X"),
    ("PatientMotherBirthName", "X"),
    ("PatientName", "Z"),
    ("PatientPrimaryLanguageCodeSequence", "X"),
    ("PatientPrimaryLanguageModifierCodeSequence", "X"),
    ("PatientReligiousPreference", "X"),
    ("PatientSex", "Z"),
    ("PatientSexNeutered", "X"),
    ("PatientSize", "X"),
    ("PatientState", "X"),
    ("PatientTelephoneNumbers", "X"),
    ("PatientTransportArrangements", "X"),
    ("PatientWeight", "X"),
    ("PerformedLocation", "X"),
    ("PerformedProcedureStepDescription", "X"),
    ("PerformedProcedureStepEndDate", "X"),
    ("PerformedProcedureStepEndTime", "X"),
    ("PerformedProcedureStepID", "X"),
    ("PerformedProcedureStepStartDate", "X"),
    ("PerformedProcedureStepStartTime", "X"),
    ("PerformedStationAETitle", "X"),
    ("PerformedStationGeographicLocationCodeSequence", "X"),
    ("PerformedStationName", "X"),
    ("PerformedStationNameCodeSequence", "X"),
    ("PerformingPhysicianIdentificationSequence", "X"),
    ("PerformingPhysicianName", "X"),
    ("PersonAddress", "X"),
    ("PersonIdentificationCodeSequence", "D"),
    ("PersonName", "D"),
    ("PersonTelephoneNumbers", "X"),
    ("PhysicianApprovingInterpretation", "X"),
    ("PhysiciansOfRecord", "X"),
    ("PhysiciansOfRecordIdentificationSequence", "X"),
    ("PhysiciansReadingStudyIdentificationSequence", "X"),
    ("PlacerOrderNumberImagingServiceRequest", "Z"),
    ("PlateID", "X"),
    ("PreMedication", "X"),
    ("PregnancyStatus", "X"),
    ("ProtocolName", "C"),
    ("ReasonForStudy", "X"),
    ("ReasonForTheImagingServiceRequest", "X"),
    ("ReferencedDigitalSignatureSequence", "X"),
    ("ReferencedFrameOfReferenceUID", "U"),
    ("ReferencedGeneralPurposeScheduledProcedureStepTransactionUID", "U"),
    ("ReferencedImageSequence", "X"),
    ("ReferencedPatientAliasSequence", "X"),
    ("ReferencedPatientSequence", "X"),
    ("ReferencedPerformedProcedureStepSequence", "X"),
    ("ReferencedSOPInstanceMACSequence", "X"),
    ("ReferencedSOPInstanceUID", "U"),
    ("ReferencedSOPInstanceUIDInFile", "U"),
    ("ReferencedStudySequence", "X"),
    ("ReferringPhysicianAddress", "X"),
    ("ReferringPhysicianIdentificationSequence", "X"),
    ("ReferringPhysicianName", "Z"),
    ("ReferringPhysicianTelephoneNumbers", "X"),
    ("RegionOfResidence", "X"),
    ("RelatedFrameOfReferenceUID", "U"),
    ("RequestAttributesSequence", "X"),
    ("RequestedContrastAgent", "X"),
    ("RequestedProcedureComments", "X"),
    ("RequestedProcedureDescription", "X"),
    ("RequestedProcedureID", "X"),
    ("RequestedProcedureLocation", "X"),
    ("RequestingPhysician", "X"),
    ("RequestingService", "X"),
    ("ResponsibleOrganization", "X"),
    ("ResponsiblePerson", "X"),
    ("ResultsComments", "X"),
    ("ResultsDistributionListSequence", "X"),
    ("ResultsIDIssuer", "X"),
    ("ReviewerName", "X"),
    ("ScheduledHumanPerformersSequence", "X"),
    ("ScheduledPatientInstitutionResidence", "X"),
    ("ScheduledPerformingPhysicianIdentificationSequence", "X"),
    ("ScheduledPerformingPhysicianName", "X"),
    ("ScheduledProcedureStepDescription", "X"),
    ("ScheduledProcedureStepEndDate", "X"),
    ("ScheduledProcedureStepEndTime", "X"),
    ("ScheduledProcedureStepLocation", "X"),
    ("ScheduledProcedureStepStartDate", "X"),
    ("ScheduledProcedureStepStartTime", "X"),
    ("ScheduledStationAETitle", "X"),
    ("ScheduledStationGeographicLocationCodeSequence", "X"),
    ("ScheduledStationName", "X"),
    ("ScheduledStationNameCodeSequence", "X"),
    ("ScheduledStudyLocation", "X"),
    ("ScheduledStudyLocationAETitle", "X"),
    ("SeriesDate", "X"),
    ("SeriesDescription", "C"),
    ("SeriesInstanceUID", "U"),
    ("SeriesTime", "X"),
    ("ServiceEpisodeDescription", "X"),
    ("ServiceEpisodeID", "X"),
    ("SOPInstanceUID", "U"),
    ("SoftwareVersions", "X"),
    ("SourceImageSequence", "X"),
    ("SpecialNeeds", "X"),
    ("StationName", "X"),
    ("StorageMediaFileSetUID", "U"),
    ("StudyComments", "X"),
    ("StudyDate", "Z"),
    ("StudyDescription", "C"),
    ("StudyID", "Z"),
    ("StudyIDIssuer", "X"),
    ("StudyInstanceUID", "U"),
    ("StudyTime", "Z"),
    ("SynchronizationFrameOfReferenceUID", "U"),
    ("TemplateExtensionCreatorUID", "U"),
    ("TemplateExtensionOrganizationUID", "U"),
    ("TextComments", "X"),
    ("TextString", "X"),
    ("TimeOfLastCalibration", "X"),
    ("TimezoneOffsetFromUTC", "X"),
    ("TopicAuthor", "X"),
    ("TopicKeywords", "X"),
    ("TopicSubject", "X"),
    ("TopicTitle", "X"),
    ("TransactionUID", "U"),
    ("UID", "U"),
    ("VerifyingObserverIdentificationCodeSequence", "Z"),
    ("VerifyingObserverName", "D"),
    ("VerifyingObserverSequence", "D"),
    ("VerifyingOrganization", "X"),
    ("VisitComments", "X"),
    # kept on purpose: what a teaching file needs to show the image correctly
    ("Modality", "K"),
    ("BodyPartExamined", "K"),
    ("ViewPosition", "K"),
    ("ImageLaterality", "K"),
    ("Laterality", "K"),
    ("PixelSpacing", "K"),
    ("ImagerPixelSpacing", "K"),
    ("BurnedInAnnotation", "K"),
)

ACTIONS = frozenset("XZDUCK")

#: tag (int) -> (keyword, action)
PROFILE: dict[int, tuple[str, str]] = {}
for _keyword, _action in _TABLE:
    _tag = tag_for_keyword(_keyword)
    if _tag is None:  # pragma: no cover - a typo in the table
        raise RuntimeError(f"unknown DICOM keyword in the confidentiality table: {_keyword}")
    PROFILE[int(_tag)] = (_keyword, _action)

#: repeating groups removed whole: curves (50xx) and overlays (60xx)
REMOVED_GROUPS: tuple[tuple[int, int], ...] = ((0x5000, 0x50FF), (0x6000, 0x60FF))

#: modalities whose images often carry burned-in text (ultrasound, secondary capture,
#: fluoroscopy, endoscopy, photographs, scanned documents, CR plates with flashed ID blocks)
BURNED_IN_PRONE = frozenset({"US", "SC", "OT", "XA", "RF", "ES", "XC", "GM", "SM", "DOC", "CR"})

METHOD_TEXT = "PS3.15 E.1-1 Basic Profile (WristViewer)"  # LO: 64 characters at most
DUMMY_BY_VR = {
    "PN": "ANONYMOUS",
    "LO": "ANON",
    "SH": "ANON",
    "LT": "ANON",
    "ST": "ANON",
    "UT": "ANON",
    "CS": "ANON",
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
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


def _identifying_values(ds: Dataset) -> list[str]:
    values: list[str] = []
    for keyword in _IDENTIFYING_FOR_CLEAN:
        value = ds.get(keyword)
        if value is None:
            continue
        items = value if isinstance(value, list | tuple | pydicom.multival.MultiValue) else [value]
        for item in items:
            text = str(item)
            values.extend(p for p in re.split(r"[\^=\s]+", text) if len(p) >= 3)
            if len(text) >= 3:
                values.append(text)
    return sorted(set(values), key=len, reverse=True)


def clean_text(text: str, identifying: Sequence[str]) -> str:
    """``text`` with each identifying value (case-insensitive) replaced by ``"XXX"``."""
    for value in identifying:
        text = re.sub(re.escape(value), "XXX", text, flags=re.IGNORECASE)
    return text


def _apply(ds: Dataset, uids: UidMap, identifying: Sequence[str], clean_descriptors: bool) -> None:
    for elem in list(ds):
        tag = int(elem.tag)
        if elem.tag.is_private or _in_removed_group(tag):
            del ds[elem.tag]
            continue
        keyword, action = PROFILE.get(tag, ("", "K"))
        if action == "C" and not clean_descriptors:
            action = "X"
        if action == "X":
            del ds[elem.tag]
            continue
        if elem.VR == "SQ":
            if action in ("Z", "D"):
                elem.value = DicomSequence([])
            else:
                for item in elem.value:
                    _apply(item, uids, identifying, clean_descriptors)
            continue
        if action == "Z":
            elem.value = None if elem.VR not in ("UI",) else ""
        elif action == "D":
            elem.value = DUMMY_BY_VR.get(elem.VR, "ANON")
        elif action == "U":
            value = elem.value
            if isinstance(value, list | tuple | pydicom.multival.MultiValue):
                elem.value = [uids(v) for v in value]
            elif value:
                elem.value = uids(value)
        elif action == "C" and isinstance(elem.value, str):
            elem.value = clean_text(elem.value, identifying)


def anonymise_dataset(
    ds: Dataset, uids: UidMap | None = None, *, clean_descriptors: bool = False
) -> Dataset:
    """De-identify ``ds`` in place (and its file meta) and return it. See the module docstring."""
    uids = uids if uids is not None else UidMap()
    identifying = _identifying_values(ds)
    _apply(ds, uids, identifying, clean_descriptors)
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID") or uids(
            meta.MediaStorageSOPInstanceUID
        )
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD_TEXT + (" + Clean Descriptors" if clean_descriptors else "")
    codes = [("113100", "Basic Application Confidentiality Profile")]
    if clean_descriptors:
        codes.append(("113105", "Clean Descriptors Option"))
    items = []
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = DicomSequence(items)
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
        dest = out / f"image{i:03d}.dcm"
        warning = burned_in_warning(ds, src.name)
        try:
            anonymise_dataset(ds, uids, clean_descriptors=clean_descriptors)
            ds.save_as(dest, enforce_file_format=True)
        except OSError as exc:
            raise AnonymisationError(dest, f"cannot be written ({exc.strerror or exc})") from exc
        except (ValueError, TypeError, AttributeError) as exc:
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
    return str(dictionary_VR(tag_for_keyword(keyword)))
