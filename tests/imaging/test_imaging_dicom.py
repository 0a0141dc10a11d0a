"""Reading DICOM: polarity, geometry, bit depths, LUTs, compression, multi-frame, metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from tests.helpers.dicom_factory import (
    BACKGROUND,
    BONE,
    COLS,
    ROWS,
    bone_brighter,
    phantom,
    write_dicom,
)
from wristviewer.imaging import CorruptImageError, ImagingError, View, read

PYDICOM_TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"

VARIANTS = {
    "mono2-8bit": dict(bits_stored=8),
    "mono2-12bit": dict(bits_stored=12),
    "mono2-16bit": dict(bits_stored=16),
    "mono1-12bit": dict(bits_stored=12, photometric="MONOCHROME1"),
    "mono1-16bit": dict(bits_stored=16, photometric="MONOCHROME1"),
    "signed-16bit": dict(bits_stored=16, signed=True),
    "signed-12bit-rescaled": dict(bits_stored=12, signed=True, rescale=(0.5, -1024.0)),
    "unsigned-rescaled": dict(bits_stored=12, rescale=(2.0, -1000.0)),
    "12bit-in-16bit-header": dict(bits_stored=16, image01=phantom() * 4095 / 65535),
    "rle": dict(bits_stored=12, transfer_syntax=RLELossless),
    "rle-mono1": dict(bits_stored=16, transfer_syntax=RLELossless, photometric="MONOCHROME1"),
    "jpeg-ls": dict(bits_stored=12, transfer_syntax=JPEGLSLossless),
    "jpeg-2000": dict(bits_stored=12, transfer_syntax=JPEG2000Lossless),
    "jpeg-2000-16bit": dict(bits_stored=16, transfer_syntax=JPEG2000Lossless),
    "jpeg-baseline": dict(bits_stored=8, transfer_syntax=JPEGBaseline8Bit),
    "rgb": dict(rgb=True),
    "ybr-jpeg-baseline": dict(rgb=True, transfer_syntax=JPEGBaseline8Bit),
    "multi-frame": dict(bits_stored=12, frames=3),
    "multi-frame-rle": dict(bits_stored=12, frames=2, transfer_syntax=RLELossless),
    "no-preamble": dict(bits_stored=12, preamble=False),
    "presentation-inverse": dict(
        bits_stored=12, photometric="MONOCHROME1", presentation_lut_shape="IDENTITY"
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_encoding_reads_bone_bright_upright(tmp_path: Path, variant: str) -> None:
    path = write_dicom(tmp_path / "image.dcm", **VARIANTS[variant])
    r = read(path)
    assert r.format == "DICOM"
    assert r.pixels.dtype == np.float32
    assert (r.rows, r.cols) == (ROWS, COLS) and r.pixels.shape == (ROWS, COLS)
    assert 0.0 <= float(r.pixels.min()) and float(r.pixels.max()) <= 1.0
    assert bone_brighter(r.pixels), f"bone not brighter: {variant}"
    # the bone rectangle sits top-left: no flip, no transpose
    top_left = r.pixels[: ROWS // 2, : COLS // 2].mean()
    bottom_right = r.pixels[ROWS // 2 :, COLS // 2 :].mean()
    assert top_left > bottom_right + 0.2


def test_lossless_12bit_keeps_full_precision(tmp_path: Path) -> None:
    image = np.linspace(0.0, 1.0, ROWS * COLS).reshape(ROWS, COLS)
    r = read(write_dicom(tmp_path / "a.dcm", image, bits_stored=12))
    expected = np.rint(image * 4095) / 4095
    np.testing.assert_allclose(r.pixels, expected, atol=1e-6)
    assert len(np.unique(r.pixels)) > 2000  # far more than 8 bits of levels survive
    assert r.bits_stored == 12


def test_mono1_inverts_values_and_mirrors_window(tmp_path: Path) -> None:
    image = phantom()
    r2 = read(write_dicom(tmp_path / "m2.dcm", image, bits_stored=12, window=(1000, 500)))
    r1 = read(
        write_dicom(
            tmp_path / "m1.dcm",
            image,
            bits_stored=12,
            photometric="MONOCHROME1",
            window=(3095, 500),
        )
    )
    np.testing.assert_allclose(r1.pixels, r2.pixels, atol=1.01 / 4095)  # one rounding step
    # LINEAR: centre c - 0.5 and width w - 1 (DICOM C.11.2.1.2), on the 0..1 scale of 0..4095
    assert r2.window.center == pytest.approx(999.5 / 4095)
    assert r2.window.width == pytest.approx(499 / 4095)
    assert r1.window.center == pytest.approx(1 - 3094.5 / 4095)
    assert r1.window.width == pytest.approx(499 / 4095)


def test_monochrome2_with_inverse_presentation_lut_is_inverted(tmp_path: Path) -> None:
    image = phantom()
    r = read(
        write_dicom(
            tmp_path / "a.dcm",
            1.0 - image,
            bits_stored=12,
            presentation_lut_shape="INVERSE",
        )
    )
    assert bone_brighter(r.pixels)


def test_rescale_maps_header_range_not_data_range(tmp_path: Path) -> None:
    # stored 0..4095 with slope 2, intercept -1000 -> -1000..7190; pixels are relative to that
    image = phantom()
    r = read(write_dicom(tmp_path / "a.dcm", image, bits_stored=12, rescale=(2.0, -1000.0)))
    stored = np.rint(image * 4095)
    np.testing.assert_allclose(r.pixels, stored / 4095, atol=1e-6)
    assert float(r.pixels.min()) > 0.05  # not stretched to the data's own min


def test_window_centre_width_in_rescaled_units(tmp_path: Path) -> None:
    r = read(
        write_dicom(
            tmp_path / "a.dcm",
            bits_stored=12,
            rescale=(1.0, -1024.0),
            window=(500.0, 1001.0),
            voi_function="LINEAR_EXACT",
        )
    )
    # modality range -1024..3071; LINEAR_EXACT keeps c and w as given
    assert r.window.function == "LINEAR_EXACT"
    assert r.window.center == pytest.approx((500 + 1024) / 4095)
    assert r.window.width == pytest.approx(1001 / 4095)


def test_sigmoid_window(tmp_path: Path) -> None:
    r = read(
        write_dicom(tmp_path / "a.dcm", bits_stored=12, window=(2048, 1024), voi_function="SIGMOID")
    )
    assert r.window.function == "SIGMOID"
    assert r.window.center == pytest.approx(2048 / 4095)


def test_voi_lut_sequence_becomes_equivalent_window(tmp_path: Path) -> None:
    # LUT over inputs 1000..2999, flat until 1500, rising to its top at 2500
    lut = np.clip(np.arange(2000) - 500, 0, 1000) * 60
    r = read(write_dicom(tmp_path / "a.dcm", bits_stored=12, voi_lut=(1000, lut)))
    assert r.window.function == "LINEAR"
    assert r.window.center == pytest.approx(2000 / 4095)
    assert r.window.width == pytest.approx(1000 / 4095)


def test_no_window_gives_full_range(tmp_path: Path) -> None:
    r = read(write_dicom(tmp_path / "a.dcm", bits_stored=12))
    assert (r.window.center, r.window.width) == (0.5, 1.0)


def test_12bit_data_in_16bit_header_is_stretched(tmp_path: Path) -> None:
    r = read(write_dicom(tmp_path / "a.dcm", phantom() * 4095 / 65535, bits_stored=16))
    assert float(r.pixels.max()) == pytest.approx(1.0)
    assert float(r.pixels.min()) == pytest.approx(0.0)
    assert r.bits_stored == 16  # as in the header


def test_multi_frame_shows_first_frame_and_counts(tmp_path: Path) -> None:
    image = phantom()
    r = read(write_dicom(tmp_path / "a.dcm", image, bits_stored=12, frames=3))
    assert r.frame_count == 3
    assert r.pixels.shape == (ROWS, COLS)
    np.testing.assert_allclose(r.pixels, np.rint(image * 4095) / 4095, atol=1e-6)


def test_recognised_by_content_without_extension(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "IM000001")
    assert read(path).format == "DICOM"
    disguised = write_dicom(tmp_path / "image.png")  # DICOM with a misleading extension
    assert read(disguised).format == "DICOM"


def test_transfer_syntax_recorded(tmp_path: Path) -> None:
    assert (
        read(write_dicom(tmp_path / "a", bits_stored=12)).transfer_syntax == ExplicitVRLittleEndian
    )
    r = read(write_dicom(tmp_path / "b", bits_stored=12, transfer_syntax=JPEG2000Lossless))
    assert r.transfer_syntax == JPEG2000Lossless


def test_metadata_from_tags(tmp_path: Path) -> None:
    path = write_dicom(
        tmp_path / "a.dcm",
        view_position="PA",
        laterality="L",
        pixel_spacing=(0.143, 0.15),
        study_uid="1.2.3.4",
        series_uid="1.2.3.4.5",
    )
    r = read(path)
    assert r.view is View.PA
    assert r.laterality == "L"
    assert r.pixel_spacing_mm == pytest.approx((0.143, 0.15))
    assert r.study_uid == "1.2.3.4" and r.series_uid == "1.2.3.4.5"
    assert r.body_part == "WRIST"
    assert r.sop_instance_uid


def test_imager_pixel_spacing_is_the_fallback(tmp_path: Path) -> None:
    r = read(write_dicom(tmp_path / "a.dcm", imager_pixel_spacing=(0.1, 0.1)))
    assert r.pixel_spacing_mm == pytest.approx((0.1, 0.1))
    assert read(write_dicom(tmp_path / "b.dcm")).pixel_spacing_mm is None


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (dict(view_position="AP"), View.AP),
        (dict(view_position="LL"), View.LATERAL),
        (dict(view_position="LATERAL"), View.LATERAL),
        (dict(view_position="OBLIQUE"), View.OBLIQUE),
        (dict(view_code=("272479007", "SCT", "postero-anterior")), View.PA),
        (dict(view_code=("R-10206", "SRT", "antero-posterior")), View.AP),
        (dict(view_code=("399067008", "SCT", "lateral")), View.LATERAL),
        (dict(view_code=("R-102C1", "SRT", "oblique")), View.OBLIQUE),
        (dict(view_code=("99999", "99LOCAL", "medial oblique")), View.OBLIQUE),
        (dict(series_description="Wrist LAT"), View.LATERAL),
        (dict(series_description="Hand PA and lateral"), View.UNKNOWN),
        (dict(image_comments="oblique view"), View.OBLIQUE),
        ({}, View.UNKNOWN),
    ],
)
def test_view_from_dicom_tags(tmp_path: Path, kwargs: dict, expected: View) -> None:
    assert read(write_dicom(tmp_path / "IM0001", **kwargs)).view is expected


def test_file_name_hint_when_tags_are_silent(tmp_path: Path) -> None:
    r = read(write_dicom(tmp_path / "right_wrist_obl.dcm"))
    assert r.view is View.OBLIQUE
    assert r.laterality == "R"
    # tags win over the file name
    assert (
        read(write_dicom(tmp_path / "wrist_PA.dcm", view_position="LATERAL")).view is View.LATERAL
    )


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
        "JPEG2000.dcm",
        "JPGExtended.dcm",
        "SC_rgb_rle_2frame.dcm",
        "examples_ybr_color.dcm",
        "examples_palette.dcm",
    ],
)
def test_pydicom_bundled_samples(name: str) -> None:
    path = PYDICOM_TEST_FILES / name
    if not path.is_file():
        pytest.fail(f"{name} is not bundled with this pydicom wheel")
    r = read(path)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert (r.rows, r.cols) == (ds.Rows, ds.Columns)
    assert r.pixels.dtype == np.float32
    assert 0.0 <= float(r.pixels.min()) <= float(r.pixels.max()) <= 1.0
    assert float(r.pixels.max()) - float(r.pixels.min()) > 0.05  # a picture, not a blank
    assert r.frame_count == int(ds.get("NumberOfFrames", 1) or 1)


def test_pydicom_mr_sample_matches_its_own_decoding() -> None:
    """Our 0..1 pixels are pydicom's values mapped linearly (no hidden reordering or clipping)."""
    path = PYDICOM_TEST_FILES / "MR_small.dcm"
    ds = pydicom.dcmread(path)
    r = read(path)
    raw = ds.pixel_array.astype(np.float64)
    corr = np.corrcoef(raw.ravel(), r.pixels.ravel())[0, 1]
    assert corr > 0.9999
    assert BONE and BACKGROUND  # phantom geometry is importable for other test folders


