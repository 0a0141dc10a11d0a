"""DICOM radiographs, read with pydicom (compressed pixel data through the pylibjpeg plugins).

What a read does, in order:

1. Parse the header (pixel data deferred), refuse objects without pixels (structured reports,
   DICOMDIRs, presentation states) and images beyond the size limit, and check that an
   installed decoder handles the transfer syntax - all before any pixel is decoded. The size
   limit counts every frame (:func:`~wristviewer.imaging.scaling.check_size`).
   Native (uncompressed) pixel data must hold what the header describes: less is a truncated
   file, twice as much or more (two frames without Number of Frames, a wrong Rows, Columns or
   Bits Allocated) is refused rather than guessed at. A JPEG, JPEG-LS or JPEG 2000 frame must
   claim the header's Rows × Columns in its own codestream header (decoders allocate from
   that), else it is refused before decoding.
2. Decode the first frame, and check it has the header's Rows × Columns (× samples).
   **Multi-frame objects show frame 1**; ``Radiograph.frame_count`` records how many there are
   (``wristviewer info`` prints it).
3. Colour (RGB, YBR_*, PALETTE COLOR) becomes grey (Rec. 601 luma) on the 0..2**BitsStored-1
   scale. Greyscale gets the Modality LUT (Rescale Slope/Intercept or a Modality LUT Sequence).
4. The range the header allows (BitsStored and PixelRepresentation, through the modality LUT)
   is mapped to 0..1 in float32; when the data do not fit that range or fill less than 1/16
   of it (12-bit data in a header that says 16), the data's own min..max is used instead.
   A Rescale Slope or Intercept that is not a finite number (or a slope of 0), or pixel values
   that are not finite after the modality LUT, refuse the file: there is no picture to trust.
5. MONOCHROME1 (or a Presentation LUT Shape of INVERSE) is inverted so bone is bright, and the
   initial window is mirrored with it.

The initial window comes from the VOI LUT module, expressed on the 0..1 pixel scale:
Window Center/Width (first pair; VOI LUT Function LINEAR, LINEAR_EXACT or SIGMOID; for LINEAR
the DICOM definition's ``c - 0.5`` and ``w - 1`` are used), or, for a VOI LUT Sequence, the
equivalent LINEAR window spanning the input values over which the first LUT rises from its
lowest to its highest output. Without either (or with values that are not finite), the window is
the full range.

Pixel Spacing (else Imager Pixel Spacing) that is not two finite positive numbers is treated as
absent, with a warning in ``Radiograph.warnings``. Multi-valued text (a Series Description
written as two values) is joined with DICOM's separator ``\\``
(:func:`~wristviewer.imaging.views.dicom_text`).
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset
from pydicom.encaps import get_frame
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi, get_decoder, pixel_array
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000TransferSyntaxes,
    JPEGLSTransferSyntaxes,
    JPEGTransferSyntaxes,
    MediaStorageDirectoryStorage,
)

from wristviewer.imaging.codestreams import j2k_size, jpeg_size
from wristviewer.imaging.errors import (
    CorruptImageError,
    NonImageDicomError,
    NotAnImageError,
    TruncatedPixelDataError,
    UnsupportedTransferSyntaxError,
    brief,
)
from wristviewer.imaging.radiograph import Radiograph, View, Window
from wristviewer.imaging.scaling import check_size, colour_to_grey, to_unit_range
from wristviewer.imaging.views import (
    dicom_text,
    laterality_from_dataset,
    laterality_from_filename,
    view_from_dataset,
    view_from_filename,
)

#: Errors pydicom and its plugins raise on malformed input (parsing or decoding).
PARSE_ERRORS: tuple[type[Exception], ...] = (
    InvalidDicomError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    EOFError,
    OverflowError,
    RuntimeError,
    NotImplementedError,
    struct.error,
    zlib.error,  # a Deflated Explicit VR Little Endian data set that does not inflate
)

#: Bits Allocated values the Image Pixel module allows (64: float pixel data only).
_BITS_ALLOCATED = (1, 8, 16, 32, 64)

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def has_dicm_prefix(head: bytes) -> bool:
    """Whether the bytes start with a DICOM Part 10 preamble (``DICM`` at offset 128)."""
    return len(head) >= 132 and head[128:132] == b"DICM"


def looks_like_bare_dicom(head: bytes) -> bool:
    """Whether the bytes could be a preamble-less DICOM data set.

    Such files start with a group 0x0002 or 0x0008 tag (little or big endian); anything else is
    not handed to pydicom's forced parser, which would accept almost any bytes.
    """
    if len(head) < 8:
        return False
    group_le = struct.unpack("<H", head[:2])[0]
    group_be = struct.unpack(">H", head[:2])[0]
    return group_le in (0x0002, 0x0008) or group_be in (0x0002, 0x0008)


def read_header(path: Path, preamble: bool = True) -> FileDataset:
    """Parse a DICOM file with the pixel data deferred (read from disk only when decoded).

    ``preamble``: whether the file had the ``DICM`` prefix; a header that fails to parse is then
    a damaged DICOM file (:class:`CorruptImageError`), otherwise simply not an image.
    """
    try:
        return pydicom.dcmread(path, force=True, defer_size="256 KB")
    except PARSE_ERRORS as exc:
        if preamble:
            raise CorruptImageError(
                path, f"the DICOM header cannot be parsed ({brief(exc)})"
            ) from exc
        raise NotAnImageError(path, "not an image: neither DICOM, PNG, JPEG nor TIFF") from exc


def _describe_non_image(ds: Dataset) -> str:
    sop = str(ds.get("SOPClassUID") or ds.file_meta.get("MediaStorageSOPClassUID") or "")
    if "DirectoryRecordSequence" in ds or sop == MediaStorageDirectoryStorage:
        return "a DICOMDIR (the index of a DICOM disc or folder), not an image; open the folder instead"
    name = UID(sop).name if sop else ""
    if name and name != sop:
        return f"a DICOM {name} object without pixel data, not an image"
    return "a DICOM object without pixel data, not an image"


def _transfer_syntax(ds: FileDataset) -> UID:
    """The transfer syntax, inferred from the encoding for files without file meta."""
    ts = ds.file_meta.get("TransferSyntaxUID") if ds.file_meta is not None else None
    if ts:
        return UID(str(ts))
    implicit, little = ds.original_encoding
    if implicit:
        ts = ImplicitVRLittleEndian
    else:
        ts = ExplicitVRLittleEndian if little is not False else ExplicitVRBigEndian
    ds.file_meta.TransferSyntaxUID = ts
    return UID(ts)


def _check_decoder(path: Path, ts: UID) -> None:
    if not ts.is_transfer_syntax:
        raise UnsupportedTransferSyntaxError(
            path,
            f"the transfer syntax {ts!s:.64} is not one DICOM defines (a damaged file meta header)",
        )
    if not ts.is_compressed:
        return
    try:
        decoder = get_decoder(ts)
    except NotImplementedError as exc:
        raise UnsupportedTransferSyntaxError(
            path,
            f"the pixel data is compressed as {ts.name} ({ts}), which WristViewer cannot decode",
        ) from exc
    if not decoder.is_available:
        needs = "; ".join(decoder.missing_dependencies) or "a pydicom decoding plugin"
        raise UnsupportedTransferSyntaxError(
            path, f"no installed decoder reads {ts.name} ({ts}); install one of: {needs}"
        )


def _int(ds: Dataset, keyword: str, default: int) -> int:
    value = ds.get(keyword)
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _expected_native_bytes(ds: Dataset, rows: int, cols: int, frames: int) -> int:
    samples = _int(ds, "SamplesPerPixel", 1)
    allocated = _int(ds, "BitsAllocated", 16)
    pixels = rows * cols * samples * frames
    if allocated == 1:
        return math.ceil(pixels / 8)
    return pixels * (allocated // 8)


def _check_pixel_module(path: Path, ds: Dataset) -> None:
    """Refuse Image Pixel attributes no decoder can honour, with the attribute named."""
    allocated = _int(ds, "BitsAllocated", 16)
    if allocated not in _BITS_ALLOCATED:
        raise CorruptImageError(
            path, f"Bits Allocated is {allocated}; DICOM allows only 1, 8, 16, 32 or 64"
        )
    stored = _int(ds, "BitsStored", allocated)
    if not 1 <= stored <= allocated:
        raise CorruptImageError(
            path, f"Bits Stored is {stored}, which does not fit Bits Allocated {allocated}"
        )
    samples = _int(ds, "SamplesPerPixel", 1)
    if samples not in (1, 3):
        raise CorruptImageError(
            path, f"Samples per Pixel is {samples}; a radiograph has 1 (grey) or 3 (colour)"
        )


def _check_native_length(path: Path, ds: FileDataset, rows: int, cols: int, frames: int) -> None:
    """Native pixel data must hold what the header describes: not less, and not twice as much
    (or more), which means the header describes other data than the file holds."""
    try:
        have = len(ds.PixelData)
    except PARSE_ERRORS + (OSError,) as exc:
        raise TruncatedPixelDataError(
            path, f"the pixel data cannot be read ({brief(exc)})"
        ) from exc
    need = _expected_native_bytes(ds, rows, cols, frames)
    if have < need:
        raise TruncatedPixelDataError(
            path,
            f"the pixel data holds {have} bytes but the image needs {need}: the file is truncated",
        )
    if need > 0 and have >= 2 * need:
        what = f"{frames} frame{'s' if frames > 1 else ''} of {cols} × {rows} pixels"
        hint = (
            " (several frames without Number of Frames?)"
            if "NumberOfFrames" not in ds and have % need == 0
            else ""
        )
        raise CorruptImageError(
            path,
            f"the pixel data holds {have} bytes, {have / need:.3g} times what the header's "
            f"{what} needs: Number of Frames, Rows, Columns or Bits Allocated do not describe "
            f"the data{hint}",
        )


def _check_compressed_frame(
    path: Path, ds: FileDataset, ts: UID, rows: int, cols: int, frames: int
) -> None:
    """A JPEG-family or JPEG 2000 frame must claim the header's size in its own codestream:
    its decoder allocates from the codestream, which the pixel limit has not seen."""
    if ts in JPEGTransferSyntaxes or ts in JPEGLSTransferSyntaxes:
        size_of = jpeg_size
    elif ts in JPEG2000TransferSyntaxes:
        size_of = j2k_size
    else:
        return
    offsets = None
    if "ExtendedOffsetTable" in ds and "ExtendedOffsetTableLengths" in ds:
        offsets = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths)
    try:
        frame = get_frame(ds.PixelData, 0, extended_offsets=offsets, number_of_frames=frames)
    except PARSE_ERRORS as exc:
        raise CorruptImageError(
            path, f"the encapsulated {ts.name} pixel data cannot be read ({brief(exc)})"
        ) from exc
    size = size_of(frame)
    if size is None:
        raise CorruptImageError(
            path, f"the first {ts.name} frame gives no image size: the pixel data is damaged"
        )
    if size != (rows, cols):
        raise CorruptImageError(
            path,
            f"the first {ts.name} frame is {size[1]} × {size[0]} pixels but the header says "
            f"{cols} × {rows}: the pixel data does not match the header",
        )


def _decode_first_frame(path: Path, ds: FileDataset, ts: UID, frames: int) -> np.ndarray:
    rows, cols = _int(ds, "Rows", 0), _int(ds, "Columns", 0)
    if not ts.is_compressed and "PixelData" in ds:
        _check_native_length(path, ds, rows, cols, frames)
    elif "PixelData" in ds:
        _check_compressed_frame(path, ds, ts, rows, cols, frames)
    try:
        stored = pixel_array(ds, index=0 if frames > 1 else None)
    except PARSE_ERRORS + (OSError,) as exc:
        text = brief(exc)
        if any(
            word in text.lower()
            for word in ("truncat", "less than expected", "premature", "end of")
        ):
            raise TruncatedPixelDataError(path, f"the pixel data is incomplete ({text})") from exc
        raise CorruptImageError(
            path, f"the {ts.name} pixel data cannot be decoded ({text})"
        ) from exc
    if stored.ndim == 3 and stored.shape[0] == frames and frames > 1:  # decoder ignored index
        stored = stored[0]
    samples = _int(ds, "SamplesPerPixel", 1)
    expected = (rows, cols) if samples == 1 else (rows, cols, samples)
    if stored.shape != expected:
        got = " × ".join(str(n) for n in stored.shape)
        raise CorruptImageError(
            path,
            f"the decoded frame is {got} values but the header describes "
            + " × ".join(str(n) for n in expected)
            + ": the header does not describe the pixel data",
        )
    return stored


def _stored_range(ds: Dataset) -> tuple[int, int]:
    bits = _int(ds, "BitsStored", _int(ds, "BitsAllocated", 16))
    if _int(ds, "PixelRepresentation", 0) == 1:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _check_rescale(path: Path, ds: Dataset) -> None:
    """Refuse a Rescale Slope/Intercept that is not a finite number, and a slope of 0."""
    if "ModalityLUTSequence" in ds:  # the LUT takes precedence; rescale values are unused
        return
    for keyword, name in (
        ("RescaleSlope", "Rescale Slope"),
        ("RescaleIntercept", "Rescale Intercept"),
    ):
        value = ds.get(keyword)
        if value is None or value == "":
            continue
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise CorruptImageError(
                path, f"the {name} {dicom_text(value)!r} is not a number"
            ) from exc
        if not math.isfinite(number):
            raise CorruptImageError(
                path,
                f"the {name} is {number}, not a finite number: the pixel values cannot be computed",
            )
        if keyword == "RescaleSlope" and number == 0:
            raise CorruptImageError(
                path, "the Rescale Slope is 0: every pixel would have the same value"
            )


def _modality_range(ds: Dataset, raw_lo: int, raw_hi: int) -> tuple[float, float]:
    """The range of values the modality LUT can produce from the stored range."""
    if raw_hi - raw_lo <= 65535:
        probe = np.arange(raw_lo, raw_hi + 1, dtype=np.int64)
    else:
        probe = np.array([raw_lo, raw_hi], dtype=np.int64)
    out = np.asarray(apply_modality_lut(probe, ds), dtype=np.float64)
    return float(out.min()), float(out.max())


def _first(value: Any) -> float | None:
    """The first of a possibly multi-valued number (Window Center/Width), or None."""
    if isinstance(value, (list, tuple, MultiValue)):
        value = value[0] if len(value) else None
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _voi_lut_window(ds: Dataset) -> tuple[float, float] | None:
    """(center, width) in modality units equivalent to the first VOI LUT Sequence item.

    The window spans the LUT inputs from the last one still at the lowest output to the first
    one reaching the highest output: where the LUT actually changes the picture.
    """
    descriptor = [int(v) for v in ds.VOILUTSequence[0].LUTDescriptor]
    entries = descriptor[0] or 65536
    first = descriptor[1]
    if _int(ds, "PixelRepresentation", 0) == 1 and first >= 32768:
        first -= 65536
    inputs = np.arange(first, first + entries, dtype=np.int64)
    out = np.asarray(apply_voi(inputs, ds, index=0), dtype=np.float64)
    if not out.max() > out.min():
        return None
    lower = max(int(np.argmax(out > out.min())) - 1, 0)
    upper = int(np.argmax(out >= out.max()))
    if upper <= lower:
        lower, upper = 0, entries - 1
    lo_in, hi_in = float(inputs[lower]), float(inputs[upper])
    return (lo_in + hi_in) / 2.0, max(hi_in - lo_in, 1.0)


def _initial_window(ds: Dataset, lo: float, hi: float) -> Window:
    """The header's VOI window on the 0..1 scale where ``lo`` maps to 0 and ``hi`` to 1."""
    span = hi - lo
    if span <= 0:
        return Window()
    center = width = None
    function = "LINEAR"
    if "VOILUTSequence" in ds and len(ds.VOILUTSequence) > 0:
        try:
            found = _voi_lut_window(ds)
        except PARSE_ERRORS:
            found = None
        if found is not None:
            center, width = found
    if center is None:
        center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
        function = str(ds.get("VOILUTFunction") or "LINEAR").strip().upper() or "LINEAR"
        if function not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
            function = "LINEAR"
        if center is not None and width is not None and function == "LINEAR":
            center, width = center - 0.5, max(width - 1.0, 1e-6)
    if center is None or width is None or not width > 0:
        return Window()
    window = Window(center=(center - lo) / span, width=width / span, function=function)
    if not (math.isfinite(window.center) and math.isfinite(window.width) and window.width > 0):
        return Window()
    return window


