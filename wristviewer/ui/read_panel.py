"""The reader's side panel: your read (fracture / no fracture / unsure + note), then the
agreement with the AI and the final decision. What is ticked and typed before the read is
submitted is the study's draft, kept in the model (:meth:`ViewerState.set_draft`), so that it
survives switching studies."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from wristviewer.ui.actions import READ_KEYS
from wristviewer.ui.second_opinion import SecondOpinionController
from wristviewer.workflow.blind_read import Agreement, Read, ReadSession, ReadState

HIDDEN_TEXT = "AI result hidden until you submit your read (AI ▸ Reveal the AI only after my read)."
_AGREEMENT_STYLE = {
    Agreement.AGREE: "background:#e8f5e9; color:#1b5e20;",
    Agreement.DISAGREE: "background:#c62828; color:white; font-weight:bold;",
    Agreement.UNSURE: "background:#fff8e1; color:#5d4037;",
    Agreement.NO_AI: "background:#eeeeee; color:#424242;",
}


class ReadPanel(QGroupBox):
    """Your read (fracture / no fracture / unsure + note), then the agreement with the AI and
    the final decision. Drives a :class:`SecondOpinionController`."""

    def __init__(self, controller: SecondOpinionController, parent: QWidget | None = None):
        super().__init__("Your read", parent)
        self._controller = controller
        self._shown_session: ReadSession | None = None  # the review the widgets show
        self._restoring = False  # widgets being set from the model: not the user's draft
        row = self._build_read_row()
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Optional note (no patient names)")
        self.note_edit.setMaxLength(500)
        self.submit_button = QPushButton("Submit my read (Ctrl+Enter)")
        self.submit_button.setToolTip(
            "Records your read. Keys: "
            + ", ".join(f"{k} {r.label}" for r, k in READ_KEYS.items())
            + ", then Ctrl+Enter"
        )
        self.submit_button.setEnabled(False)
        self.hidden_label = QLabel(HIDDEN_TEXT)
        self.hidden_label.setWordWrap(True)
        self.hidden_label.setStyleSheet("color:#5d4037; font-style: italic;")
        self.read_label = QLabel("")
        self.agreement_label = QLabel("")
        self.agreement_label.setWordWrap(True)
        self.agreement_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.decision_label = QLabel("Final decision:")
        decision_row = self._build_decision_row()
        self.audit_label = QLabel("")
        self.audit_label.setWordWrap(True)
        self.audit_label.setStyleSheet("color:#b26a00; font-size: 11px;")
        self.audit_label.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.note_edit)
        layout.addWidget(self.submit_button)
        layout.addWidget(self.hidden_label)
        layout.addWidget(self.read_label)
        layout.addWidget(self.agreement_label)
        layout.addWidget(self.decision_label)
        layout.addLayout(decision_row)
        layout.addWidget(self.audit_label)

        self._group.buttonToggled.connect(lambda *_: self._on_edited())
        self.note_edit.textChanged.connect(lambda _t: self._on_edited())
        self.submit_button.clicked.connect(self._on_submit)
        controller.state.shown_changed.connect(self.refresh)
        controller.state.current_changed.connect(lambda _i: self.refresh())
        controller.audit_failed.connect(self._on_audit_failed)
        self.refresh()

    def _build_read_row(self) -> QHBoxLayout:
        """Fracture / No fracture / Unsure, one of them (radio buttons)."""
        self.read_buttons: dict[Read, QRadioButton] = {}
        self._group = QButtonGroup(self)
        row = QHBoxLayout()
        for read in Read:
            button = QRadioButton(read.label)
            button.setToolTip(f"{read.label} ({READ_KEYS[read]})")
            self._group.addButton(button)
            self.read_buttons[read] = button
            row.addWidget(button)
        return row

    def _build_decision_row(self) -> QHBoxLayout:
        """The final decision: one button per answer, recorded when clicked."""
        self.decision_buttons: dict[Read, QPushButton] = {}
        row = QHBoxLayout()
        for read in Read:
            button = QPushButton(read.label)
            button.clicked.connect(lambda _=False, r=read: self._controller.decide(r))
            self.decision_buttons[read] = button
            row.addWidget(button)
        return row

    def chosen_read(self) -> Read | None:
        for read, button in self.read_buttons.items():
            if button.isChecked():
                return read
        return None

    def choose(self, read: Read | str) -> None:
        """Tick ``read`` (a keyboard shortcut); it stays a draft until submitted."""
        button = self.read_buttons[Read(read)]
        if button.isEnabled():
            button.setChecked(True)

    def submit(self) -> None:
        """Submit the read as ticked and typed (the button, or Ctrl+Enter); nothing happens
        while no answer is ticked or the read is already in."""
        if self.submit_button.isEnabled():
            self._on_submit()

    def _on_edited(self) -> None:
        if not self._restoring:
            session = self._controller.session()
            if session is not None and session.state is ReadState.AWAITING_READ:
                self._controller.state.set_draft(self.chosen_read(), self.note_edit.text())
        self._update_submit()

    def _update_submit(self) -> None:
        session = self._controller.session()
        awaiting = session is not None and session.state is ReadState.AWAITING_READ
        self.submit_button.setEnabled(awaiting and self.chosen_read() is not None)

    def _on_submit(self) -> None:
        read = self.chosen_read()
        if read is not None:
            self._controller.submit_read(read, self.note_edit.text())

    def _on_audit_failed(self, sentence: str) -> None:
        self.audit_label.setText(sentence)
        self.audit_label.show()

    def refresh(self) -> None:
        """Show the current study's review as it stands."""
        session = self._controller.session()
        self.setEnabled(session is not None)
        awaiting = session is not None and session.state is ReadState.AWAITING_READ
        for button in self.read_buttons.values():
            button.setEnabled(awaiting)
        self.note_edit.setEnabled(awaiting)
        if session is not None and (not awaiting or session is not self._shown_session):
            # the read as submitted, or the study's draft (kept while switching studies)
            draft = self._controller.state.draft()
            read, note = (draft.read, draft.note) if awaiting else (session.read, session.note)
            self._restoring = True
            self._group.setExclusive(False)
            for r, button in self.read_buttons.items():
                button.setChecked(r is read)
            self._group.setExclusive(True)
            self.note_edit.setText(note)
            self._restoring = False
        self._shown_session = session
        self._update_submit()
        self.hidden_label.setVisible(session is not None and not session.ai_visible)
        self._show_outcome(session if session is not None and session.read is not None else None)

    def _show_outcome(self, session: ReadSession | None) -> None:
        """Once the read is in: the read, the agreement with the AI, the final decision."""
        for widget in (self.read_label, self.agreement_label, self.decision_label):
            widget.setVisible(session is not None)
        for button in self.decision_buttons.values():
            button.setVisible(session is not None)
        if session is None or session.read is None:
            return
        self.read_label.setText(f"Your read: <b>{session.read.label}</b>")
        agreement = session.agreement
        self.agreement_label.setText(agreement.sentence)
        self.agreement_label.setStyleSheet(_AGREEMENT_STYLE[agreement] + " padding: 4px;")
        decided = session.final_decision
        self.decision_label.setText(
            "Final decision: " + (f"<b>{decided.label}</b> (recorded)" if decided else "—")
        )
        for read, button in self.decision_buttons.items():
            button.setDefault(read is decided)
