"""The question asked before reads begun and not submitted are lost (the window closes, or
other files replace the open studies): submit them as ticked, discard them, or go back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QMessageBox, QWidget

from wristviewer.imaging import Study
from wristviewer.viewer import ViewerState

log = logging.getLogger(__name__)

Button = QMessageBox.StandardButton


def ask_about_drafts(
    parent: QWidget, state: ViewerState, studies: Sequence[Study], then: str = "close"
) -> QMessageBox.StandardButton:
    """Save (submit the reads as ticked), Discard or Cancel, for reads begun and not
    submitted in ``studies``, before ``then`` ("close", "open": other files replace the
    studies). Save is offered only when each has an answer ticked."""
    numbers = ", ".join(str(state.studies.index(s) + 1) for s in studies)
    one = len(studies) == 1
    complete = all(state.draft(s).read is not None for s in studies)
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "WristViewer",
        f"Your read of study {numbers} is not submitted."
        if one
        else f"Your reads of studies {numbers} are not submitted.",
        parent=parent,
    )
    buttons = Button.Discard | Button.Cancel
    if complete:
        buttons |= Button.Save
    box.setStandardButtons(buttons)
    box.setDefaultButton(Button.Cancel)
    it = "it" if one else "them"
    box.setInformativeText(
        f"Submit {it} as ticked, discard {it}, or go back to {it}?"
        if complete
        else f"Discard {it}, or go back and tick an answer?"
    )
    if complete:
        box.button(Button.Save).setText(f"Submit and {then}")
    box.button(Button.Discard).setText(f"Discard and {then}")
    return Button(box.exec())


def confirm_drafts(
    state: ViewerState,
    ask: Callable[[Sequence[Study], str], QMessageBox.StandardButton],
    go_back: Callable[[], object],
    then: str = "close",
) -> bool:
    """True when ``then`` may go ahead: no read begun and unsubmitted, or ``ask`` (the
    question above) answered submit or discard; Cancel makes the first such study current
    and calls ``go_back``."""
    studies = state.unsubmitted_drafts()
    if not studies:
        return True
    answer = ask(studies, then)
    if answer == Button.Save:
        submitted = state.submit_drafts()
        log.info("%d draft read(s) submitted (%s)", submitted, then)
        return True
    if answer == Button.Discard:
        log.info("%d draft read(s) discarded (%s)", len(studies), then)
        return True
    state.set_current(state.studies.index(studies[0]))
    go_back()
    return False
