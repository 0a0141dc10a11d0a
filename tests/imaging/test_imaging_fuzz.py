"""Hostile files: seeded mutants of DICOM, JPEG, PNG and TIFF files through ``read()``.

Every result must be a decoded radiograph (float32, 2-D, finite, 0..1) or a typed
:class:`ImagingError` naming the file - never another exception, never a hang, never a memory
blow-up. The mutants are bit flips, truncations, spliced bytes and header fields set to
hostile values (huge Rows/Columns, wrong Bits Allocated, wrong Number of Frames, a transfer
syntax that does not match the data, non-finite rescale values) and lying dimensions in JPEG,
JPEG-LS and JPEG 2000 codestreams (plain and inside DICOM) and PNG headers.

Bounded and reproducible: one seed, a fixed number of mutants of small images; the counts are
printed (decoded, refused by error class) so that a run can be reported.
"""

from __future__ import annotations

import resource
import struct
import time
import warnings
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from tests.helpers.dicom_factory import phantom, write_dicom
from wristviewer.imaging import ImageTooLargeError, ImagingError, Radiograph, read
from wristviewer.imaging.scaling import MAX_PIXELS_ENV

SEED = 13
MUTANTS_PER_SEED_FILE = 40
#: Far below the default, so that a header the limit lets through cannot allocate much.
FUZZ_MAX_PIXELS = 2_000_000
#: CPU seconds per file (CPU, not wall time: a shared machine may starve this process); a
#: small image decodes in milliseconds.
CPU_SECONDS_PER_FILE = 5.0
#: Peak resident memory may grow by at most this much over the whole run.
RSS_GROWTH_LIMIT_MB = 300

Mutator = Callable[[np.random.Generator, bytes, Path], bytes | None]


