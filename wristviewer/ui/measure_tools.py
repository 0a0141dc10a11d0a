"""The ruler and angle tools on the views: drawing the measurements and forwarding clicks.

The measurements live in the Qt-free model (:class:`wristviewer.viewer.Measurements`), their
points in image pixels. Each view draws those of its radiograph through
:func:`~wristviewer.viewer.display.display_point`, the same rotation and flips that
``display_transform`` applies to the pixels; the items sit in the view box's coordinates,
where the ImageItem spans (0, 0)–(cols, rows) of the displayed array, so zoom and pan move
them with the image. A click is mapped back with :func:`~wristviewer.viewer.display.image_point`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction

from wristviewer.imaging.measure import (
    Measurement,
    MeasurementKind,
    Point,
    measure_angle,
    measure_distance,
    spacing_of,
)
from wristviewer.viewer import MeasureTool, ViewerState
from wristviewer.viewer.display import display_point, image_point
from wristviewer.viewer.measurements import TOOL_HINTS

if TYPE_CHECKING:
    from wristviewer.ui.view_panel import ViewPanel

COLOUR = (0, 230, 118)  # measurements: a green that stands out on grey and on the heatmap
SELECTED_COLOUR = (255, 214, 0)
PENDING_COLOUR = (64, 196, 255)
HIT_TOLERANCE_PX = 6.0  # screen pixels: how near a click must be to select a measurement


class _Dots(pg.ScatterPlotItem):
    """The end points: drawn, never clicked (a click on them goes to the view, so an angle's
    second line can start where the first began)."""

    def mouseClickEvent(self, ev) -> None:  # noqa: ANN001, N802 - pyqtgraph API
        ev.ignore()


class MeasurementOverlay(QObject):
    """The measurements of one view's radiograph, drawn over its image; takes its clicks.

    ``items`` holds the graphics items now drawn (tests look at them).
    """

    def __init__(self, panel: ViewPanel, state: ViewerState) -> None:
        super().__init__(panel)
        self._panel = panel
        self._measurements = state.measurements
        self.items: list[pg.GraphicsObject] = []
        self.labels: list[pg.TextItem] = []
        self.preview: list[pg.GraphicsObject] = []  # the line following the mouse
        self._measurements.changed.connect(self._on_measurements_changed)
        panel.display.changed.connect(self.redraw)
        panel.view_box.point_clicked.connect(self._on_point_clicked)
        panel.view_box.hovered.connect(self._on_hovered)
        self._measurements.tool_changed.connect(self._on_tool_changed)
        self._on_tool_changed(self._measurements.tool)
        self.redraw()

    def detach(self) -> None:
        self._measurements.changed.disconnect(self._on_measurements_changed)
        self._measurements.tool_changed.disconnect(self._on_tool_changed)
        self._panel.display.changed.disconnect(self.redraw)

    def _on_tool_changed(self, tool: MeasureTool | None) -> None:
        """A cross-hair over the image while a tool is on: a click places a point."""
        cursor = Qt.CursorShape.CrossCursor if tool is not None else Qt.CursorShape.ArrowCursor
        self._panel.graphics.viewport().setCursor(cursor)

    # coordinates --------------------------------------------------------------------------
    def to_view(self, point: Point) -> Point:
        """An image point where it is drawn in the view box (the displayed array's pixels)."""
        r = self._panel.radiograph
        return display_point(point, r.rows, r.cols, self._panel.display)

    def to_image(self, point: Point) -> Point:
        """A view box point as an image point."""
        r = self._panel.radiograph
        return image_point(point, r.rows, r.cols, self._panel.display)

    # drawing ------------------------------------------------------------------------------
    def redraw(self) -> None:
        box = self._panel.view_box
        for item in self.items:
            box.removeItem(item)
        self.items, self.labels = [], []
        self._clear_preview()
        path = self._panel.radiograph.path
        selected = self._measurements.selected
        for i, m in enumerate(self._measurements.of(path)):
            chosen = selected is not None and selected == (path, i)
            self._draw(m, SELECTED_COLOUR if chosen else COLOUR)
        pending = self._measurements.pending
        if pending is not None and pending.path == path:
            self._draw_lines(pending.points, PENDING_COLOUR, dashed=True)

    def _draw(self, m: Measurement, colour: tuple[int, int, int]) -> None:
        self._draw_lines(list(m.points), colour)
        text = pg.TextItem(m.label, color=colour, fill=pg.mkBrush(0, 0, 0, 160), anchor=(0, 1))
        text.setZValue(21)
        end = m.points[1] if m.kind is MeasurementKind.DISTANCE else m.points[-1]
        text.setPos(*self.to_view(end))
        text.setToolTip(m.report_line)
        self._add(text)
        self.labels.append(text)

    def _draw_lines(
        self, points: list[Point], colour: tuple[int, int, int], dashed: bool = False
    ) -> None:
        shown = [self.to_view(p) for p in points]
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        pairs = shown[: len(shown) - len(shown) % 2]
        if pairs:
            curve = pg.PlotCurveItem(
                [p[0] for p in pairs],
                [p[1] for p in pairs],
                connect="pairs",
                pen=pg.mkPen(colour, width=2, style=style),
            )
            self._add(curve)
        dots = _Dots(
            [p[0] for p in shown],
            [p[1] for p in shown],
            size=7,
            pen=pg.mkPen(colour),
            brush=pg.mkBrush(*colour, 120),
        )
        self._add(dots)

    def _add(self, item: pg.GraphicsObject) -> None:
        if not isinstance(item, pg.TextItem):
            item.setZValue(20)  # above the heatmap (10)
        self._panel.view_box.addItem(item, ignoreBounds=True)  # never widens "fit"
        self.items.append(item)

    # clicks -------------------------------------------------------------------------------
    def _on_point_clicked(self, x: float, y: float, right: bool) -> None:
        m = self._measurements
        if right:
            m.cancel()
            return
        point = self.to_image((x, y))
        if m.tool is not None:
            m.click(self._panel.radiograph, point)
            return
        sx, sy = self._panel.view_box.viewPixelSize()
        path = self._panel.radiograph.path
        m.select(path, m.hit(path, point, HIT_TOLERANCE_PX * max(sx, sy)))

    def _on_hovered(self, x: float, y: float) -> None:
        """While a line is being placed: a dashed line from its first point to the mouse and
        what it measures so far (the length, or the angle once the second line is begun)."""
        self._clear_preview()
        pending = self._measurements.pending
        if pending is None or pending.path != self._panel.radiograph.path or math.isnan(x):
            return
        if len(pending.points) % 2 == 0:
            return
        start, end = self.to_view(pending.points[-1]), (x, y)
        line = pg.PlotCurveItem(
            [start[0], end[0]],
            [start[1], end[1]],
            pen=pg.mkPen(PENDING_COLOUR, width=1.5, style=Qt.PenStyle.DashLine),
        )
        line.setZValue(20)
        self.preview.append(line)
        text = self._preview_text(pending.points, self.to_image(end))
        if text:
            label = pg.TextItem(text, color=PENDING_COLOUR, anchor=(0, 1))
            label.setZValue(21)
            label.setPos(*end)
            self.preview.append(label)
        for item in self.preview:
            self._panel.view_box.addItem(item, ignoreBounds=True)

    def _clear_preview(self) -> None:
        for item in self.preview:
            self._panel.view_box.removeItem(item)
        self.preview = []

    def _preview_text(self, points: list[Point], cursor: Point) -> str:
        spacing = spacing_of(self._panel.radiograph)
        if cursor == points[-1]:
            return ""
        if len(points) == 1:
            return measure_distance(points[0], cursor, spacing).label
        return measure_angle((points[0], points[1]), (points[2], cursor), spacing).label

    def _on_measurements_changed(self, path: object) -> None:
        if path == self._panel.radiograph.path:
            self.redraw()


class MeasureController(QObject):
    """The window's measuring actions: the two tools (checkable, one at a time), Delete and
    Clear Measurements (the current study's). Handlers of the actions table."""

    def __init__(self, state: ViewerState, ruler: QAction, angle: QAction) -> None:
        super().__init__(ruler.parent())
        self._state = state
        self._actions = {MeasureTool.RULER: ruler, MeasureTool.ANGLE: angle}
        state.measurements.tool_changed.connect(self._on_tool_changed)

    def set_ruler(self, on: bool) -> None:
        self._set(MeasureTool.RULER, on)

    def set_angle(self, on: bool) -> None:
        self._set(MeasureTool.ANGLE, on)

    def _set(self, tool: MeasureTool, on: bool) -> None:
        current = self._state.measurements.tool
        if on or current is tool:
            self._state.measurements.set_tool(tool if on else None)

    def delete_selected(self) -> None:
        """Remove the selected measurement (Delete)."""
        if not self._state.measurements.remove_selected():
            self._state.status.show("Click a measurement to select it, then press Delete.")

    def clear(self) -> None:
        """Remove every measurement of the current study."""
        study = self._state.current_study
        if study is not None:
            self._state.measurements.clear([r.path for r in study.views])
            self._state.status.show("Measurements cleared.")

    def _on_tool_changed(self, tool: MeasureTool | None) -> None:
        for kind, action in self._actions.items():
            action.setChecked(kind is tool)
        self._state.status.show(TOOL_HINTS[tool] if tool is not None else "Measuring off.")
