"""Time ``read`` and CLAHE on a full-size FracAtlas radiograph and on a 16-bit DICOM.

Usage: ``python benchmarks/bench_imaging.py [--json FILE] [--repeats N]``

The DICOM (1776 x 2132, 16-bit, MONOCHROME2, uncompressed) is written into a temporary
folder by this script. Reports the median of N runs in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    generate_uid,
)

from wristviewer.imaging import clahe, read

REPO = Path(__file__).resolve().parent.parent
FRACATLAS_IMAGE = REPO.parent / "shared" / "data" / "fracatlas-hand" / "images" / "IMG0000019.jpg"
DICOM_ROWS, DICOM_COLS = 2132, 1776


def write_16bit_dicom(path: Path) -> Path:
    """A smooth 16-bit radiograph-like DICOM (bright 'bones' on a darker ramp)."""
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.random((12, 10)).astype(np.float32), (DICOM_COLS, DICOM_ROWS))
    base[500:1600, 700:900] += 0.8
    base += rng.normal(0, 0.01, base.shape).astype(np.float32)
    base = (base - base.min()) / (base.max() - base.min())
    pixels = np.rint(base * 65535).astype(np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DigitalXRayImageStorageForPresentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = (
        meta.MediaStorageSOPClassUID,
        meta.MediaStorageSOPInstanceUID,
    )
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "DX"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = pixels.tobytes()
    ds["PixelData"].VR = "OW"
    ds.save_as(path, enforce_file_format=True)
    return path


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (imports, allocator)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def bench(path: Path, label: str, repeats: int) -> dict[str, object]:
    r = read(path)
    read_ms = median_ms(lambda: read(path), repeats)
    clahe_ms = median_ms(lambda: clahe(r.pixels, 2.0, (8, 8), r.bits_stored), repeats)
    return {
        "input": label,
        "size": f"{r.cols}x{r.rows}",
        "bits_stored": r.bits_stored,
        "read_ms": round(read_ms, 1),
        "clahe_ms": round(clahe_ms, 1),
        "read_plus_clahe_ms": round(read_ms + clahe_ms, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per measurement")
    args = parser.parse_args()

    results = []
    if FRACATLAS_IMAGE.is_file():
        results.append(
            bench(FRACATLAS_IMAGE, f"FracAtlas {FRACATLAS_IMAGE.name} (JPEG)", args.repeats)
        )
    else:
        print(f"FracAtlas image not found at {FRACATLAS_IMAGE}; skipping it")
    with tempfile.TemporaryDirectory() as tmp:
        dicom = write_16bit_dicom(Path(tmp) / "bench16.dcm")
        results.append(bench(dicom, "synthetic 16-bit DICOM (uncompressed)", args.repeats))

    print(f"{'input':<42} {'size':>10} {'bits':>4} {'read ms':>8} {'CLAHE ms':>9} {'total ms':>9}")
    for row in results:
        print(
            f"{row['input']:<42} {row['size']:>10} {row['bits_stored']:>4} {row['read_ms']:>8} "
            f"{row['clahe_ms']:>9} {row['read_plus_clahe_ms']:>9}"
        )
    if args.json:
        payload = {
            "benchmark": "imaging",
            "repeats": args.repeats,
            "machine": {
                "python": platform.python_version(),
                "processor": platform.processor() or platform.machine(),
                "opencv": cv2.__version__,
                "pydicom": pydicom.__version__,
                "opencv_threads": cv2.getNumThreads(),
            },
            "results": results,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
