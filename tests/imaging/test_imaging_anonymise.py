"""De-identification (PS3.15 Annex E): identifiers planted in every place the profile names and
beyond, grepped for in the output bytes; every attribute of the table at every depth; a hand
list; UIDs; what is claimed; an independent de-identifier; warnings."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.datadict import DicomDictionary, dictionary_has_tag, dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag

from tests.helpers.dicom_factory import phantom, write_dicom
from wristviewer.imaging import read
from wristviewer.imaging.anonymise import (
    ACTIONS,
    CLEANED_DESCRIPTORS,
    EMPTIED_NOT_REMOVED,
    PROFILE,
    AnonymisationError,
    UidMap,
    _walk,
    anonymise_dataset,
    anonymise_files,
    burned_in_warning,
)
from wristviewer.imaging.confidentiality_profile import BASIC_PROFILE
from wristviewer.imaging.errors import ImagingError

SECRET = "Doe^Jane"

#: the patient of the planted file: every one of these must be gone from the output bytes
IDENTITY = {
    "PatientName": "Quizzle^Zebedee",
    "PatientID": "QZID4242",
    "AccessionNumber": "QZACC777",
    "PatientBirthDate": "19370512",
}
IDENTITY_TOKENS = ("quizzle", "zebedee", "qzid4242", "qzacc777", "19370512")
PLANTED_DATE, PLANTED_TIME = "19370512", "135711"


#: written independently of the table: the attributes that most often identify a patient
HAND_LIST = {
    "PatientName": "gone-or-empty",
    "PatientID": "gone-or-empty",
    "PatientBirthDate": "gone-or-empty",
    "PatientSex": "gone-or-empty",
    "PatientAge": "gone-or-empty",
    "PatientAddress": "gone-or-empty",
    "PatientTelephoneNumbers": "gone-or-empty",
    "PatientTelecomInformation": "gone-or-empty",
    "OtherPatientIDs": "gone-or-empty",
    "OtherPatientNames": "gone-or-empty",
    "PatientMotherBirthName": "gone-or-empty",
    "AccessionNumber": "gone-or-empty",
    "InstitutionName": "gone-or-empty",
    "InstitutionAddress": "gone-or-empty",
    "ReferringPhysicianName": "gone-or-empty",
    "ConsultingPhysicianName": "gone-or-empty",
    "PerformingPhysicianName": "gone-or-empty",
    "NameOfPhysiciansReadingStudy": "gone-or-empty",
    "OperatorsName": "gone-or-empty",
    "StationName": "gone-or-empty",
    "ReasonForTheRequestedProcedure": "gone-or-empty",
    "StudyDate": "gone-or-empty",
    "SeriesDate": "gone-or-empty",
    "AcquisitionDate": "gone-or-empty",
    "ContentDate": "gone-or-empty",
    "StudyTime": "gone-or-empty",
    "DateOfSecondaryCapture": "gone-or-empty",
    "DateOfLastDetectorCalibration": "gone-or-empty",
    "InstanceCoercionDateTime": "gone-or-empty",
    "ContributionDateTime": "gone-or-empty",
    "DeviceSerialNumber": "gone-or-empty",
    "StudyID": "gone-or-empty",
    "RequestAttributesSequence": "gone-or-empty",
    "ImageComments": "gone-or-empty",
    "StudyInstanceUID": "replaced",
    "SeriesInstanceUID": "replaced",
    "SOPInstanceUID": "replaced",
}

_BINARY = {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}
_NUMBERS = {"US": 7, "UL": 7, "SS": -7, "SL": -7, "SV": -7, "UV": 7, "FL": 7.5, "FD": 7.5}


class Markers:
    """Unique greppable markers (``QZM00001`` …), one per planted place."""

    def __init__(self) -> None:
        self.planted: list[str] = []

    def new(self) -> str:
        marker = f"QZM{len(self.planted):05d}"
        self.planted.append(marker)
        return marker


def _vr(tag: int, name: str) -> str:
    if dictionary_has_tag(tag):
        return str(dictionary_VR(tag)).split(" or ")[0]
    return "SQ" if name.endswith("Sequence") else "LO"


def _planted(vr: str, markers: Markers, depth: int) -> Any:
    """An identifying value of ``vr`` (a unique marker wherever the VR can hold one)."""
    if vr == "SQ":
        item = Dataset()
        item.PatientName = markers.new()
        item.CodeValue = "QZ1"
        item.CodingSchemeDesignator = "99QZ"
        item.CodeMeaning = "Zebedee Quizzle's wrist"
        item.TextValue = markers.new()
        item.ObservationDateTime = PLANTED_DATE + PLANTED_TIME
        if depth < 2:
            item.ContentSequence = DicomSequence([_sr_item(markers)])
        return DicomSequence([item])
    if vr in ("DA", "DT", "TM"):
        return {"DA": PLANTED_DATE, "DT": PLANTED_DATE + PLANTED_TIME, "TM": PLANTED_TIME}[vr]
    if vr == "UI":
        return f"1.2.826.0.1.3680043.8.498.{90000 + len(markers.planted)}"
    if vr in _BINARY:
        return markers.new().encode() + b"\x00"
    if vr in _NUMBERS:
        return _NUMBERS[vr]
    if vr in ("DS", "IS"):
        return "71315"
    if vr == "AS":
        return "077Y"
    if vr == "AT":
        return 0x00100010
    if vr == "UR":
        return f"http://{markers.new()}.example"
    return markers.new()


def _sr_item(markers: Markers) -> Dataset:
    item = Dataset()
    item.ValueType = "TEXT"
    item.TextValue = f"{markers.new()} told Zebedee Quizzle QZID4242 to rest"
    concept = Dataset()
    concept.CodeValue = "QZ2"
    concept.CodingSchemeDesignator = "99QZ"
    concept.CodeMeaning = "Quizzle's note"
    item.ConceptNameCodeSequence = DicomSequence([concept])
    item.DateTime = PLANTED_DATE + PLANTED_TIME
    item.PersonName = markers.new()
    return item


def _plantable(tag: int) -> bool:
    group = tag >> 16
    return group not in (0x0000, 0x0002) and not 0x5000 <= group <= 0x60FF


def _beyond_the_table() -> list[int]:
    """Dictionary attributes that are dates, times, free text or person names but not in the
    profile's table: the rules beyond the table must remove them too."""
    out = []
    for tag, entry in DicomDictionary.items():
        vr = entry[0].split(" or ")[0]
        if (
            tag not in PROFILE
            and _plantable(tag)
            and vr in ("DA", "DT", "TM", "LT", "ST", "UT", "UC", "UR", "PN", "UI")
            and tag & 0xFFFF
        ):
            out.append(tag)
    return out


