"""One radiograph on screen: title with a view selector, image, heatmap overlay, badge.

Display pipeline: ``pixels → apply_clahe (in a worker, by the window) → window → invert →
rotation/flip``. The CLAHE output arrives through :meth:`ViewPanel.set_enhanced`. A LINEAR
window is the ImageItem's levels and inversion a reversed grey LUT (exactly
``1 - clip((x - c)/w + 0.5)``, but instant while dragging); a SIGMOID window goes through
``apply_window``. Rotation and flips transform the displayed array and the heatmap with the
same function, and both items span the same rectangle, so they stay registered.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from wristviewer.ai.heatmap import HEATMAP_FLOOR
from wristviewer.imaging import Radiograph, View, apply_window
from wristviewer.imaging.measure import value_scale, window_text
from wristviewer.ui.measure_tools import MeasurementOverlay
from wristviewer.viewer import DisplayState, ViewerState
from wristviewer.viewer.display import display_point

VIEW_LABELS: dict[View, str] = {
    View.PA: "PA",
    View.AP: "AP",
    View.OBLIQUE: "Oblique",
    View.LATERAL: "Lateral",
    View.UNKNOWN: "Unknown view",
}


def heatmap_colormap() -> pg.ColorMap:
    """Transparent below :data:`HEATMAP_FLOOR`, then blue → cyan → yellow → red."""
    f = HEATMAP_FLOOR
    pos = [0.0, f - 1e-3, f, f + (1 - f) * 0.35, f + (1 - f) * 0.7, 1.0]
    colors = [
        (0, 0, 0, 0),
        (0, 0, 0, 0),
        (40, 60, 255, 70),
        (0, 220, 255, 150),
        (255, 230, 0, 200),
        (255, 20, 0, 235),
    ]
    return pg.ColorMap(pos, colors)


def display_transform(array: np.ndarray, state: DisplayState) -> np.ndarray:
    """Rotate ``state.rotation`` quarter turns clockwise, then flip; C-contiguous result."""
    out = np.rot90(array, k=-state.rotation) if state.rotation else array
    if state.flip_horizontal:
        out = out[:, ::-1]
    if state.flip_vertical:
        out = out[::-1, :]
    return np.ascontiguousarray(out)


def display_rect(
    rect: tuple[float, float, float, float], rows: int, cols: int, state: DisplayState
) -> tuple[float, float, float, float]:
    """Where a rectangle (left, top, width, height) in the radiograph's pixel coordinates lies
    on the displayed image, after :func:`display_transform` (rotation, then flips).

    ``rows``/``cols``: the radiograph's size; both corners go through the one point mapping,
    :func:`wristviewer.viewer.display.display_point`.
    """
    x0, y0, width, height = rect
    (ax, ay), (bx, by) = (
        display_point(corner, rows, cols, state) for corner in ((x0, y0), (x0 + width, y0 + height))
    )
    return min(ax, bx), min(ay, by), abs(bx - ax), abs(by - ay)


_GREY = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
_GREY_INVERTED = _GREY[::-1].copy()


class _RadiographViewBox(pg.ViewBox):
    """A ViewBox where right-drag (or left-drag in W/L mode) adjusts window/level.

    ``window_dragged(dx, dy)`` carries the drag step in screen pixels; ``point_clicked(x, y,
    right)`` a click in view coordinates (the displayed array's pixels), for the measuring tools;
    ``hovered(x, y)`` the mouse there (NaN when it leaves), for their live preview.
    """

    window_dragged = Signal(float, float)
    clicked = Signal()
    point_clicked = Signal(float, float, bool)
    hovered = Signal(float, float)

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.wl_mode = False

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph API
        wl = ev.button() == Qt.MouseButton.RightButton or (
            self.wl_mode and ev.button() == Qt.MouseButton.LeftButton
        )
        if not wl:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        step = ev.screenPos() - ev.lastScreenPos()
        self.window_dragged.emit(float(step.x()), float(step.y()))

    def hoverEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph API
        if ev.isExit():
            self.hovered.emit(float("nan"), float("nan"))
            return
        where = self.mapSceneToView(ev.scenePos())
        self.hovered.emit(float(where.x()), float(where.y()))

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph API
        self.clicked.emit()
        ev.accept()
        if ev.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            where = self.mapSceneToView(ev.scenePos())
            right = ev.button() == Qt.MouseButton.RightButton
            self.point_clicked.emit(float(where.x()), float(where.y()), right)


class ViewPanel(QFrame):
    """One view of the current study: header (view selector, badge, tools) over the image.

    Signals: ``activated()`` when clicked (the window's per-view actions then act on it).
    ``window_drag_handler(d_center, d_width)`` takes the mouse window/level step (0..1 scale):
    this view's own window by default; the views grid routes it to every view of the study,
    as it does the presets.
    """

    activated = Signal()

    def __init__(self, state: ViewerState, radiograph: Radiograph, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ViewPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._state = state
        self.radiograph = radiograph
        self.display = state.display(radiograph)
        self.window_drag_handler: Callable[[float, float], None] = self.display.adjust_window
        self._enhanced: np.ndarray = radiograph.pixels.astype(np.float32, copy=False)
        self._heatmap: np.ndarray | None = None
        self._active = False

        header = self._build_header()
        self._build_image()
        self.footer_label = QLabel()
        self.footer_label.setStyleSheet("color: #888; font-size: 11px;")
        # a long file name is cut, never widening the view (the full text is the tool tip)
        self.footer_label.setMinimumWidth(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.footer_label)

        self.display.changed.connect(self._on_display_changed)
        state.heatmap_changed.connect(self._on_heatmap_settings_changed)
        self._update_title()
        self._render_image()
        self._on_heatmap_settings_changed()
        self.measure_overlay = MeasurementOverlay(self, state)
        self.fit()

    def _build_header(self) -> QHBoxLayout:
        """View selector, title, badge and the per-view tool buttons."""
        self._view_combo = QComboBox()
        for view in (View.PA, View.AP, View.OBLIQUE, View.LATERAL, View.UNKNOWN):
            self._view_combo.addItem(VIEW_LABELS[view], view.value)
        self._view_combo.setToolTip("Projection of this radiograph: correct it if it is wrong")
        self._view_combo.setStyleSheet("font-weight: bold; font-size: 14px;")
        # may shrink below its longest entry, so that three views fit beside the side panel
        # in a 1024 px wide window
        self._view_combo.setMinimumWidth(88)
        self._view_combo.setCurrentIndex(self._view_combo.findData(self.radiograph.view.value))
        self._view_combo.currentIndexChanged.connect(self._on_view_chosen)

        self.title_label = QLabel()
        self.title_label.setStyleSheet("color: #666;")
        self.title_label.setMinimumWidth(1)
        self.badge_label = QLabel()
        self.badge_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge_label.hide()

        header = QHBoxLayout()
        header.setContentsMargins(4, 2, 4, 2)
        header.setSpacing(4)
        header.addWidget(self._view_combo)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.badge_label)
        # a tool bar, so that a narrow view tucks its tools behind "»" instead of widening
        self.tool_bar = QToolBar()
        self.tool_bar.setStyleSheet("QToolBar { border: none; padding: 0; spacing: 0; }")
        for text, tip, slot in (
            ("Fit", "Fit the image to the view (F)", self.fit),
            ("⟳", "Rotate 90° clockwise (R)", lambda: self.display.rotate(1)),
            ("⇋", "Flip horizontally (X)", lambda: self.display.flip(True)),
            ("Inv", "Invert grey scale (I)", self.display.toggle_invert),
        ):
            action = self.tool_bar.addAction(text)
            action.setToolTip(tip)
            action.triggered.connect(lambda _=False, f=slot: f())
        header.addWidget(self.tool_bar)
        return header

    def _build_image(self) -> None:
        """The graphics view with the image and, above it, the heatmap."""
        self.view_box = _RadiographViewBox()
        self.graphics = pg.GraphicsView(background="k")
        self.graphics.setCentralItem(self.view_box)
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # row-major is also the global option set at UI start; explicit here so that a panel
        # built outside run_app (tests, embedding) never shows a transposed image.
        self.image_item = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
        self.heatmap_item = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
        self.heatmap_item.setZValue(10)
        self.heatmap_item.setLookupTable(
            heatmap_colormap().getLookupTable(0.0, 1.0, 256, alpha=True)
        )
        self.view_box.addItem(self.image_item)
        self.view_box.addItem(self.heatmap_item)
        self.view_box.window_dragged.connect(self._on_window_dragged)
        self.view_box.clicked.connect(self.activated)

    # public -------------------------------------------------------------------------------
    def detach(self) -> None:
        """Disconnect from the state before the panel is deleted."""
        self.display.changed.disconnect(self._on_display_changed)
        self._state.heatmap_changed.disconnect(self._on_heatmap_settings_changed)
        self.measure_overlay.detach()

    def set_enhanced(self, pixels: np.ndarray) -> None:
        """The CLAHE output for this radiograph: float32 (rows, cols) in 0..1."""
        self._enhanced = pixels
        self._render_image()

    def set_prediction(
        self, probability: float | None, threshold: float, heatmap: np.ndarray | None
    ) -> None:
        """Show the badge (probability 0..1 against ``threshold``) and the heatmap, or clear both."""
        if probability is None:
            self.badge_label.hide()
            self._heatmap = None
            self.heatmap_item.clear()
            return
        suspected = probability >= threshold
        colour = "#c62828" if suspected else "#2e7d32"
        self.badge_label.setText(f" {probability * 100:.0f}% ")
        self.badge_label.setToolTip(
            f"Fracture probability {probability:.3f} for this view (threshold {threshold:.3f})"
        )
        self.badge_label.setStyleSheet(
            f"background: {colour}; color: white; font-weight: bold; border-radius: 4px; padding: 1px 4px;"
        )
        self.badge_label.show()
        self._heatmap = None if heatmap is None else np.asarray(heatmap, dtype=np.float32)
        self._render_heatmap()

    def set_active(self, active: bool) -> None:
        self._active = active
        self.setStyleSheet("#ViewPanel { border: 2px solid #1e88e5; }" if active else "")

    def set_wl_mode(self, enabled: bool) -> None:
        self.view_box.wl_mode = enabled

    def fit(self) -> None:
        """Show the whole image."""
        rows, cols = self.displayed_image().shape[:2]
        self.view_box.setRange(QRectF(0, 0, cols, rows), padding=0.02)

    def displayed_image(self) -> np.ndarray:
        """The array in the ImageItem (after CLAHE, transforms; levels do the window)."""
        image = self.image_item.image
        return image if image is not None else self._enhanced

    def aspect_ratio(self) -> float:
        """Screen x-scale / y-scale that shows pixels at their true size (pixel spacing)."""
        spacing = self.radiograph.pixel_spacing_mm
        if not spacing or min(spacing) <= 0:
            return 1.0
        row_mm, col_mm = spacing
        ratio = col_mm / row_mm
        return 1.0 / ratio if self.display.rotation % 2 else ratio

    # rendering ----------------------------------------------------------------------------
    def _render_image(self) -> None:
        window = self.display.window
        pixels = self._enhanced
        if window.function.upper() == "SIGMOID":
            pixels = apply_window(pixels, window)
            levels = (0.0, 1.0)
        else:
            half = max(window.width, 1e-6) / 2.0
            levels = (window.center - half, window.center + half)
        shown = display_transform(pixels, self.display)
        self.image_item.setImage(shown, levels=levels, autoLevels=False)
        self.image_item.setLookupTable(_GREY_INVERTED if self.display.invert else _GREY)
        self.image_item.setRect(QRectF(0, 0, shown.shape[1], shown.shape[0]))
        self.view_box.setAspectLocked(True, ratio=self.aspect_ratio())
        self._render_heatmap()
        self._update_footer()

    def _render_heatmap(self) -> None:
        if self._heatmap is None:
            self.heatmap_item.clear()
            return
        shown = display_transform(self._heatmap, self.display)
        self.heatmap_item.setImage(shown, levels=(0.0, 1.0), autoLevels=False)
        image = self.image_item.image
        rows, cols = image.shape[:2] if image is not None else shown.shape[:2]
        # Same rectangle as the image, whatever the heatmap's own resolution.
        self.heatmap_item.setRect(QRectF(0, 0, cols, rows))

    def _update_title(self) -> None:
        view = self.radiograph.view
        side = {"L": "left", "R": "right"}.get(self.radiograph.laterality or "", "")
        self.title_label.setText(side)
        self.setToolTip(f"{VIEW_LABELS[view]} view" + (f", {side} wrist" if side else ""))
        self._view_combo.blockSignals(True)
        self._view_combo.setCurrentIndex(self._view_combo.findData(view.value))
        self._view_combo.blockSignals(False)

    def _update_footer(self) -> None:
        extra = []
        if self.display.invert:
            extra.append("inverted")
        if self.display.rotation:
            extra.append(f"rotated {self.display.rotation * 90}°")
        if self.display.flip_horizontal:
            extra.append("flipped ↔")
        if self.display.flip_vertical:
            extra.append("flipped ↕")
        wl = window_text(self.display.window, value_scale(self.radiograph))
        text = f"{self.radiograph.path.name}   {wl}"
        if extra:
            text += "   " + ", ".join(extra)
        self.footer_label.setText(text)
        self.footer_label.setToolTip(text)

    # slots ----------------------------------------------------------------------------------
    def _on_display_changed(self) -> None:
        previous = self.image_item.image
        self._render_image()
        if previous is None or previous.shape != self.image_item.image.shape:
            self.fit()

    def _on_heatmap_settings_changed(self) -> None:
        self.heatmap_item.setVisible(self._state.heatmap_visible)
        self.heatmap_item.setOpacity(self._state.heatmap_opacity)

    def _on_view_chosen(self, index: int) -> None:
        data = self._view_combo.itemData(index)
        if data is not None:
            self._state.set_view(self.radiograph, View(data))
            self._update_title()

    def _on_window_dragged(self, dx: float, dy: float) -> None:
        scale = 1.0 / 400.0  # one screen pixel = 0.25 % of the full range
        self.activated.emit()
        self.window_drag_handler(-dy * scale, dx * scale)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.activated.emit()
        super().mousePressEvent(event)
