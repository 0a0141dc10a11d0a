"""Bad input: a typed error whose message names the file and the reason."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import MPEG2MPML, JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless, RLELossless

from tests.helpers.dicom_factory import (
    write_bad_deflate,
    write_basic_text_sr,
    write_dicom,
    write_dicomdir_like,
    write_rle_overrun,
)
from tests.helpers.hostile import deny_stat
from wristviewer.imaging import (
    CorruptImageError,
    DecoderFailureError,
    EmptyFileError,
    FileAccessError,
    ImageTooLargeError,
    ImagingError,
    NonImageDicomError,
    NotAnImageError,
    TruncatedPixelDataError,
    UnsupportedTransferSyntaxError,
    load_studies,
    read,
)
from wristviewer.imaging.scaling import MAX_PIXELS, MAX_PIXELS_ENV


def _raises(path: Path, kind: type[ImagingError], *words: str) -> ImagingError:
    with pytest.raises(kind) as info:
        read(path)
    err = info.value
    assert str(path) in str(err), "the message names the file"
    assert err.path == path
    for word in words:
        assert word in err.reason, f"{word!r} not in {err.reason!r}"
    return err


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.dcm"
    path.write_bytes(b"")
    _raises(path, EmptyFileError, "empty")


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("patient list\n")
    _raises(path, NotAnImageError, "not an image")


def test_random_binary_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(bytes(range(256)) * 4)
    _raises(path, NotAnImageError, "not an image")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    _raises(tmp_path / "nope.dcm", FileAccessError, "does not exist")
    _raises(tmp_path, FileAccessError, "folder")


def test_truncated_native_pixel_data(tmp_path: Path) -> None:
    full = write_dicom(tmp_path / "full.dcm", bits_stored=12).read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(full[:-1000])
    _raises(path, TruncatedPixelDataError, "truncated")


@pytest.mark.parametrize("ts", [RLELossless, JPEGLSLossless, JPEG2000Lossless])
def test_truncated_compressed_pixel_data(tmp_path: Path, ts: str) -> None:
    noise = np.random.default_rng(1).random((120, 160))
    full = write_dicom(
        tmp_path / "full.dcm", noise, bits_stored=12, transfer_syntax=ts
    ).read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(full[: len(full) * 2 // 3])
    with pytest.warns(UserWarning):  # pydicom warns about the missing sequence delimiter
        _raises(path, TruncatedPixelDataError, "truncated")


def test_truncated_header(tmp_path: Path) -> None:
    full = write_dicom(tmp_path / "full.dcm").read_bytes()
    path = tmp_path / "cut"
    path.write_bytes(full[:200])
    _raises(path, TruncatedPixelDataError, "truncated")


def test_structured_report_is_non_image(tmp_path: Path) -> None:
    _raises(
        write_basic_text_sr(tmp_path / "report.dcm"),
        NonImageDicomError,
        "Basic Text SR",
        "not an image",
    )


def test_dicomdir_is_non_image(tmp_path: Path) -> None:
    _raises(write_dicomdir_like(tmp_path / "DICOMDIR"), NonImageDicomError, "DICOMDIR")


def test_transfer_syntax_without_any_decoder(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "video.dcm", bits_stored=8)
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = MPEG2MPML
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" * 8])
    ds["PixelData"].VR = "OB"
    ds.save_as(path)
    _raises(path, UnsupportedTransferSyntaxError, "MPEG2", "cannot decode")


def test_missing_decoder_plugin_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wristviewer.imaging.dicom as dicom_module

    fake = SimpleNamespace(
        is_available=False,
        missing_dependencies=["pylibjpeg - requires pylibjpeg>=2.0 and pylibjpeg-openjpeg>=2.0"],
    )
    monkeypatch.setattr(dicom_module, "get_decoder", lambda ts: fake)
    path = write_dicom(tmp_path / "j2k.dcm", bits_stored=12, transfer_syntax=JPEG2000Lossless)
    _raises(path, UnsupportedTransferSyntaxError, "JPEG 2000", "install", "pylibjpeg-openjpeg")


def test_dicom_dimensions_checked_before_decoding(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "huge.dcm", bits_stored=8)
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = 30000, 30000  # the pixel data stays tiny: decoding would fail
    ds.save_as(path)
    _raises(path, ImageTooLargeError, "30000", "limit")


def test_png_dimensions_checked_before_decoding(tmp_path: Path) -> None:
    ok, buf = cv2.imencode(".png", np.zeros((8, 8), np.uint8))
    data = bytearray(buf.tobytes())
    data[16:24] = (25000).to_bytes(4, "big") + (100).to_bytes(4, "big")  # IHDR width, height
    path = tmp_path / "huge.png"
    path.write_bytes(bytes(data))
    _raises(path, ImageTooLargeError, "25000")


def test_jpeg_dimensions_checked_before_decoding(tmp_path: Path) -> None:
    ok, buf = cv2.imencode(".jpg", np.zeros((16, 16), np.uint8))
    data = bytearray(buf.tobytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (21000).to_bytes(2, "big") + (21000).to_bytes(2, "big")
    path = tmp_path / "huge.jpg"
    path.write_bytes(bytes(data))
    _raises(path, ImageTooLargeError, "21000")


def test_truncated_png_and_jpeg(tmp_path: Path) -> None:
    image = (np.random.default_rng(2).random((64, 80)) * 255).astype(np.uint8)
    for ext in (".png", ".jpg"):
        ok, buf = cv2.imencode(ext, image)
        data = buf.tobytes()
        path = tmp_path / f"cut{ext}"
        path.write_bytes(data[: len(data) // 2])
        _raises(path, TruncatedPixelDataError, "truncated")


def test_garbled_png_is_corrupt(tmp_path: Path) -> None:
    ok, buf = cv2.imencode(".png", np.zeros((32, 32), np.uint8))
    data = bytearray(buf.tobytes())
    data[40:60] = b"\x00" * 20  # damage the compressed stream, keep the header and IEND
    path = tmp_path / "bad.png"
    path.write_bytes(bytes(data))
    _raises(path, CorruptImageError, "PNG")


def test_every_error_is_an_imaging_error() -> None:
    for kind in (
        EmptyFileError,
        NotAnImageError,
        TruncatedPixelDataError,
        NonImageDicomError,
        UnsupportedTransferSyntaxError,
        ImageTooLargeError,
        FileAccessError,
        CorruptImageError,
        DecoderFailureError,
    ):
        err = kind("/data/x.dcm", "a reason")
        assert isinstance(err, ImagingError)
        assert str(err) == f"{Path('/data/x.dcm')}: a reason"


# --- one boundary: a decoder fault is one refused file -----------------------------------------


class FakePanic(BaseException):
    """Stands for pyo3_runtime.PanicException: a BaseException, not an Exception."""


def _png(path: Path) -> Path:
    ok, buf = cv2.imencode(".png", np.full((16, 24), 128, np.uint8))
    path.write_bytes(buf.tobytes())
    return path


def test_a_native_panic_in_the_rle_decoder_is_a_typed_error(tmp_path: Path) -> None:
    err = _raises(write_rle_overrun(tmp_path / "overrun.dcm"), CorruptImageError, "decode")
    assert isinstance(err, DecoderFailureError)
    assert isinstance(err.__cause__, BaseException)


def test_a_deflate_stream_that_does_not_inflate_is_a_typed_error(tmp_path: Path) -> None:
    _raises(write_bad_deflate(tmp_path / "deflated.dcm"), CorruptImageError, "DICOM")


@pytest.mark.parametrize(
    "failure", [FakePanic("boom"), MemoryError(), RecursionError("deep"), OSError("odd")]
)
def test_any_failure_inside_a_decoder_becomes_an_imaging_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    import wristviewer.imaging.dicom as dicom_module
    import wristviewer.imaging.raster as raster_module

    def fail(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(dicom_module, "pixel_array", fail)
    monkeypatch.setattr(raster_module.cv2, "imdecode", fail)
    for path in (write_dicom(tmp_path / "a.dcm"), _png(tmp_path / "b.png")):
        with pytest.raises(ImagingError) as info:
            read(path)
        assert info.value.path == path and str(path) in str(info.value)
        assert info.value.__cause__ is failure


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_stopping_the_program_passes_through_the_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: type[BaseException]
) -> None:
    import wristviewer.imaging.dicom as dicom_module

    def fail(*args: object, **kwargs: object) -> None:
        raise stop()

    monkeypatch.setattr(dicom_module, "pixel_array", fail)
    with pytest.raises(stop):
        read(write_dicom(tmp_path / "a.dcm"))


def test_a_panicking_file_is_one_skip_and_the_folder_opens(tmp_path: Path) -> None:
    write_rle_overrun(tmp_path / "bad.dcm", study_uid="1.2.3")
    write_dicom(tmp_path / "good.dcm", study_uid="1.2.3", view_position="PA")
    write_bad_deflate(tmp_path / "deflated.dcm")
    studies, skipped = load_studies([tmp_path])
    assert [r.path.name for s in studies for r in s.views] == ["good.dcm"]
    assert sorted(s.path.name for s in skipped) == ["bad.dcm", "deflated.dcm"]
    assert all(s.reason for s in skipped)


# --- what a path is, before it is opened -------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_named_pipe_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    _raises(fifo, FileAccessError, "named pipe")


def test_broken_links_and_link_loops(tmp_path: Path) -> None:
    dangling = tmp_path / "dangling.dcm"
    dangling.symlink_to(tmp_path / "gone.dcm")
    _raises(dangling, FileAccessError, "broken link")
    loop = tmp_path / "loop.dcm"
    loop.symlink_to(loop)
    _raises(loop, FileAccessError, "loop")


def test_a_file_behind_an_unsearchable_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _png(tmp_path / "a.png")
    deny_stat(monkeypatch, path)
    _raises(path, FileAccessError, "permission denied")


def test_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/wrist_\xff\xfe_PA.png"
    ok, buf = cv2.imencode(".png", np.full((16, 24), 128, np.uint8))
    with open(raw, "wb") as fh:
        fh.write(buf.tobytes())
    for given in (raw, os.fsdecode(raw)):
        radiograph = read(given)
        assert os.fsencode(radiograph.path) == raw and radiograph.rows == 16


# --- the pixel limit, checked before decoding --------------------------------------------------


def _jpeg_claiming(path: Path, width: int, height: int) -> Path:
    ok, buf = cv2.imencode(".jpg", np.zeros((16, 16), np.uint8))
    data = bytearray(buf.tobytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    path.write_bytes(bytes(data))
    return path


def test_a_tiny_jpeg_claiming_400_megapixels_is_refused(tmp_path: Path) -> None:
    assert MAX_PIXELS < 20000 * 20000
    path = _jpeg_claiming(tmp_path / "bomb.jpg", 20000, 20000)
    err = _raises(path, ImageTooLargeError, "20000 × 20000", "400 megapixels", MAX_PIXELS_ENV)
    assert path.stat().st_size < 1000 and "limit" in err.reason


def test_the_pixel_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    png = _png(tmp_path / "small.png")  # 24 × 16 = 384 pixels
    assert read(png).rows == 16
    with pytest.raises(ImageTooLargeError):
        read(png, max_pixels=383)
    monkeypatch.setenv(MAX_PIXELS_ENV, "383")
    _raises(png, ImageTooLargeError, "24 × 16", "limit")
    monkeypatch.setenv(MAX_PIXELS_ENV, "384")
    assert read(png).cols == 24
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.warns(RuntimeWarning, match=MAX_PIXELS_ENV):
        assert read(png).cols == 24


def test_the_pixel_limit_counts_every_frame(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "cine.dcm", frames=3)  # 3 frames of 64 × 48
    assert read(path, max_pixels=3 * 64 * 48).frame_count == 3
    with pytest.raises(ImageTooLargeError, match="3 frames of 64 × 48"):
        read(path, max_pixels=3 * 64 * 48 - 1)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("ts", [JPEGBaseline8Bit, JPEGLSLossless, JPEG2000Lossless])
def test_a_compressed_frame_claiming_a_huge_size_is_refused_before_decoding(
    tmp_path: Path, ts: str
) -> None:
    """Decoders allocate from their own codestream header, not from Rows and Columns: a
    600-byte frame claiming 30000 × 30000 cost 4 GB and half a minute before this check."""
    path = write_dicom(tmp_path / "bomb.dcm", bits_stored=8, transfer_syntax=ts)
    data = bytearray(path.read_bytes())
    siz = data.find(b"\xff\x4f\xff\x51")
    if siz >= 0:  # JPEG 2000: Xsiz, Ysiz of the SIZ segment
        data[siz + 8 : siz + 16] = (30000).to_bytes(4, "big") * 2
    else:  # JPEG or JPEG-LS: height and width of the start-of-frame segment
        sof = max(data.find(b"\xff\xc0"), data.find(b"\xff\xf7"))
        data[sof + 5 : sof + 9] = (30000).to_bytes(2, "big") * 2
    path.write_bytes(bytes(data))
    _raises(path, CorruptImageError, "30000 × 30000", "64 × 48")
