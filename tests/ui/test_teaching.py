"""The quiz window: answer, reveal (truth, boxes, AI), running score, presenter mode."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wristviewer.paths import resources_dir
from wristviewer.workflow.blind_read import Read
from wristviewer.workflow.teaching import load_case_set

SAMPLE = resources_dir() / "teaching" / "fracatlas-sample"


@pytest.fixture
def small_set(tmp_path: Path) -> Path:
    """Three sample cases (two fractured with boxes, one normal) copied under a name-like folder."""
    folder = tmp_path / "Doe_Jane_cases"
    folder.mkdir()
    rows = (SAMPLE / "cases.csv").read_text(encoding="utf-8").splitlines()
    keep = [rows[0]] + [
        r for r in rows[1:] if r.split(",")[0] in ("case01.jpg", "case02.jpg", "case03.jpg")
    ]
    for name in ("case01.jpg", "case02.jpg", "case03.jpg"):
        shutil.copy(SAMPLE / name, folder / name)
    (folder / "cases.csv").write_text("\n".join(keep) + "\n", encoding="utf-8")
    return folder


def _window(qtbot, folder: Path, model_spec: str | None = None):  # noqa: ANN001
    from wristviewer.ui.teaching import TeachingWindow

    win = TeachingWindow(load_case_set(folder), model_spec=model_spec, device="cpu")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.panel is not None, timeout=30_000)
    return win


def test_quiz_reveals_truth_boxes_and_scores(qtbot, small_set: Path) -> None:  # noqa: ANN001
    win = _window(qtbot, small_set)
    case = win.case_set.cases[0]
    assert case.fractured and case.boxes
    assert win.truth_label.text() == "" and win.box_items == []  # nothing before the answer
    with qtbot.waitSignal(win.revealed, timeout=5_000):
        win.answer_buttons[Read.NO_FRACTURE].click()
    assert "Truth: <b>Fracture</b>" in win.truth_label.text() and "wrong" in win.truth_label.text()
    assert len(win.box_items) == len(case.boxes)
    left, top, width, height = case.boxes[0].to_pixels(win.radiograph.cols, win.radiograph.rows)
    rect = win.box_items[0].rect()
    assert (rect.left(), rect.top(), rect.width()) == pytest.approx((left, top, width))
    assert win.note_label.text() == case.note
    assert "no model installed" in win.ai_label.text()
    assert not any(b.isEnabled() for b in win.answer_buttons.values())

    with qtbot.waitSignal(win.case_shown, timeout=30_000):
        win.next_button.click()
    win.answer(Read.NO_FRACTURE)  # case02 is normal: right
    with qtbot.waitSignal(win.case_shown, timeout=30_000):
        win.show_case(2)
    win.answer(Read.UNSURE)
    you = win.score.learner()
    assert (you.tp, you.fn, you.tn, you.fp, you.unsure) == (0, 1, 1, 0, 1)
    assert "3 answered" not in win.score_label.text() and "1 unsure" in win.score_label.text()
    assert (
        "sensitivity 0%" in win.score_label.text() and "specificity 100%" in win.score_label.text()
    )


def test_presenter_mode_is_full_screen_and_shows_no_file_or_folder_name(
    qtbot, small_set: Path
) -> None:  # noqa: ANN001
    win = _window(qtbot, small_set)
    win.answer(Read.FRACTURE)
    win.toggle_presenter()
    assert win.presenter and win.isFullScreen()
    assert "font-size: 24px" in win.centralWidget().styleSheet()
    texts = " ".join(win.visible_texts())
    assert "case01" not in texts and "Doe" not in texts and ".jpg" not in texts
    assert "Case 1 of 3" in texts
    assert not win.panel.footer_label.isVisibleTo(win)
    win.toggle_presenter()
    assert not win.isFullScreen()


def test_quiz_with_a_model_puts_the_ai_beside_the_learner(
    qtbot, small_set: Path, installed_bundle: Path
) -> None:  # noqa: ANN001
    win = _window(qtbot, small_set, model_spec="densenet161")
    qtbot.waitUntil(lambda: 0 in win.ai_results, timeout=120_000)
    win.answer(Read.FRACTURE)
    prediction = win.ai_results[0]
    assert f"threshold {prediction.threshold:.2f}" in win.ai_label.text()
    assert win.panel.heatmap_item.image is not None and win.panel.badge_label.isVisibleTo(win)
    learner, ai = win.score.paired()
    assert learner.answered == ai.answered == 1
    assert ai.tp == int(prediction.suspected) and learner.tp == 1
    assert "you vs AI" in win.score_label.text()


def test_window_menu_opens_the_sample_case_set(qtbot, window) -> None:  # noqa: ANN001
    teaching = window.open_sample_case_set() or window.teaching_window
    assert teaching is not None and len(teaching.case_set) == 12
    qtbot.waitUntil(lambda: teaching.panel is not None, timeout=30_000)
    teaching.close()


def test_an_unreadable_case_set_is_a_sentence(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    assert window.open_case_set(tmp_path) is None
    assert (
        "case set could not be opened" in window.last_error and str(tmp_path) in window.last_error
    )


def test_boxes_follow_rotation_and_flip(qtbot, small_set: Path) -> None:  # noqa: ANN001
    win = _window(qtbot, small_set)
    with qtbot.waitSignal(win.revealed, timeout=5_000):
        win.answer(Read.FRACTURE)
    rows, cols = win.radiograph.rows, win.radiograph.cols
    left, top, width, height = win.case_set.cases[0].boxes[0].to_pixels(cols, rows)
    win.panel.display.rotate(1)  # a quarter turn clockwise: (x, y) -> (rows - y, x)
    rect = win.box_items[0].rect()
    expected = (rows - top - height, left, height, width)
    assert (rect.left(), rect.top(), rect.width(), rect.height()) == pytest.approx(expected)
    win.panel.display.rotate(-1)
    win.panel.display.flip(True)
    rect = win.box_items[0].rect()
    assert (rect.left(), rect.top()) == pytest.approx((cols - left - width, top))
    assert len(win.box_items) == len(win.case_set.cases[0].boxes)  # redrawn, not added


def test_the_quiz_keys_are_the_windows_keys(qtbot, small_set: Path) -> None:  # noqa: ANN001
    """Shift+F answers Fracture (it ticks Fracture in the viewer window); plain F fits and N
    goes to the next case, as they fit and go to the next study there."""
    from PySide6.QtCore import Qt

    win = _window(qtbot, small_set)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5_000)
    qtbot.keyClick(win, Qt.Key.Key_F)  # fit: no answer
    assert win.answers == {}
    with qtbot.waitSignal(win.revealed, timeout=5_000):
        qtbot.keyClick(win, Qt.Key.Key_F, Qt.KeyboardModifier.ShiftModifier)
    assert win.answers == {0: Read.FRACTURE}
    with qtbot.waitSignal(win.case_shown, timeout=30_000):
        qtbot.keyClick(win, Qt.Key.Key_N)
    assert win.index == 1
    with qtbot.waitSignal(win.revealed, timeout=5_000):
        qtbot.keyClick(win, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert win.answers[1] is Read.NO_FRACTURE
    assert win.answer_buttons[Read.UNSURE].text() == "Unsure (Shift+U)"
