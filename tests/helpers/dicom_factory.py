"""Small DICOM files written by tests: every variant of a bone-bright phantom, and non-images.

``phantom()`` is a non-square image with a bright 'bone' rectangle in its upper-left part on a
dark background, so a test can check orientation (rows/cols not swapped, not flipped) and
polarity (bone still bright after reading) for each encoding.

Usage from any test folder::

    from tests.helpers.dicom_factory import phantom, write_dicom, BONE
    path = write_dicom(tmp_path / "pa.dcm", phantom(), bits_stored=12, photometric="MONOCHROME1")
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    BasicTextSRStorage,
    ComputedRadiographyImageStorage,
    DeflatedExplicitVRLittleEndian,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    MediaStorageDirectoryStorage,
    RLELossless,
    generate_uid,
)

#: Phantom geometry: rows, cols, and the bone rectangle (row slice, col slice).
ROWS, COLS = 48, 64
BONE = (slice(6, 22), slice(8, 30))
BACKGROUND = (slice(30, 46), slice(36, 62))


def phantom(
    rows: int = ROWS, cols: int = COLS, bone: float = 0.85, background: float = 0.1
) -> np.ndarray:
    """Float image (rows, cols) in 0..1: a bright rectangle (``BONE``) on a dark background,
    with a faint horizontal ramp so the values are not just two levels."""
    img = np.full((rows, cols), background, dtype=np.float64)
    img += np.linspace(0.0, 0.05, cols)[None, :]
    img[BONE] = bone
    return np.clip(img, 0.0, 1.0)


def bone_brighter(pixels: np.ndarray, margin: float = 0.2) -> bool:
    """Whether the phantom's bone region reads brighter than its background region."""
    return float(pixels[BONE].mean()) > float(pixels[BACKGROUND].mean()) + margin


