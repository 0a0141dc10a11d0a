"""The ruler and angle tools in the window, with real clicks on DICOM written with pydicom;
window/level in stored units; the mouse W/L drag and the presets on the same views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from tests.helpers.dicom_factory import phantom, write_dicom
from tests.ui.helpers import wait_idle
from tests.ui.pdf_text import pdf_text, squash
from wristviewer.imaging.measure import Calibration, MeasurementKind
from wristviewer.ui.view_panel import ViewPanel, display_transform
from wristviewer.viewer import MeasureTool

ROWS, COLS = 120, 160


def _open(qtbot, window, paths: list[Path]) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.studies_loaded, timeout=60_000):
        window.open_paths(paths)
    wait_idle(qtbot, window)
    window.views.fit_all()


@pytest.fixture
def calibrated(tmp_path: Path) -> Path:
    """One 12-bit DICOM, rows 0.2 mm apart and columns 0.1 mm apart, a header window."""
    image = phantom(ROWS, COLS)
    image[30, 100] = 1.0  # a marked pixel, to follow through rotation and flips
    return write_dicom(
        tmp_path / "pa.dcm",
        image,
        bits_stored=12,
        pixel_spacing=(0.2, 0.1),
        window=(1500.0, 2000.0),
        view_position="PA",
        laterality="R",
    )


def click_image(qtbot, panel: ViewPanel, point: tuple[float, float], right=False) -> None:  # noqa: ANN001
    """A real mouse click on the view where the image point ``(x, y)`` is drawn."""
    view = panel.measure_overlay.to_view(point)
    scene = panel.view_box.mapViewToScene(QPointF(*view))
    where = panel.graphics.mapFromScene(scene)
    button = Qt.MouseButton.RightButton if right else Qt.MouseButton.LeftButton
    QTest.mouseClick(panel.graphics.viewport(), button, Qt.KeyboardModifier.NoModifier, where)
    qtbot.wait(300)  # past the double-click interval, so each click is a click


def test_the_ruler_by_clicks_measures_mm_and_stays_on_its_pixels(
    qtbot, window, calibrated: Path
) -> None:  # noqa: ANN001
    _open(qtbot, window, [calibrated])
    panel = window.panels[0]
    window.actions_by_id["ruler"].trigger()
    assert window.state.measurements.tool is MeasureTool.RULER
    assert "two ends" in window.status_label.text()
    assert panel.graphics.viewport().cursor().shape() == Qt.CursorShape.CrossCursor
    click_image(qtbot, panel, (20.0, 40.0))
    click_image(qtbot, panel, (100.0, 100.0))
    (m,) = window.state.measurements.of(panel.radiograph.path)
    assert m.kind is MeasurementKind.DISTANCE and m.calibration is Calibration.CALIBRATED
    # 80 columns of 0.1 mm across, 60 rows of 0.2 mm down: hypot(8, 12) mm; clicks land on
    # screen pixels, so the points are within a screen pixel of where they were aimed
    assert m.value == pytest.approx(np.hypot(8.0, 12.0), abs=0.15)
    assert m.label.endswith(" mm") and m.label in [
        t.toPlainText() for t in panel.measure_overlay.labels
    ]

    marked = (100.5, 30.5)  # the centre of the marked pixel
    for change in (lambda d: d.rotate(1), lambda d: d.flip(True), lambda d: d.flip(False)):
        change(panel.display)
        overlay = panel.measure_overlay
        x, y = overlay.to_view(marked)
        assert panel.displayed_image()[int(y), int(x)] == pytest.approx(1.0)
        assert display_transform(panel.radiograph.pixels, panel.display)[int(y), int(x)] == 1.0
        label = overlay.labels[0].pos()
        assert overlay.to_image((label.x(), label.y())) == pytest.approx(m.points[1])


def test_the_angle_of_two_known_lines_by_clicks(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    path = write_dicom(tmp_path / "a.dcm", phantom(ROWS, COLS), pixel_spacing=(0.1, 0.1))
    _open(qtbot, window, [path])
    panel = window.panels[0]
    panel.display.rotate(1)  # clicks on a rotated view still land on image pixels
    window.actions_by_id["angle"].trigger()
    assert not window.actions_by_id["ruler"].isChecked()
    for point in [(20.0, 100.0), (140.0, 100.0), (20.0, 100.0), (80.0, 40.0)]:
        click_image(qtbot, panel, point)
    (m,) = window.state.measurements.of(panel.radiograph.path)
    assert m.kind is MeasurementKind.ANGLE and m.value == pytest.approx(45.0, abs=1.5)
    assert m.label.endswith("°")


def test_select_delete_and_clear(qtbot, window, calibrated: Path) -> None:  # noqa: ANN001
    _open(qtbot, window, [calibrated])
    panel = window.panels[0]
    measurements = window.state.measurements
    measurements.set_tool(MeasureTool.RULER)
    for a, b in (((10.0, 20.0), (150.0, 20.0)), ((10.0, 90.0), (150.0, 90.0))):
        measurements.click(panel.radiograph, a)
        measurements.click(panel.radiograph, b)
    assert len(panel.measure_overlay.labels) == 2
    window.actions_by_id["ruler"].trigger()  # off again: clicks select
    assert measurements.tool is None
    assert panel.graphics.viewport().cursor().shape() == Qt.CursorShape.ArrowCursor
    click_image(qtbot, panel, (80.0, 90.5))
    assert measurements.selected == (panel.radiograph.path, 1)
    window.actions_by_id["delete_measurement"].trigger()
    (left,) = measurements.of(panel.radiograph.path)
    assert left.points[0] == (10.0, 20.0) and len(panel.measure_overlay.labels) == 1
    window.actions_by_id["clear_measurements"].trigger()
    assert measurements.of(panel.radiograph.path) == () and panel.measure_overlay.items == []


def test_a_live_preview_follows_the_mouse_and_right_click_cancels(
    qtbot, window, calibrated: Path
) -> None:  # noqa: ANN001
    _open(qtbot, window, [calibrated])
    panel = window.panels[0]
    overlay = panel.measure_overlay
    window.actions_by_id["ruler"].trigger()
    click_image(qtbot, panel, (20.0, 20.0))
    assert window.state.measurements.pending is not None and overlay.items
    view = overlay.to_view((60.0, 20.0))
    scene = panel.view_box.mapViewToScene(QPointF(*view))
    QTest.mouseMove(panel.graphics.viewport(), panel.graphics.mapFromScene(scene))
    qtbot.waitUntil(lambda: len(overlay.preview) == 2, timeout=5_000)
    text = overlay.preview[1].toPlainText()
    assert text.endswith(" mm") and float(text.split()[0]) == pytest.approx(4.0, abs=0.15)
    click_image(qtbot, panel, (20.0, 20.0), right=True)
    pending = window.state.measurements.pending
    assert pending is None and overlay.items == [] and overlay.preview == []
    click_image(qtbot, panel, (30.0, 30.0))
    window.actions_by_id["cancel"].trigger()  # Esc cancels too
    assert window.state.measurements.pending is None and overlay.items == []


def test_the_report_lists_the_measurements(qtbot, window, calibrated: Path, tmp_path: Path) -> None:  # noqa: ANN001
    from wristviewer.ui.report import export_report

    _open(qtbot, window, [calibrated])
    r = window.panels[0].radiograph
    window.state.measurements.set_tool(MeasureTool.RULER)
    window.state.measurements.click(r, (0.0, 0.0))
    window.state.measurements.click(r, (0.0, 50.0))  # 50 rows of 0.2 mm
    pdf = tmp_path / "report.pdf"
    with qtbot.waitSignal(window.report_exported, timeout=30_000):
        export_report(window, pdf, include_identifiers=False)
    text = squash(pdf_text(pdf))
    assert "Measurements" in text and "PA(right):1.Length:10.0mm" in text


def test_window_level_in_stored_units_for_a_12_bit_dicom(qtbot, window, calibrated: Path) -> None:  # noqa: ANN001
    _open(qtbot, window, [calibrated])
    footer = window.panels[0].footer_label.text()
    assert "W 2000 L 1500" in footer and "W 0." not in footer


def test_mouse_window_level_and_presets_change_the_same_views(
    qtbot, window, tmp_path: Path
) -> None:  # noqa: ANN001
    for i, view in enumerate(("PA", "LL", "")):
        write_dicom(
            tmp_path / f"v{i}.dcm",
            phantom(ROWS, COLS),
            view_position=view or None,
            window=(1500.0 + 200 * i, 2000.0),
            study_uid="1.2.3.4",
        )
    _open(qtbot, window, [tmp_path])
    panels = window.panels
    assert len(panels) == 3
    before = [p.display.window for p in panels]
    panels[1].view_box.window_dragged.emit(40.0, -20.0)  # the right-drag's step
    after = [p.display.window for p in panels]
    for b, a in zip(before, after, strict=True):
        assert a.width > b.width and a.center > b.center
        assert a.center - b.center == pytest.approx(after[0].center - before[0].center)
    window.apply_preset("Bone")
    assert len({p.display.window for p in panels}) == 1
    assert {p.display.window for p in panels} != set(after)
