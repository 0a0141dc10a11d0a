"""Start the viewer: ``run_app(paths, screenshot)`` is what ``wristviewer [PATH...]`` calls.

With ``screenshot``, the window renders off the user's way once every job is done (reading,
CLAHE, and the analysis when a model is installed), is saved as a PNG, and the process exits:
0 on success, 1 with a sentence on stderr on failure or timeout.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (1600, 1000)
SCREENSHOT_TIMEOUT_S = 600.0
_TIMING_ENV = "WRISTVIEWER_TIMING"  # when set, timestamps (time.time()) go to stderr


def _timing(event: str) -> None:
    if os.environ.get(_TIMING_ENV):
        sys.stderr.write(f"wristviewer-timing {event} {time.time():.3f}\n")
        sys.stderr.flush()


def configure_pyqtgraph() -> None:
    """Row-major images (numpy's (rows, cols)) and no antialiasing; called once at UI start."""
    import pyqtgraph as pg

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)


def run_app(
    paths: list[str], screenshot: str | None = None, *, timeout_s: float = SCREENSHOT_TIMEOUT_S
) -> int:
    """Open the window on ``paths``; returns the process exit status."""
    start = time.perf_counter()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from wristviewer.ui.settings import ViewerSettings, setup_logging

    setup_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("WristViewer")
    app.setOrganizationName("WristViewer")
    configure_pyqtgraph()

    from wristviewer.ui.main_window import MainWindow

    settings = ViewerSettings.load()
    if screenshot:
        settings.auto_run = True
        settings.geometry = ""
    window = MainWindow(settings)
    if screenshot:
        window.persist_settings = False
        window.quiet_errors = True
        window.resize(*SCREENSHOT_SIZE)
    window.show()

    def shown() -> None:
        log.info("window visible after %.2f s", time.perf_counter() - start)
        _timing("window-shown")

    QTimer.singleShot(0, shown)
    window.analysis_finished.connect(
        lambda ok: _timing("analysis-finished" if ok else "analysis-failed")
    )
    if paths:
        window.open_paths(paths)
    if screenshot:
        return _take_screenshot(
            app, window, Path(screenshot), timeout_s, expect_studies=bool(paths)
        )
    status = app.exec()
    return int(status)


def _take_screenshot(app, window, out: Path, timeout_s: float, *, expect_studies: bool) -> int:  # noqa: ANN001
    """Wait until the window is idle (or ``timeout_s``), grab it to ``out``; exit status."""
    from PySide6.QtCore import QTimer

    deadline = time.monotonic() + timeout_s
    result: dict[str, object] = {"status": None, "message": ""}
    opened = {"done": not expect_studies}
    window.studies_loaded.connect(lambda: opened.update(done=True))

    def finish(status: int, message: str = "") -> None:
        result["status"] = status
        result["message"] = message
        timer.stop()
        window.close()
        app.quit()

    def poll() -> None:
        if time.monotonic() > deadline:
            finish(
                1,
                f"wristviewer: the window was not ready within {timeout_s:.0f} s; no screenshot written.",
            )
            return
        if window.is_busy():
            return
        if not opened["done"]:
            if window.last_error:  # reading failed outright
                finish(1, f"wristviewer: {window.last_error}")
            return
        if expect_studies and not window.state.studies:
            reasons = "; ".join(s.reason for s in window.state.skipped[:3])
            finish(
                1, "wristviewer: nothing could be opened" + (f" ({reasons})" if reasons else ".")
            )
            return
        if window.model_specs is None:
            return
        study = window.state.current_study
        if window.model_specs and study is not None and study.id not in window.state.analyses:
            if window.last_error:
                finish(1, f"wristviewer: {window.last_error}")
            elif window.results_panel.chosen_model():
                window.run_analysis()
            return
        app.processEvents()
        window.fit_all()
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out), "PNG"):
            finish(1, f"wristviewer: could not write the screenshot to {out}.")
            return
        log.info("screenshot written")
        finish(0)

    timer = QTimer()
    timer.setInterval(200)
    timer.timeout.connect(poll)
    timer.start()
    app.exec()
    if result["status"] is None:
        return 1
    if result["message"]:
        sys.stderr.write(str(result["message"]) + "\n")
    return int(result["status"])  # type: ignore[arg-type]
