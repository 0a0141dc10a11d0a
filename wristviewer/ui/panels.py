"""Side panels: CLAHE controls and the AI results (model choice, verdict, card, heatmaps)."""

from __future__ import annotations

import html
from collections.abc import Callable
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
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from wristviewer.ai.card import ModelCard
from wristviewer.ai.heatmap import HEATMAP_FLOOR
from wristviewer.ai.registry import model_label
from wristviewer.imaging import ClaheSettings
from wristviewer.text import printable
from wristviewer.ui.state import Analysis, ViewerState
from wristviewer.ui.view_panel import heatmap_colormap

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
    """The AI panel. Emits requests; the window runs the work and feeds results back."""

    run_requested = Signal()
    cancel_requested = Signal()
    model_chosen = Signal(str)
    device_chosen = Signal(str)
    auto_run_toggled = Signal(bool)

    def __init__(self, state: ViewerState, parent: QWidget | None = None) -> None:
        super().__init__("AI second opinion", parent)
        self._state = state
        #: asked before any result is shown; False while the physician's read is awaited
        self.ai_gate: Callable[[], bool] = lambda: True

        self.untrained_banner = QLabel(UNTRAINED_WARNING)
        self.untrained_banner.setWordWrap(True)
        self.untrained_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.untrained_banner.setStyleSheet(
            "background: #c62828; color: white; font-weight: bold; padding: 6px; border-radius: 3px;"
        )
        self.untrained_banner.hide()

        self.no_model_label = QLabel(NO_MODEL_TEXT)
        self.no_model_label.setWordWrap(True)
        self.no_model_label.setTextFormat(Qt.TextFormat.RichText)
        self.no_model_label.hide()

        self.model_combo = QComboBox()
        self.model_combo.setPlaceholderText("looking for models…")
        self.device_combo = QComboBox()
        for text, value in (
            ("Auto", "auto"),
            ("CPU", "cpu"),
            ("CUDA GPU", "cuda"),
            ("Apple MPS", "mps"),
        ):
            self.device_combo.addItem(text, value)
        self.device_label = QLabel("in use: not loaded yet")
        self.device_label.setWordWrap(True)
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
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.hide()

        self.verdict_label = QLabel("")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.probability_label = QLabel("")
        self.probability_label.setWordWrap(True)
        self.card_label = QLabel("")
        self.card_label.setWordWrap(True)
        self.card_label.setStyleSheet("color: #555; font-size: 11px;")
        self.hidden_label = QLabel("AI result ready — shown after you submit your read.")
        self.hidden_label.setWordWrap(True)
        self.hidden_label.setStyleSheet("color: #5d4037; font-style: italic;")
        self.hidden_label.hide()

        self.heatmap_box = QCheckBox("Show heatmaps (H)")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.legend = HeatmapLegend()

        notice = QLabel(SECOND_OPINION_NOTICE)
        notice.setWordWrap(True)
        notice.setStyleSheet(
            "background: #fff8e1; color: #5d4037; border: 1px solid #ffe082; padding: 4px; font-size: 11px;"
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
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.hidden_label)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.probability_label)
        layout.addWidget(self.card_label)
        layout.addWidget(self.heatmap_box)
        layout.addLayout(opacity_row)
        layout.addWidget(self.legend)
        layout.addWidget(notice)

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
        state.analysis_changed.connect(lambda _sid: self.show_analysis(state.current_analysis()))
        state.current_changed.connect(lambda _i: self.show_analysis(state.current_analysis()))
        self._on_heatmap_changed()
        self.show_analysis(None)
        self.set_models([], None)

    # fed by the window ----------------------------------------------------------------------
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

    def set_running(self, running: bool, message: str = "") -> None:
        self.run_button.setEnabled(not running and self.model_combo.count() > 0)
        self.cancel_button.setEnabled(running)
        self.progress_bar.setVisible(running)
        if running:
            self.progress_bar.setValue(0)
        self.status_label.setText(message)
        self.status_label.setVisible(bool(message))

    def set_progress(self, fraction: float) -> None:
        self.progress_bar.setValue(round(max(0.0, min(fraction, 1.0)) * 100))

    def show_analysis(self, analysis: Analysis | None) -> None:
        """The verdict, probability against threshold, and model card summary (or blanks).
        Nothing of the result is shown while :attr:`ai_gate` says no (blind read)."""
        blinded = analysis is not None and not self.ai_gate()
        self.hidden_label.setVisible(blinded)
        if blinded:
            analysis = None
        for label in (self.verdict_label, self.probability_label, self.card_label):
            label.setVisible(analysis is not None)
        if analysis is None:
            self.verdict_label.setText("")
            self.probability_label.setText("")
            self.card_label.setText("")
            return
        p = analysis.prediction
        self.set_untrained(any(c.untrained for c in analysis.cards))
        if p.suspected:
            self.verdict_label.setText("Fracture suspected")
            self.verdict_label.setStyleSheet("font-size: 15px; font-weight: bold; color: #c62828;")
        else:
            self.verdict_label.setText("No fracture suspected")
            self.verdict_label.setStyleSheet("font-size: 15px; font-weight: bold; color: #2e7d32;")
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


