"""The patient banner over the views (issue 15 item 1): who is on the screen, a clear mark
when another open study is a different patient, "no patient data in file" for plain images,
hidden by View ▸ Show Patient Banner (kept in the settings)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.dicom_factory import write_study
from tests.ui.helpers import open_and_wait
from wristviewer.ui.patient_banner import PatientBanner
from wristviewer.ui.settings import ViewerSettings

DOE = {
    "PatientName": "Doe^Jane",
    "PatientID": "MRN-4711",
    "PatientSex": "F",
    "PatientBirthDate": "19700305",
    "StudyDate": "20240615",
    "StudyTime": "031500",
    "AccessionNumber": "ACC-99",
}


def test_the_banner_names_the_patient_and_the_study_of_a_dicom(
    qtbot, window, tmp_path: Path
) -> None:  # noqa: ANN001
    write_study(tmp_path / "doe", views=("PA", "LATERAL"), laterality="L", extra=DOE)
    open_and_wait(qtbot, window, [tmp_path / "doe"])
    banner = window.patient_banner
    assert banner.isVisible()
    assert banner.lines == [
        "DOE, Jane · ID MRN-4711 · F · born 1970-03-05 (54 y)",
        "Study 2024-06-15 03:15 · Acc. ACC-99 · Left",
    ]
    assert not banner.warning_label.isVisible()
    assert "one study per DICOM Study Instance UID" in banner.toolTip()


def test_a_different_patient_open_beside_is_marked_in_words(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    write_study(tmp_path / "a", views=("PA",), extra=DOE)
    write_study(tmp_path / "b", views=("PA",), extra={**DOE, "PatientID": "MRN-0815"})
    open_and_wait(qtbot, window, [tmp_path / "a", tmp_path / "b"])
    assert len(window.state.studies) == 2
    banner = window.patient_banner
    for index in (0, 1):
        window.state.set_current(index)
        assert banner.warning_label.isVisible()
        assert banner.warning_label.text() == "⚠ Different patient from 1 other open study."
        assert "⚠ Different patient" in banner.lines[-1]
    assert banner.lines[0].startswith("DOE, Jane · ID MRN-0815")


def test_a_jpeg_says_no_patient_data_in_file(qtbot, window, fracatlas_study: Path) -> None:  # noqa: ANN001
    open_and_wait(qtbot, window, [fracatlas_study / "IMG0000016.jpg"])
    assert window.patient_banner.lines == ["IMG0000016.jpg · no patient data in file"]


def test_a_folder_opened_as_one_study_says_it_is_not_checked_to_be_one_patient(
    qtbot, window, fracatlas_study: Path
) -> None:  # noqa: ANN001
    open_and_wait(qtbot, window, [fracatlas_study], one_study=True)
    lines = window.patient_banner.lines
    assert lines[0] == "fracatlas-study · no patient data in file"
    assert "not checked to be one patient" in lines[1]


def test_the_setting_hides_the_banner_and_is_kept(qtbot, window, fracatlas_study: Path) -> None:  # noqa: ANN001
    open_and_wait(qtbot, window, [fracatlas_study / "IMG0000016.jpg"])
    action = window.actions_by_id["patient_banner"]
    assert action.isChecked() and window.patient_banner.isVisible()
    action.trigger()
    assert not action.isChecked() and not window.patient_banner.isVisible()
    assert window.settings.show_patient_banner is False
    window.state.step_study(1)  # a study change does not bring it back
    assert not window.patient_banner.isVisible()
    window.save_settings()
    assert ViewerSettings.load().show_patient_banner is False


def test_the_banner_starts_hidden_when_the_settings_say_so(qtbot, fracatlas_study: Path) -> None:  # noqa: ANN001
    from wristviewer.ui.main_window import MainWindow

    win = MainWindow(ViewerSettings(show_patient_banner=False))
    win.quiet_errors = True
    qtbot.addWidget(win)
    win.show()
    open_and_wait(qtbot, win, [fracatlas_study / "IMG0000016.jpg"])
    assert not win.actions_by_id["patient_banner"].isChecked()
    assert not win.patient_banner.isVisible()
    win.workers.wait_all(30)


def test_the_teaching_window_has_no_patient_banner(qtbot, window) -> None:  # noqa: ANN001
    teaching = window.open_sample_case_set()
    assert teaching is not None
    qtbot.addWidget(teaching)
    assert not teaching.findChildren(PatientBanner)
    teaching.toggle_presenter()
    assert not teaching.findChildren(PatientBanner)
    teaching.close()
