"""The measuring tools' model, Qt-free: placing by clicks, selection, removal, the report
lines, and the image↔display point mapping that keeps measurements on their anatomy."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.dicom_factory import write_dicom
from wristviewer.imaging import Radiograph, Study, View, read
from wristviewer.imaging.measure import Calibration, MeasurementKind
from wristviewer.viewer import DisplayState, Measurements, MeasureTool, ViewerState
from wristviewer.viewer.display import display_point, image_point


def _raster(name: str = "a.png", rows: int = 60, cols: int = 100) -> Radiograph:
    return Radiograph(
        pixels=np.zeros((rows, cols), np.float32),
        path=Path(name),
        format="PNG",
        bits_stored=8,
        photometric="MONOCHROME2",
        view=View.PA,
    )


TRANSFORMS = [
    DisplayState(window=None, rotation=r, flip_horizontal=h, flip_vertical=v)  # type: ignore[arg-type]
    for r, h, v in itertools.product(range(4), (False, True), (False, True))
]


@pytest.mark.parametrize("state", TRANSFORMS)
def test_a_point_is_drawn_on_the_pixel_the_display_moves_it_to(state: DisplayState) -> None:
    rows, cols = 6, 10  # non-square, so a swapped axis shows
    marker = np.zeros((rows, cols))
    marker[1, 7] = 1.0  # the pixel at (x, y) = (7, 1); its centre is (7.5, 1.5)
    shown = np.rot90(marker, k=-state.rotation)  # as the view panel transforms the pixels
    shown = shown[:, ::-1] if state.flip_horizontal else shown
    shown = shown[::-1, :] if state.flip_vertical else shown
    x, y = display_point((7.5, 1.5), rows, cols, state)
    assert shown[int(y), int(x)] == 1.0
    assert image_point((x, y), rows, cols, state) == pytest.approx((7.5, 1.5))


def test_the_ruler_takes_two_clicks_and_measures_in_mm(tmp_path: Path) -> None:
    r = read(write_dicom(tmp_path / "a.dcm", pixel_spacing=(0.2, 0.1)))
    m = Measurements()
    changed: list[Path] = []
    m.changed.connect(changed.append)
    assert m.click(r, (10.0, 10.0)) is None  # no tool: nothing placed
    m.set_tool(MeasureTool.RULER)
    assert m.click(r, (10.0, 10.0)) is None and m.pending is not None
    done = m.click(r, (40.0, 10.0))  # 30 columns of 0.1 mm
    assert done is not None and done.value == pytest.approx(3.0)
    assert (done.label, done.calibration) == ("3.0 mm", Calibration.CALIBRATED)
    assert m.of(r.path) == (done,) and m.pending is None
    assert changed and set(changed) == {r.path}


def test_the_angle_takes_two_lines() -> None:
    r = _raster()
    m = Measurements()
    m.set_tool("angle")
    for p in [(10.0, 50.0), (60.0, 50.0), (10.0, 50.0)]:
        assert m.click(r, p) is None
    done = m.click(r, (60.0, 21.13248654))  # 30° above the horizontal
    assert done is not None and done.kind is MeasurementKind.ANGLE
    assert done.value == pytest.approx(30.0, abs=1e-4) and done.label == "30.0°"


def test_clicks_outside_the_image_or_repeated_are_ignored_and_right_click_cancels() -> None:
    r = _raster()
    m = Measurements()
    m.set_tool(MeasureTool.RULER)
    assert m.click(r, (-1.0, 5.0)) is None and m.pending is None
    m.click(r, (5.0, 5.0))
    assert m.click(r, (5.0, 5.0)) is None and len(m.pending.points) == 1  # type: ignore[union-attr]
    m.cancel()
    assert m.pending is None and m.of(r.path) == ()
    m.click(r, (5.0, 5.0))
    other = _raster("other.png")
    changed: list[Path] = []
    m.changed.connect(changed.append)
    m.click(other, (7.0, 7.0))  # begun on another view: the first one is dropped there
    assert changed == [r.path, other.path] and m.pending.path == other.path  # type: ignore[union-attr]
    m.set_tool(None)  # turning the tool off drops the placement too
    assert m.pending is None and m.tool is None


def test_select_by_a_click_near_a_line_then_remove() -> None:
    r = _raster()
    m = Measurements()
    m.set_tool(MeasureTool.RULER)
    m.click(r, (10.0, 10.0))
    first = m.click(r, (50.0, 10.0))
    m.click(r, (10.0, 40.0))
    second = m.click(r, (50.0, 40.0))
    assert m.hit(r.path, (30.0, 12.0), tolerance=3.0) == 0
    assert m.hit(r.path, (30.0, 38.5), tolerance=3.0) == 1
    assert m.hit(r.path, (30.0, 25.0), tolerance=3.0) is None
    m.select(r.path, 0)
    assert m.remove_selected() and m.of(r.path) == (second,) and first not in m.of(r.path)
    assert not m.remove_selected()  # nothing selected any more


def test_the_report_lists_them_under_their_view(tmp_path: Path) -> None:
    from wristviewer.workflow.report import build_report

    r = read(write_dicom(tmp_path / "a.dcm", imager_pixel_spacing=(0.1, 0.1), laterality="L"))
    plain = _raster("b.png")
    m = Measurements()
    m.set_tool(MeasureTool.RULER)
    for image, a, b in ((r, (0.0, 0.0), (0.0, 40.0)), (plain, (0.0, 0.0), (30.0, 40.0))):
        m.click(image, a)
        m.click(image, b)
    study = Study(id="s", views=[r, plain])
    content = build_report(study, None, measurements={p.path: m.of(p.path) for p in study.views})
    assert content.measurements == [
        f"{r.view.value} (left): 1. Length: 4.0 mm (uncalibrated) (uncalibrated: detector "
        "plane (Imager Pixel Spacing), not corrected for magnification)",
        "PA: 1. Length: 50 px (uncalibrated: the image gives no pixel spacing, lengths in pixels)",
    ]
    assert "Measurements:\n- " in content.to_text()
    assert "<h3>Measurements</h3>" in content.to_html()
    m.clear([r.path])
    assert m.of(r.path) == () and len(m.of(plain.path)) == 1


def test_opening_other_studies_drops_the_measurements() -> None:
    state = ViewerState()
    r = _raster()
    state.set_studies([Study(id="s", views=[r])], [])
    state.measurements.set_tool(MeasureTool.RULER)
    state.measurements.click(r, (1.0, 1.0))
    state.measurements.click(r, (9.0, 1.0))
    assert state.measurements.of(r.path)
    state.set_studies([Study(id="t", views=[_raster("c.png")])], [])
    assert state.measurements.of(r.path) == ()


def test_the_window_drag_step_moves_center_and_width() -> None:
    from wristviewer.imaging import Window

    d = DisplayState(window=Window(0.5, 0.5))
    d.adjust_window(0.1, -0.2)
    assert (d.window.center, d.window.width) == (pytest.approx(0.6), pytest.approx(0.3))
    d.adjust_window(0.0, -5.0)
    assert d.window.width == pytest.approx(0.01)  # never closes to nothing
