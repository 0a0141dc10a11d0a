"""Where the application finds its files: bundled resources and the per-user folders.

Bundled resources (icons, the sample study, shipped model bundles) are read-only. The user
folders come from platformdirs; ``WRISTVIEWER_HOME`` puts all three under one folder
(used by tests and by portable installs). Nothing here creates folders on import.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "WristViewer"
APP_AUTHOR = "WristViewer"


def resources_dir() -> Path:
    """The read-only ``resources/`` folder: frozen app, then ``WRISTVIEWER_RESOURCES``, then the checkout."""
    override = os.environ.get("WRISTVIEWER_RESOURCES")
    if override:
        return Path(override)
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def bundled_models_dir() -> Path:
    """Model bundles shipped with the application (read-only)."""
    return resources_dir() / "models"


def sample_study_dir() -> Path:
    """The sample study opened by ``make run``."""
    return resources_dir() / "sample"


def _home_override(kind: str) -> Path | None:
    home = os.environ.get("WRISTVIEWER_HOME")
    return Path(home) / kind if home else None


def user_data_dir() -> Path:
    """Per-user data: installed model bundles, the audit database."""
    override = _home_override("data")
    if override is not None:
        return override
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def user_models_dir() -> Path:
    """Model bundles the user installed (``wristviewer models install``)."""
    return user_data_dir() / "models"


def user_config_dir() -> Path:
    """Per-user settings."""
    override = _home_override("config")
    if override is not None:
        return override
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


def user_log_dir() -> Path:
    """Per-user logs (never with patient identifiers)."""
    override = _home_override("log")
    if override is not None:
        return override
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))
