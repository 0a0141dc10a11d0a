"""The read by keyboard, the same answer keys in window and quiz, a focus ring one can see."""

from __future__ import annotations

import numpy as np
import pytest

from wristviewer.workflow.blind_read import Read, ReadState


@pytest.mark.parametrize("kind", ["QPushButton", "QCheckBox", "QRadioButton"])
def test_the_focus_ring_is_drawn_in_the_accent_colour(qtbot, kind: str) -> None:  # noqa: ANN001
    from PySide6 import QtWidgets
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QStyle, QStyleFactory

    from wristviewer.ui.focus_ring import ACCENT, FocusRingStyle

    def accent_pixels(style, focused: bool) -> int:  # noqa: ANN001
        widget = getattr(QtWidgets, kind)("Fracture")
        qtbot.addWidget(widget)
        widget.resize(widget.sizeHint())
        option = QtWidgets.QStyleOptionButton()
        widget.initStyleOption(option)
        if focused:
            option.state |= (
                QStyle.StateFlag.State_HasFocus | QStyle.StateFlag.State_KeyboardFocusChange
            )
        image = QImage(widget.size(), QImage.Format.Format_RGB32)
        image.fill(0xFFFFFFFF)
        painter = QPainter(image)
        element = {
            "QPushButton": QStyle.ControlElement.CE_PushButton,
            "QCheckBox": QStyle.ControlElement.CE_CheckBox,
            "QRadioButton": QStyle.ControlElement.CE_RadioButton,
        }[kind]
        style.drawControl(element, option, painter, widget)
        painter.end()
        ptr = image.constBits()
        rgb = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
        rgb = rgb[:, : image.width() * 4].reshape(image.height(), image.width(), 4)[..., :3]
        target = np.array([ACCENT.blue(), ACCENT.green(), ACCENT.red()])  # BGRA in memory
        return int((np.abs(rgb.astype(int) - target).sum(axis=2) < 40).sum())

    ring = FocusRingStyle(QStyleFactory.create("Fusion"))
    assert accent_pixels(ring, focused=False) == 0
    assert accent_pixels(ring, focused=True) >= 40  # a 2 px line round the label at least


def test_shift_f_ticks_the_read_and_ctrl_enter_records_it(qtbot, dicom_study) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    from tests.ui.helpers import window_on

    win = window_on(qtbot, dicom_study)
    win.activateWindow()
    qtbot.waitUntil(lambda: win.isActiveWindow(), timeout=5000)
    win.views.setFocus()
    qtbot.keyClick(win, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert win.read_panel.chosen_read() is Read.NO_FRACTURE
    qtbot.keyClick(win, Qt.Key.Key_F, Qt.KeyboardModifier.ShiftModifier)
    assert win.read_panel.chosen_read() is Read.FRACTURE
    assert win.state.draft().read is Read.FRACTURE  # a draft until submitted
    assert win.state.session().state is ReadState.AWAITING_READ
    qtbot.keyClick(win, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    session = win.state.session()
    assert session.state is ReadState.READ_SUBMITTED and session.read is Read.FRACTURE
    qtbot.keyClick(win, Qt.Key.Key_U, Qt.KeyboardModifier.ShiftModifier)  # the read is in
    assert session.read is Read.FRACTURE and win.read_panel.chosen_read() is Read.FRACTURE


def test_typing_in_the_note_types_and_does_not_answer(qtbot, dicom_study) -> None:  # noqa: ANN001

    from tests.ui.helpers import window_on

    win = window_on(qtbot, dicom_study)
    win.activateWindow()
    qtbot.waitUntil(lambda: win.isActiveWindow(), timeout=5000)
    note = win.read_panel.note_edit
    note.setFocus()
    qtbot.keyClicks(note, "FNU")
    assert note.text() == "FNU" and win.read_panel.chosen_read() is None
    assert win.state.draft().note == "FNU"
    note.clear()  # no draft left: closing does not ask
    assert not win.state.unsubmitted_drafts()


def test_the_hint_names_the_real_menu(window) -> None:  # noqa: ANN001
    from wristviewer.ui.read_panel import HIDDEN_TEXT

    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert "Second opinion" not in HIDDEN_TEXT
    menu, entry = HIDDEN_TEXT.split("(")[1].rstrip(").").split(" ▸ ")
    assert menu in menus
    assert entry in [a.text() for a in window.actions_by_id.values()]


def test_window_and_quiz_share_one_key_table() -> None:
    from wristviewer.ui.actions import MENUS, QUIZ_KEYS, READ_KEYS, ActionSpec

    window_keys = {
        spec.args[0]: list(spec.shortcuts)
        for _, entries in MENUS
        for spec in entries
        if isinstance(spec, ActionSpec) and spec.handler == "read_panel.choose"
    }
    assert window_keys == {read: [key] for read, key in READ_KEYS.items()}
    assert all(QUIZ_KEYS[str(read)][1] == (key,) for read, key in READ_KEYS.items())
    next_study = next(
        s for _, e in MENUS for s in e if isinstance(s, ActionSpec) and s.id == "next_study"
    )
    assert set(next_study.shortcuts) <= set(QUIZ_KEYS["next"][1])


def test_the_application_gets_the_focus_ring_once(qapp) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QApplication, QStyleFactory

    from wristviewer.ui.focus_ring import FocusRingStyle, install_focus_ring

    name = QApplication.style().name()
    try:
        install_focus_ring()
        first = QApplication.style()
        install_focus_ring()
        assert isinstance(first, FocusRingStyle) and QApplication.style() is first
        assert first.baseStyle().name() == name  # the platform's look, ring added
    finally:
        QApplication.setStyle(QStyleFactory.create(name))
