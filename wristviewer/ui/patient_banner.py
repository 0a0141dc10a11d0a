"""The patient banner over the views: who and which examination is on the screen.

It shows :func:`~wristviewer.imaging.identity.banner_lines` of the current study given every
open study: for DICOM the patient's name, ID, sex, birth date (age), then the study's date and
time, accession number and side; for PNG/JPEG the file or folder name and "no patient data in
file", and for several such images shown as one study the sentence saying they were not
checked to be one patient. A warning line ("⚠ Different patient from 1 other open study.", or the study's own
images disagreeing) is drawn in a framed warning style — the symbol and the words carry it,
not the colour alone. Hidden by View ▸ Show Patient Banner (``ViewerSettings
.show_patient_banner``); the teaching window (and its presenter mode) has no banner at all.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from wristviewer.imaging.identity import banner_lines, study_identity
from wristviewer.ui.settings import ViewerSettings
from wristviewer.viewer import ViewerState

WARNING_MARK = "⚠"
_WHO_STYLE = "font-weight: bold; font-size: 11pt;"
_WARNING_STYLE = (
    "font-weight: bold; color: #7a0000; background: #fff3c4; border: 2px solid #b00020; "
    "border-radius: 3px; padding: 2px 6px;"
)


class PatientBanner(QFrame):
    """A thin banner following ``state``'s current study; ``settings`` say whether it shows."""

    def __init__(
        self, state: ViewerState, settings: ViewerSettings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._settings = settings
        self.setObjectName("patientBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.who_label = QLabel()
        self.who_label.setStyleSheet(_WHO_STYLE)
        self.exam_label = QLabel()
        self.warning_label = QLabel()
        self.warning_label.setStyleSheet(_WARNING_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 3, 8, 3)
        layout.setSpacing(1)
        for label in (self.who_label, self.exam_label, self.warning_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)  # a long name never widens the window
            layout.addWidget(label)
        state.current_changed.connect(self.refresh)
        state.studies_changed.connect(self.refresh)
        self.refresh()

    @property
    def lines(self) -> list[str]:
        """The banner's text lines as shown (empty when no study is open)."""
        return [
            label.text()
            for label in (self.who_label, self.exam_label, self.warning_label)
            if label.text()
        ]

    def refresh(self, *_: object) -> None:
        """Redraw from the current study and the open studies."""
        study = self._state.current_study
        lines = [] if study is None else banner_lines(study, self._state.studies)
        plain = [line for line in lines if not line.startswith(WARNING_MARK)]
        warnings = [line for line in lines if line.startswith(WARNING_MARK)]
        if study is not None and len(study.views) > 1 and study_identity(study) is None:
            plain.append(study.grouping)  # e.g. "opened as one study: … not checked to be …"
        self.who_label.setText(plain[0] if plain else "")
        self.exam_label.setText(" · ".join(plain[1:]))
        self.exam_label.setVisible(len(plain) > 1)
        self.warning_label.setText("\n".join(warnings))
        self.warning_label.setVisible(bool(warnings))
        grouping = [f"Grouping: {study.grouping}"] if study is not None and study.grouping else []
        self.setToolTip("\n".join(lines + grouping))
        self._update_visible()

    def set_shown(self, shown: bool) -> None:
        """View ▸ Show Patient Banner (kept in the settings)."""
        self._settings.show_patient_banner = bool(shown)
        self._update_visible()

    def _update_visible(self) -> None:
        shown = self._settings.show_patient_banner and self._state.current_study is not None
        self.setVisible(shown)
