"""Measuring on a radiograph, Qt-free: the ruler, the angle tool, and window/level in the
image's own units.

**Coordinates.** Points are ``(x, y)`` in IMAGE pixel coordinates of ``Radiograph.pixels``:
``x`` along the columns, ``y`` along the rows, continuous (a pixel's centre at ``+0.5``).
Rotating or flipping the display changes how they are drawn, never what they are, so a
measurement stays on its anatomy.

**Calibration.** Only Pixel Spacing (0028,0030) gives lengths in the patient plane: it is
"calibrated". Imager Pixel Spacing (0018,1164) is the detector plane: a wrist a few
centimetres above the detector is magnified (typically 5-15 %), so lengths from it are marked
"uncalibrated (detector plane, not corrected for magnification)". Without either, lengths are
in pixels. Row and column spacing may differ (anisotropic pixels): every length and angle is
computed in millimetres, never in pixels scaled afterwards.

**Window/level.** ``Radiograph.pixels`` is 0..1; a DICOM reader thinks in the stored values
after the modality LUT (Rescale Slope/Intercept), in which Window Center/Width are written.
:func:`window_to_stored` and :func:`window_from_stored` convert between the two, with the
DICOM LINEAR convention (``c - 0.5``, ``w - 1``) and MONOCHROME1's inversion undone, so a
header's window reads back as the header wrote it.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

from wristviewer.imaging.radiograph import Radiograph, Window

Point = tuple[float, float]  # (x, y) = (column, row) in image pixels


class Calibration(enum.StrEnum):
    """How far a length in mm can be trusted."""

    CALIBRATED = "calibrated"  # Pixel Spacing: the patient plane
    DETECTOR = "detector plane"  # Imager Pixel Spacing only: magnification not corrected
    NONE = "no pixel spacing"  # lengths in pixels


#: The sentence shown beside a length, per calibration.
CALIBRATION_NOTES = {
    Calibration.CALIBRATED: "calibrated (Pixel Spacing)",
    Calibration.DETECTOR: "uncalibrated: detector plane (Imager Pixel Spacing), "
    "not corrected for magnification",
    Calibration.NONE: "uncalibrated: the image gives no pixel spacing, lengths in pixels",
}


@dataclass(frozen=True)
class Spacing:
    """Millimetres per pixel along rows (``row_mm``, the y step) and columns (``col_mm``);
    1.0 and 1.0 with ``calibration`` NONE when the image gives none (units are then pixels)."""

    row_mm: float = 1.0
    col_mm: float = 1.0
    calibration: Calibration = Calibration.NONE

    @property
    def unit(self) -> str:
        return "px" if self.calibration is Calibration.NONE else "mm"

    @property
    def note(self) -> str:
        return CALIBRATION_NOTES[self.calibration]


def spacing_of(radiograph: Radiograph) -> Spacing:
    """The spacing and its calibration from what the reader kept (see the module docstring)."""
    if radiograph.pixel_spacing_mm is None:
        return Spacing()
    row, col = radiograph.pixel_spacing_mm
    calibrated = radiograph.pixel_spacing_source == "PixelSpacing"
    return Spacing(row, col, Calibration.CALIBRATED if calibrated else Calibration.DETECTOR)


def _vector(a: Point, b: Point, spacing: Spacing) -> tuple[float, float]:
    return (b[0] - a[0]) * spacing.col_mm, (b[1] - a[1]) * spacing.row_mm


def distance(a: Point, b: Point, spacing: Spacing) -> float:
    """The length from ``a`` to ``b`` in ``spacing.unit`` (mm, or pixels without spacing)."""
    return math.hypot(*_vector(a, b, spacing))


def angle_between(
    line1: tuple[Point, Point], line2: tuple[Point, Point], spacing: Spacing = Spacing()
) -> tuple[float, float]:
    """The angle between two lines, in degrees: ``(angle, acute)``.

    ``angle`` (0..180) is between the directions first-point-to-second-point of each line;
    ``acute`` (0..90) is the smaller angle the two lines make, what radial inclination and
    volar tilt report. Computed in mm, so anisotropic pixels do not skew it. A line of zero
    length raises ValueError.
    """
    u, v = _vector(*line1, spacing), _vector(*line2, spacing)
    nu, nv = math.hypot(*u), math.hypot(*v)
    if nu == 0 or nv == 0:
        raise ValueError("a line of zero length has no direction")
    cos = (u[0] * v[0] + u[1] * v[1]) / (nu * nv)
    angle = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
    return angle, min(angle, 180.0 - angle)


class MeasurementKind(enum.StrEnum):
    DISTANCE = "distance"
    ANGLE = "angle"


@dataclass(frozen=True)
class Measurement:
    """One measurement on one image: ``points`` in image pixel coordinates (2 for a distance,
    4 for an angle: two lines), ``value`` in ``unit`` ("mm", "px" or "°"), ``calibration``
    (lengths only) and ``label``, the text drawn beside it and listed in the report."""

    kind: MeasurementKind
    points: tuple[Point, ...]
    value: float
    unit: str
    label: str
    calibration: Calibration | None = None

    @property
    def report_line(self) -> str:
        """The label with what the reader must know about its calibration."""
        if self.calibration is None or self.calibration is Calibration.CALIBRATED:
            return self.label
        return f"{self.label} ({CALIBRATION_NOTES[self.calibration]})"


def measure_distance(a: Point, b: Point, spacing: Spacing) -> Measurement:
    """A ruler from ``a`` to ``b``: "12.3 mm", "12.3 mm (uncalibrated)" or "123 px"."""
    value = distance(a, b, spacing)
    if spacing.calibration is Calibration.NONE:
        label = f"{value:.0f} px"
    elif spacing.calibration is Calibration.DETECTOR:
        label = f"{value:.1f} mm (uncalibrated)"
    else:
        label = f"{value:.1f} mm"
    return Measurement(
        MeasurementKind.DISTANCE, (a, b), value, spacing.unit, label, spacing.calibration
    )


def measure_angle(
    line1: tuple[Point, Point], line2: tuple[Point, Point], spacing: Spacing = Spacing()
) -> Measurement:
    """The angle tool: the acute angle between two lines, "22.0°"."""
    _, acute = angle_between(line1, line2, spacing)
    return Measurement(MeasurementKind.ANGLE, (*line1, *line2), acute, "°", f"{acute:.1f}°")


# --- window/level in stored units ---------------------------------------------------------


@dataclass(frozen=True)
class ValueScale:
    """How the 0..1 pixels relate to the stored values (after the modality LUT):
    ``lo`` and ``hi`` map to 0 and 1 (to 1 and 0 when ``inverted``); ``unit`` is the
    Rescale Type ("HU", "US", ...) or ""."""

    lo: float
    hi: float
    inverted: bool = False
    unit: str = ""

    def to_stored(self, p: float) -> float:
        """A 0..1 pixel value as a stored value."""
        q = 1.0 - p if self.inverted else p
        return self.lo + q * (self.hi - self.lo)

    def from_stored(self, value: float) -> float:
        """A stored value on the 0..1 scale (not clipped)."""
        q = (value - self.lo) / (self.hi - self.lo)
        return 1.0 - q if self.inverted else q


def value_scale(radiograph: Radiograph) -> ValueScale:
    """The radiograph's :class:`ValueScale` (0..1 itself when the reader kept no range)."""
    lo, hi = radiograph.value_range or (0.0, 1.0)
    if not hi > lo:
        lo, hi = lo, lo + 1.0
    return ValueScale(lo, hi, radiograph.inverted, radiograph.value_unit)


