"""``wristviewer --screenshot OUT.png``: wait until the window is idle — the files read, CLAHE
applied and, when a model is installed, the current study analysed — grab it to a PNG and
quit. Exit status 0 on success, 1 with a sentence on stderr on failure or timeout."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wristviewer.ui.main_window import MainWindow

log = logging.getLogger(__name__)

SCREENSHOT_TIMEOUT_S = 600.0
POLL_MS = 200


def prepare_for_screenshot(window: MainWindow) -> None:
    """Leave the user's settings alone, errors to the status bar, and the size a fresh profile
    opens at on this screen (so ``xvfb-run -s "-screen 0 1280x720x24"`` shows what a
    1280×720 user sees)."""
    window.persist_settings = False
    window.quiet_errors = True
    window.fit_to_screen()


class _Waiter:
    """Polls the window; :meth:`verdict` says wait (None) or how to end (status, message)."""

    def __init__(self, window: MainWindow, expect_studies: bool) -> None:
        self.window = window
        self.expect_studies = expect_studies
        self.opened = not expect_studies
        window.studies_loaded.connect(self._on_opened)

    def _on_opened(self) -> None:
        self.opened = True

    def verdict(self) -> tuple[int, str] | None:
        w = self.window
        if w.is_busy():
            return None
        if not self.opened:
            return (1, f"wristviewer: {w.last_error}") if w.last_error else None  # reading failed
        if self.expect_studies and not w.state.studies:
            reasons = "; ".join(s.reason for s in w.state.skipped[:3])
            return 1, "wristviewer: nothing could be opened" + (f" ({reasons})" if reasons else ".")
        if w.model_specs is None:
            return None
        if w.model_specs and w.state.needs_analysis():
            if w.last_error:
                return 1, f"wristviewer: {w.last_error}"
            if w.results_panel.chosen_model():
                w.run_analysis()
            return None
        return 0, ""


def take_screenshot(
    app: Any, window: MainWindow, out: Path, timeout_s: float, *, expect_studies: bool
) -> int:
    """Wait until the window is idle (or ``timeout_s``), grab it to ``out``; exit status."""
    from PySide6.QtCore import QTimer

    deadline = time.monotonic() + timeout_s
    waiter = _Waiter(window, expect_studies)
    result: dict[str, Any] = {"status": None, "message": ""}

    def finish(status: int, message: str = "") -> None:
        result.update(status=status, message=message)
        timer.stop()
        window.close()
        app.quit()

    def poll() -> None:
        if time.monotonic() > deadline:
            finish(
                1,
                f"wristviewer: the window was not ready within {timeout_s:.0f} s; "
                "no screenshot written.",
            )
            return
        verdict = waiter.verdict()
        if verdict is None:
            return
        if verdict[0] != 0:
            finish(*verdict)
            return
        finish(*_grab(app, window, out))

    timer = QTimer()
    timer.setInterval(POLL_MS)
    timer.timeout.connect(poll)
    timer.start()
    app.exec()
    if result["status"] is None:
        return 1
    if result["message"]:
        sys.stderr.write(str(result["message"]) + "\n")
    return int(result["status"])


def _grab(app: Any, window: MainWindow, out: Path) -> tuple[int, str]:
    app.processEvents()
    window.fit_all()
    app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out), "PNG"):
        return 1, f"wristviewer: could not write the screenshot to {out}."
    log.info("screenshot written (%d×%d)", window.width(), window.height())
    return 0, ""
