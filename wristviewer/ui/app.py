"""Start the viewer: ``run_app(paths, screenshot)`` is what ``wristviewer [PATH...]`` calls.

With ``screenshot``, the window renders off the user's way once every job is done (reading,
CLAHE, and the analysis when a model is installed), is saved as a PNG, and the process exits:
0 on success, 1 with a sentence on stderr on failure or timeout.

One window per user (:mod:`wristviewer.ui.single_instance`): a launch while a viewer runs
hands its files to that window, which comes forward, and exits at once. ``--screenshot``
and ``new_instance=True`` (``--new-instance``) never hand off and never listen. Files
opened from the macOS Finder arrive as ``QFileOpenEvent`` and open in the window too.

First run: the per-user folders (settings, installed models, logs) are created; one that
cannot be made or written is named in a message and the viewer runs without it.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wristviewer.paths import user_config_dir, user_log_dir, user_models_dir
from wristviewer.ui.screenshot import SCREENSHOT_TIMEOUT_S

if TYPE_CHECKING:
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QWidget

    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.single_instance import InstanceServer

log = logging.getLogger(__name__)

#: how long file-open events are gathered before they open together, in ms (Finder sends
#: one event per file when several are opened at once)
FILE_OPEN_GATHER_MS = 100

_TIMING_ENV = "WRISTVIEWER_TIMING"  # when set, timestamps (time.time()) go to stderr


def _timing(event: str) -> None:
    if os.environ.get(_TIMING_ENV):
        sys.stderr.write(f"wristviewer-timing {event} {time.time():.3f}\n")
        sys.stderr.flush()


def configure_pyqtgraph() -> None:
    """Row-major images (numpy's (rows, cols)) and no antialiasing; called once at UI start."""
    import pyqtgraph as pg

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)


def _user_folders() -> list[tuple[str, Path, str]]:
    """The per-user folders made on first run: (what they hold, folder, what is lost without)."""
    return [
        ("settings", user_config_dir(), "settings will not be kept"),
        (
            "installed models",
            user_models_dir(),
            "models cannot be installed (models shipped with the application still work)",
        ),
        ("log", user_log_dir(), "nothing is logged"),
    ]


def prepare_user_folders() -> list[str]:
    """Create the per-user folders (first run) and check each can be written.

    Returns one sentence per folder that cannot be used (empty when all is well); never
    raises for a missing, unwritable or impossible folder.
    """
    problems: list[str] = []
    for what, folder, consequence in _user_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            reason = exc.strerror or str(exc)
            problems.append(
                f"WristViewer cannot write to its {what} folder {folder} ({reason}); {consequence}."
            )
    return problems


def bring_forward(window: QWidget) -> None:
    """Show ``window`` un-minimised and ask the window manager to raise and focus it."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()


def _file_open_filter_class() -> type:
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FileOpenFilter(QObject):
        """Event filter on the QApplication: ``QEvent.FileOpen`` (macOS Finder, Dock) opens
        the file through ``target(paths)``; so do hand-offs passed to ``add``. What comes
        before a target is set (while the window is being built) is kept, and what comes
        within :data:`FILE_OPEN_GATHER_MS` opens together."""

        def __init__(self, parent: QObject | None = None) -> None:
            super().__init__(parent)
            self.target: Callable[[list[str]], Any] | None = None
            self.pending: list[str] = []
            self._forward = False  # something asked for the window since the last flush
            self._timer = QTimer(self)
            self._timer.setSingleShot(True)
            self._timer.setInterval(FILE_OPEN_GATHER_MS)
            self._timer.timeout.connect(self.flush)

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
            if event.type() != QEvent.Type.FileOpen:
                return False
            path = event.file() or event.url().toLocalFile()  # type: ignore[attr-defined]
            if path:
                self.add([path])
            return True

        def add(self, paths: list[str]) -> None:
            """Queue ``paths`` (a hand-off from another launch, too); ``[]`` only asks for
            the window to come forward."""
            self.pending.extend(paths)
            self._forward = True
            self._timer.start()

        def set_target(self, target: Callable[[list[str]], Any]) -> None:
            self.target = target
            if self._forward:
                self._timer.start()

        def flush(self) -> None:
            if self.target is None or not self._forward:
                return
            paths, self.pending, self._forward = self.pending, [], False
            log.info("%d file(s) opened from the desktop or another launch", len(paths))
            self.target(paths)

    return FileOpenFilter


def install_file_open_filter(app: QObject) -> Any:
    """Install (and return) the ``QEvent.FileOpen`` filter on ``app``; give it a target with
    ``set_target(callable)``, e.g. :func:`open_in_window`'s result."""
    handler = _file_open_filter_class()(app)
    app.installEventFilter(handler)
    return handler


def open_in_window(window: MainWindow) -> Callable[[list[str]], None]:
    """What a hand-off or a file-open event does: bring ``window`` forward, open the paths."""

    def handle(paths: list[str]) -> None:
        bring_forward(window)
        if paths:
            _timing("open-requested")
            window.open_paths(paths)

    return handle


