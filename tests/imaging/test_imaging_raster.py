"""Reading PNG, JPEG and TIFF: bit depth, colour, alpha, EXIF orientation, FracAtlas radiographs."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.dicom_factory import COLS, ROWS, bone_brighter, phantom
from wristviewer.imaging import CorruptImageError, View, read
from wristviewer.imaging.raster import apply_orientation, exif_orientation


def _write(path: Path, array: np.ndarray) -> Path:
    ok, buf = cv2.imencode(path.suffix, array)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def _upright(pixels: np.ndarray) -> bool:
    return (
        pixels.shape == (ROWS, COLS)
        and pixels[: ROWS // 2, : COLS // 2].mean() > pixels[ROWS // 2 :, COLS // 2 :].mean() + 0.2
    )


@pytest.mark.parametrize(
    ("name", "dtype", "bits"),
    [
        ("p.png", np.uint8, 8),
        ("p.png", np.uint16, 16),
        ("p.jpg", np.uint8, 8),
        ("p.tif", np.uint8, 8),
        ("p.tif", np.uint16, 16),
    ],
)
def test_grey_rasters(tmp_path: Path, name: str, dtype: type, bits: int) -> None:
    top = np.iinfo(dtype).max
    path = _write(tmp_path / name, np.rint(phantom() * top).astype(dtype))
    r = read(path)
    assert r.format == {"png": "PNG", "jpg": "JPEG", "tif": "TIFF"}[name.split(".")[1]]
    assert r.bits_stored == bits
    assert r.photometric == "MONOCHROME2"
    assert r.pixels.dtype == np.float32
    assert bone_brighter(r.pixels) and _upright(r.pixels)
    assert r.transfer_syntax is None and r.frame_count == 1


def test_16bit_png_keeps_precision(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, ROWS * COLS).reshape(ROWS, COLS).astype(np.uint16)
    r = read(_write(tmp_path / "ramp.png", ramp))
    np.testing.assert_allclose(r.pixels, ramp / 65535.0, atol=1e-6)
    assert len(np.unique(r.pixels)) > 3000


def test_12bit_values_in_16bit_png_are_stretched(tmp_path: Path) -> None:
    r = read(_write(tmp_path / "p.png", np.rint(phantom() * 4095).astype(np.uint16)))
    assert float(r.pixels.max()) == pytest.approx(1.0)
    assert bone_brighter(r.pixels)


def test_grey_stored_as_rgb_collapses_exactly(tmp_path: Path) -> None:
    grey = np.rint(phantom() * 255).astype(np.uint8)
    r = read(_write(tmp_path / "p.png", np.dstack([grey, grey, grey])))
    np.testing.assert_allclose(r.pixels, grey / 255.0, atol=1e-6)
    assert r.photometric == "RGB"


def test_alpha_dropped_and_true_colour_made_grey(tmp_path: Path) -> None:
    grey = np.rint(phantom() * 255).astype(np.uint8)
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 40)])
    assert bone_brighter(read(_write(tmp_path / "a.png", rgba)).pixels)
    tinted = np.dstack([grey // 2, grey, np.clip(grey.astype(int) + 30, 0, 255).astype(np.uint8)])
    r = read(_write(tmp_path / "c.png", tinted))  # BGR on disk order is OpenCV's
    expected = (
        0.114 * (grey // 2) + 0.587 * grey + 0.299 * np.clip(grey.astype(int) + 30, 0, 255)
    ) / 255
    np.testing.assert_allclose(r.pixels, expected, atol=1e-4)


def _jpeg_with_orientation(image: np.ndarray, orientation: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 98])
    data = buf.tobytes()
    ifd = (
        struct.pack("<H", 1)
        + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
        + struct.pack("<I", 0)
    )
    payload = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + app1 + data[2:]


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_applied(tmp_path: Path, orientation: int) -> None:
    upright = np.rint(phantom() * 255).astype(np.uint8)
    # store the image so that applying ``orientation`` brings it upright
    inverse = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}[orientation]
    stored = np.ascontiguousarray(apply_orientation(upright, inverse))
    data = _jpeg_with_orientation(stored, orientation)
    path = tmp_path / "oriented.jpg"
    path.write_bytes(data)
    assert exif_orientation(data) == orientation
    r = read(path)
    assert _upright(r.pixels), f"orientation {orientation} not applied"


def test_orientation_table_is_consistent() -> None:
    a = np.arange(6).reshape(2, 3)
    assert np.array_equal(apply_orientation(a, 6), np.rot90(a, -1))  # 90° clockwise
    for o, inverse in {2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}.items():
        assert np.array_equal(apply_orientation(apply_orientation(a, inverse), o), a)


def test_view_and_side_from_file_name(tmp_path: Path) -> None:
    image = np.rint(phantom() * 255).astype(np.uint8)
    cases = {
        "wrist_PA.png": (View.PA, None),
        "Left-Wrist-Lateral.png": (View.LATERAL, "L"),
        "R_obl.png": (View.OBLIQUE, "R"),
        "handAP.png": (View.AP, None),
        "IMG0001.png": (View.UNKNOWN, None),
        "pa_and_lat.png": (View.UNKNOWN, None),
        "lateral_left_right.png": (View.LATERAL, None),
    }
    for name, (view, side) in cases.items():
        r = read(_write(tmp_path / name, image))
        assert (r.view, r.laterality) == (view, side), name


def _manifest(fracatlas: Path) -> list[dict[str, str]]:
    with (fracatlas / "manifest.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _centre_vs_border(pixels: np.ndarray) -> tuple[float, float]:
    rows, cols = pixels.shape
    centre = pixels[rows // 4 : 3 * rows // 4, cols // 4 : 3 * cols // 4]
    band = max(rows, cols) // 20
    border = np.concatenate(
        [
            pixels[:band].ravel(),
            pixels[-band:].ravel(),
            pixels[:, :band].ravel(),
            pixels[:, -band:].ravel(),
        ]
    )
    return float(centre.mean()), float(np.median(border))


def test_fracatlas_rgb_stored_greyscale_jpeg(fracatlas: Path) -> None:
    rows = _manifest(fracatlas)
    checked = 0
    for row in rows:
        path = fracatlas / row["image"]
        stored = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if stored.ndim != 3 or max(stored.shape) > 1000:
            continue
        r = read(path)
        assert r.format == "JPEG" and r.bits_stored == 8
        assert (r.rows, r.cols) == stored.shape[:2]
        assert r.pixels.ndim == 2
        np.testing.assert_allclose(
            r.pixels, cv2.cvtColor(stored, cv2.COLOR_BGR2GRAY) / 255.0, atol=1.0 / 255 + 1e-6
        )
        centre, border = _centre_vs_border(r.pixels)
        assert centre > border, f"{path.name}: bone/soft tissue should be brighter than the border"
        checked += 1
        if checked == 5:
            break
    assert checked == 5


def test_fracatlas_full_size_radiograph(fracatlas: Path) -> None:
    path = fracatlas / "images" / "IMG0000019.jpg"
    r = read(path)
    assert (r.rows, r.cols) == (2880, 2304)  # portrait, non-square: not transposed
    assert r.pixels.dtype == np.float32 and r.bits_stored == 8
    centre, border = _centre_vs_border(r.pixels)
    assert centre > border + 0.05


def _float_tiff(path: Path, values: np.ndarray) -> Path:
    ok, buf = cv2.imencode(".tiff", values.astype(np.float32))
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def test_float_tiff_nan_and_infinity_are_repaired_with_a_warning(tmp_path: Path) -> None:
    values = np.linspace(0.0, 10.0, 48 * 64, dtype=np.float32).reshape(48, 64)
    values[0, :3] = (np.nan, np.inf, -np.inf)
    r = read(_float_tiff(tmp_path / "f.tiff", values))
    assert np.isfinite(r.pixels).all() and r.pixels.dtype == np.float32
    assert float(r.pixels.min()) == 0.0 and float(r.pixels.max()) == 1.0
    assert r.pixels[0, 0] == 0.0 and r.pixels[-1, -1] == 1.0
    assert len(r.warnings) == 1 and "3 pixel value(s) are not finite" in r.warnings[0]


def test_float_tiff_without_a_finite_pixel_is_refused(tmp_path: Path) -> None:
    path = _float_tiff(tmp_path / "nan.tiff", np.full((8, 8), np.nan))
    with pytest.raises(CorruptImageError, match="finite"):
        read(path)
