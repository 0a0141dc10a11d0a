"""One view on screen: orientation, aspect ratio, transforms shared by image and heatmap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wristviewer.imaging import Radiograph, View, Window
from wristviewer.ui.view_panel import ViewPanel, display_rect, display_transform
from wristviewer.viewer import DisplayState, ViewerState


def _non_square(spacing: tuple[float, float] | None = None) -> Radiograph:
    """60 rows × 100 columns, a bright block in the top-left corner (rows 0..9, cols 0..19)."""
    pixels = np.full((60, 100), 0.1, np.float32)
    pixels[:10, :20] = 0.9
    return Radiograph(
        pixels=pixels,
        path=Path("/virtual/nonsquare.png"),
        format="PNG",
        bits_stored=8,
        photometric="MONOCHROME2",
        view=View.PA,
        pixel_spacing_mm=spacing,
    )


@pytest.fixture
def panel(qtbot):  # noqa: ANN001, ANN201
    state = ViewerState()
    p = ViewPanel(state, _non_square())
    qtbot.addWidget(p)
    p.resize(500, 400)
    p.show()
    return p


def test_non_square_image_keeps_rows_and_columns(panel: ViewPanel) -> None:
    item = panel.image_item
    assert item.image.shape == (60, 100)
    assert (item.width(), item.height()) == (100, 60)
    # the bright block is at the top-left of the scene: (x, y) = (col, row)
    assert item.image[5, 10] == pytest.approx(0.9) and item.image[50, 90] == pytest.approx(0.1)
    rect = panel.image_item.mapRectToView(panel.image_item.boundingRect())
    assert (rect.width(), rect.height()) == (100, 60)
    assert panel.view_box.state["aspectLocked"] == 1.0


def test_pixel_spacing_sets_the_aspect_ratio(qtbot) -> None:  # noqa: ANN001
    state = ViewerState()
    r = _non_square(spacing=(0.2, 0.1))  # rows 0.2 mm apart, columns 0.1 mm apart
    p = ViewPanel(state, r)
    qtbot.addWidget(p)
    # one column unit is half as wide on screen as one row unit is tall
    assert p.view_box.state["aspectLocked"] == pytest.approx(0.5)
    p.display.rotate(1)
    assert p.view_box.state["aspectLocked"] == pytest.approx(2.0)


def test_rotation_and_flip_move_image_and_heatmap_together(panel: ViewPanel) -> None:
    heat = np.zeros((60, 100), np.float32)
    heat[:10, :20] = 1.0  # hot exactly on the bright block
    panel.set_prediction(0.7, 0.5, heat)
    panel.display.rotate(1)
    panel.display.flip(horizontal=True)
    image, overlay = panel.image_item.image, panel.heatmap_item.image
    assert image.shape == (100, 60) == overlay.shape
    np.testing.assert_array_equal(image > 0.5, overlay > 0.5)
    # clockwise quarter turn puts the top-left block at the top-right; the flip brings it back left
    assert image[5, 5] == pytest.approx(0.9)
    assert panel.heatmap_item.mapRectToView(
        panel.heatmap_item.boundingRect()
    ) == panel.image_item.mapRectToView(panel.image_item.boundingRect())
    np.testing.assert_array_equal(image, display_transform(panel.radiograph.pixels, panel.display))


def test_window_invert_and_badge(panel: ViewPanel) -> None:
    panel.display.set_window(Window(center=0.3, width=0.2))
    assert tuple(panel.image_item.levels) == pytest.approx((0.2, 0.4))
    lut = panel.image_item.lut
    panel.display.toggle_invert()
    inverted = panel.image_item.lut
    assert lut[0, 0] == 0 and inverted[0, 0] == 255
    panel.set_prediction(0.81, 0.5, None)
    assert "81%" in panel.badge_label.text() and not panel.badge_label.isHidden()
    panel.set_prediction(None, 0.5, None)
    assert panel.badge_label.isHidden() and panel.heatmap_item.image is None


def test_heatmap_below_the_floor_is_transparent(panel: ViewPanel) -> None:
    lut = panel.heatmap_item.lut
    assert lut.shape[1] == 4
    assert lut[: int(0.19 * 255), 3].max() == 0 and lut[-1, 3] > 150


def test_right_drag_changes_the_window(panel: ViewPanel) -> None:
    before = panel.display.window
    panel._on_window_dragged(40.0, -20.0)
    after = panel.display.window
    assert after.width > before.width and after.center > before.center


def test_correcting_the_view_updates_the_radiograph(panel: ViewPanel) -> None:
    combo = panel._view_combo
    combo.setCurrentIndex(combo.findData(View.LATERAL))
    assert panel.radiograph.view is View.LATERAL


@pytest.mark.parametrize(("n_views", "grid"), [(1, (1, 1)), (2, (1, 2)), (4, (2, 2)), (5, (2, 3))])
def test_any_number_of_views_is_laid_out(
    qtbot, window, n_views: int, grid: tuple[int, int]
) -> None:  # noqa: ANN001
    from wristviewer.imaging import Study

    views = [View.LATERAL, View.PA, View.OBLIQUE, View.OBLIQUE, View.UNKNOWN]
    radiographs = []
    for i in range(n_views):
        r = _non_square()
        r.path = Path(f"/virtual/v{i}.png")
        r.view = views[i]
        radiographs.append(r)
    study = Study(id="s", views=radiographs)
    study.sort_views()
    window.state.set_studies([study], [])
    assert len(window.panels) == n_views
    positions = [
        window.views_layout.getItemPosition(window.views_layout.indexOf(p))[:2]
        for p in window.panels
    ]
    rows = 1 + max(r for r, _ in positions)
    cols = 1 + max(c for _, c in positions)
    assert (rows, cols) == grid
    assert window.panels[0].radiograph.view in (View.PA, View.LATERAL)
    if n_views >= 2:
        assert window.panels[0].radiograph.view is View.PA  # hanging order: PA before lateral


@pytest.mark.parametrize("rotation", [0, 1, 2, 3])
@pytest.mark.parametrize("flips", [(False, False), (True, False), (False, True), (True, True)])
def test_display_rect_lands_where_display_transform_puts_the_pixels(
    rotation: int, flips: tuple[bool, bool]
) -> None:
    rows, cols = 7, 11  # non-square, so a wrong axis shows
    mask = np.zeros((rows, cols), np.uint8)
    mask[2:5, 1:4] = 1  # rect (left 1, top 2, width 3, height 3)
    state = DisplayState(window=Window(0.5, 1.0), rotation=rotation)
    state.flip_horizontal, state.flip_vertical = flips
    shown = display_transform(mask, state)
    left, top, width, height = display_rect((1.0, 2.0, 3.0, 3.0), rows, cols, state)
    ys, xs = np.nonzero(shown)
    assert (left, top) == (xs.min(), ys.min())
    assert (left + width, top + height) == (xs.max() + 1, ys.max() + 1)
