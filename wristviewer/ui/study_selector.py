"""The study selector above the views, and the sentence saying how the current study was
grouped (``Study.grouping``: one per DICOM study, one per image, or joined at the user's
request), so that a study-level verdict never hides what it spans."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from wristviewer.imaging import Study
from wristviewer.imaging.identity import study_source_name
from wristviewer.viewer import ViewerState

SELECTOR_TIP = "Studies in what was opened (Page Up / Page Down)"


def study_title(index: int, study: Study) -> str:
    """ "1. folder — 3 view(s): PA, oblique, lateral" (the study's file or folder name, never
    the patient's)."""
    where = study_source_name(study) if study.views else study.id
    views = ", ".join(v.view.value for v in study.views)
    return f"{index + 1}. {where} — {len(study.views)} view(s): {views}"


def grouping_text(study: Study | None) -> str:
    """ "Grouping: one study per image: …" for the current study ("" when none is open)."""
    if study is None or not study.grouping:
        return ""
    return f"Grouping: {study.grouping}"


class StudySelector(QComboBox):
    """Choosing an entry makes that study current; the entries follow ``state``. The tooltip
    says how the current study was grouped."""

    def __init__(self, state: ViewerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.setMinimumWidth(320)
        self.setToolTip(SELECTOR_TIP)
        self.currentIndexChanged.connect(state.set_current)
        state.studies_changed.connect(self._on_studies_changed)
        state.current_changed.connect(self._on_current_changed)
        state.views_reordered.connect(self._on_views_reordered)

    def _on_studies_changed(self) -> None:
        self.blockSignals(True)
        self.clear()
        for i, study in enumerate(self._state.studies):
            self.addItem(study_title(i, study))
        self.blockSignals(False)
        self.setEnabled(bool(self._state.studies))

    def _on_current_changed(self, index: int) -> None:
        self.blockSignals(True)
        self.setCurrentIndex(index)
        self.blockSignals(False)
        grouping = grouping_text(self._state.current_study)
        self.setToolTip(SELECTOR_TIP + (f"\n{grouping}" if grouping else ""))

    def _on_views_reordered(self, study: Study) -> None:
        if study in self._state.studies:
            i = self._state.studies.index(study)
            self.setItemText(i, study_title(i, study))


class StudyBar(QWidget):
    """ "Study: [selector]  Grouping: …" — the row above the views."""

    def __init__(self, state: ViewerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.selector = StudySelector(state)
        self.grouping_label = QLabel()
        self.grouping_label.setObjectName("groupingLabel")
        self.grouping_label.setWordWrap(True)
        self.grouping_label.setStyleSheet("font-size: 9pt;")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 0)
        layout.addWidget(QLabel("Study:"))
        layout.addWidget(self.selector)
        layout.addWidget(self.grouping_label, 1)
        state.current_changed.connect(self._on_current_changed)
        state.studies_changed.connect(self._on_current_changed)

    def _on_current_changed(self, *_: object) -> None:
        text = grouping_text(self._state.current_study)
        self.grouping_label.setText(text)
        self.grouping_label.setToolTip(text)