def _plant_everything(ds: Dataset, markers: Markers, depth: int = 0) -> None:
    """Every attribute of the table, every date/free text/name beyond it, private attributes,
    curves and overlays — and, two levels deep, all of it again inside kept sequences."""
    ds.Manufacturer = "Scanner of Zebedee QUIZZLE (QZID4242)"  # kept, cleaned
    ds.StationAETitle = "QZID4242"  # AE, not in the table
    ds.ImageType = ["DERIVED", "QUIZZLE"]  # codes, not in the table
    ds.SoftwareVersions = "QZACC777 build"  # in the table (X), nested too
    for tag, (keyword, _action) in PROFILE.items():
        if _plantable(tag) and tag not in ds:
            vr = _vr(tag, keyword)
            ds.add_new(Tag(tag), vr, _planted(vr, markers, depth))
    for tag in _beyond_the_table():
        if tag not in ds:
            vr = str(dictionary_VR(tag)).split(" or ")[0]
            ds.add_new(Tag(tag), vr, _planted(vr, markers, depth))
    block = ds.private_block(0x0009, markers.new(), create=True)
    block.add_new(0x10, "LO", markers.new())
    block.add_new(0x11, "SQ", _planted("SQ", markers, 2))
    ds.add_new(0x60004000, "LT", markers.new())  # overlay comments
    ds.add_new(0x60003000, "OW", markers.new().encode() + b"\x00")  # overlay data
    ds.add_new(0x50000010, "US", 1)  # curve
    ds.add_new(0x50003000, "OB", markers.new().encode() + b"\x00")  # curve data
    ds.add_new(0x00191000, "UN", markers.new().encode() + b"\x00")  # unknown private bytes
    ds.add_new(0x00410000, "UL", 4)  # a group length
    if depth < 2:
        view = Dataset()
        view.CodeValue = "R-10214"
        view.CodingSchemeDesignator = "SRT"
        view.CodeMeaning = "postero-anterior"
        _plant_everything(view, markers, depth + 1)
        ds.ViewCodeSequence = DicomSequence([view])  # kept: the viewer reads it


