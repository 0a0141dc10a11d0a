"""The AI side panel: model and device choice, run/cancel, the verdict with the model card,
heatmap controls and the second-opinion notice. It shows only what the blind-read gate
(:meth:`ViewerState.visible_analysis`) allows."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from wristviewer.ai.heatmap import HEATMAP_FLOOR
from wristviewer.ai.registry import model_label
from wristviewer.ui.card_text import card_summary
from wristviewer.ui.view_panel import heatmap_colormap
from wristviewer.viewer import ViewerState

UNTRAINED_WARNING = "UNTRAINED MODEL — results are random, not for clinical use"
SECOND_OPINION_NOTICE = (
    "A second opinion, not a diagnosis: the radiographs must be read by a clinician, "
    "who decides. The model can miss fractures and flag normal wrists."
)
NO_MODEL_TEXT = (
    "<b>No model installed.</b> Viewing works without one.<br>"
    "To get a second opinion, install a model bundle (a <code>.safetensors</code> file): "
    "<b>Models ▸ Install…</b>, or drop the file on this window.<br>"
    "To build one, train and export it with the <code>training</code> package: "
    "<code>python -m training export …</code>"
)
DEVICES = (("Auto", "auto"), ("CPU", "cpu"), ("CUDA GPU", "cuda"), ("Apple MPS", "mps"))
_VERDICT_STYLE = "font-size: 15px; font-weight: bold;"


def _wrapped(text: str = "", style: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    if style:
        label.setStyleSheet(style)
    return label


class HeatmapLegend(QWidget):
    """The heatmap colour scale on the model's fixed 0..1 scale, floor marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(34)
        self._lut = heatmap_colormap().getLookupTable(0.0, 1.0, 128, alpha=True)

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        bar = QRectF(4, 2, self.width() - 8, 14)
        painter.fillRect(bar, QColor(40, 40, 40))
        n = len(self._lut)
        step = bar.width() / n
        for i, (r, g, b, a) in enumerate(self._lut):
            painter.fillRect(
                QRectF(bar.left() + i * step, bar.top(), step + 1, bar.height()),
                QColor(int(r), int(g), int(b), int(a)),
            )
        painter.setPen(QColor(self.palette().text().color()))
        y = bar.bottom() + 13
        painter.drawText(int(bar.left()), int(y), "0")
        x_floor = bar.left() + HEATMAP_FLOOR * bar.width()
        painter.drawLine(int(x_floor), int(bar.top()), int(x_floor), int(bar.bottom()))
        painter.drawText(int(x_floor) - 10, int(y), f"{HEATMAP_FLOOR:.1f} (floor)")
        painter.drawText(int(bar.right()) - 18, int(y), "1.0")
        painter.end()