def _pixel_spacing(ds: Dataset, warnings: list[str]) -> tuple[tuple[float, float], str] | None:
    """((row, column) spacing in mm, the keyword it came from) from Pixel Spacing, else Imager
    Pixel Spacing.

    A value that is present but not two finite positive numbers is treated as absent and a
    sentence is added to ``warnings``.
    """
    for keyword, name in (
        ("PixelSpacing", "Pixel Spacing"),
        ("ImagerPixelSpacing", "Imager Pixel Spacing"),
    ):
        value = ds.get(keyword)
        if value is None or value == "":
            continue
        try:
            row, col = float(value[0]), float(value[1])
        except (TypeError, ValueError, IndexError, OverflowError):
            row = col = math.nan
        if math.isfinite(row) and math.isfinite(col) and row > 0 and col > 0:
            return (row, col), keyword
        warnings.append(
            f"the {name} ({dicom_text(value)}) is not two finite positive numbers and is ignored"
        )
    return None


def _str_or_none(value: Any) -> str | None:
    return dicom_text(value).strip() or None


def read_dicom(path: Path, preamble: bool = True, max_pixels: int | None = None) -> Radiograph:
    """Read a DICOM file to a :class:`Radiograph` (first frame; see the module docstring).

    ``preamble``: whether the file starts with the Part 10 preamble and ``DICM``; files without
    it are accepted only when they hold pixel data (anything else is :class:`NotAnImageError`).
    ``max_pixels``: the size limit (see :func:`~wristviewer.imaging.scaling.check_size`).
    """
    ds = read_header(path, preamble)
    if not any(k in ds for k in _PIXEL_KEYWORDS):
        if not preamble:
            raise NotAnImageError(path, "not an image: no DICOM pixel data found")
        if len(ds) == 0:
            raise TruncatedPixelDataError(
                path,
                "nothing after the DICOM file header could be read: the file is truncated or damaged",
            )
        if _int(ds, "Rows", 0) > 0 and _int(ds, "Columns", 0) > 0:
            # pydicom drops a pixel data element cut short by the end of the file
            raise TruncatedPixelDataError(
                path,
                f"the header describes a {ds.Columns} × {ds.Rows} image but the pixel data is "
                "missing or cut short: the file is truncated",
            )
        raise NonImageDicomError(path, _describe_non_image(ds))
    if "PixelData" not in ds:
        raise CorruptImageError(path, "float pixel data (a parametric map) is not a radiograph")
    rows, cols = _int(ds, "Rows", 0), _int(ds, "Columns", 0)
    if rows <= 0 or cols <= 0:
        raise CorruptImageError(path, "the DICOM header has pixel data but no Rows/Columns")
    frames = max(_int(ds, "NumberOfFrames", 1), 1)
    check_size(path, rows, cols, frames, limit=max_pixels)
    _check_pixel_module(path, ds)
    ts = _transfer_syntax(ds)
    _check_decoder(path, ts)
    photometric = (dicom_text(ds.get("PhotometricInterpretation")).strip() or "MONOCHROME2").upper()
    if photometric not in ("RGB", "PALETTE COLOR") and not photometric.startswith("YBR"):
        _check_rescale(path, ds)

    stored = _decode_first_frame(path, ds, ts, frames)
    bits_stored = _int(ds, "BitsStored", _int(ds, "BitsAllocated", 8))

    if stored.ndim == 3 or photometric == "PALETTE COLOR":
        if photometric == "PALETTE COLOR":
            stored = apply_color_lut(stored, ds)
            bits_stored = 16 if stored.dtype.itemsize > 1 else 8
        grey = colour_to_grey(stored)
        pixels, lo, hi = to_unit_range(grey, 0.0, float((1 << bits_stored) - 1))
        window = Window()
        inverted = False
    else:
        with np.errstate(over="ignore", invalid="ignore"):  # refused just below
            values = apply_modality_lut(stored, ds)
        if not np.isfinite(values).all():
            raise CorruptImageError(
                path, "the pixel values are not finite numbers after the modality LUT"
            )
        raw_lo, raw_hi = _stored_range(ds)
        lo, hi = _modality_range(ds, raw_lo, raw_hi)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            lo, hi = float(values.min()), float(values.max())
        pixels, lo, hi = to_unit_range(values, lo, hi)
        window = _initial_window(ds, lo, hi)
        inverse = str(ds.get("PresentationLUTShape") or "").strip().upper() == "INVERSE"
        inverted = (photometric == "MONOCHROME1") != inverse
        if inverted:
            pixels = np.subtract(np.float32(1.0), pixels, out=pixels)
            window = Window(
                center=1.0 - window.center, width=window.width, function=window.function
            )

    view = view_from_dataset(ds) or view_from_filename(path) or View.UNKNOWN
    warnings: list[str] = []
    spacing = _pixel_spacing(ds, warnings)
    from wristviewer.imaging.identity import identity_from_dataset  # it imports PARSE_ERRORS

    unit = "" if "ModalityLUTSequence" in ds else (_str_or_none(ds.get("RescaleType")) or "")
    return Radiograph(
        pixels=np.ascontiguousarray(pixels, dtype=np.float32),
        path=path,
        format="DICOM",
        bits_stored=bits_stored,
        photometric=photometric,
        transfer_syntax=str(ts),
        view=view,
        laterality=laterality_from_dataset(ds) or laterality_from_filename(path),
        pixel_spacing_mm=spacing[0] if spacing else None,
        pixel_spacing_source=spacing[1] if spacing else None,
        pixel_spacing_calibration=_str_or_none(ds.get("PixelSpacingCalibrationType"))
        if spacing and spacing[1] == "PixelSpacing"
        else None,
        body_part=_str_or_none(ds.get("BodyPartExamined")),
        study_uid=_str_or_none(ds.get("StudyInstanceUID")),
        series_uid=_str_or_none(ds.get("SeriesInstanceUID")),
        sop_instance_uid=_str_or_none(ds.get("SOPInstanceUID")),
        window=window,
        frame_count=frames,
        warnings=tuple(warnings),
        identity=identity_from_dataset(ds),
        value_range=(lo, hi),
        value_unit=unit,
        inverted=inverted,
    )