def _planted_file(tmp_path: Path, name: str = "planted.dcm") -> tuple[Path, Markers]:
    """A DX file with identifiers planted in every place the profile names and beyond."""
    path = write_dicom(tmp_path / name, phantom())
    ds = pydicom.dcmread(path)
    markers = Markers()
    for keyword, value in IDENTITY.items():
        setattr(ds, keyword, value)
    ds.StudyDescription = "Wrist of Zebedee Quizzle QZID4242"
    _plant_everything(ds, markers)
    ds.preamble = (b"QZPREAMBLE Zebedee Quizzle " * 5)[:128]
    meta = ds.file_meta
    meta.SourceApplicationEntityTitle = markers.new()
    meta.SendingApplicationEntityTitle = markers.new()
    meta.ReceivingApplicationEntityTitle = markers.new()
    meta.SourcePresentationAddress = f"http://{markers.new()}.example"
    meta.PrivateInformationCreatorUID = "1.2.826.0.1.3680043.8.498.77777"
    meta.PrivateInformation = markers.new().encode() + b"\x00"
    meta.ImplementationVersionName = markers.new()
    ds.save_as(path, enforce_file_format=True)
    return path, markers


def _assert_no_identifier_in(data: bytes, markers: Markers) -> None:
    survivors = [m for m in markers.planted if m.encode() in data]
    assert not survivors, f"{len(survivors)} planted identifiers survived, e.g. {survivors[:10]}"
    lowered = data.lower()
    found = [t for t in IDENTITY_TOKENS if t.encode() in lowered]
    assert not found, f"the patient's identity survived: {found}"
    for forbidden in (b"077Y", b"QZPREAMBLE", b"3680043.8.498.9"):
        assert forbidden not in data, forbidden
    # The planted time and number are digit strings: the fresh random UIDs of the output may
    # hold them by chance (a 5-6 digit run in ~40 random digits), so look outside the UIDs.
    out = pydicom.dcmread(io.BytesIO(data), force=True)
    uids = {
        str(v)
        for ds in (out.file_meta, out)
        for elem in _walk(ds)
        if elem.VR == "UI" and elem.value
        for v in (elem.value if elem.VM > 1 else [elem.value])
    }
    outside_uids = data
    for uid in sorted(uids, key=len, reverse=True):
        outside_uids = outside_uids.replace(uid.encode(), b"")
    for forbidden in (PLANTED_TIME.encode(), b"71315"):
        assert forbidden not in outside_uids, forbidden