def _close_on_signals(window: MainWindow) -> Callable[[], None]:
    """SIGINT/SIGTERM close the window as the user would (settings saved, workers stopped).

    Returns a function restoring the previous handlers. A timer gives Python a chance to run
    its signal handlers while Qt's loop waits.
    """
    from PySide6.QtCore import QTimer

    def on_signal(signum: int, frame: object) -> None:
        log.info("signal %d: closing the window", signum)
        QTimer.singleShot(0, window.close)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    wake = QTimer(window)
    wake.setInterval(250)
    wake.timeout.connect(lambda: None)
    wake.start()

    def restore() -> None:
        wake.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def run_app(
    paths: list[str],
    screenshot: str | None = None,
    *,
    timeout_s: float = SCREENSHOT_TIMEOUT_S,
    new_instance: bool = False,
    one_study: bool = False,
) -> int:
    """Open the window on ``paths``; returns the process exit status.

    Unless ``screenshot`` or ``new_instance``, ``paths`` go to an already running viewer
    when there is one (exit status 0 at once). ``one_study`` opens the plain images of each
    folder as one study; the hand-off carries only paths, so such a launch never hands off.
    """
    start = time.perf_counter()
    single = not screenshot and not new_instance
    if single and not one_study:
        from wristviewer.ui.single_instance import send_to_running

        if send_to_running(paths):
            log.info("handed %d path(s) to the running viewer", len(paths))
            return 0

    folder_problems = prepare_user_folders()
    app = _start_qt(folder_problems)
    file_opener = install_file_open_filter(app)
    # Listen before the (slow) window is built: launches meanwhile queue in file_opener.
    server = _start_server(file_opener) if single else None
    configure_pyqtgraph()
    window = _show_window(start, screenshot=bool(screenshot))
    if paths:
        _timing("open-requested")
        window.open_paths(paths, one_study=one_study)
    if screenshot:
        from wristviewer.ui.screenshot import take_screenshot

        for problem in folder_problems:
            sys.stderr.write(problem + "\n")
        app.removeEventFilter(file_opener)
        return take_screenshot(app, window, Path(screenshot), timeout_s, expect_studies=bool(paths))
    return _run_window(app, window, file_opener, server, folder_problems)


def _start_qt(folder_problems: list[str]) -> Any:
    """Logging, the QApplication with its names and icon."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from wristviewer.ui.settings import setup_logging

    try:
        setup_logging()
    except OSError as exc:
        log.warning("no log file: %s", exc)
    for problem in folder_problems:
        log.warning("%s", problem)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("WristViewer")
    app.setOrganizationName("WristViewer")
    QGuiApplication.setDesktopFileName(
        "wristviewer"
    )  # Wayland/X11: match the installed .desktop entry
    _set_app_icon(app)
    return app


def _show_window(start: float, *, screenshot: bool) -> MainWindow:
    """The main window with the saved settings (for a screenshot: auto-run, no geometry)."""
    from PySide6.QtCore import QTimer

    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.settings import ViewerSettings

    settings = ViewerSettings.load()
    if screenshot:
        settings.auto_run = True
        settings.geometry = ""
    window = MainWindow(settings)
    if screenshot:
        from wristviewer.ui.screenshot import prepare_for_screenshot

        prepare_for_screenshot(window)
    window.show()

    def shown() -> None:
        log.info("window visible after %.2f s", time.perf_counter() - start)
        _timing("window-shown")

    QTimer.singleShot(0, shown)
    window.analysis_finished.connect(
        lambda ok: _timing("analysis-finished" if ok else "analysis-failed")
    )
    window.analysis.preload_finished.connect(
        lambda ok: _timing("model-preloaded" if ok else "preload-failed")
    )
    return window


def _run_window(
    app: Any,
    window: MainWindow,
    file_opener: Any,
    server: InstanceServer | None,
    folder_problems: list[str],
) -> int:
    """The event loop until the window closes; hand-offs and file-open events open files."""
    from PySide6.QtCore import QTimer

    file_opener.set_target(open_in_window(window))
    if folder_problems:
        QTimer.singleShot(0, lambda: _warn_folders(window, folder_problems))
    restore_signals = _close_on_signals(window)
    try:
        status = app.exec()
    finally:
        restore_signals()
        app.removeEventFilter(file_opener)
        if server is not None:
            server.close()
    return int(status)


def _start_server(opener: Any) -> InstanceServer | None:
    """Listen for later launches, queueing their paths in ``opener`` (the file-open filter);
    None when another viewer already listens."""
    from wristviewer.ui.single_instance import InstanceServer

    server = InstanceServer(parent=opener)
    if not server.listen():
        return None
    server.paths_received.connect(opener.add)
    return server


def _warn_folders(window: MainWindow, problems: list[str]) -> None:
    """A non-blocking message naming the folders that cannot be used."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    if window.quiet_errors:
        window.statusBar().showMessage(problems[0])
        return
    box = QMessageBox(QMessageBox.Icon.Warning, "WristViewer", "\n\n".join(problems), parent=window)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()


def _set_app_icon(app: QObject) -> None:
    """The window icon from ``resources/icons`` (absent icons are not an error)."""
    from PySide6.QtGui import QIcon

    from wristviewer.paths import resources_dir

    folder = resources_dir() / "icons"
    icon = QIcon()
    for png in sorted(folder.glob("wristviewer-*.png")):
        icon.addFile(str(png))
    if not icon.isNull():
        app.setWindowIcon(icon)  # type: ignore[attr-defined]