# --- values that cannot be trusted: refused, repaired or ignored with a sentence ---------------


@pytest.mark.parametrize(
    "slope, intercept, words",
    [
        ("inf", "0", ("Rescale Slope", "inf", "finite")),
        ("NaN", "0", ("Rescale Slope", "nan", "finite")),
        ("1", "-inf", ("Rescale Intercept", "finite")),
        ("0", "0", ("Rescale Slope is 0",)),
        ("1e308", "0", ("not finite",)),  # finite slope, infinite values
    ],
)
def test_non_finite_rescale_is_refused(
    tmp_path: Path, slope: str, intercept: str, words: tuple[str, ...]
) -> None:
    path = write_dicom(
        tmp_path / "rescaled.dcm",
        bits_stored=12,
        extra={"RescaleSlope": slope, "RescaleIntercept": intercept},
    )
    with pytest.raises(CorruptImageError) as info:
        read(path)
    assert info.value.path == path
    for word in words:
        assert word in info.value.reason


def test_non_finite_window_falls_back_to_the_full_range(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "w.dcm", extra={"WindowCenter": "inf", "WindowWidth": "NaN"})
    r = read(path)
    assert (r.window.center, r.window.width) == (0.5, 1.0)


@pytest.mark.parametrize("bad", [("inf", "0.1"), ("NaN", "0.1"), ("0", "0.1"), ("-0.1", "0.1")])
def test_unusable_pixel_spacing_is_ignored_with_a_warning(
    tmp_path: Path, bad: tuple[str, str]
) -> None:
    path = write_dicom(tmp_path / "s.dcm", extra={"PixelSpacing": list(bad)})
    r = read(path)
    assert r.pixel_spacing_mm is None
    assert len(r.warnings) == 1 and "Pixel Spacing" in r.warnings[0]
    # the imager's spacing still serves when the plate's is unusable
    path = write_dicom(
        tmp_path / "s2.dcm", extra={"PixelSpacing": list(bad)}, imager_pixel_spacing=(0.2, 0.2)
    )
    assert read(path).pixel_spacing_mm == (0.2, 0.2)


