"""The study selector above the views: one entry per open study, following the state."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from wristviewer.imaging import Study
from wristviewer.viewer import ViewerState


def study_title(index: int, study: Study) -> str:
    """ "1. folder — 3 view(s): PA, oblique, lateral" (the folder, never the patient)."""
    first = study.views[0].path if study.views else None
    where = first.parent.name if first is not None else study.id
    views = ", ".join(v.view.value for v in study.views)
    return f"{index + 1}. {where} — {len(study.views)} view(s): {views}"


class StudySelector(QComboBox):
    """Choosing an entry makes that study current; the entries follow ``state``."""

    def __init__(self, state: ViewerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.setMinimumWidth(320)
        self.setToolTip("Studies in what was opened (Page Up / Page Down)")
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

    def _on_views_reordered(self, study: Study) -> None:
        if study in self._state.studies:
            i = self._state.studies.index(study)
            self.setItemText(i, study_title(i, study))