def _value_ci(entry: Any, percent: bool = False) -> str | None:
    """``"0.812 (95% CI 0.74–0.87)"`` from a card metric ``{"value", "ci95"}`` (or a number)."""
    if isinstance(entry, int | float) and not isinstance(entry, bool):
        return f"{100 * entry:.0f}%" if percent else f"{entry:.3f}"
    if not isinstance(entry, dict):
        return None
    value = entry.get("value", entry.get("estimate"))
    ci = entry.get("ci95")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    fmt = (lambda v: f"{100 * v:.0f}%") if percent else (lambda v: f"{v:.3f}")
    if (
        isinstance(ci, list | tuple)
        and len(ci) == 2
        and all(isinstance(v, int | float) and v == v for v in ci)
    ):
        return f"{fmt(value)} (95% CI {fmt(ci[0])}–{fmt(ci[1])})"
    return fmt(value)


def _training_line(training: dict[str, Any]) -> str | None:
    regions = training.get("training_by_region")
    sources = training.get("source")
    if isinstance(regions, dict) and regions:
        total = sum(int(v.get("images", 0)) for v in regions.values() if isinstance(v, dict))
        hand = (
            regions.get("hand", {}).get("images") if isinstance(regions.get("hand"), dict) else None
        )
        names = ", ".join(map(str, sources)) if isinstance(sources, list) else str(sources or "")
        names = html.escape(printable(names, limit=120))
        extra = f" ({hand} hand/wrist)" if isinstance(hand, int) else ""
        return f"Trained on {total} radiographs{extra}{' from ' + names if names else ''}"
    parts = [
        html.escape(printable(f"{k}: {v}", limit=120))
        for k, v in training.items()
        if isinstance(v, str | int | float)
    ]
    return "Training data: " + ("; ".join(parts[:4]) if parts else "see model card")


def card_summary(card: ModelCard) -> str:
    """One paragraph (HTML) from a ModelCard, as the card says it: name, input size, training
    data, the **test** AUROC with its CI beside the pixel-free control, the **test**
    sensitivity and specificity at the operating threshold (tuning figures only when no test
    figures exist, and labelled so), where the heatmap points, and the data caveats. Every
    text from the card is shown clean (no control or bidi characters) and HTML-escaped."""
    name, version = html.escape(printable(card.name)), html.escape(printable(card.version))
    arch = html.escape(model_label(card.arch))
    lines = [f"<b>{name}</b> ({arch}, v{version})"]
    recipe = card.recipe
    how = "aspect kept, padded" if recipe.resize == "pad" else "stretched"
    lines.append(f"Input {recipe.input_width}×{recipe.input_height} px ({how})")
    training = card.training_data or {}
    if training:
        line = _training_line(training)
        if line:
            lines.append(line)
    metrics = card.metrics or {}
    test = training.get("test") if isinstance(training.get("test"), dict) else {}
    n_test = f" on {test['images']} test images" if test.get("images") else ""
    auroc = _value_ci(metrics.get("auroc"))
    lines.append(f"Test AUROC {auroc}{n_test}" if auroc else "AUROC: not reported")
    control = metrics.get("control")
    if isinstance(control, dict):
        c_auc = _value_ci(control.get("auroc"))
        diff = control.get("model_minus_control", {})
        p = diff.get("p_value") if isinstance(diff, dict) else None
        p_text = f", paired DeLong p = {p:.3g}" if isinstance(p, int | float) else ""
        if c_auc:
            lines.append(f"Pixel-free control (file size, shape, view flags): {c_auc}{p_text}")
    youden = None
    for op in card.operating_points:
        if op.name == "youden":
            youden = op
    at_test = metrics.get("youden") if isinstance(metrics.get("youden"), dict) else None
    if youden is not None and at_test:
        sens = _value_ci(at_test.get("sensitivity"), percent=True) or "n/a"
        spec = _value_ci(at_test.get("specificity"), percent=True) or "n/a"
        lines.append(
            f"At threshold {youden.threshold:.3f} (chosen on the tuning set), test: "
            f"sensitivity {sens}, specificity {spec}"
        )
    elif youden is not None:
        sens = "n/a" if youden.sensitivity is None else f"{100 * youden.sensitivity:.0f}%"
        spec = "n/a" if youden.specificity is None else f"{100 * youden.specificity:.0f}%"
        lines.append(
            f"At threshold {youden.threshold:.3f}: tuning-set sensitivity {sens}, "
            f"specificity {spec} (no test figures in the card)"
        )
    pointing = metrics.get("pointing_game")
    if isinstance(pointing, dict) and pointing.get("n"):
        lines.append(
            f"Heatmap peak on the marked fracture: {pointing.get('hits')}/{pointing['n']} "
            "test fractures"
        )
    caveats = training.get("caveats")
    if isinstance(caveats, str) and caveats:
        lines.append(f"<i>{html.escape(printable(caveats, limit=600))}</i>")
    if card.untrained:
        lines.append(
            "<span style='color:#c62828'><b>Untrained (random weights): for testing only.</b></span>"
        )
    return "<br>".join(lines)
