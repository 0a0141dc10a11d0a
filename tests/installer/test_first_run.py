"""First run: the per-user folders are made; one that cannot be is a message, not a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.installer.helpers import REPO
from wristviewer.ui.app import prepare_user_folders

SAMPLE_JPG = REPO / "resources" / "sample" / "wrist_PA.jpg"


@pytest.fixture
def unusable_home(tmp_path: Path) -> Path:
    """A WRISTVIEWER_HOME nobody can create folders in.

    chmod 0o500 for a normal user; as root (CI, these sessions) permissions do not stop
    writes, so the home is then a path *under a regular file*, where mkdir fails for anyone.
    """
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        home = tmp_path / "readonly"
        home.mkdir()
        home.chmod(0o500)
        return home
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker / "home"


def test_first_run_creates_the_user_folders(isolated_home: Path) -> None:
    assert not any(isolated_home.iterdir())
    assert prepare_user_folders() == []
    for folder in ("config", "data/models", "log"):
        assert (isolated_home / folder).is_dir()
    assert prepare_user_folders() == []  # the second run finds them


def test_unusable_folders_are_named_in_sentences(
    unusable_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WRISTVIEWER_HOME", str(unusable_home))
    problems = prepare_user_folders()
    assert len(problems) == 3
    for problem, folder in zip(problems, ("config", "data/models", "log"), strict=True):
        assert problem.startswith("WristViewer cannot write to its ")
        assert str(unusable_home / folder) in problem and problem.endswith(".")
    assert "models shipped with the application still work" in problems[1]


def test_the_viewer_starts_with_an_unusable_home(unusable_home: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "WRISTVIEWER_HOME": str(unusable_home)}
    result = subprocess.run(
        [sys.executable, "-m", "wristviewer", str(SAMPLE_JPG), "--screenshot", str(shot)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 10_000
    assert "Traceback" not in result.stderr
    assert f"cannot write to its settings folder {unusable_home / 'config'}" in result.stderr


def test_the_window_names_unusable_folders_without_blocking(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QMessageBox

    from wristviewer.ui.app import _warn_folders
    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.settings import ViewerSettings

    window = MainWindow(ViewerSettings())
    qtbot.addWidget(window)
    window.show()
    _warn_folders(window, ["WristViewer cannot write to its log folder /x (Not a directory)."])
    box = window.findChild(QMessageBox)
    assert box is not None and box.isVisible()  # open(), not exec(): the loop keeps running
    assert "log folder /x" in box.text()
    box.close()
    window.quiet_errors = True
    _warn_folders(window, ["The second sentence."])
    assert window.statusBar().currentMessage() == "The second sentence."