# --- seed files -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fixed_uids(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same UIDs every run: random UIDs differ in length, which would move every byte
    after them and make the mutants (and the printed counts) differ from run to run."""
    import itertools

    import tests.helpers.dicom_factory as factory

    counter = itertools.count(1)
    monkeypatch.setattr(
        factory, "generate_uid", lambda: f"1.2.826.0.1.3680043.10.7.{next(counter)}"
    )


def _image(rng: np.random.Generator, rows: int = 40, cols: int = 56) -> np.ndarray:
    return np.clip(phantom(rows, cols) + 0.05 * rng.random((rows, cols)), 0.0, 1.0)


def _seed_files(folder: Path, rng: np.random.Generator) -> list[Path]:
    dicom = {
        "native12": dict(bits_stored=12),
        "native8-mono1": dict(bits_stored=8, photometric="MONOCHROME1"),
        "signed16-rescaled": dict(bits_stored=16, signed=True, rescale=(0.5, -1024.0)),
        "rle16": dict(bits_stored=16, transfer_syntax=RLELossless),
        "rle8-frames": dict(bits_stored=8, frames=2, transfer_syntax=RLELossless),
        "deflate": dict(bits_stored=12, transfer_syntax=DeflatedExplicitVRLittleEndian),
        "jpegls": dict(bits_stored=12, transfer_syntax=JPEGLSLossless),
        "j2k": dict(bits_stored=12, transfer_syntax=JPEG2000Lossless),
        "jpeg-baseline": dict(bits_stored=8, transfer_syntax=JPEGBaseline8Bit),
        "rgb": dict(rgb=True),
        "frames": dict(bits_stored=12, frames=3),
        "bare": dict(bits_stored=12, preamble=False),
    }
    paths = [
        write_dicom(folder / f"{name}.dcm", _image(rng), **kwargs)  # type: ignore[arg-type]
        for name, kwargs in dicom.items()
    ]
    grey8 = np.rint(_image(rng) * 255).astype(np.uint8)
    grey16 = np.rint(_image(rng) * 65535).astype(np.uint16)
    colour = np.dstack([grey8, np.roll(grey8, 3, axis=1), grey8 // 2])
    for name, ext, array in (
        ("grey", ".jpg", grey8),
        ("colour", ".jpg", colour),
        ("grey8", ".png", grey8),
        ("grey16", ".png", grey16),
        ("colour", ".png", colour),
        ("grey16", ".tiff", grey16),
    ):
        ok, buf = cv2.imencode(ext, array)
        assert ok
        path = folder / f"{name}{ext}"
        path.write_bytes(buf.tobytes())
        paths.append(path)
    return paths


# --- mutators -------------------------------------------------------------------------------


def flip_bits(rng: np.random.Generator, data: bytes, path: Path) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 9))):
        i = int(rng.integers(len(out)))
        out[i] ^= 1 << int(rng.integers(8))
    return bytes(out)


def flip_header_bits(rng: np.random.Generator, data: bytes, path: Path) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        i = int(rng.integers(min(len(out), 600)))
        out[i] ^= 1 << int(rng.integers(8))
    return bytes(out)


def truncate(rng: np.random.Generator, data: bytes, path: Path) -> bytes:
    return data[: int(rng.integers(1, len(data)))]


def splice(rng: np.random.Generator, data: bytes, path: Path) -> bytes:
    """Delete a run of bytes, or repeat one."""
    i = int(rng.integers(len(data)))
    n = int(rng.integers(1, 64))
    if rng.random() < 0.5:
        return data[:i] + data[i + n :]
    return data[:i] + data[i : i + n] * 2 + data[i + n :]


#: DICOM header fields set to hostile values (keyword, candidate values).
HOSTILE_FIELDS: tuple[tuple[str, tuple[object, ...]], ...] = (
    ("Rows", (0, 1, 2, 65535)),
    ("Columns", (0, 1, 3, 65535)),
    ("BitsAllocated", (0, 1, 8, 12, 16, 32, 64)),
    ("BitsStored", (0, 1, 7, 17, 33)),
    ("HighBit", (0, 31)),
    ("NumberOfFrames", (0, 2, 7, 1000000)),
    ("SamplesPerPixel", (0, 2, 3, 4)),
    ("PixelRepresentation", (1, 2)),
    ("PlanarConfiguration", (1,)),
    ("PhotometricInterpretation", ("PALETTE COLOR", "YBR_FULL", "RGB", "MONOCHROME1", "XYZ")),
    ("RescaleSlope", ("inf", "NaN", "0", "1e308", "-1")),
    ("RescaleIntercept", ("-inf", "1e308")),
    ("WindowWidth", ("0", "-5", "inf")),
    ("PixelSpacing", (["inf", "0.1"], ["NaN", "NaN"], ["0"])),
    ("SeriesDescription", (["PA", "LAT"], ["Wrist", "PA"])),
)
TRANSFER_SYNTAXES = (
    ExplicitVRLittleEndian,
    RLELossless,
    JPEGLSLossless,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    DeflatedExplicitVRLittleEndian,
)


def dicom_field(rng: np.random.Generator, data: bytes, path: Path) -> bytes | None:
    """One or two header fields of a DICOM file set to hostile values (or the transfer
    syntax swapped); None for non-DICOM files and values pydicom refuses to write."""
    if path.suffix != ".dcm" or b"DICM" not in data[:132]:
        return None
    ds = pydicom.dcmread(path)
    for _ in range(int(rng.integers(1, 3))):
        if rng.random() < 0.15:
            ds.file_meta.TransferSyntaxUID = TRANSFER_SYNTAXES[
                int(rng.integers(len(TRANSFER_SYNTAXES)))
            ]
            continue
        keyword, values = HOSTILE_FIELDS[int(rng.integers(len(HOSTILE_FIELDS)))]
        setattr(ds, keyword, values[int(rng.integers(len(values)))])
    out = path.with_suffix(".mutant")
    try:
        ds.save_as(out)
    except (ValueError, TypeError, OverflowError, struct.error):
        return None
    return out.read_bytes()


def lying_dimensions(rng: np.random.Generator, data: bytes, path: Path) -> bytes | None:
    """JPEG/JPEG-LS SOF, JPEG 2000 SIZ (also inside DICOM) or PNG IHDR dimensions (CRC fixed)
    set to other, often huge, values."""
    size = [0, 1, 7, 4000, 40000, 65535][int(rng.integers(6))]
    other = int(rng.integers(1, 70000))
    out = bytearray(data)
    siz = out.find(b"\xff\x4f\xff\x51")
    if siz >= 0:
        out[siz + 8 : siz + 16] = struct.pack(">II", size, other)
        return bytes(out)
    sof = max(out.find(b"\xff\xc0"), out.find(b"\xff\xf7"))
    if sof >= 0 and path.suffix in (".jpg", ".dcm"):
        out[sof + 5 : sof + 9] = struct.pack(">HH", size, other % 65536)
        return bytes(out)
    if path.suffix == ".png":
        out[16:24] = struct.pack(">II", size, other)
        if rng.random() < 0.3:
            out[24] = [1, 2, 4, 8, 16, 3][int(rng.integers(6))]  # bit depth
        out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])))
        return bytes(out)
    return None


MUTATORS: tuple[tuple[str, Mutator], ...] = (
    ("bit flips", flip_bits),
    ("header bit flips", flip_header_bits),
    ("truncation", truncate),
    ("splice", splice),
    ("DICOM field", dicom_field),
    ("lying dimensions", lying_dimensions),
)


# --- the run --------------------------------------------------------------------------------


def _check_decoded(r: Radiograph, path: Path) -> None:
    px = r.pixels
    assert isinstance(px, np.ndarray) and px.dtype == np.float32 and px.ndim == 2, path
    assert px.size > 0 and np.isfinite(px).all(), path
    assert float(px.min()) >= 0.0 and float(px.max()) <= 1.0, path
    assert r.rows * r.cols * max(r.frame_count, 1) <= FUZZ_MAX_PIXELS, path


@pytest.mark.timeout(600, method="thread")  # a native decoder ignores signals
def test_mutants_decode_or_are_refused_with_a_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(MAX_PIXELS_ENV, str(FUZZ_MAX_PIXELS))
    rng = np.random.default_rng(SEED)
    seeds = _seed_files(tmp_path / "seeds", rng)
    mutants = tmp_path / "mutants"
    mutants.mkdir()
    outcomes: Counter[str] = Counter()
    by_mutator: dict[str, Counter[str]] = {name: Counter() for name, _ in MUTATORS}
    escaped: list[str] = []
    slowest = 0.0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    n = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom and OpenCV warn at length about damaged data
        for seed in seeds:
            original = seed.read_bytes()
            for _ in range(MUTANTS_PER_SEED_FILE):
                name, mutate = MUTATORS[int(rng.integers(len(MUTATORS)))]
                data = mutate(rng, original, seed)
                if data is None:
                    name, data = "bit flips", flip_bits(rng, original, seed)
                path = mutants / f"m{n:04d}_{seed.stem}{seed.suffix}"
                path.write_bytes(data)
                n += 1
                t0 = time.process_time()
                try:
                    result = read(path)
                except ImagingError as err:
                    assert err.path == path and str(path) in str(err) and err.reason, err
                    outcome = type(err).__name__
                except BaseException as exc:  # noqa: BLE001 - the finding this test looks for
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    escaped.append(f"{path.name} ({name}): {type(exc).__name__}: {exc}")
                    outcome = "escaped"
                else:
                    _check_decoded(result, path)
                    outcome = "decoded"
                    del result
                slowest = max(slowest, time.process_time() - t0)
                outcomes[outcome] += 1
                by_mutator[name][outcome] += 1
    elapsed = time.perf_counter() - start
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024

    refused = {k: v for k, v in outcomes.items() if k not in ("decoded", "escaped")}
    with capsys.disabled():
        print(
            f"\nfuzz: {n} mutants of {len(seeds)} files in {elapsed:.1f} s "
            f"(slowest read {slowest:.2f} s CPU, peak RSS +{rss_growth_mb:.0f} MB): "
            f"decoded {outcomes['decoded']}, refused {sum(refused.values())} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(refused.items()))})"
            + (f", ESCAPED {outcomes['escaped']}" if escaped else "")
        )
    assert escaped == [], "\n".join(escaped)
    assert slowest < CPU_SECONDS_PER_FILE
    assert rss_growth_mb < RSS_GROWTH_LIMIT_MB
    # both outcomes, and refusals of several kinds: the mutants reach past the first check
    assert outcomes["decoded"] >= n // 10 and sum(refused.values()) >= n // 4
    assert {"TruncatedPixelDataError", "CorruptImageError", "ImageTooLargeError"} <= set(refused)
    assert len(refused) >= 4
    # every mutator was used and found something to refuse
    for name, counts in by_mutator.items():
        assert sum(counts.values()) > 0 and sum(counts.values()) > counts["decoded"], name


def test_a_lying_huge_header_is_always_the_size_error(tmp_path: Path) -> None:
    """Huge dimensions must be caught by the limit before any decoder sees them."""
    rng = np.random.default_rng(SEED)
    for i, seed in enumerate(_seed_files(tmp_path / "seeds", rng)):
        if seed.suffix == ".dcm" and b"DICM" in seed.read_bytes()[:132]:
            ds = pydicom.dcmread(seed)
            ds.Rows = ds.Columns = 65535
            ds.save_as(seed)
        elif seed.suffix in (".jpg", ".png"):
            data = bytearray(seed.read_bytes())
            if seed.suffix == ".jpg":
                sof = data.find(b"\xff\xc0")
                data[sof + 5 : sof + 9] = struct.pack(">HH", 20000, 20000)
            else:
                data[16:24] = struct.pack(">II", 20000, 20000)
                data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
            seed.write_bytes(bytes(data))
        else:
            continue
        with pytest.raises(ImageTooLargeError) as info:
            read(seed)
        assert str(seed) in str(info.value), i
