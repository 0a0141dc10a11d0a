"""Helpers shared by the viewer tests: a minimal DICOM writer, synthetic images, waiting."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def wait_idle(qtbot, win, timeout_ms: int = 60_000) -> None:  # noqa: ANN001
    """Wait until the window has no job left."""
    qtbot.waitUntil(lambda: not win.is_busy(), timeout=timeout_ms)


def open_and_wait(qtbot, window, paths: list[Path], one_study: bool = False) -> None:  # noqa: ANN001
    """Open ``paths`` in the window (``one_study``: plain images as one study per folder) and
    wait until the studies are in and every job is done."""
    with qtbot.waitSignal(window.studies_loaded, timeout=60_000):
        window.open_paths(paths, one_study=one_study)
    wait_idle(qtbot, window)


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    view: str = "PA",
    study_uid: str = "1.2.826.0.1.3680043.8.498.1",
    series_number: int = 1,
    pixel_spacing: tuple[float, float] = (0.1, 0.1),
    bits: int = 12,
) -> Path:
    """A minimal uncompressed DX DICOM file (MONOCHROME2, unsigned, ``bits`` stored)."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray, for presentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = f"{study_uid}.{series_number}"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = 1
    ds.Modality = "DX"
    ds.PatientName = "Test^Patient"
    ds.PatientID = "TEST-0001"
    ds.BodyPartExamined = "WRIST"
    ds.ViewPosition = view
    ds.ImageLaterality = "R"
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [f"{pixel_spacing[0]:g}", f"{pixel_spacing[1]:g}"]
    scaled = np.clip(pixels, 0, 1) * ((1 << bits) - 1)
    ds.PixelData = np.rint(scaled).astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def wrist_like(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """A smooth synthetic image (0..1) with a bright 'bone' band and some noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    bone = np.exp(-(((x - cols * 0.5) / (cols * 0.12)) ** 2)) * 0.6
    img = 0.2 + bone + 0.1 * np.sin(y / 9.0) + rng.normal(0, 0.03, (rows, cols))
    return np.clip(img, 0, 1).astype(np.float32)
