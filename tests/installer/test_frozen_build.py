"""Freeze the app with PyInstaller and start the frozen binary (slow: minutes, gigabytes).

Run with ``.venv/bin/pytest tests/installer -m slow`` after ``pip install -e '.[freeze]'``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.installer.helpers import REPO, bs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


@pytest.fixture(scope="module")
def frozen_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("PyInstaller is not installed in this venv: pip install -e '.[freeze]'")
    work = tmp_path_factory.mktemp("freeze")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "pyinstaller"),
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(work / "dist"),
            "--workpath",
            str(work / "work"),
            str(REPO / "installer" / "wristviewer.spec"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    app = work / "dist" / bs.APP_NAME
    yield app
    shutil.rmtree(work, ignore_errors=True)  # gigabytes


def test_frozen_app_opens_the_sample_and_writes_a_screenshot(
    frozen_app: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "shot.png"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "WRISTVIEWER_HOME": str(tmp_path / "home"),
    }
    env.pop("WRISTVIEWER_RESOURCES", None)
    sample = frozen_app / "_internal" / "resources" / "sample" / "dicom" / "wrist_PA.dcm"
    assert sample.is_file(), "the sample study is not inside the app"
    start = time.monotonic()
    result = subprocess.run(
        [str(frozen_app / bs.GUI_EXE), str(sample), "--screenshot", str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # not the checkout: nothing may come from it
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert shot.stat().st_size > 10_000
    assert time.monotonic() - start < 300


def test_frozen_app_runs_a_model_on_the_cpu(frozen_app: Path, tmp_path: Path) -> None:
    """torch inside the frozen app: a random-weight bundle (reduced input) installed by the
    user, analysed during --screenshot with no GPU visible."""
    from wristviewer.ai.bundle import create_untrained_bundle
    from wristviewer.ai.recipe import Recipe

    home = tmp_path / "home"
    models = home / "data" / "models"
    models.mkdir(parents=True)
    create_untrained_bundle(
        "resnet152", models / "r.safetensors", recipe=Recipe(input_width=96, input_height=112)
    )
    shot = tmp_path / "shot.png"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "WRISTVIEWER_HOME": str(home),
        "CUDA_VISIBLE_DEVICES": "",
        "WRISTVIEWER_TIMING": "1",
    }
    sample = frozen_app / "_internal" / "resources" / "sample" / "wrist_PA.jpg"
    result = subprocess.run(
        [str(frozen_app / bs.GUI_EXE), str(sample), "--screenshot", str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "wristviewer-timing analysis-finished" in result.stderr


def test_frozen_cli_and_desktop_files(frozen_app: Path, tmp_path: Path) -> None:
    version = subprocess.run(
        [str(frozen_app / bs.CLI_EXE), "--version"], capture_output=True, text=True, timeout=120
    )
    assert version.returncode == 0 and version.stdout.strip() == f"wristviewer {bs.version()}"
    assert (frozen_app / "linux" / "install.sh").stat().st_mode & 0o111
    internal = frozen_app / "_internal"
    assert not (internal / "triton").exists(), "the triton package should be excluded"
    assert (internal / "torchvision" / "_C_stable.so").is_file() or sys.platform != "linux"
    assert (internal / "resources" / "icons" / "wristviewer-256.png").is_file()