class ResultsPanel(QGroupBox):
    """The AI panel. Emits requests; the analysis controller runs the work and feeds results
    back; the verdict follows ``state`` (``shown_changed``, ``current_changed``)."""

    run_requested = Signal()
    cancel_requested = Signal()
    model_chosen = Signal(str)
    device_chosen = Signal(str)
    auto_run_toggled = Signal(bool)

    def __init__(self, state: ViewerState, parent: QWidget | None = None) -> None:
        super().__init__("AI second opinion", parent)
        self._state = state
        self._build_model_controls()
        self._build_result_labels()
        self._build_heatmap_controls()
        self._lay_out()
        self._connect()
        self._on_heatmap_changed()
        self.show_analysis()
        self.set_models([], None)

    def _build_model_controls(self) -> None:
        self.untrained_banner = QLabel(UNTRAINED_WARNING)
        self.untrained_banner.setWordWrap(True)
        self.untrained_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.untrained_banner.setStyleSheet(
            "background: #c62828; color: white; font-weight: bold; padding: 6px; border-radius: 3px;"
        )
        self.untrained_banner.hide()
        self.no_model_label = _wrapped(NO_MODEL_TEXT)
        self.no_model_label.setTextFormat(Qt.TextFormat.RichText)
        self.no_model_label.hide()
        self.model_combo = QComboBox()
        self.model_combo.setPlaceholderText("looking for models…")
        self.device_combo = QComboBox()
        for text, value in DEVICES:
            self.device_combo.addItem(text, value)
        self.device_label = _wrapped("in use: not loaded yet")
        self.auto_run_box = QCheckBox("Run automatically on open")
        self.run_button = QPushButton("Run AI")
        self.run_button.setToolTip("Analyse the current study (Ctrl+R)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        self.status_label = _wrapped()
        self.status_label.hide()

    def _build_result_labels(self) -> None:
        self.verdict_label = _wrapped("", _VERDICT_STYLE)
        self.probability_label = _wrapped()
        self.card_label = _wrapped("", "color: #555; font-size: 11px;")
        self.hidden_label = _wrapped(
            "AI result ready — shown after you submit your read.",
            "color: #5d4037; font-style: italic;",
        )
        self.hidden_label.hide()

    def _build_heatmap_controls(self) -> None:
        self.heatmap_box = QCheckBox("Show heatmaps (H)")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.legend = HeatmapLegend()

    def _lay_out(self) -> None:
        notice = _wrapped(
            SECOND_OPINION_NOTICE,
            "background: #fff8e1; color: #5d4037; border: 1px solid #ffe082; padding: 4px; "
            "font-size: 11px;",
        )
        form = QFormLayout()
        form.addRow("Model", self.model_combo)
        form.addRow("Device", self.device_combo)
        form.addRow("", self.device_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(QLabel("Opacity"))
        opacity_row.addWidget(self.opacity_slider, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.untrained_banner)
        layout.addWidget(self.no_model_label)
        layout.addLayout(form)
        layout.addWidget(self.auto_run_box)
        layout.addLayout(buttons)
        for widget in (
            self.progress_bar,
            self.status_label,
            self.hidden_label,
            self.verdict_label,
            self.probability_label,
            self.card_label,
            self.heatmap_box,
        ):
            layout.addWidget(widget)
        layout.addLayout(opacity_row)
        layout.addWidget(self.legend)
        layout.addWidget(notice)

    def _connect(self) -> None:
        state = self._state
        self.run_button.clicked.connect(self.run_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.model_combo.currentIndexChanged.connect(self._on_model_index)
        self.device_combo.currentIndexChanged.connect(
            lambda i: self.device_chosen.emit(str(self.device_combo.itemData(i)))
        )
        self.auto_run_box.toggled.connect(self.auto_run_toggled)
        self.heatmap_box.toggled.connect(lambda on: state.set_heatmap(visible=on))
        self.opacity_slider.valueChanged.connect(lambda v: state.set_heatmap(opacity=v / 100.0))
        state.heatmap_changed.connect(self._on_heatmap_changed)
        state.shown_changed.connect(self.show_analysis)
        state.current_changed.connect(lambda _i: self.show_analysis())

    # fed by the analysis controller ----------------------------------------------------------------------
    def set_models(self, specs: list[str] | None, chosen: str | None) -> None:
        """Offer the model choices (``None`` while still looking); pick ``chosen`` if offered."""
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for spec in specs or []:
            self.model_combo.addItem(model_label(spec), spec)
        index = self.model_combo.findData(chosen) if chosen else -1
        self.model_combo.setCurrentIndex(index if index >= 0 else (0 if specs else -1))
        self.model_combo.blockSignals(False)
        have = bool(specs)
        self.no_model_label.setVisible(specs is not None and not have)
        for widget in (self.model_combo, self.run_button, self.auto_run_box, self.device_combo):
            widget.setEnabled(have)
        if specs is None:
            self.model_combo.setPlaceholderText("looking for models…")
        elif not have:
            self.model_combo.setPlaceholderText("no model installed")

    def chosen_model(self) -> str | None:
        data = self.model_combo.currentData()
        return str(data) if data else None

    def set_device(self, requested: str) -> None:
        index = self.device_combo.findData(requested)
        self.device_combo.blockSignals(True)
        self.device_combo.setCurrentIndex(max(index, 0))
        self.device_combo.blockSignals(False)

    def set_device_in_use(
        self, name: str, precision: str | None = None, reason: str | None = None
    ) -> None:
        """ "in use: CPU (bf16)", with why that precision was chosen as the tooltip."""
        self.device_label.setText(f"in use: {name}" + (f" ({precision})" if precision else ""))
        self.device_label.setToolTip(reason or "")

    def set_auto_run(self, on: bool) -> None:
        self.auto_run_box.blockSignals(True)
        self.auto_run_box.setChecked(on)
        self.auto_run_box.blockSignals(False)

    def set_untrained(self, untrained: bool) -> None:
        self.untrained_banner.setVisible(untrained)

    def set_device_note(self, note: str) -> None:
        """ "in use: loading DenseNet-161…" while the model is loaded in advance."""
        self.device_label.setText(f"in use: {note}")
        self.device_label.setToolTip("")

    def set_running(self, running: bool, message: str = "") -> None:
        """A run going (Cancel on, the busy bar without a fraction: a forward pass has none
        to report) or over (the bar reset and hidden, ``message`` says how it ended)."""
        self.run_button.setEnabled(not running and self.model_combo.count() > 0)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress_bar.setRange(0, 0)
        else:
            self.progress_bar.setRange(0, 100)
            self.progress_bar.setValue(0)
        self.progress_bar.setVisible(running)
        self.set_stage(message)

    def set_stage(self, text: str) -> None:
        """The run's stage and elapsed time ("Running DenseNet-161 on 3 views… 2.1 s")."""
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))

    def show_analysis(self) -> None:
        """The current study's verdict, probability against threshold, and model card summary
        (or blanks) — what :meth:`ViewerState.visible_analysis` allows, nothing more."""
        analysis = self._state.visible_analysis()
        self.hidden_label.setVisible(self._state.ai_hidden())
        for label in (self.verdict_label, self.probability_label, self.card_label):
            label.setVisible(analysis is not None)
        if analysis is None:
            self.verdict_label.setText("")
            self.probability_label.setText("")
            self.card_label.setText("")
            return
        p = analysis.prediction
        self.set_untrained(analysis.untrained)
        colour = "#c62828" if p.suspected else "#2e7d32"
        self.verdict_label.setText("Fracture suspected" if p.suspected else "No fracture suspected")
        self.verdict_label.setStyleSheet(f"{_VERDICT_STYLE} color: {colour};")
        self.probability_label.setText(
            f"Study fracture probability <b>{p.fracture_probability:.2f}</b> "
            f"against the model's threshold {p.threshold:.2f} "
            f"({len(p.views)} view{'s' if len(p.views) != 1 else ''}; {', '.join(p.models)})."
        )
        self.card_label.setText("<br>".join(card_summary(c) for c in analysis.cards))

    def _on_model_index(self, index: int) -> None:
        data = self.model_combo.itemData(index)
        if data:
            self.model_chosen.emit(str(data))

    def _on_heatmap_changed(self) -> None:
        self.heatmap_box.blockSignals(True)
        self.heatmap_box.setChecked(self._state.heatmap_visible)
        self.heatmap_box.blockSignals(False)
        self.opacity_slider.blockSignals(True)
        self.opacity_slider.setValue(round(self._state.heatmap_opacity * 100))
        self.opacity_slider.blockSignals(False)
