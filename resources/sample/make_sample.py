"""Rebuild the sample study from FracAtlas (CC BY 4.0; see ATTRIBUTION.md).

Usage: ``python resources/sample/make_sample.py [FRACATLAS_DIR]``
(default: ``../shared/data/fracatlas-hand`` beside the checkout).

- Copies three FracAtlas JPEGs byte for byte, named with view hints:
  ``wrist_PA.jpg``, ``wrist_oblique.jpg``, ``wrist_lateral.jpg``.
- Writes ``dicom/wrist_PA.dcm``: the PA image's decoded 8-bit pixels, losslessly compressed
  (JPEG-LS), MONOCHROME2, ViewPosition PA, in a study of its own. It sits in a subfolder so
  that opening ``resources/sample`` shows the JPEG study first (a folder's own files come
  before its subfolders'); ``wristviewer resources/sample/dicom`` opens the DICOM copy.

UIDs are derived from the source names, so running the script again gives the same files.
Needs the dev extra (pyjpegls encodes JPEG-LS); the viewer decodes it with pylibjpeg-libjpeg.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    JPEGLSLossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent.parent / "shared" / "data" / "fracatlas-hand"

#: sample file name -> FracAtlas source image (manifest flags in ATTRIBUTION.md)
SOURCES = {
    "wrist_PA.jpg": "IMG0000206.jpg",  # frontal, fractured
    "wrist_oblique.jpg": "IMG0000207.jpg",  # oblique, fractured
    "wrist_lateral.jpg": "IMG0000046.jpg",  # lateral, not fractured
}
DICOM_SOURCE = "IMG0000206.jpg"


def _uid(*parts: str) -> str:
    return generate_uid(entropy_srcs=["wristviewer-sample", *parts])


def write_dicom_copy(jpeg: Path, out: Path) -> Path:
    """The JPEG's decoded grey pixels as a JPEG-LS lossless DICOM (DX-like secondary capture)."""
    pixels = cv2.imdecode(np.frombuffer(jpeg.read_bytes(), np.uint8), cv2.IMREAD_GRAYSCALE)
    if pixels is None:
        raise SystemExit(f"{jpeg}: cannot be decoded")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = _uid(jpeg.name, "instance")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = _uid(jpeg.name, "study")
    ds.SeriesInstanceUID = _uid(jpeg.name, "series")
    ds.PatientName = "Sample^Wrist"
    ds.PatientID = "FRACATLAS-DEMO"
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.StudyDescription = "Wrist (FracAtlas sample, CC BY 4.0)"
    ds.SeriesDescription = "Wrist PA"
    ds.ImageComments = f"FracAtlas {jpeg.name}, CC BY 4.0, doi:10.6084/m9.figshare.22363012"
    ds.BodyPartExamined = "WRIST"
    ds.ViewPosition = "PA"
    ds.ImageLaterality = "R"  # the R marker on the film
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "01"  # the FracAtlas source is a lossy JPEG
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = pixels.tobytes()
    ds["PixelData"].VR = "OB"
    ds.compress(JPEGLSLossless, pixels, generate_instance_uid=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(out, enforce_file_format=True)
    return out


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else DEFAULT_SOURCE
    images = source / "images"
    for name, src in SOURCES.items():
        shutil.copyfile(images / src, HERE / name)
        print(f"{name} <- {src}")
    out = write_dicom_copy(images / DICOM_SOURCE, HERE / "dicom" / "wrist_PA.dcm")
    print(f"{out.relative_to(HERE)} <- {DICOM_SOURCE} (JPEG-LS lossless)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