def window_to_stored(window: Window, scale: ValueScale) -> tuple[float, float]:
    """A 0..1 :class:`Window` as (Window Center, Window Width) in stored units, as a DICOM
    header writes them (LINEAR: the reader's ``c - 0.5`` and ``w - 1`` undone)."""
    center = scale.to_stored(window.center)
    width = window.width * (scale.hi - scale.lo)
    if window.function == "LINEAR":
        center, width = center + 0.5, width + 1.0
    return center, width


def window_from_stored(
    center: float, width: float, scale: ValueScale, function: str = "LINEAR"
) -> Window:
    """(Window Center, Window Width) in stored units as a 0..1 :class:`Window` (the inverse
    of :func:`window_to_stored`). A width that is not positive raises ValueError."""
    if function == "LINEAR":
        center, width = center - 0.5, max(width - 1.0, 1e-6)
    if not width > 0:
        raise ValueError(f"a window width must be positive, got {width}")
    return Window(scale.from_stored(center), width / (scale.hi - scale.lo), function)


def window_text(window: Window, scale: ValueScale) -> str:
    """ "W 2000 L 1000" (with the unit when the header names one: "W 400 L 40 HU")."""
    center, width = window_to_stored(window, scale)
    digits = 0 if scale.hi - scale.lo >= 100 else 2
    text = f"W {width:.{digits}f} L {center:.{digits}f}"
    return f"{text} {scale.unit}" if scale.unit else text


def measurements_report(measurements: Sequence[Measurement]) -> list[str]:
    """One line per measurement for the report, in the order they were made."""
    return [
        f"{i}. {'Length' if m.kind is MeasurementKind.DISTANCE else 'Angle'}: {m.report_line}"
        for i, m in enumerate(measurements, start=1)
    ]
