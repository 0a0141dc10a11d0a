"""Fixtures for the viewer tests: a window, small studies on disk, a random-weight bundle."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.helpers import wrist_like, write_dicom
from wristviewer.paths import user_models_dir

FRACATLAS_PICKS = ("IMG0000016.jpg", "IMG0000019.jpg", "IMG0000020.jpg")


@pytest.fixture(scope="session", autouse=True)
def _pyqtgraph_row_major() -> None:
    from wristviewer.ui.app import configure_pyqtgraph

    configure_pyqtgraph()


@pytest.fixture
def window(qtbot) -> Iterator:  # noqa: ANN001 - pytest-qt fixture
    """A fresh MainWindow with default settings (errors to the status bar, not message boxes)."""
    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.settings import ViewerSettings

    win = MainWindow(ViewerSettings())
    win.quiet_errors = True
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    yield win
    win.workers.cancel_all()
    win.workers.wait_all(30)


@pytest.fixture
def fracatlas_study(tmp_path: Path, fracatlas: Path) -> Path:
    """Three FracAtlas radiographs (a PA-like, an oblique-like, a lateral) in one folder."""
    folder = tmp_path / "fracatlas-study"
    folder.mkdir()
    for name in FRACATLAS_PICKS:
        shutil.copy(fracatlas / "images" / name, folder / name)
    return folder


@pytest.fixture
def dicom_study(tmp_path: Path) -> Path:
    """A folder with a three-view DICOM study (PA, oblique as unknown, lateral)."""
    folder = tmp_path / "dicom-study"
    folder.mkdir()
    for i, view in enumerate(("PA", "LL", "")):
        write_dicom(
            folder / f"img{i}.dcm", wrist_like(240, 200, seed=i), view=view, series_number=i + 1
        )
    return folder


@pytest.fixture(scope="session")
def untrained_bundle_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight DenseNet-161 bundle at 96×112 input (made once per session)."""
    from wristviewer.ai.bundle import create_untrained_bundle
    from wristviewer.ai.recipe import Recipe

    path = tmp_path_factory.mktemp("bundles") / "densenet161-untrained.safetensors"
    return create_untrained_bundle(
        "densenet161", path, recipe=Recipe(input_width=96, input_height=112)
    )


@pytest.fixture
def installed_bundle(untrained_bundle_file: Path) -> Path:
    """The random-weight bundle copied into this test's (isolated) user models folder."""
    folder = user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(untrained_bundle_file, folder / untrained_bundle_file.name))
