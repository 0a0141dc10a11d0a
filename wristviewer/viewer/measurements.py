"""The measurements made on the open radiographs, Qt-free: the ruler and angle tools' state.

Measurements are kept per radiograph path, their points in IMAGE pixel coordinates (see
:mod:`wristviewer.imaging.measure`), so rotating, flipping, zooming or panning a view changes
where they are drawn, never what they measure. The window forwards clicks (already mapped to
image coordinates) to :meth:`Measurements.click`; the tool decides when a measurement is
complete: two clicks for the ruler, four for the angle (two lines).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wristviewer.imaging import Radiograph
from wristviewer.imaging.measure import (
    Measurement,
    Point,
    measure_angle,
    measure_distance,
    spacing_of,
)
from wristviewer.viewer.events import Event


class MeasureTool(enum.StrEnum):
    """What a left click on a view does: pan/select (no tool), a ruler or an angle."""

    RULER = "ruler"
    ANGLE = "angle"


#: clicks that complete a measurement, per tool
CLICKS = {MeasureTool.RULER: 2, MeasureTool.ANGLE: 4}

#: what the status line says while a tool is on
TOOL_HINTS = {
    MeasureTool.RULER: "Ruler: click the two ends. Right-click or Esc cancels.",
    MeasureTool.ANGLE: "Angle: click two points on each line (e.g. the articular surface, "
    "then the perpendicular to the shaft axis: radial inclination, volar tilt). "
    "Right-click or Esc cancels.",
}


@dataclass
class Placement:
    """A measurement being placed: the tool, the radiograph and the points clicked so far."""

    tool: MeasureTool
    path: Path
    points: list[Point] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.points) >= CLICKS[self.tool]


def segment_distance(p: Point, a: Point, b: Point) -> float:
    """The distance from ``p`` to the segment ``a``–``b`` (same units as the points)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2
    t = max(0.0, min(1.0, t))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def segments(measurement: Measurement) -> list[tuple[Point, Point]]:
    """The lines drawn for a measurement: one for a ruler, two for an angle."""
    pts = measurement.points
    return [(pts[i], pts[i + 1]) for i in range(0, len(pts) - 1, 2)]


class Measurements:
    """Measurements per radiograph, the active tool, the placement under way and the selection.

    Events: ``changed(path)`` (a measurement added, removed, selected or a placement moved on:
    the views of ``path`` redraw) and ``tool_changed(tool)`` (None: no tool).
    """

    def __init__(self) -> None:
        self._by_path: dict[Path, list[Measurement]] = {}
        self.tool: MeasureTool | None = None
        self.pending: Placement | None = None
        self.selected: tuple[Path, int] | None = None
        self.changed = Event()
        self.tool_changed = Event()

    def of(self, path: Path) -> tuple[Measurement, ...]:
        """The measurements on the radiograph at ``path``, in the order they were made."""
        return tuple(self._by_path.get(Path(path), ()))

    # tools --------------------------------------------------------------------------------
    def set_tool(self, tool: MeasureTool | str | None) -> None:
        """Turn a tool on (None: off); a placement under way is dropped."""
        tool = None if tool is None else MeasureTool(tool)
        self.cancel()
        if tool != self.tool:
            self.tool = tool
            self.tool_changed.emit(tool)

    def cancel(self) -> None:
        """Drop the placement under way, if any."""
        if self.pending is not None:
            path = self.pending.path
            self.pending = None
            self.changed.emit(path)

    def click(self, radiograph: Radiograph, point: Point) -> Measurement | None:
        """A left click at ``point`` (image pixels) with the tool on: the next point of the
        placement, and the measurement when it completes (None otherwise, or with no tool).
        A click outside the image or on the point just placed is ignored."""
        if self.tool is None or not _inside(point, radiograph):
            return None
        path = Path(radiograph.path)
        pending = self.pending
        if pending is None or pending.path != path or pending.tool is not self.tool:
            self.cancel()  # a placement begun on another view is dropped there
            pending = self.pending = Placement(self.tool, path)
        if pending.points and len(pending.points) % 2 and pending.points[-1] == point:
            return None  # a line of zero length has no direction
        pending.points.append(point)
        if not pending.complete:
            self.changed.emit(path)
            return None
        self.pending = None
        return self.add(radiograph, _measure(pending, radiograph))

    # the measurements ---------------------------------------------------------------------
    def add(self, radiograph: Radiograph, measurement: Measurement) -> Measurement:
        path = Path(radiograph.path)
        self._by_path.setdefault(path, []).append(measurement)
        self.changed.emit(path)
        return measurement

    def hit(self, path: Path, point: Point, tolerance: float) -> int | None:
        """The index of the measurement on ``path`` whose lines pass within ``tolerance``
        (image pixels) of ``point``, the nearest; None when none does."""
        best: tuple[float, int] | None = None
        for i, m in enumerate(self.of(path)):
            d = min(segment_distance(point, a, b) for a, b in segments(m))
            if d <= tolerance and (best is None or d < best[0]):
                best = (d, i)
        return None if best is None else best[1]

    def select(self, path: Path, index: int | None) -> None:
        """Select the measurement ``index`` on ``path`` (None: nothing selected)."""
        previous = self.selected
        self.selected = None if index is None else (Path(path), index)
        if previous is not None and previous[0] != Path(path):
            self.changed.emit(previous[0])
        self.changed.emit(Path(path))

    def remove(self, path: Path, index: int) -> None:
        path = Path(path)
        del self._by_path[path][index]
        if self.selected is not None and self.selected[0] == path:
            self.selected = None
        self.changed.emit(path)

    def remove_selected(self) -> bool:
        """Remove the selected measurement; False when none is selected."""
        if self.selected is None:
            return False
        self.remove(*self.selected)
        return True

    def clear(self, paths: Sequence[Path] | None = None) -> None:
        """Remove the measurements on ``paths`` (None: on every radiograph)."""
        targets = list(self._by_path) if paths is None else [Path(p) for p in paths]
        self.cancel()
        for path in targets:
            self._by_path.pop(path, None)
            if self.selected is not None and self.selected[0] == path:
                self.selected = None
            self.changed.emit(path)


def _inside(point: Point, radiograph: Radiograph) -> bool:
    x, y = point
    return 0.0 <= x <= radiograph.cols and 0.0 <= y <= radiograph.rows


def _measure(placement: Placement, radiograph: Radiograph) -> Measurement:
    spacing = spacing_of(radiograph)
    p = placement.points
    if placement.tool is MeasureTool.RULER:
        return measure_distance(p[0], p[1], spacing)
    return measure_angle((p[0], p[1]), (p[2], p[3]), spacing)