def to_stored(
    image01: np.ndarray, bits_stored: int, signed: bool = False, monochrome1: bool = False
) -> np.ndarray:
    """Displayed 0..1 (bone bright) to stored integer values of the given depth and sign."""
    x = 1.0 - image01 if monochrome1 else image01
    if signed:
        lo, hi = -(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1
    else:
        lo, hi = 0, (1 << bits_stored) - 1
    values = np.rint(lo + x * (hi - lo)).astype(np.int64)
    if bits_stored <= 8:
        return values.astype(np.int8 if signed else np.uint8)
    return values.astype(np.int16 if signed else np.uint16)


def base_dataset(
    rows: int,
    cols: int,
    *,
    sop_class: str = DigitalXRayImageStorageForPresentation,
    study_uid: str | None = None,
    series_uid: str | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
) -> Dataset:
    """A DX image header without pixel data (patient, study, series, image modules)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Test^Phantom"
    ds.PatientID = "PHANTOM"
    ds.Modality = "DX" if sop_class != ComputedRadiographyImageStorage else "CR"
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.StudyDate = "20240101"
    ds.BodyPartExamined = "WRIST"
    ds.Rows = rows
    ds.Columns = cols
    return ds


def write_dicom(
    path: str | Path,
    image01: np.ndarray | None = None,
    *,
    bits_stored: int = 12,
    bits_allocated: int | None = None,
    signed: bool = False,
    photometric: str = "MONOCHROME2",
    rescale: tuple[float, float] | None = None,
    window: tuple[float, float] | None = None,
    voi_function: str | None = None,
    voi_lut: tuple[int, np.ndarray] | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
    frames: int = 1,
    preamble: bool = True,
    view_position: str | None = None,
    view_code: tuple[str, str, str] | None = None,
    series_description: str | None = None,
    image_comments: str | None = None,
    laterality: str | None = None,
    study_uid: str | None = None,
    series_uid: str | None = None,
    pixel_spacing: tuple[float, float] | None = None,
    imager_pixel_spacing: tuple[float, float] | None = None,
    presentation_lut_shape: str | None = None,
    rgb: bool = False,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``image01`` (0..1, bone bright; default :func:`phantom`) as a DICOM file.

    ``photometric`` "MONOCHROME1" stores it inverted; ``rgb`` stores it as 8-bit RGB.
    ``transfer_syntax``: native, RLE, JPEG-LS, JPEG 2000 (pydicom encoders) or JPEG baseline
    (OpenCV's JPEG wrapped in encapsulated pixel data; 8-bit only). ``frames`` > 1 repeats the
    image with a growing offset. ``voi_lut`` is ``(first_input, lut_values)``. ``preamble``
    False writes a bare data set (implicit VR, no file meta, no ``DICM``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image01 = phantom() if image01 is None else np.asarray(image01, dtype=np.float64)
    rows, cols = image01.shape
    ts = UID(transfer_syntax if preamble else ImplicitVRLittleEndian)
    ds = base_dataset(rows, cols, study_uid=study_uid, series_uid=series_uid, transfer_syntax=ts)

    if rgb:
        stored = to_stored(image01, 8)
        arr = np.repeat(stored[..., None], 3, axis=2)
        arr[..., 0] = np.clip(arr[..., 0].astype(int) + 10, 0, 255)  # a slight tint: true colour
        ds.SamplesPerPixel = 3
        ds.PlanarConfiguration = 0
        ds.PhotometricInterpretation = "RGB"
        bits_stored = 8
    else:
        arr = to_stored(image01, bits_stored, signed, photometric == "MONOCHROME1")
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = photometric
    if frames > 1:
        stack = [arr]
        for i in range(1, frames):
            stack.append(np.roll(arr, 4 * i, axis=1))
        arr = np.stack(stack)
        ds.NumberOfFrames = frames
    ds.BitsAllocated = bits_allocated or (8 if bits_stored <= 8 else 16)
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0

    if rescale is not None:
        ds.RescaleSlope = rescale[0]
        ds.RescaleIntercept = rescale[1]
        ds.RescaleType = "US"
    if window is not None:
        ds.WindowCenter = window[0]
        ds.WindowWidth = window[1]
    if voi_function is not None:
        ds.VOILUTFunction = voi_function
    if voi_lut is not None:
        first, lut = voi_lut
        item = Dataset()
        item.LUTDescriptor = [len(lut) if len(lut) < 65536 else 0, first, 16]
        item.add_new(0x00283006, "US", [int(v) for v in lut])  # LUTData, VR US or OW
        ds.VOILUTSequence = DicomSequence([item])
    if view_position is not None:
        ds.ViewPosition = view_position
    if view_code is not None:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = view_code
        ds.ViewCodeSequence = DicomSequence([code])
    if series_description is not None:
        ds.SeriesDescription = series_description
    if image_comments is not None:
        ds.ImageComments = image_comments
    if laterality is not None:
        ds.ImageLaterality = laterality
    if pixel_spacing is not None:
        ds.PixelSpacing = list(pixel_spacing)
    if imager_pixel_spacing is not None:
        ds.ImagerPixelSpacing = list(imager_pixel_spacing)
    if presentation_lut_shape is not None:
        ds.PresentationLUTShape = presentation_lut_shape
    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)

    _set_pixels(ds, arr, ts)
    if preamble:
        ds.save_as(path, enforce_file_format=True)
    else:
        del ds.file_meta
        ds.save_as(path, implicit_vr=True, little_endian=True)
    return path


def _set_pixels(ds: Dataset, arr: np.ndarray, ts: UID) -> None:
    if ts == JPEGBaseline8Bit:
        if arr.dtype != np.uint8:
            raise ValueError("JPEG baseline holds 8-bit data only")
        frames = (
            arr
            if arr.ndim == 3
            and ds.get("SamplesPerPixel", 1) == 1
            and ds.get("NumberOfFrames", 1) > 1
            else [arr]
        )
        encoded = []
        for frame in frames:
            ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
            if not ok:
                raise RuntimeError("OpenCV could not encode the JPEG test frame")
            encoded.append(buf.tobytes())
        ds.PixelData = encapsulate(encoded)
        ds["PixelData"].VR = "OB"
        if ds.SamplesPerPixel == 3:
            ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
        return
    ds.PixelData = arr.tobytes()
    ds["PixelData"].VR = "OW" if ds.BitsAllocated > 8 else "OB"
    if ts.is_compressed:
        ds.compress(ts, arr, generate_instance_uid=False)


def write_basic_text_sr(path: str | Path, study_uid: str | None = None) -> Path:
    """A Basic Text SR (a report, no pixel data)."""
    path = Path(path)
    ds = base_dataset(0, 0, sop_class=BasicTextSRStorage, study_uid=study_uid)
    del ds.Rows, ds.Columns
    ds.Modality = "SR"
    ds.ValueType = "CONTAINER"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.save_as(path, enforce_file_format=True)
    return path


def write_dicomdir_like(path: str | Path) -> Path:
    """A DICOMDIR-like object: Media Storage Directory SOP class with a directory record."""
    path = Path(path)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MediaStorageDirectoryStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.FileSetID = "TESTSET"
    record = Dataset()
    record.DirectoryRecordType = "PATIENT"
    record.PatientID = "PHANTOM"
    ds.DirectoryRecordSequence = DicomSequence([record])
    ds.save_as(path, enforce_file_format=True)
    return path


def write_study(
    folder: str | Path,
    views: Sequence[str] = ("PA", "OBLIQUE", "LATERAL"),
    study_uid: str | None = None,
    **kwargs: Any,
) -> tuple[str, list[Path]]:
    """One DICOM study of phantoms, one file per ViewPosition (no file extension)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    uid = study_uid or generate_uid()
    paths = [
        write_dicom(folder / f"IM{i:04d}", view_position=view, study_uid=uid, **kwargs)
        for i, view in enumerate(views)
    ]
    return uid, paths


# --- hostile files -----------------------------------------------------------------------------


def write_rle_overrun(path: str | Path, study_uid: str | None = None) -> Path:
    """A 16-bit RLE Lossless image whose second segment decodes one byte more than the frame
    holds. pylibjpeg-rle 2.x answers it with a Rust panic (``pyo3_runtime.PanicException``, a
    ``BaseException``, not an ``Exception``)."""
    path = write_dicom(path, phantom(8, 8), bits_stored=16, study_uid=study_uid)
    ds = pydicom.dcmread(path)
    rows, cols = int(ds.Rows), int(ds.Columns)
    high = bytes([rows * cols - 1]) + bytes(rows * cols)  # a literal run: one frame's bytes
    low = bytes([rows * cols]) + bytes(rows * cols + 1)  # one byte too many
    header = struct.pack("<16I", 2, 64, 64 + len(high), *([0] * 13))
    ds.PixelData = encapsulate([header + high + low])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.save_as(path)
    return path


def write_bad_deflate(path: str | Path) -> Path:
    """A Deflated Explicit VR Little Endian file whose deflated data set is garbage, so
    inflating it raises ``zlib.error``."""
    path = write_dicom(path, transfer_syntax=DeflatedExplicitVRLittleEndian)
    data = bytearray(Path(path).read_bytes())
    (meta_length,) = struct.unpack("<I", data[140:144])  # (0002,0000) group length value
    start = 144 + meta_length
    data[start : start + 16] = b"\xff" * 16  # an invalid deflate block header
    Path(path).write_bytes(bytes(data))
    return Path(path)


def write_png(path: str | Path, image01: np.ndarray | None = None) -> Path:
    """The phantom (or ``image01``, 0..1) as an 8-bit PNG: a plain image without patient data."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image01 = phantom() if image01 is None else image01
    ok, buf = cv2.imencode(".png", np.rint(np.asarray(image01) * 255).astype(np.uint8))
    if not ok:
        raise RuntimeError("OpenCV could not encode the PNG test image")
    path.write_bytes(buf.tobytes())
    return path