def test_planted_identifiers_are_gone_from_the_output_bytes(tmp_path: Path) -> None:
    src, markers = _planted_file(tmp_path)
    src_class = pydicom.dcmread(src).SOPClassUID
    data = src.read_bytes()
    assert len(markers.planted) > 1500  # the table, beyond it, twice nested, meta, private
    assert sum(m.encode() in data for m in markers.planted) == len(markers.planted)
    assert all(t.encode() in data.lower() for t in IDENTITY_TOKENS)

    result = anonymise_files([src], tmp_path / "out")
    out = result.files[0].read_bytes()
    _assert_no_identifier_in(out, markers)
    assert out[:128] == bytes(128) and out[128:132] == b"DICM"

    after = pydicom.dcmread(result.files[0])
    assert set(after.file_meta.keys()) <= {
        Tag(k)
        for k in (
            "FileMetaInformationGroupLength",
            "FileMetaInformationVersion",
            "MediaStorageSOPClassUID",
            "MediaStorageSOPInstanceUID",
            "TransferSyntaxUID",
            "ImplementationClassUID",
            "ImplementationVersionName",
        )
    }
    assert after.file_meta.MediaStorageSOPInstanceUID == after.SOPInstanceUID
    for elem in _walk(after):
        assert not elem.tag.is_private and not 0x5000 <= elem.tag.group <= 0x60FF, elem
        assert elem.VR != "UN", elem
        if elem.VR in ("DA", "DT", "TM"):
            assert not elem.value, elem  # emptied (Z) or gone: no date survives
        if elem.VR in ("LT", "ST", "UT", "UC", "UR"):
            assert elem.value in (None, "", "ANON"), elem  # a D dummy at most
    assert after.Manufacturer == "Scanner of XXX XXX (XXX)"  # kept, cleaned
    assert list(after.ImageType) == ["DERIVED", "XXX"] and after.SOPClassUID == src_class
    assert after.ViewCodeSequence[0].CodeMeaning == "postero-anterior"  # kept
    assert after.PatientIdentityRemoved == "YES"
    assert after.LongitudinalTemporalInformationModified == "REMOVED"
    assert [i.CodeValue for i in after.DeidentificationMethodCodeSequence] == ["113100"]
    assert "Clean Descriptors" not in after.DeidentificationMethod
    assert np.allclose(read(result.files[0]).pixels, read(src).pixels)


def test_every_table_attribute_gets_its_action_at_every_depth(tmp_path: Path) -> None:
    src, _ = _planted_file(tmp_path)
    before = pydicom.dcmread(src)
    uids = UidMap()
    after = anonymise_dataset(pydicom.dcmread(src), uids)
    levels = [
        (before, after),
        (before.ViewCodeSequence[0], after.ViewCodeSequence[0]),
        (
            before.ViewCodeSequence[0].ViewCodeSequence[0],
            after.ViewCodeSequence[0].ViewCodeSequence[0],
        ),
    ]
    checked = Counter()
    for old_ds, new_ds in levels:
        for tag, (keyword, action) in PROFILE.items():
            old = old_ds.get(Tag(tag))
            if old is None or tag == 0x00080018 and old_ds is not before:
                continue
            new = new_ds.get(Tag(tag))
            checked[action] += 1
            if action in ("X", "C") or old.VR == "UN":  # unparsed bytes go whatever the table says
                assert new is None, f"{keyword} should be removed"
            elif action == "Z":
                assert new is not None and new.is_empty, keyword
            elif action == "D":
                assert new is not None and new.value != old.value, keyword
                assert "QZM" not in str(new.value), keyword
            elif action == "U":
                assert new is not None and new.value != old.value, keyword
                assert new.value == uids.mapping[str(old.value)], keyword
    assert checked["X"] > 3 * 400 and checked["U"] > 3 * 40 and checked["D"] > 3 * 50
    assert checked["Z"] >= 3 * 30


