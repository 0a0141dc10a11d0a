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
