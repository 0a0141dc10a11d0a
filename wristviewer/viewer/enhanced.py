"""The CLAHE outputs kept for quick study switching (the latest settings only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wristviewer.imaging import ClaheSettings, Radiograph

ENHANCED_CACHE_MAX = 12  # CLAHE outputs kept for quick study switching


class EnhancedCache:
    """CLAHE outputs by file, all made with the same settings; the oldest go beyond ``limit``.

    Arrays are float32 (rows, cols) in 0..1, as :func:`wristviewer.imaging.apply_clahe` gives.
    """

    def __init__(self, limit: int = ENHANCED_CACHE_MAX) -> None:
        self.limit = limit
        self.settings: ClaheSettings | None = None
        self._arrays: dict[Path, np.ndarray] = {}

    def clear(self) -> None:
        self._arrays.clear()

    def add(self, settings: ClaheSettings, arrays: dict[Path, np.ndarray]) -> None:
        """Keep ``arrays`` made with ``settings`` (those of other settings are dropped)."""
        if self.settings != settings:
            self._arrays = {}
            self.settings = settings
        self._arrays.update(arrays)
        while len(self._arrays) > self.limit:
            self._arrays.pop(next(iter(self._arrays)))

    def get(self, radiograph: Radiograph, settings: ClaheSettings) -> np.ndarray | None:
        """The output for ``radiograph`` with ``settings``, or None."""
        if self.settings != settings:
            return None
        return self._arrays.get(Path(radiograph.path))

    def covers(self, radiographs: list[Radiograph], settings: ClaheSettings) -> bool:
        """True when every one of ``radiographs`` has its output for ``settings``."""
        return self.settings == settings and all(Path(r.path) in self._arrays for r in radiographs)