def test_choices_in_the_table_resolve_to_the_strictest_valid_action() -> None:
    codes = {tag: code for tag, code, _ in BASIC_PROFILE}
    assert len(PROFILE) == len(BASIC_PROFILE) > 600
    for tag, (keyword, action) in PROFILE.items():
        assert action in ACTIONS, keyword
        code = codes[tag]
        if keyword in CLEANED_DESCRIPTORS:
            assert action == "C"
        elif "/" not in code:
            assert action == code.rstrip("*"), keyword
        else:
            choices = code.rstrip("*").split("/")
            assert action in choices, keyword
            if "X" in choices:
                assert action == ("Z" if keyword in EMPTIED_NOT_REMOVED else "X"), keyword
    assert PROFILE[0x00102155][1] == "X"  # Patient's Telecom Information
    assert PROFILE[0x0008009C][1] == "Z"  # Consulting Physician's Name


def test_claims_only_what_was_done(tmp_path: Path) -> None:
    plain = write_dicom(tmp_path / "plain.dcm", phantom(), extra={"PatientName": SECRET})
    ds = anonymise_dataset(pydicom.dcmread(plain), clean_descriptors=True)
    # the option was asked for, but no descriptor was there to keep: not claimed
    assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100"]
    described = write_dicom(tmp_path / "d.dcm", phantom(), series_description="PA wrist")
    ds = anonymise_dataset(pydicom.dcmread(described), clean_descriptors=True)
    assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100", "113105"]
    assert ds.DeidentificationMethod.endswith("+ Clean Descriptors")
    assert all(i.CodingSchemeDesignator == "DCM" for i in ds.DeidentificationMethodCodeSequence)


def test_a_leftover_is_refused_rather_than_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wristviewer.imaging.anonymise as anonymise

    src = write_dicom(tmp_path / "a.dcm", phantom(), extra={"SeriesDate": "19370512"})
    monkeypatch.setattr(anonymise, "_removed_beyond_table", lambda elem, action: False)
    monkeypatch.setitem(anonymise.PROFILE, 0x00080021, ("SeriesDate", "K"))
    with pytest.raises(ImagingError, match=r"a\.dcm.*SeriesDate \(a date or time\)"):
        anonymise_files([src], tmp_path / "out")
    assert not list((tmp_path / "out").iterdir())


def _top_level_changes(before: Dataset, after: Dataset) -> set[int]:
    """Tags whose original value is not in ``after`` (removed, emptied or replaced)."""
    changed = set()
    for elem in before:
        new = after.get(elem.tag)
        if new is None or new.is_empty or new.value != elem.value:
            changed.add(int(elem.tag))
    return changed


@pytest.mark.filterwarnings("ignore:.*DataElement_from_raw:DeprecationWarning")  # theirs
@pytest.mark.parametrize("table", ["dicomfields_2023", "dicomfields_2026c"])
def test_removes_at_least_what_an_independent_de_identifier_removes(
    tmp_path: Path, table: str
) -> None:
    """KitwareMedical's dicom-anonymizer (its own copy of the table; top level only): every
    attribute whose value it takes out, ours takes out too."""
    simple = pytest.importorskip("dicomanonymizer.simpledicomanonymizer")
    src, _ = _planted_file(tmp_path)
    before = pydicom.dcmread(src)
    theirs = pydicom.dcmread(src)
    simple.anonymize_dataset(theirs, base_rules_gen=lambda: simple.initialize_actions(table))
    ours = anonymise_dataset(pydicom.dcmread(src))
    missed = _top_level_changes(before, theirs) - _top_level_changes(before, ours)
    assert not missed, [keyword_for_tag(t) or hex(t) for t in sorted(missed)]
    assert len(_top_level_changes(before, theirs)) > 400


def _dump(ds: Dataset) -> str:
    return "\n".join(str(e) for e in ds.iterall())


