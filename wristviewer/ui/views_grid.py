"""The current study's views side by side, one :class:`ViewPanel` each, and the active one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from wristviewer.imaging import Radiograph
from wristviewer.ui.view_panel import ViewPanel
from wristviewer.viewer import WINDOW_PRESETS, Analysis, ViewerState

PLACEHOLDER_TEXT = (
    "Open radiographs: File ▸ Open files (O) or Open folder (Shift+O), or drop files here.\n"
    "DICOM, PNG and JPEG are read; folders are searched recursively."
)

#: the CLAHE output of a radiograph for the current settings, or None (not made yet)
EnhancedLookup = Callable[[Radiograph], np.ndarray | None]


class ViewsGrid(QWidget):
    """Up to three views in a row (four as 2×2, more in rows of three).

    Signal: ``active_changed(panel)`` when another view becomes the active one (the target of
    the per-view actions: invert, rotate, flip, reset).
    """

    active_changed = Signal(object)

    def __init__(self, state: ViewerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.panels: list[ViewPanel] = []
        self.active_panel: ViewPanel | None = None
        self.wl_mode = False
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(2, 2, 2, 2)
        self.grid.setSpacing(4)
        self.placeholder = QLabel(PLACEHOLDER_TEXT)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #777; font-size: 15px;")
        self.grid.addWidget(self.placeholder, 0, 0)

    def rebuild(self, enhanced: EnhancedLookup) -> None:
        """New panels for the current study's views (in its hanging order), the AI result as
        the gate allows, and the first view active."""
        self.clear()
        study = self._state.current_study
        self.placeholder.setVisible(study is None)
        if study is None:
            return
        n = len(study.views)
        columns = n if n <= 3 else (2 if n == 4 else 3)
        analysis = self._state.visible_analysis()
        for i, radiograph in enumerate(study.views):
            panel = ViewPanel(self._state, radiograph)
            pixels = enhanced(radiograph)
            if pixels is not None:
                panel.set_enhanced(pixels)
            panel.set_wl_mode(self.wl_mode)
            panel.activated.connect(lambda p=panel: self.set_active(p))
            panel.window_drag_handler = self.adjust_window
            self.grid.addWidget(panel, i // columns, i % columns)
            self.panels.append(panel)
            show_prediction(panel, analysis)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)
        if self.panels:
            self.set_active(self.panels[0])
        QTimer.singleShot(0, self.fit_all)

    def clear(self) -> None:
        """Remove every panel (they stop listening to the state)."""
        for panel in self.panels:
            panel.detach()
            self.grid.removeWidget(panel)
            panel.deleteLater()
        self.panels = []
        self.active_panel = None

    def show_analysis(self) -> None:
        """Badges and heatmaps of the current study as the blind-read gate allows."""
        analysis = self._state.visible_analysis()
        for panel in self.panels:
            show_prediction(panel, analysis)

    def apply_enhanced(self, enhanced: EnhancedLookup) -> None:
        for panel in self.panels:
            pixels = enhanced(panel.radiograph)
            if pixels is not None:
                panel.set_enhanced(pixels)

    # the active view ----------------------------------------------------------------------
    def set_active(self, panel: ViewPanel) -> None:
        self.active_panel = panel
        for p in self.panels:
            p.set_active(p is panel)
        self.active_changed.emit(panel)

    def step_active(self, step: int) -> None:
        if self.panels:
            i = self.panels.index(self.active_panel) if self.active_panel in self.panels else 0
            self.set_active(self.panels[(i + step) % len(self.panels)])

    def on_active(self, fn: Callable[[ViewPanel], Any]) -> None:
        """``fn(panel)`` on the active view, when there is one."""
        if self.active_panel is not None:
            fn(self.active_panel)

    def invert_active(self) -> None:
        self.on_active(lambda p: p.display.toggle_invert())

    def rotate_active(self, quarter_turns: int) -> None:
        self.on_active(lambda p: p.display.rotate(quarter_turns))

    def flip_active(self, horizontal: bool) -> None:
        self.on_active(lambda p: p.display.flip(horizontal))

    def reset_active(self) -> None:
        def reset(panel: ViewPanel) -> None:
            panel.display.reset(panel.radiograph.window)
            panel.fit()

        self.on_active(reset)

    # every view ---------------------------------------------------------------------------
    def fit_all(self) -> None:
        for panel in self.panels:
            panel.fit()

    def apply_preset(self, name: str) -> None:
        """Window preset for every view ("DICOM default" = each radiograph's own window)."""
        preset = WINDOW_PRESETS[name]
        for panel in self.panels:
            panel.display.set_window(preset if preset is not None else panel.radiograph.window)

    def adjust_window(self, d_center: float, d_width: float) -> None:
        """The mouse window/level drag, on every view like the presets: each view's window
        moves by the same step (0..1 scale), so views that started apart stay apart."""
        for panel in self.panels:
            panel.display.adjust_window(d_center, d_width)

    def set_wl_mode(self, on: bool) -> None:
        self.wl_mode = on
        for panel in self.panels:
            panel.set_wl_mode(on)


def show_prediction(panel: ViewPanel, analysis: Analysis | None) -> None:
    """The badge and heatmap of ``panel``'s view from ``analysis`` (None: none shown)."""
    vp = analysis.view_prediction(panel.radiograph.path) if analysis is not None else None
    if vp is None or analysis is None:
        panel.set_prediction(None, 0.5, None)
    else:
        panel.set_prediction(vp.fracture_probability, analysis.prediction.threshold, vp.heatmap)
