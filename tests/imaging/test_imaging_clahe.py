"""The CLAHE contract: the clip limit means the same thing at every bit depth."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.dicom_factory import write_dicom
from wristviewer.imaging import ClaheSettings, apply_clahe, clahe, read
from wristviewer.imaging.enhance import effective_bits


@pytest.fixture(scope="module")
def radiograph8(fracatlas: Path) -> np.ndarray:
    """A real 8-bit radiograph, reduced to keep the test fast."""
    image = cv2.imread(str(fracatlas / "images" / "IMG0000019.jpg"), cv2.IMREAD_GRAYSCALE)
    return cv2.resize(image, (576, 720), interpolation=cv2.INTER_AREA)


def test_8bit_content_same_as_8_or_16_bit(radiograph8: np.ndarray) -> None:
    as8 = radiograph8.astype(np.float32) / 255.0
    as16 = (radiograph8.astype(np.uint16) * 257).astype(np.float32) / 65535.0
    out8 = clahe(as8, clip_limit=2.0, tile_grid=(8, 8), bits=8)
    out16 = clahe(as16, clip_limit=2.0, tile_grid=(8, 8), bits=16)
    assert np.abs(out8 - out16).max() <= 1.0 / 255 + 1e-6
    assert float(np.abs(out8 - as8).mean()) > 0.01  # CLAHE did change the picture


def test_8bit_content_read_from_a_16bit_dicom(tmp_path: Path, radiograph8: np.ndarray) -> None:
    image = radiograph8[260:460, 170:410]  # central: bone and soft tissue
    path = write_dicom(tmp_path / "a.dcm", image.astype(np.float64) / 255.0, bits_stored=16)
    r = read(path)
    assert r.bits_stored == 16
    out16 = clahe(r.pixels, bits=r.bits_stored)
    out8 = clahe(image.astype(np.float32) / 255.0, bits=8)
    assert np.abs(out8 - out16).max() <= 1.0 / 255 + 1e-6


def test_12bit_clip_limit_matches_8bit_behaviour() -> None:
    """The same picture at 8 and at 12 bits gets about the same equalisation.

    Big enough that OpenCV's whole-number clip per histogram bin is not rounded away
    (tiles of 128 x 160 pixels: 10 counts per 4096-level bin at clip limit 2).
    """
    rng = np.random.default_rng(3)
    smooth = cv2.resize(
        rng.random((16, 20)).astype(np.float32), (1280, 1024), interpolation=cv2.INTER_CUBIC
    )
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    as8 = np.rint(smooth * 255) / 255
    as12 = np.rint(smooth * 4095) / 4095
    out8 = clahe(as8.astype(np.float32), bits=8)
    out12 = clahe(as12.astype(np.float32), bits=12)
    assert float(np.abs(out8 - out12).mean()) < 0.01
    # without the clip-limit rescaling, 12-bit data would be equalised quite differently
    naive = (
        cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(
            np.rint(as12 * 4095).astype(np.uint16)
        )
        / 65535.0
    )
    assert float(np.abs(out8 - naive).mean()) > 2 * float(np.abs(out8 - out12).mean())


def test_effective_bits() -> None:
    rng = np.random.default_rng(4)
    levels8 = rng.integers(0, 256, (64, 64)) / 255.0
    levels12 = rng.integers(0, 4096, (64, 64)) / 4095.0
    levels16 = rng.integers(0, 65536, (64, 64)) / 65535.0
    assert effective_bits(levels8.astype(np.float32), 16) == 8
    assert effective_bits(levels12.astype(np.float32), 16) == 12
    assert effective_bits(levels12.astype(np.float32), 12) == 12
    assert effective_bits(levels16.astype(np.float32), 16) == 16
    assert effective_bits(levels16.astype(np.float32), 8) == 8


def test_apply_clahe_disabled_returns_pixels() -> None:
    x = np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64)
    assert np.array_equal(apply_clahe(x, ClaheSettings(enabled=False), bits=8), x)
    out = apply_clahe(x, ClaheSettings(clip_limit=3.0, tile_grid=(4, 4)), bits=12)
    assert out.dtype == np.float32 and out.shape == x.shape
