"""De-identification (PS3.15 E.1-1): every attribute of the table, a hand list, UIDs, warnings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag

from tests.helpers.dicom_factory import phantom, write_dicom
from wristviewer.imaging import read
from wristviewer.imaging.anonymise import (
    PROFILE,
    AnonymisationError,
    UidMap,
    anonymise_dataset,
    anonymise_files,
    burned_in_warning,
    vr_of,
)

SECRET = "Doe^Jane"

#: written independently of the table: the attributes that most often identify a patient
HAND_LIST = {
    "PatientName": "gone-or-empty",
    "PatientID": "gone-or-empty",
    "PatientBirthDate": "gone-or-empty",
    "PatientSex": "gone-or-empty",
    "PatientAge": "gone-or-empty",
    "PatientAddress": "gone-or-empty",
    "PatientTelephoneNumbers": "gone-or-empty",
    "OtherPatientIDs": "gone-or-empty",
    "OtherPatientNames": "gone-or-empty",
    "PatientMotherBirthName": "gone-or-empty",
    "AccessionNumber": "gone-or-empty",
    "InstitutionName": "gone-or-empty",
    "InstitutionAddress": "gone-or-empty",
    "ReferringPhysicianName": "gone-or-empty",
    "PerformingPhysicianName": "gone-or-empty",
    "NameOfPhysiciansReadingStudy": "gone-or-empty",
    "OperatorsName": "gone-or-empty",
    "StationName": "gone-or-empty",
    "StudyDate": "gone-or-empty",
    "SeriesDate": "gone-or-empty",
    "AcquisitionDate": "gone-or-empty",
    "ContentDate": "gone-or-empty",
    "StudyTime": "gone-or-empty",
    "DeviceSerialNumber": "gone-or-empty",
    "StudyID": "gone-or-empty",
    "RequestAttributesSequence": "gone-or-empty",
    "ImageComments": "gone-or-empty",
    "StudyInstanceUID": "replaced",
    "SeriesInstanceUID": "replaced",
    "SOPInstanceUID": "replaced",
}

_VALUES = {
    "PN": SECRET,
    "LO": "Doe secret LO",
    "SH": "DOE123",
    "LT": "Doe secret LT",
    "ST": "Doe secret ST",
    "UT": "Doe secret UT",
    "CS": "DOE",
    "DA": "19700101",
    "TM": "101010",
    "DT": "19700101101010",
    "AS": "055Y",
    "DS": "71.5",
    "IS": "7",
    "US": 7,
    "UI": "1.2.826.0.1.3680043.8.498.999",
    "OB": b"\x01\x02",
    "UN": b"\x01\x02",
}


def _value(vr: str):
    vr = vr.split(" or ")[0]
    if vr == "SQ":
        item = Dataset()
        item.PatientName = SECRET
        item.CodeValue = "DOE"
        return DicomSequence([item])
    return _VALUES.get(vr, "Doe")


def _full_dataset(tmp_path: Path, name: str = "full.dcm", **kw) -> Path:
    """A DX file with every attribute of the profile table set to an identifying value."""
    path = write_dicom(tmp_path / name, phantom(), **kw)
    ds = pydicom.dcmread(path)
    for tag, (keyword, action) in PROFILE.items():
        if action == "K" or keyword in ds:
            continue
        ds.add_new(Tag(tag), vr_of(keyword).split(" or ")[0], _value(vr_of(keyword)))
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        assert keyword in ds
    ds.PatientName = SECRET
    ds.add_new(0x00091010, "LO", "private secret Doe")  # private
    ds.add_new(0x60003000, "OW", b"\x00" * 8)  # overlay data
    ds.add_new(0x50000010, "US", 1)  # curve
    ds.save_as(path, enforce_file_format=True)
    return path


def _dump(ds: Dataset) -> str:
    return "\n".join(str(e) for e in ds.iterall())


def test_every_table_attribute_gets_its_action(tmp_path: Path) -> None:
    src = _full_dataset(tmp_path)
    before = pydicom.dcmread(src)
    uids = UidMap()
    after = anonymise_dataset(pydicom.dcmread(src), uids)
    checked = 0
    for tag, (keyword, action) in PROFILE.items():
        if action == "K":
            continue
        old = before.get(Tag(tag))
        if old is None:
            continue
        new = after.get(Tag(tag))
        checked += 1
        if action in ("X", "C"):
            assert new is None, f"{keyword} should be removed"
        elif action == "Z":
            assert new is not None and (new.value in (None, "", b"") or len(new.value) == 0), (
                keyword
            )
        elif action == "D":
            assert new is not None and str(new.value) != str(old.value), keyword
            assert "Doe" not in str(new.value), keyword
        elif action == "U":
            assert new is not None and new.value != old.value, keyword
            assert new.value == uids.mapping[str(old.value)], keyword
    assert checked >= 240
    dump = _dump(after)
    assert "Doe" not in dump and "DOE" not in dump and "19700101" not in dump
    assert not any(e.tag.is_private for e in after.iterall())
    assert not any(0x5000 <= e.tag.group <= 0x60FF for e in after)
    assert after.PatientIdentityRemoved == "YES"
    assert after.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert after.DeidentificationMethodCodeSequence[0].CodingSchemeDesignator == "DCM"
    assert "E.1-1" in after.DeidentificationMethod and len(after.DeidentificationMethod) <= 64
    assert after.LongitudinalTemporalInformationModified == "REMOVED"
    assert after.Modality == "DX" and after.SOPClassUID == before.SOPClassUID  # kept


def test_hand_written_list_of_identifiers(tmp_path: Path) -> None:
    src = _full_dataset(tmp_path)
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
