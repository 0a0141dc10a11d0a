"""Qt-free state of the viewer, in the manner of napari's components.

Widgets take these objects in their constructor and subscribe to their events; nothing here
imports Qt, torch or pyqtgraph, so the state can be tested and driven without a window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wristviewer.ai.card import ModelCard
from wristviewer.ai.results import StudyPrediction, ViewPrediction
from wristviewer.imaging import ClaheSettings, Radiograph, SkippedFile, Study, View, Window

Callback = Callable[..., Any]


class Event:
    """A list of callbacks called in order by :meth:`emit` (a Qt-free signal)."""

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []

    def connect(self, callback: Callback) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callback) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)


#: Window presets on the 0..1 pixel scale. "DICOM default" is the radiograph's own window.
WINDOW_PRESETS: dict[str, Window | None] = {
    "Full range": Window(center=0.5, width=1.0),
    "Bone": Window(center=0.6, width=0.6),
    "Soft tissue": Window(center=0.35, width=0.45),
    "DICOM default": None,
}


@dataclass
class DisplayState:
    """How one radiograph is shown: window, invert, rotation and flips.

    ``rotation`` counts quarter turns clockwise (0..3); flips apply after the rotation, to
    the displayed array and the heatmap alike so the two stay registered.
    """

    window: Window
    invert: bool = False
    rotation: int = 0
    flip_horizontal: bool = False
    flip_vertical: bool = False
    changed: Event = field(default_factory=Event, repr=False, compare=False)

    def set_window(self, window: Window) -> None:
        self.window = replace(window, width=max(float(window.width), 1e-3))
        self.changed.emit()

    def toggle_invert(self) -> None:
        self.invert = not self.invert
        self.changed.emit()

    def rotate(self, quarter_turns: int = 1) -> None:
        self.rotation = (self.rotation + quarter_turns) % 4
        self.changed.emit()

    def flip(self, horizontal: bool = True) -> None:
        if horizontal:
            self.flip_horizontal = not self.flip_horizontal
        else:
            self.flip_vertical = not self.flip_vertical
        self.changed.emit()

    def reset(self, window: Window) -> None:
        self.window = window
        self.invert = False
        self.rotation = 0
        self.flip_horizontal = False
        self.flip_vertical = False
        self.changed.emit()


@dataclass
class Analysis:
    """The AI result for one study, as the panels show it.

    ``prediction``: the AI's result; ``cards`` the model cards of the bundles used (both
    torch-free types).
    """

    prediction: StudyPrediction
    cards: list[ModelCard]
    device_name: str

    def view_prediction(self, path: Path) -> ViewPrediction | None:
        """The ViewPrediction for the radiograph at ``path``, or None."""
        for vp in self.prediction.views:
            if Path(vp.path) == Path(path):
                return vp
        return None


class ViewerState:
    """Everything the window shows: the open studies, the current one, CLAHE, heatmaps, results.

    Events: ``studies_changed()``, ``current_changed(index)``, ``views_reordered(study)``,
    ``clahe_changed(settings)``, ``heatmap_changed()``, ``analysis_changed(study_id)``,
    ``skipped_changed()``.
    """

    def __init__(self, clahe: ClaheSettings | None = None) -> None:
        self.studies: list[Study] = []
        self.skipped: list[SkippedFile] = []
        self.current_index: int = -1
        self.clahe: ClaheSettings = clahe or ClaheSettings()
        self.heatmap_visible: bool = True
        self.heatmap_opacity: float = 0.6
        self.analyses: dict[str, Analysis] = {}
        self._display: dict[Path, DisplayState] = {}
        self.studies_changed = Event()
        self.current_changed = Event()
        self.views_reordered = Event()
        self.clahe_changed = Event()
        self.heatmap_changed = Event()
        self.analysis_changed = Event()
        self.skipped_changed = Event()

    # studies ------------------------------------------------------------------------------
    @property
    def current_study(self) -> Study | None:
        if 0 <= self.current_index < len(self.studies):
            return self.studies[self.current_index]
        return None

    def set_studies(self, studies: list[Study], skipped: list[SkippedFile]) -> None:
        """Replace the open studies (and the list of files that could not be read)."""
        self.studies = list(studies)
        self.skipped = list(skipped)
        self.analyses.clear()
        self._display.clear()
        self.current_index = -1
        self.studies_changed.emit()
        self.skipped_changed.emit()
        self.set_current(0 if self.studies else -1)

    def set_current(self, index: int) -> None:
        if not self.studies:
            index = -1
        else:
            index = max(0, min(index, len(self.studies) - 1))
        if index == self.current_index:
            return
        self.current_index = index
        self.current_changed.emit(index)

    def step_study(self, step: int) -> None:
        """Next (+1) or previous (-1) study, wrapping around."""
        if self.studies:
            self.set_current((self.current_index + step) % len(self.studies))

    def set_view(self, radiograph: Radiograph, view: View) -> None:
        """Correct the projection of one radiograph; re-sorts its study's hanging order."""
        if radiograph.view == view:
            return
        radiograph.view = view
        for study in self.studies:
            if any(r is radiograph for r in study.views):
                study.sort_views()
                self.views_reordered.emit(study)
                return

    # display ------------------------------------------------------------------------------
    def display(self, radiograph: Radiograph) -> DisplayState:
        """The display state of one radiograph (created on first use with its own window)."""
        key = Path(radiograph.path)
        state = self._display.get(key)
        if state is None:
            state = DisplayState(window=radiograph.window)
            self._display[key] = state
        return state

    def set_clahe(self, settings: ClaheSettings) -> None:
        if settings != self.clahe:
            self.clahe = settings
            self.clahe_changed.emit(settings)

    def set_heatmap(self, *, visible: bool | None = None, opacity: float | None = None) -> None:
        """Show or hide the heatmaps; ``opacity`` in 0..1."""
        if visible is not None:
            self.heatmap_visible = bool(visible)
        if opacity is not None:
            self.heatmap_opacity = float(min(max(opacity, 0.0), 1.0))
        self.heatmap_changed.emit()

    # analyses -----------------------------------------------------------------------------
    def set_analysis(self, study_id: str, analysis: Analysis | None) -> None:
        if analysis is None:
            self.analyses.pop(study_id, None)
        else:
            self.analyses[study_id] = analysis
        self.analysis_changed.emit(study_id)

    def current_analysis(self) -> Analysis | None:
        study = self.current_study
        return self.analyses.get(study.id) if study is not None else None
