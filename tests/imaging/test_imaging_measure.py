"""The ruler, the angle tool and window/level in stored units, on DICOM written with pydicom."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.dicom_factory import phantom, write_dicom, write_png
from wristviewer.imaging import Window, read
from wristviewer.imaging.measure import (
    Calibration,
    MeasurementKind,
    Spacing,
    angle_between,
    measure_angle,
    measure_distance,
    measurements_report,
    spacing_of,
    value_scale,
    window_from_stored,
    window_text,
    window_to_stored,
)


def test_ruler_in_mm_on_a_calibrated_image(tmp_path: Path) -> None:
    r = read(write_dicom(tmp_path / "a.dcm", pixel_spacing=(0.1, 0.1)))
    spacing = spacing_of(r)
    assert spacing.calibration is Calibration.CALIBRATED
    m = measure_distance((10.0, 5.0), (10.0, 105.0), spacing)  # 100 px down a column
    assert m.kind is MeasurementKind.DISTANCE
    assert m.value == pytest.approx(10.0)
    assert (m.unit, m.label, m.report_line) == ("mm", "10.0 mm", "10.0 mm")
    assert m.points == ((10.0, 5.0), (10.0, 105.0))


def test_anisotropic_spacing_rows_and_columns_differ(tmp_path: Path) -> None:
    # Pixel Spacing is (row spacing, column spacing): 0.2 mm between rows, 0.1 between columns
    r = read(write_dicom(tmp_path / "a.dcm", pixel_spacing=(0.2, 0.1)))
    spacing = spacing_of(r)
    assert measure_distance((0, 0), (100, 0), spacing).value == pytest.approx(10.0)  # along a row
    assert measure_distance((0, 0), (0, 100), spacing).value == pytest.approx(20.0)  # down
    assert measure_distance((0, 0), (30, 20), spacing).value == pytest.approx(5.0)  # 3-4-5


def test_imager_pixel_spacing_alone_is_marked_uncalibrated(tmp_path: Path) -> None:
    r = read(write_dicom(tmp_path / "a.dcm", imager_pixel_spacing=(0.15, 0.15)))
    spacing = spacing_of(r)
    assert spacing.calibration is Calibration.DETECTOR
    m = measure_distance((0, 0), (0, 100), spacing)
    assert m.value == pytest.approx(15.0)
    assert m.label == "15.0 mm (uncalibrated)"
    assert "not corrected for magnification" in m.report_line


def test_pixel_spacing_wins_over_imager_pixel_spacing(tmp_path: Path) -> None:
    path = write_dicom(
        tmp_path / "a.dcm", pixel_spacing=(0.1, 0.1), imager_pixel_spacing=(0.12, 0.12)
    )
    spacing = spacing_of(read(path))
    assert (spacing.row_mm, spacing.calibration) == (0.1, Calibration.CALIBRATED)


def test_no_spacing_measures_in_pixels(tmp_path: Path) -> None:
    for r in (read(write_dicom(tmp_path / "a.dcm")), read(write_png(tmp_path / "b.png"))):
        spacing = spacing_of(r)
        assert spacing.calibration is Calibration.NONE and spacing.unit == "px"
        m = measure_distance((0, 0), (30, 40), spacing)
        assert (m.value, m.unit, m.label) == (50.0, "px", "50 px")
        assert "no pixel spacing" in m.report_line


def test_angle_of_two_known_lines() -> None:
    horizontal = ((0.0, 0.0), (100.0, 0.0))
    t = math.radians(22.0)
    tilted = ((10.0, 50.0), (10.0 + 80 * math.cos(t), 50.0 - 80 * math.sin(t)))
    angle, acute = angle_between(horizontal, tilted)
    assert (angle, acute) == (pytest.approx(22.0), pytest.approx(22.0))
    reversed_line = (tilted[1], tilted[0])
    angle, acute = angle_between(horizontal, reversed_line)
    assert (angle, acute) == (pytest.approx(158.0), pytest.approx(22.0))
    m = measure_angle(horizontal, reversed_line)
    assert (m.kind, m.value, m.unit, m.label) == (
        MeasurementKind.ANGLE,
        pytest.approx(22.0),
        "°",
        "22.0°",
    )
    assert len(m.points) == 4


def test_angles_are_measured_in_mm_not_pixels() -> None:
    # 45° in pixels, but rows are twice as far apart as columns: atan(2) in the patient
    spacing = Spacing(0.2, 0.1, Calibration.CALIBRATED)
    _, acute = angle_between(((0, 0), (10, 0)), ((0, 0), (10, 10)), spacing)
    assert acute == pytest.approx(math.degrees(math.atan(2.0)))


def test_a_line_of_zero_length_has_no_angle() -> None:
    with pytest.raises(ValueError, match="zero length"):
        angle_between(((0, 0), (0, 0)), ((0, 0), (1, 1)))


def test_report_lines() -> None:
    spacing = Spacing(0.1, 0.1, Calibration.CALIBRATED)
    lines = measurements_report(
        [
            measure_distance((0, 0), (0, 100), spacing),
            measure_angle(((0, 0), (1, 0)), ((0, 0), (0, 1))),
        ]
    )
    assert lines == ["1. Length: 10.0 mm", "2. Angle: 90.0°"]


@pytest.mark.parametrize(
    ("photometric", "rescale"),
    [("MONOCHROME2", None), ("MONOCHROME1", None), ("MONOCHROME2", (0.5, -1024.0))],
)
def test_the_header_window_reads_back_in_stored_units(
    tmp_path: Path, photometric: str, rescale: tuple[float, float] | None
) -> None:
    window = (1500.0, 2000.0) if rescale is None else (-300.0, 1500.0)
    path = write_dicom(
        tmp_path / "w.dcm", bits_stored=12, photometric=photometric, rescale=rescale, window=window
    )
    r = read(path)
    scale = value_scale(r)
    assert scale.inverted is (photometric == "MONOCHROME1")
    assert window_to_stored(r.window, scale) == (pytest.approx(window[0]), pytest.approx(window[1]))
    back = window_from_stored(*window, scale)
    assert back.center == pytest.approx(r.window.center)
    assert back.width == pytest.approx(r.window.width)
    unit = " US" if rescale else ""
    assert window_text(r.window, scale) == f"W {window[1]:.0f} L {window[0]:.0f}{unit}"


def test_stored_units_match_the_pixels(tmp_path: Path) -> None:
    """A pixel's 0..1 value maps back to the stored value pydicom reads."""
    import pydicom

    path = write_dicom(tmp_path / "m1.dcm", phantom(), bits_stored=12, photometric="MONOCHROME1")
    r = read(path)
    stored = pydicom.dcmread(path).pixel_array.astype(np.float64)
    scale = value_scale(r)
    for y, x in ((10, 10), (40, 50)):
        assert scale.to_stored(float(r.pixels[y, x])) == pytest.approx(stored[y, x], abs=0.05)
        assert scale.from_stored(stored[y, x]) == pytest.approx(float(r.pixels[y, x]), abs=1e-5)


def test_a_plain_image_windows_in_its_8_bit_values(tmp_path: Path) -> None:
    scale = value_scale(read(write_png(tmp_path / "a.png")))
    assert (scale.lo, scale.hi, scale.inverted) == (0.0, 255.0, False)
    assert window_to_stored(Window(0.5, 1.0), scale) == (pytest.approx(128.0), pytest.approx(256.0))
    assert window_text(Window(0.5, 1.0), scale) == "W 256 L 128"
