"""Bad input: a typed error whose message names the file and the reason."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import MPEG2MPML, JPEG2000Lossless, JPEGLSLossless, RLELossless

from tests.helpers.dicom_factory import write_basic_text_sr, write_dicom, write_dicomdir_like
from wristviewer.imaging import (
    CorruptImageError,
    EmptyFileError,
    FileAccessError,
    ImageTooLargeError,
    ImagingError,
    NonImageDicomError,
    NotAnImageError,
    TruncatedPixelDataError,
    UnsupportedTransferSyntaxError,
    read,
)


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
    ):
        err = kind("/data/x.dcm", "a reason")
        assert isinstance(err, ImagingError)
        assert str(err) == f"{Path('/data/x.dcm')}: a reason"
