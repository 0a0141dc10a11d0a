"""The plain data the whole application passes around: a radiograph, its view, a study."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # identity reads DICOM text through views, which imports this module
    from wristviewer.imaging.identity import PatientIdentity


class View(enum.StrEnum):
    """Projection of a wrist radiograph, in the order a reader hangs them."""

    AP = "AP"
    PA = "PA"
    OBLIQUE = "oblique"
    LATERAL = "lateral"
    UNKNOWN = "unknown"

    @property
    def hanging_order(self) -> int:
        """Sort key: AP/PA first, then obliques, lateral, unknown."""
        return _HANGING_ORDER[self]


_HANGING_ORDER = {View.AP: 0, View.PA: 0, View.OBLIQUE: 1, View.LATERAL: 2, View.UNKNOWN: 3}


@dataclass(frozen=True)
class Window:
    """A display window on the 0..1 pixel scale of :attr:`Radiograph.pixels`.

    ``function`` is the DICOM VOI LUT function: ``"LINEAR"``, ``"LINEAR_EXACT"`` or ``"SIGMOID"``.
    """

    center: float = 0.5
    width: float = 1.0
    function: str = "LINEAR"


@dataclass
class Radiograph:
    """One image of a study.

    ``pixels`` is float32, shape (rows, cols), row-major, values in 0..1 with bone bright:
    MONOCHROME1 is already inverted and the modality LUT applied; the full bit depth is kept
    (no quantisation to 8 bits). ``window`` is the initial display window from the VOI LUT
    (or the full range), expressed on that same 0..1 scale. ``warnings`` holds one sentence per
    thing the reader repaired or ignored (an unusable Pixel Spacing, NaN pixels of a float TIFF).

    ``identity``: the patient and examination a DICOM header names (None for PNG, JPEG, TIFF).
    ``pixel_spacing_source``: the attribute ``pixel_spacing_mm`` came from, "PixelSpacing" or
    "ImagerPixelSpacing" (the detector plane, not corrected for magnification);
    ``pixel_spacing_calibration``: the Pixel Spacing Calibration Type when the header gives one.
    ``value_range``: the stored values (after the modality LUT, in ``value_unit``) that map to
    0 and 1 before any inversion; ``inverted``: MONOCHROME1 (or an INVERSE presentation LUT),
    so a pixel p shows the value ``hi - p * (hi - lo)`` (see :mod:`wristviewer.imaging.measure`).
    """

    pixels: np.ndarray
    path: Path
    format: str  # "DICOM", "PNG", "JPEG", "TIFF"
    bits_stored: int
    photometric: str
    transfer_syntax: str | None = None
    view: View = View.UNKNOWN
    laterality: str | None = None  # "L" or "R"
    pixel_spacing_mm: tuple[float, float] | None = None  # (row spacing, column spacing)
    body_part: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    sop_instance_uid: str | None = None
    window: Window = field(default_factory=Window)
    frame_count: int = 1
    warnings: tuple[str, ...] = ()
    identity: PatientIdentity | None = None
    pixel_spacing_source: str | None = None
    pixel_spacing_calibration: str | None = None
    value_range: tuple[float, float] | None = None
    value_unit: str = ""
    inverted: bool = False

    @property
    def rows(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def cols(self) -> int:
        return int(self.pixels.shape[1])


@dataclass
class Study:
    """The views of one examination, ordered AP/PA, oblique(s), lateral, unknown.

    ``id`` is the StudyInstanceUID for DICOM, or the file path of a plain image (the folder
    when plain images were opened as one study; see :mod:`wristviewer.imaging.studies`).
    ``name`` is what to call it on screen (a file or folder name, never the patient);
    ``grouping`` the sentence saying why these images are one study.
    """

    id: str
    views: list[Radiograph]
    name: str = ""
    grouping: str = ""

    def sort_views(self) -> None:
        self.views.sort(key=lambda r: (r.view.hanging_order, str(r.path)))


@dataclass(frozen=True)
class SkippedFile:
    """A file that could not be read, with the sentence saying why.

    ``document``: True for files left unopened because their extension says they are documents
    or data (``.csv``, ``.md``, ``.py``, ...), which a viewer may list without alarm.
    """

    path: Path
    reason: str
    document: bool = False
