"""Aspect-kept padding in the recipe, and heatmaps/peaks mapped back through the content box."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wristviewer.ai.heatmap import cam_peak, cam_to_heatmap
from wristviewer.ai.recipe import Recipe, fit_to_input

PAD = Recipe(input_width=96, input_height=128, resize="pad")


@pytest.mark.parametrize(
    ("cols", "rows", "box"),
    [
        (300, 600, (16, 0, 64, 128)),  # portrait, narrower than the input: bars left and right
        (300, 200, (0, 32, 96, 64)),  # landscape: bars above and below
        (192, 256, (0, 0, 96, 128)),  # the input's own aspect: no padding
        (96, 128, (0, 0, 96, 128)),
    ],
)
def test_content_box_keeps_the_aspect_ratio_and_centres(
    cols: int, rows: int, box: tuple[int, int, int, int]
) -> None:
    assert PAD.content_box(cols, rows) == box
    stretch = Recipe(input_width=96, input_height=128)
    assert stretch.resize == "stretch" and stretch.content_box(cols, rows) == (0, 0, 96, 128)


def test_fit_to_input_centres_the_image_on_zeros() -> None:
    # Landscape 300x200: left half dark, right half bright (orientation must survive).
    image = np.full((200, 300), 0.2, np.float32)
    image[:, 150:] = 0.9
    out = fit_to_input(image, PAD)
    assert out.shape == (128, 96) and out.dtype == np.float32
    assert np.all(out[:32] == 0.0) and np.all(out[96:] == 0.0)  # the padding
    content = out[32:96]
    assert content[:, :47] == pytest.approx(0.2, abs=1e-6)
    assert content[:, 49:] == pytest.approx(0.9, abs=1e-6)
    # Portrait: bars left and right.
    tall = np.ones((600, 300), np.float32)
    out = fit_to_input(tall, PAD)
    assert np.all(out[:, :16] == 0) and np.all(out[:, 80:] == 0)
    assert np.all(out[:, 16:80] == pytest.approx(1.0))
    # Stretch fills the whole input.
    stretched = fit_to_input(tall, Recipe(input_width=96, input_height=128))
    assert stretched.shape == (128, 96) and stretched == pytest.approx(1.0, abs=1e-6)


def test_old_cards_without_resize_load_as_stretch_and_pad_round_trips() -> None:
    d = PAD.to_dict()
    assert d["resize"] == "pad"
    assert Recipe.from_dict(json.loads(json.dumps(d))) == PAD
    old = {k: v for k, v in d.items() if k != "resize"}
    assert Recipe.from_dict(old).resize == "stretch"


def test_unknown_resize_is_refused() -> None:
    with pytest.raises(ValueError, match="resize must be one of stretch, pad"):
        Recipe(resize="crop")


# --------------------------------------------------------------------------- heatmaps


def _hot(rows: int, cols: int, r: int, c: int) -> np.ndarray:
    cam = np.zeros((rows, cols), np.float32)
    cam[r, c] = 1.0
    return cam


def test_heatmap_of_a_padded_landscape_image_registers_with_the_radiograph() -> None:
    """A 4x3 CAM (input 96x128) hot in cell (row 1, col 1): that cell covers input rows 32..64
    = the top half of the content box (0, 32, 96, 64) of a 300x200 image, so the heat lies in
    the radiograph's top half, centred at about (150, 50). A plain stretch would put it at
    y ~ 75."""
    cols, rows = 300, 200
    box = PAD.content_box(cols, rows)
    cam = _hot(4, 3, 1, 1)
    heat = cam_to_heatmap(cam, 1.0, PAD.input_size, (cols, rows), box)
    assert heat.shape == (rows, cols) and heat.dtype == np.float32
    y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
    assert abs(x - 150) <= 4 and abs(y - 50) <= 4
    assert float(heat[150:].max()) < 0.3  # the bottom half of the radiograph stays cool
    x_peak, y_peak = cam_peak(cam, PAD.input_size, (cols, rows), box)
    assert abs(x_peak - 150) <= 4 and abs(y_peak - 50) <= 4
    # The same CAM read as a stretched input puts the peak lower: the box matters.
    x_s, y_s = cam_peak(cam, PAD.input_size, (cols, rows))
    assert abs(x_s - 150) <= 4 and abs(y_s - 75) <= 4


def test_cam_peak_is_in_original_pixels_x_then_y() -> None:
    """Non-square everything, so swapped axes would show: peak cell (row 3, col 0) of a 4x3
    CAM on a portrait image 300x600 (content box x 16..80 of 96, full height)."""
    cols, rows = 300, 600
    box = PAD.content_box(cols, rows)
    assert box == (16, 0, 64, 128)
    x, y = cam_peak(_hot(4, 3, 3, 0), PAD.input_size, (cols, rows), box)
    # the cell's hot plateau at the input's left edge is cut by the box at x = 16: peak at the
    # radiograph's left edge; row 3 covers input rows 96..128 -> radiograph rows 450..600
    assert 0.0 <= x <= 8.0 and 440.0 <= y < 600.0


def test_cam_peak_stays_inside_the_image_and_is_not_clipped() -> None:
    cols, rows = 300, 200
    box = PAD.content_box(cols, rows)
    cam = np.zeros((4, 3), np.float32)
    cam[0, :] = 6.0  # row 0 lies on the padding above the landscape image: never the peak
    cam[2, 2] = 5.0  # far above the heatmap scale (1.0) as well: the raw maximum still wins
    cam[1, 0] = 1.5
    x, y = cam_peak(cam, PAD.input_size, (cols, rows), box)
    assert 0.0 <= x <= cols - 1 and 0.0 <= y <= rows - 1
    assert x > 200 and y > 100  # cell (2, 2): right third, lower half of the content
    heat = cam_to_heatmap(cam, 1.0, PAD.input_size, (cols, rows), box)
    assert float(heat.max()) == 1.0 and float(heat.min()) >= 0.0
