"""The viewer's settings (a JSON file in the per-user config folder) and its rotating log.

Settings hold no patient data: window geometry, the last folder, CLAHE defaults, the model
choice, heatmap opacity, device, auto-run, when to reveal the AI result, and the recent studies (paths the user opened).
The log never names patients: studies and files are counted or hashed, never named.
"""

from __future__ import annotations

import hashlib
import json
import logging
import logging.handlers
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from wristviewer.imaging import ClaheSettings
from wristviewer.paths import user_config_dir, user_log_dir

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
LOG_FILE = "wristviewer.log"
MAX_RECENT = 10


@dataclass
class ViewerSettings:
    """Everything the window remembers between sessions."""

    geometry: str = ""  # QMainWindow.saveGeometry() as base64
    window_state: str = ""  # QMainWindow.saveState() as base64
    last_folder: str = ""
    recent: list[str] = field(default_factory=list)
    clahe_enabled: bool = True
    clahe_clip_limit: float = 2.0
    clahe_tile_grid: int = 8  # tiles along each side
    model: str = ""  # "densenet161" | "resnet152" | "ensemble" | "" (first available)
    heatmap_opacity: float = 0.6
    heatmap_visible: bool = True
    device: str = "auto"  # auto | cpu | cuda | mps
    auto_run: bool = True
    reveal_ai: str = "immediate"  # "immediate" | "after_read": AI hidden until the read is in
    show_patient_banner: bool = True  # the name/ID/study banner over the views

    @property
    def clahe(self) -> ClaheSettings:
        return ClaheSettings(
            enabled=self.clahe_enabled,
            clip_limit=max(self.clahe_clip_limit, 0.1),
            tile_grid=(max(self.clahe_tile_grid, 1), max(self.clahe_tile_grid, 1)),
        )

    def set_clahe(self, settings: ClaheSettings) -> None:
        self.clahe_enabled = settings.enabled
        self.clahe_clip_limit = float(settings.clip_limit)
        self.clahe_tile_grid = int(settings.tile_grid[0])

    def add_recent(self, paths: list[str]) -> None:
        """Put an opened set of paths first in the recent list (one entry per path), as
        absolute paths so they open from any working folder."""
        for path in (str(Path(p).resolve()) for p in reversed(paths)):
            if path in self.recent:
                self.recent.remove(path)
            self.recent.insert(0, path)
        del self.recent[MAX_RECENT:]

    # persistence --------------------------------------------------------------------------
    @staticmethod
    def path() -> Path:
        return user_config_dir() / SETTINGS_FILE

    @classmethod
    def load(cls) -> ViewerSettings:
        """Read the settings file; defaults for a missing file or unknown/mistyped keys."""
        path = cls.path()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("settings file unreadable, using defaults: %s", exc)
            return cls()
        if not isinstance(raw, dict):
            return cls()
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in raw:
                default = getattr(defaults, f.name)
                value = raw[f.name]
                if isinstance(default, bool):
                    ok = isinstance(value, bool)
                elif isinstance(default, float):
                    ok = isinstance(value, int | float) and not isinstance(value, bool)
                    value = float(value) if ok else value
                else:
                    ok = isinstance(value, type(default))
                if ok:
                    values[f.name] = value
        return cls(**values)

    def save(self) -> Path:
        """Write atomically (temporary file then rename). Returns the file path."""
        path = self.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(asdict(self), fh, indent=2)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def setup_logging(level: int = logging.INFO) -> Path:
    """Attach a rotating file handler (1 MB × 3) in the user log folder. Returns the file."""
    folder = user_log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    root = logging.getLogger("wristviewer")
    for handler in root.handlers:
        if (
            isinstance(handler, logging.handlers.RotatingFileHandler)
            and Path(handler.baseFilename) == path.resolve()
        ):
            return path
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    return path


def close_logging() -> None:
    """Detach and close the rotating file handlers :func:`setup_logging` attached."""
    root = logging.getLogger("wristviewer")
    for handler in list(root.handlers):
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            root.removeHandler(handler)
            handler.close()


def anonymous(path: str | Path) -> str:
    """A short stable hash for a path, so logs can tell files apart without naming them."""
    return hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:10]
