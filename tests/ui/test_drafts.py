"""A read begun and not submitted survives switching studies, and closing asks about it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.helpers import window_on, wrist_like, write_dicom
from wristviewer.workflow.blind_read import Read, ReadState


@pytest.fixture
def two_studies(qtbot, tmp_path: Path):  # noqa: ANN001, ANN201
    for i, uid in enumerate(("1.2.3.1", "1.2.3.2")):
        write_dicom(tmp_path / f"s{i}.dcm", wrist_like(120, 100, seed=i), study_uid=uid)
    win = window_on(qtbot, tmp_path)
    assert len(win.state.studies) == 2
    yield win
    win.second_opinion.close()


def _type_a_draft(qtbot, win) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    panel = win.read_panel
    qtbot.mouseClick(panel.read_buttons[Read.FRACTURE], Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.note_edit, "dorsal cortex")


def test_a_draft_survives_switching_studies(qtbot, two_studies) -> None:  # noqa: ANN001
    win = two_studies
    panel = win.read_panel
    _type_a_draft(qtbot, win)
    win.actions_by_id["next_study"].trigger()  # PgDown
    assert win.state.current_index == 1
    assert panel.chosen_read() is None and panel.note_edit.text() == ""
    assert not panel.submit_button.isEnabled()
    win.study_combo.setCurrentIndex(0)  # back through the study selector
    assert win.state.current_index == 0
    assert panel.chosen_read() is Read.FRACTURE
    assert panel.note_edit.text() == "dorsal cortex"
    assert panel.submit_button.isEnabled()
    win.actions_by_id["previous_study"].trigger()  # PgUp, wrapping round
    win.actions_by_id["previous_study"].trigger()
    assert panel.chosen_read() is Read.FRACTURE
    panel.submit_button.click()
    session = win.state.session()
    assert session is not None and session.state is ReadState.READ_SUBMITTED
    assert session.note == "dorsal cortex" and not win.state.unsubmitted_drafts()


def test_closing_with_a_draft_asks_and_cancel_goes_back_to_it(qtbot, two_studies) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QMessageBox

    win = two_studies
    _type_a_draft(qtbot, win)
    win.actions_by_id["next_study"].trigger()
    asked: list[list[str]] = []

    def ask(studies, then):  # noqa: ANN001, ANN202
        asked.append([s.id for s in studies])
        assert then == "close"
        return QMessageBox.StandardButton.Cancel

    win.ask_about_drafts = ask
    assert not win.close()
    assert win.isVisible() and asked == [[win.state.studies[0].id]]
    assert win.state.current_index == 0 and win.read_panel.chosen_read() is Read.FRACTURE
    win.ask_about_drafts = lambda *_: QMessageBox.StandardButton.Discard
    assert win.close()


@pytest.mark.parametrize(("answer", "recorded"), [("Save", Read.FRACTURE), ("Discard", None)])
def test_closing_with_a_draft_submits_or_discards_it(qtbot, two_studies, answer, recorded) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QMessageBox

    win = two_studies
    _type_a_draft(qtbot, win)
    study = win.state.current_study
    win.ask_about_drafts = lambda *_: getattr(QMessageBox.StandardButton, answer)
    assert win.close()
    assert win.state.session(study).read is recorded


def test_the_question_offers_submit_only_when_an_answer_is_ticked(
    qtbot, two_studies, monkeypatch
) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QMessageBox

    win = two_studies
    offered: list[bool] = []

    def fake_exec(box) -> int:  # noqa: ANN001
        offered.append(box.button(QMessageBox.StandardButton.Save) is not None)
        assert "study 1" in box.text()
        return int(QMessageBox.StandardButton.Cancel)

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    qtbot.keyClicks(win.read_panel.note_edit, "a note, no answer yet")
    assert not win.close()
    _type_a_draft(qtbot, win)
    assert not win.close()
    assert offered == [False, True]
    monkeypatch.undo()
    win.ask_about_drafts = lambda *_: QMessageBox.StandardButton.Discard
    assert win.close()


def test_closing_without_a_draft_does_not_ask(qtbot, two_studies) -> None:  # noqa: ANN001
    win = two_studies
    asked: list[object] = []
    win.ask_about_drafts = asked.append
    _type_a_draft(qtbot, win)
    win.read_panel.submit_button.click()  # submitted: nothing left to ask about
    assert win.close()
    assert asked == []


def test_opening_other_studies_asks_about_a_draft_first(qtbot, two_studies, tmp_path: Path) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QMessageBox

    win = two_studies
    _type_a_draft(qtbot, win)
    answers = iter([QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save])
    asked: list[str] = []

    def ask(_studies, then):  # noqa: ANN001, ANN202
        asked.append(then)
        return next(answers)

    win.ask_about_drafts = ask
    study = win.state.current_study
    recorded: list[str] = []
    win.state.review_changed.connect(recorded.append)
    assert win.open_paths([tmp_path / "s0.dcm"]) is None  # cancelled: the draft stays
    assert win.state.draft().read is Read.FRACTURE
    with qtbot.waitSignal(win.studies_loaded, timeout=30_000):
        assert win.open_paths([tmp_path / "s0.dcm"]) is not None
    assert asked == ["open", "open"] and recorded == [study.id]  # submitted, then opened
    assert not win.state.unsubmitted_drafts() and len(win.state.studies) == 1
