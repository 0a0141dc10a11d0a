"""Grouping in the window (issue 15): plain images are one study each unless the user says
they are one study (File ▸ Open Folder as One Study…, --one-study, or the Treat/Split actions),
and the window shows the rule that made the current study."""

from __future__ import annotations

from pathlib import Path

from tests.ui.helpers import open_and_wait as _open


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
