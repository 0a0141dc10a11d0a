"""The contrast panel: CLAHE on/off, clip limit and tile grid, editing ``state.clahe``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QWidget,
)

from wristviewer.imaging import ClaheSettings
from wristviewer.viewer import ViewerState


class ClahePanel(QGroupBox):
    """CLAHE on/off, clip limit (0.5..10) and tile grid (2..32 per side); edits ``state.clahe``."""

    def __init__(self, state: ViewerState, parent: QWidget | None = None) -> None:
        super().__init__("Contrast (CLAHE)", parent)
        self._state = state
        self.enabled_box = QCheckBox("CLAHE on (C)")
        self.clip_slider = QSlider(Qt.Orientation.Horizontal)
        self.clip_slider.setRange(5, 100)  # tenths: 0.5 .. 10.0
        self.clip_label = QLabel()
        self.clip_label.setMinimumWidth(32)
        self.grid_spin = QSpinBox()
        self.grid_spin.setRange(2, 32)
        self.grid_spin.setSuffix(" × tiles")
        self.busy_label = QLabel("")
        self.busy_label.setStyleSheet("color: #888;")

        clip_row = QHBoxLayout()
        clip_row.addWidget(self.clip_slider, 1)
        clip_row.addWidget(self.clip_label)
        form = QFormLayout(self)
        form.addRow(self.enabled_box)
        form.addRow("Clip limit", clip_row)
        form.addRow("Tile grid", self.grid_spin)
        form.addRow(self.busy_label)

        self._show(state.clahe)
        self.enabled_box.toggled.connect(self._on_edited)
        self.clip_slider.valueChanged.connect(self._on_edited)
        self.grid_spin.valueChanged.connect(self._on_edited)
        state.clahe_changed.connect(self._show)

    def settings(self) -> ClaheSettings:
        n = self.grid_spin.value()
        return ClaheSettings(
            enabled=self.enabled_box.isChecked(),
            clip_limit=self.clip_slider.value() / 10.0,
            tile_grid=(n, n),
        )

    def set_busy(self, busy: bool) -> None:
        self.busy_label.setText("applying…" if busy else "")

    def _show(self, settings: ClaheSettings) -> None:
        for widget in (self.enabled_box, self.clip_slider, self.grid_spin):
            widget.blockSignals(True)
        self.enabled_box.setChecked(settings.enabled)
        self.clip_slider.setValue(round(settings.clip_limit * 10))
        self.grid_spin.setValue(int(settings.tile_grid[0]))
        for widget in (self.enabled_box, self.clip_slider, self.grid_spin):
            widget.blockSignals(False)
        self.clip_label.setText(f"{settings.clip_limit:.1f}")
        self.clip_slider.setEnabled(settings.enabled)
        self.grid_spin.setEnabled(settings.enabled)

    def _on_edited(self, *_: Any) -> None:
        self._state.set_clahe(self.settings())
