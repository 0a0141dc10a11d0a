"""Patient identity read from DICOM, compared across studies, and the banner's text."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.dicom_factory import write_dicom, write_png, write_study
from wristviewer.imaging import load_studies, read
from wristviewer.imaging.identity import (
    NO_PATIENT_DATA,
    PatientIdentity,
    PatientMatch,
    banner_lines,
    compare_patients,
    format_person_name,
    other_patients,
    study_reference,
    within_study,
)

DOE = {
    "PatientName": "Doe^John^Q",
    "PatientID": "12345",
    "PatientSex": "M",
    "PatientBirthDate": "19800131",
    "StudyDate": "20240615",
    "StudyTime": "103245.5",
    "AccessionNumber": "A-778",
    "StudyID": "42",
}


def test_identity_is_read_from_the_dicom_header(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "pa.dcm", laterality="L", study_uid="1.2.3", extra=DOE)
    who = read(path).identity
    assert who == PatientIdentity(
        name="DOE, John Q",
        patient_id="12345",
        sex="M",
        birth_date="1980-01-31",
        study_date="2024-06-15",
        study_time="10:32",
        accession_number="A-778",
        study_id="42",
        study_uid="1.2.3",
        laterality="L",
    )
    assert who.age == "44 y"


def test_plain_images_have_no_identity_and_say_so(tmp_path: Path) -> None:
    path = write_png(tmp_path / "wrist_PA.png")
    assert read(path).identity is None
    studies, _ = load_studies([path])
    assert banner_lines(studies[0]) == [f"wrist_PA.png · {NO_PATIENT_DATA}"]
    assert study_reference(studies[0]) == f"wrist_PA.png ({NO_PATIENT_DATA})"


def test_banner_lines_for_a_dicom_study(tmp_path: Path) -> None:
    write_study(tmp_path / "s", views=("PA", "LATERAL"), laterality="R", extra=DOE)
    studies, _ = load_studies([tmp_path])
    assert banner_lines(studies[0], studies) == [
        "DOE, John Q · ID 12345 · M · born 1980-01-31 (44 y)",
        "Study 2024-06-15 10:32 · Acc. A-778 · Right",
    ]
    assert study_reference(studies[0]) == "study 2024-06-15 10:32, accession A-778"


def test_a_study_without_date_says_so(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "x.dcm", extra={"StudyDate": ""})
    (study,), _ = load_studies([path])
    assert banner_lines(study)[1] == "Study (no date in file)"


def test_a_different_patient_open_beside_is_marked(tmp_path: Path) -> None:
    write_study(tmp_path / "a", views=("PA",), extra=DOE)
    write_study(tmp_path / "b", views=("PA",), extra={**DOE, "PatientID": "99999"})
    write_png(tmp_path / "c" / "wrist.png")
    a, b, c = load_studies([tmp_path / "a", tmp_path / "b", tmp_path / "c"])[0]
    assert other_patients(a, [a, b, c]) == {
        b.id: PatientMatch.DIFFERENT,
        c.id: PatientMatch.UNKNOWN,
    }
    assert banner_lines(a, [a, b, c])[-1] == "⚠ Different patient from 1 other open study."


def test_images_of_two_patients_in_one_study_are_marked(tmp_path: Path) -> None:
    write_dicom(tmp_path / "1.dcm", study_uid="1.2.9", extra=DOE)
    write_dicom(tmp_path / "2.dcm", study_uid="1.2.9", extra={**DOE, "PatientName": "Roe^Jane"})
    (study,), _ = load_studies([tmp_path])
    assert within_study(study) is PatientMatch.DIFFERENT
    assert "⚠ The images of this study do not all name the same patient." in banner_lines(study)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # ID and name agree (case and carets do not matter)
        (dict(patient_id="1", name="DOE, John"), dict(patient_id="1", name="Doe John"), "same"),
        (dict(patient_id="1", birth_date="1980-01-31"), dict(patient_id="1", birth_date="1980-01-31"), "same"),
        # the ID alone is not enough to be sure
        (dict(patient_id="1"), dict(patient_id="1"), "unknown"),
        (dict(patient_id="1", name="DOE, John"), dict(patient_id="1"), "unknown"),
        # a name without an ID is not enough either
        (dict(name="DOE, John"), dict(name="DOE, John"), "unknown"),
        (dict(), dict(), "unknown"),
        # any present field that differs
        (dict(patient_id="1", name="DOE, John"), dict(patient_id="2", name="DOE, John"), "different"),
        (dict(name="DOE, John"), dict(name="ROE, Jane"), "different"),
        (dict(patient_id="1", birth_date="1980-01-31"), dict(patient_id="1", birth_date="1981-01-31"), "different"),
        # the same number from two registries
        (dict(patient_id="1", name="A", issuer="H1"), dict(patient_id="1", name="A", issuer="H2"), "unknown"),
    ],
)  # fmt: skip
def test_compare_patients(a: dict[str, str], b: dict[str, str], expected: str) -> None:
    assert compare_patients(PatientIdentity(**a), PatientIdentity(**b)) == expected
    assert compare_patients(PatientIdentity(**b), PatientIdentity(**a)) == expected


def test_a_plain_image_is_never_the_same_patient() -> None:
    assert compare_patients(PatientIdentity(patient_id="1", name="A"), None) == "unknown"
    assert compare_patients(None, None) == "unknown"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Doe^John", "DOE, John"),
        ("Doe^John^Q^Dr^Jr", "DOE, Dr John Q, Jr"),
        ("Doe", "DOE"),
        ("^John", "John"),
        ("Yamada^Tarou=山田^太郎", "YAMADA, Tarou"),
        ("", None),
    ],
)
def test_person_names_for_display(value: str, text: str | None) -> None:
    assert format_person_name(value) == text


@pytest.mark.filterwarnings("ignore:Invalid value for VR")
def test_damaged_identity_fields_do_not_refuse_the_image(tmp_path: Path) -> None:
    path = write_dicom(
        tmp_path / "x.dcm", extra={"PatientBirthDate": "31.1.1980", "StudyTime": "late"}
    )
    who = read(path).identity
    assert who is not None
    assert (who.birth_date, who.study_time, who.age) == ("31.1.1980", "late", None)
