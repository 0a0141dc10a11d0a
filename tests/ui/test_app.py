"""The application as a user starts it: fast window without torch, ``--screenshot``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_importing_the_window_does_not_import_torch() -> None:
    result = _python(
        """
        import sys
        import wristviewer.ui.app, wristviewer.ui.main_window
        print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchvision', 'training'}))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_opening_a_study_without_a_model_never_imports_torch(fracatlas_study: Path) -> None:
    result = _python(
        f"""
        import os, sys, time
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtWidgets import QApplication
        from wristviewer.ui.app import configure_pyqtgraph
        app = QApplication([])
        configure_pyqtgraph()
        from wristviewer.ui.main_window import MainWindow
        w = MainWindow()
        w.show()
        w.open_paths([{str(fracatlas_study)!r}], one_study=True)
        deadline = time.monotonic() + 60
        while (w.is_busy() or not w.state.studies) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        print(len(w.panels), w.model_specs, "torch" in sys.modules)
        w.close()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "[]", "False"]


def _screenshot(
    out: Path, *paths: Path, timeout: float = 300, options: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wristviewer", "--screenshot", str(out), *options, *map(str, paths)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )


def _png_size(path: Path) -> tuple[int, int]:
    import cv2

    image = cv2.imread(str(path))
    assert image is not None, f"{path} is not a readable PNG"
    return image.shape[1], image.shape[0]


def test_screenshot_of_a_study_without_a_model(tmp_path: Path, dicom_study: Path) -> None:
    out = tmp_path / "shot.png"
    result = _screenshot(out, dicom_study)
    assert result.returncode == 0, result.stderr
    assert _png_size(out) == (1600, 1000)


def test_screenshot_with_a_model_waits_for_the_analysis(
    tmp_path: Path, fracatlas_study: Path, installed_bundle: Path, isolated_home: Path
) -> None:
    out = tmp_path / "analysed.png"
    result = _screenshot(out, fracatlas_study, options=("--one-study",))
    assert result.returncode == 0, result.stderr
    assert _png_size(out) == (1600, 1000)
    log_text = (isolated_home / "log" / "wristviewer.log").read_text(encoding="utf-8")
    assert "AI result: 3 view(s)" in log_text
    assert "screenshot written" in log_text


@pytest.mark.parametrize("what", ["missing", "junk"])
def test_screenshot_fails_with_a_sentence(tmp_path: Path, what: str) -> None:
    target = tmp_path / "nothing-here"
    if what == "junk":
        target.mkdir()
        (target / "notes.dcm").write_bytes(b"not an image at all")
    out = tmp_path / "shot.png"
    result = _screenshot(out, target, timeout=120)
    assert result.returncode != 0
    assert "wristviewer:" in result.stderr and not out.exists()


def test_many_signal_emits_do_not_abort_the_process() -> None:
    """PySide6-Essentials 6.12.0 dropped a reference to True per Python emit (bool_dealloc abort);
    pyproject.toml pins below it. This fails if a binding with that bug is installed again."""
    result = _python(
        """
        from wristviewer.ui.app import configure_pyqtgraph
        configure_pyqtgraph()
        from PySide6.QtCore import QObject, Signal
        class Probe(QObject):
            ping = Signal(object)
        probe = Probe()
        for i in range(20000):
            probe.ping.emit(i)
        print("alive")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alive"
