"""Grouping in the window (issue 15): plain images are one study each unless the user says
they are one study (File ▸ Open Folder as One Study…, --one-study, or the Treat/Split actions),
and the window shows the rule that made the current study."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.dicom_factory import write_study
from tests.ui.helpers import open_and_wait as _open
from tests.ui.helpers import wait_idle


def test_a_folder_of_three_jpegs_is_three_studies_by_default(
    qtbot, window, fracatlas_study: Path
) -> None:  # noqa: ANN001
    _open(qtbot, window, [fracatlas_study])
    studies = window.state.studies
    assert [len(s.views) for s in studies] == [1, 1, 1]
    assert len(window.panels) == 1
    names = [window.study_combo.itemText(i) for i in range(window.study_combo.count())]
    assert [n.split(" — ")[0] for n in names] == [
        "1. IMG0000016.jpg",
        "2. IMG0000019.jpg",
        "3. IMG0000020.jpg",
    ]
    assert "one study per image" in window.grouping_label.text()
    assert "one study per image" in window.study_combo.toolTip()


def test_opened_as_one_study_the_folder_is_one_study_and_says_so(
    qtbot, window, fracatlas_study: Path
) -> None:  # noqa: ANN001
    _open(qtbot, window, [fracatlas_study], one_study=True)
    assert len(window.state.studies) == 1 and len(window.panels) == 3
    assert window.study_combo.itemText(0).startswith("1. fracatlas-study — 3 view(s)")
    assert "not checked to be one patient" in window.grouping_label.text()


def test_treat_open_images_as_one_study_joins_them_and_says_it_was_not_checked(
    qtbot, window, fracatlas_study: Path
) -> None:  # noqa: ANN001
    _open(qtbot, window, [fracatlas_study])
    window.actions_by_id["treat_as_one_study"].trigger()
    wait_idle(qtbot, window)
    (study,) = window.state.studies
    assert len(study.views) == 3 and len(window.panels) == 3
    assert window.state.current_study is study
    assert "treated as one study at your request" in window.grouping_label.text()
    assert "not checked to be one patient" in window.state.status.message
    assert window.patient_banner.lines[0] == "fracatlas-study · no patient data in file"


def test_split_into_single_images_gives_one_study_per_image(
    qtbot, window, fracatlas_study: Path
) -> None:  # noqa: ANN001
    _open(qtbot, window, [fracatlas_study], one_study=True)
    window.actions_by_id["split_study"].trigger()
    wait_idle(qtbot, window)
    assert [len(s.views) for s in window.state.studies] == [1, 1, 1]
    assert len(window.panels) == 1
    assert "split into single images" in window.grouping_label.text()
    window.actions_by_id["split_study"].trigger()  # one image: nothing to split
    assert len(window.state.studies) == 3
    assert "Nothing to split" in window.state.status.message


def test_joining_leaves_dicom_studies_and_their_reviews_alone(
    qtbot, window, fracatlas_study: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    write_study(tmp_path / "dicom", views=("PA", "LATERAL"))
    _open(qtbot, window, [fracatlas_study, tmp_path / "dicom"])
    state = window.state
    assert [len(s.views) for s in state.studies] == [1, 1, 1, 2]
    state.set_current(3)
    state.submit_read("fracture", "scaphoid")
    dicom_id = state.studies[3].id
    merged = window.grouping.treat_as_one_study()
    assert merged is not None
    assert [s.id for s in state.studies] == [merged.id, dicom_id]
    assert state.current_study is merged
    session = state.reviews.get(dicom_id)
    assert session is not None and session.note == "scaphoid"
