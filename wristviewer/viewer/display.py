"""How one radiograph is shown (window, invert, rotation, flips), and the window presets."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from wristviewer.imaging import Window
from wristviewer.viewer.events import Event

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

    def adjust_window(self, d_center: float, d_width: float) -> None:
        """Move the window by a step on the 0..1 scale (the mouse window/level drag)."""
        w = self.window
        self.set_window(replace(w, center=w.center + d_center, width=max(w.width + d_width, 0.01)))

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

    @property
    def untransformed(self) -> bool:
        """True when neither rotated nor flipped (the pixels are where the file has them)."""
        return self.rotation == 0 and not self.flip_horizontal and not self.flip_vertical


Point = tuple[float, float]  # (x, y): column, row; continuous, a pixel's centre at +0.5


def display_point(point: Point, rows: int, cols: int, state: DisplayState) -> Point:
    """Where the image point ``(x, y)`` of a radiograph ``rows`` × ``cols`` is drawn on the
    displayed image (rotation, then flips, as the pixels are transformed): a quarter turn
    clockwise takes (x, y) of an image ``h`` rows tall to (h - y, x)."""
    x, y = point
    h, w = float(rows), float(cols)
    for _ in range(state.rotation % 4):
        x, y = h - y, x
        h, w = w, h
    if state.flip_horizontal:
        x = w - x
    if state.flip_vertical:
        y = h - y
    return x, y


def image_point(point: Point, rows: int, cols: int, state: DisplayState) -> Point:
    """The inverse of :func:`display_point`: the image point under a displayed point."""
    x, y = point
    turns = state.rotation % 4
    h, w = (float(cols), float(rows)) if turns % 2 else (float(rows), float(cols))
    if state.flip_vertical:
        y = h - y
    if state.flip_horizontal:
        x = w - x
    for _ in range(turns):
        # undo one quarter turn clockwise: displayed (x, y), ``w`` columns wide, came from
        # (y, w - x) of an image ``w`` rows tall
        x, y = y, w - x
        h, w = w, h
    return x, y
