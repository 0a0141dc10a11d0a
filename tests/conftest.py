"""Shared test set-up: headless Qt, an isolated user home, and the FracAtlas radiographs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
FRACATLAS = SHARED / "data" / "fracatlas-hand"


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own user folders: no test reads or writes the real home."""
    home = tmp_path_factory.mktemp("wristviewer-home")
    monkeypatch.setenv("WRISTVIEWER_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def isolated_resources(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """``resources/`` as shipped (links) but with an empty ``models/`` of its own: the bundle
    committed in the checkout never leaks into tests, nor one test's bundles into another
    (tests of the shipped bundle point at it themselves)."""
    root = tmp_path_factory.mktemp("resources")
    for entry in (REPO_ROOT / "resources").iterdir():
        if entry.name != "models":
            (root / entry.name).symlink_to(entry)
    (root / "models").mkdir()
    monkeypatch.setenv("WRISTVIEWER_RESOURCES", str(root))
    return root


@pytest.fixture(scope="session")
def fracatlas() -> Path:
    """The FracAtlas hand/wrist subset beside the checkout (CC BY 4.0, Abedeen et al. 2023)."""
    if not (FRACATLAS / "manifest.csv").is_file():
        pytest.fail(
            f"FracAtlas data not found at {FRACATLAS}: CI and sessions have ../shared beside the checkout"
        )
    return FRACATLAS