def test_hand_written_list_of_identifiers(tmp_path: Path) -> None:
    src, _ = _planted_file(tmp_path)
    before = pydicom.dcmread(src)
    out = tmp_path / "out"
    result = anonymise_files([src], out)
    after = pydicom.dcmread(result.files[0])
    assert result.files[0].name == "image001.dcm"
    for keyword, expectation in HAND_LIST.items():
        assert keyword in before, keyword
        if expectation == "replaced":
            assert after[keyword].value != before[keyword].value, keyword
            assert str(after[keyword].value).startswith("2.25."), keyword
        else:
            value = after.get(keyword)
            assert value is None or value == "" or len(value) == 0, keyword
    assert after.file_meta.MediaStorageSOPInstanceUID == after.SOPInstanceUID
    # the pixels are untouched and still read as bone-bright
    assert np.allclose(read(result.files[0]).pixels, read(src).pixels)


def test_uids_are_replaced_consistently_within_one_export(tmp_path: Path) -> None:
    study_uid = "1.2.826.0.1.3680043.8.498.4242"
    a = write_dicom(tmp_path / "a.dcm", phantom(), study_uid=study_uid)
    b = write_dicom(tmp_path / "b.dcm", phantom(), study_uid=study_uid)
    result = anonymise_files([a, b], tmp_path / "out")
    da, db = (pydicom.dcmread(p) for p in result.files)
    assert da.StudyInstanceUID == db.StudyInstanceUID != study_uid
    assert da.SOPInstanceUID != db.SOPInstanceUID
    assert result.uid_map[study_uid] == da.StudyInstanceUID
    again = anonymise_files([a], tmp_path / "out2")  # another export: other UIDs
    assert pydicom.dcmread(again.files[0]).StudyInstanceUID != da.StudyInstanceUID


def test_clean_descriptors_option_keeps_descriptions_without_names(tmp_path: Path) -> None:
    src = write_dicom(
        tmp_path / "c.dcm",
        phantom(),
        series_description="PA wrist Doe",
        extra={"PatientName": SECRET, "StudyDescription": "Wrist, jane doe, fall"},
    )
    ds = anonymise_dataset(pydicom.dcmread(src), clean_descriptors=True)
    assert ds.SeriesDescription == "PA wrist XXX"
    assert "doe" not in ds.StudyDescription.lower() and "jane" not in ds.StudyDescription.lower()
    assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100", "113105"]
    plain = anonymise_dataset(pydicom.dcmread(src))
    assert "SeriesDescription" not in plain


def test_burned_in_annotation_warnings_name_the_file(tmp_path: Path) -> None:
    yes = write_dicom(tmp_path / "yes.dcm", phantom(), extra={"BurnedInAnnotation": "YES"})
    cr = write_dicom(tmp_path / "cr.dcm", phantom(), extra={"Modality": "CR"})
    no = write_dicom(tmp_path / "no.dcm", phantom(), extra={"BurnedInAnnotation": "NO"})
    result = anonymise_files([yes, cr, no], tmp_path / "out")
    assert len(result.warnings) == 2
    assert (
        result.warnings[0].startswith("yes.dcm:")
        and "BurnedInAnnotation = YES" in result.warnings[0]
    )
    assert result.warnings[1].startswith("cr.dcm:") and "CR" in result.warnings[1]
    assert burned_in_warning(pydicom.dcmread(no), "no.dcm") is None
    assert pydicom.dcmread(result.files[0]).BurnedInAnnotation == "YES"  # kept (K)


def test_plain_images_are_re_encoded_without_metadata(tmp_path: Path, fracatlas: Path) -> None:
    src = fracatlas / "images" / "IMG0000019.jpg"
    result = anonymise_files([src], tmp_path / "out")
    out = result.files[0]
    assert out.name == "image001.png"
    assert read(out).pixels.shape == read(src).pixels.shape


def test_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"DICM but not really" * 3)
    with pytest.raises(Exception, match="bad.dcm"):
        anonymise_files([bad], tmp_path / "out")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AnonymisationError, match="file"):
        anonymise_files([write_dicom(tmp_path / "ok.dcm", phantom())], blocker / "sub")