def test_multi_valued_text_tags_are_joined(tmp_path: Path) -> None:
    path = write_dicom(
        tmp_path / "m.dcm",
        extra={"SeriesDescription": ["Wrist", "PA"], "BodyPartExamined": ["WRIST", "HAND"]},
    )
    r = read(path)
    assert r.view is View.PA and r.body_part == "WRIST\\HAND"
    two_views = write_dicom(tmp_path / "m2.dcm", extra={"SeriesDescription": ["PA", "LATERAL"]})
    assert read(two_views).view is View.UNKNOWN  # two views named: no guess
    position = write_dicom(tmp_path / "m3.dcm", extra={"ViewPosition": ["LL", "LL"]})
    assert read(position).view is View.UNKNOWN


def test_two_frames_without_number_of_frames_are_refused(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "two.dcm", frames=2)
    ds = pydicom.dcmread(path)
    del ds.NumberOfFrames
    ds.save_as(path)
    with pytest.raises(CorruptImageError) as info:
        read(path)
    assert "Number of Frames" in info.value.reason and "2 times" in info.value.reason


@pytest.mark.parametrize(
    "changes, words",
    [
        # 16-bit data said to be 8-bit
        ({"BitsAllocated": 8, "BitsStored": 8, "HighBit": 7}, ("2 times", "Bits Allocated")),
        ({"Rows": 2}, ("times", "Rows")),
        ({"BitsAllocated": 12}, ("Bits Allocated is 12",)),
        ({"BitsStored": 20}, ("Bits Stored is 20",)),
        ({"SamplesPerPixel": 2}, ("Samples per Pixel is 2",)),
    ],
)
def test_a_header_that_does_not_describe_the_data_is_refused(
    tmp_path: Path, changes: dict, words: tuple[str, ...]
) -> None:
    path = write_dicom(tmp_path / "h.dcm", bits_stored=12)
    ds = pydicom.dcmread(path)
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    ds.save_as(path)
    with pytest.raises(CorruptImageError) as info:
        read(path)
    for word in words:
        assert word in info.value.reason


def test_a_compressed_frame_of_another_size_than_the_header_is_refused(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "j.dcm", bits_stored=8, transfer_syntax=JPEGBaseline8Bit)
    ds = pydicom.dcmread(path)
    ds.Rows = ROWS - 8
    ds.save_as(path)
    with pytest.raises(ImagingError) as info:
        read(path)
    assert info.value.path == path
