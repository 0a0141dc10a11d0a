"""The main window: menus, study selector, the views side by side, the side panels.

The window owns the :class:`ViewerState` and starts every slow job in a worker: reading
files, CLAHE (latest request wins), finding and installing model bundles, loading the model
and running it. torch is imported only inside those jobs, so the window appears fast.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from wristviewer.ai.card import ModelCard
from wristviewer.ai.registry import BUNDLE_SUFFIX, bundle_files_present, ensemble_members
from wristviewer.imaging import ClaheSettings, Radiograph, SkippedFile, Study, apply_clahe
from wristviewer.ui import dialogs
from wristviewer.ui.panels import ClahePanel, ResultsPanel
from wristviewer.ui.second_opinion import AuditLogDialog, ReadPanel, SecondOpinionController
from wristviewer.ui.settings import ViewerSettings, anonymous
from wristviewer.ui.state import WINDOW_PRESETS, Analysis, ViewerState
from wristviewer.ui.view_panel import ViewPanel
from wristviewer.ui.workers import JobCancelled, LatestRequestRunner, Worker, WorkerPool

if TYPE_CHECKING:  # the jobs import these in their worker; torch stays out of start-up
    from wristviewer.ai.predictor import Predictor
    from wristviewer.ai.registry import InstallResult
    from wristviewer.ai.results import StudyPrediction

log = logging.getLogger(__name__)

ENHANCED_CACHE_MAX = 12  # CLAHE outputs kept for quick study switching


# jobs (run in workers) -------------------------------------------------------------------
def load_job(paths: list[str]) -> Iterator[float | tuple[list[Study], list[SkippedFile]]]:
    """Read and sort ``paths`` into studies (files and folders, recursively), yielding progress
    so the window can show it and cancel a large folder. Returns (studies, skipped files)."""
    from wristviewer.imaging.studies import iter_load_studies

    return (yield from iter_load_studies(paths))


def clahe_job(
    radiographs: list[Radiograph], settings: ClaheSettings
) -> Iterator[float | tuple[ClaheSettings, dict[Path, np.ndarray], float]]:
    """CLAHE of each radiograph; yields progress between views (cancel points).

    Returns (settings, {path: float32 (rows, cols) in 0..1}, seconds spent).
    """
    start = time.perf_counter()
    out: dict[Path, np.ndarray] = {}
    for i, r in enumerate(radiographs):
        out[Path(r.path)] = apply_clahe(r.pixels, settings, r.bits_stored)
        yield (i + 1) / max(len(radiographs), 1)
    return settings, out, time.perf_counter() - start


def find_models_job() -> tuple[list[str], dict[str, ModelCard], list[str]]:
    """Installed bundles: the model choices offered, the card the registry will prefer for
    each architecture, and a sentence per unusable file. The installed bundles may have
    changed, so the loaded models are forgotten."""
    from wristviewer.ai.predictor import clear_model_cache
    from wristviewer.ai.registry import find_bundles, model_choices, preferred_cards
    from wristviewer.text import printable

    entries = find_bundles()
    problems = [
        f"{printable(e.path)}: unusable: {printable(e.error or '')}"
        for e in entries
        if e.card is None
    ]
    cards = preferred_cards(entries)
    clear_model_cache()
    return model_choices(cards), cards, problems


def install_job(path: str) -> InstallResult:
    """Install a bundle; returns the registry's ``InstallResult``."""
    from wristviewer.ai.registry import install_bundle

    return install_bundle(path)


def predict_job(
    spec: str,
    device: str,
    study: Study,
    *,
    progress: Callable[[float], None],
    cancelled: Callable[[], bool],
) -> tuple[Predictor, list[ModelCard], StudyPrediction]:
    """Load (or reuse) the predictor for ``spec`` on ``device`` and analyse ``study``.

    The models come from the AI layer's one model cache (``MODEL_CACHE``: one model set in
    memory at a time). Returns (predictor, model cards, prediction). The first 10 % of
    progress is loading.
    """
    from wristviewer.ai.predictor import MODEL_CACHE, PredictionCancelled

    progress(0.02)
    predictor = MODEL_CACHE.predictor(spec, device)
    cards = predictor.cards
    if cancelled():
        raise JobCancelled("inference")
    progress(0.1)
    try:
        prediction = predictor.predict_study(
            study, progress=lambda f: progress(0.1 + 0.9 * f), cancelled=cancelled
        )
    except PredictionCancelled as exc:
        raise JobCancelled("inference") from exc
    return predictor, cards, prediction


def tags_job(path: Path) -> list[Any]:
    from wristviewer.imaging import read_dicom_tags

    return read_dicom_tags(path)


class MainWindow(QMainWindow):
    """The viewer window. ``settings`` defaults to the saved ones.

    Signals: ``studies_loaded()``, ``enhanced_ready()`` (CLAHE applied to the views),
    ``models_found(list)``, ``analysis_finished(bool)`` (True on success),
    ``report_exported(str)`` and ``anonymised_exported(str)`` (the file / folder written).
    ``is_busy()`` says whether any job is left (used by --screenshot).
    """

    studies_loaded = Signal()
    enhanced_ready = Signal()
    models_found = Signal(list)
    analysis_finished = Signal(bool)
    report_exported = Signal(str)
    anonymised_exported = Signal(str)

    def __init__(
        self, settings: ViewerSettings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else ViewerSettings.load()
        self.state = ViewerState(clahe=self.settings.clahe)
        self.state.set_heatmap(
            visible=self.settings.heatmap_visible, opacity=self.settings.heatmap_opacity
        )
        self.workers = WorkerPool()
        self.second_opinion = SecondOpinionController(self.state, self.settings, parent=self)
        self.last_report: Path | None = None
        self.last_anonymised: Any = None
        self.teaching_window: Any = None
        self.panels: list[ViewPanel] = []
        self.active_panel: ViewPanel | None = None
        self.last_error: str | None = None
        self.last_clahe_seconds: float | None = None
        self.model_specs: list[str] | None = None
        self.model_cards: dict[str, ModelCard] = {}
        self._enhanced: dict[Path, np.ndarray] = {}
        self._enhanced_settings: ClaheSettings | None = None
        self._ai_worker: Worker | None = None
        self._load_worker: Worker | None = None
        self._ai_study_id: str | None = None
        self._loading = 0
        self._models_busy = False
        self._actions: list[QAction] = []
        self._closing = False
        self.persist_settings = True  # False for --screenshot: leave the user's settings alone
        self.quiet_errors = False  # True: errors go to the status bar only, no message box

        self.setWindowTitle("WristViewer")
        self.setAcceptDrops(True)
        self.resize(1600, 1000)
        self._build_widgets()
        self._build_actions()
        self._connect_state()
        self._clahe_runner = LatestRequestRunner(
            self.workers, self._on_clahe_result, self._on_clahe_error, self._on_clahe_idle
        )
        self._restore_geometry()
        self.refresh_models()

    # construction -----------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.study_combo = QComboBox()
        self.study_combo.setMinimumWidth(320)
        self.study_combo.setToolTip("Studies in what was opened (Page Up / Page Down)")
        self.study_combo.currentIndexChanged.connect(self._on_study_chosen)
        self.info_label = QLabel("")
        self.info_label.setStyleSheet("color: #666;")
        top = QHBoxLayout()
        top.setContentsMargins(6, 4, 6, 0)
        top.addWidget(QLabel("Study:"))
        top.addWidget(self.study_combo)
        top.addStretch(1)

        self.views_host = QWidget()
        self.views_layout = QGridLayout(self.views_host)
        self.views_layout.setContentsMargins(2, 2, 2, 2)
        self.views_layout.setSpacing(4)
        self.placeholder = QLabel(
            "Open radiographs: File ▸ Open files (O) or Open folder (Shift+O), or drop files here.\n"
            "DICOM, PNG and JPEG are read; folders are searched recursively."
        )
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #777; font-size: 15px;")
        self.views_layout.addWidget(self.placeholder, 0, 0)

        self.clahe_panel = ClahePanel(self.state)
        self.results_panel = ResultsPanel(self.state)
        self.results_panel.ai_gate = self.second_opinion.ai_visible
        self.read_panel = ReadPanel(self.second_opinion)
        self.results_panel.set_device(self.settings.device)
        self.results_panel.set_auto_run(self.settings.auto_run)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 4, 4, 4)
        side_layout.addWidget(self.clahe_panel)
        side_layout.addWidget(self.read_panel)
        side_layout.addWidget(self.results_panel)
        side_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(340)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(top)
        left_layout.addWidget(self.views_host, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([1240, 360])
        self.setCentralWidget(self.splitter)

        bar = self.statusBar()
        self.status_label = QLabel("Ready")
        self.busy_bar = QProgressBar()
        self.busy_bar.setMaximumWidth(160)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.hide()
        self.skipped_button = QPushButton("")
        self.skipped_button.setFlat(True)
        self.skipped_button.setStyleSheet("color: #b26a00; text-decoration: underline;")
        self.skipped_button.setToolTip("Show which files were not opened, and why")
        self.skipped_button.clicked.connect(self.show_skipped)
        self.skipped_button.hide()
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.info_label)
        bar.addPermanentWidget(self.skipped_button)
        bar.addPermanentWidget(self.busy_bar)

        rp = self.results_panel
        rp.run_requested.connect(self.run_analysis)
        rp.cancel_requested.connect(self.cancel_analysis)
        rp.model_chosen.connect(self._on_model_chosen)
        rp.device_chosen.connect(self._on_device_chosen)
        rp.auto_run_toggled.connect(self._on_auto_run_toggled)

    def _action(
        self,
        menu: Any,
        text: str,
        slot: Callable[..., Any],
        shortcuts: Sequence[str | QKeySequence.StandardKey] = (),
        *,
        checkable: bool = False,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        keys = [k for k in (QKeySequence(s) for s in shortcuts) if not k.isEmpty()]
        if keys:
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        self._actions.append(action)
        return action

    def _build_actions(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        self._action(
            file_menu, "&Open files…", self.open_files_dialog, ["O", QKeySequence.StandardKey.Open]
        )
        self._action(
            file_menu, "Open &folder…", self.open_folder_dialog, ["Shift+O", "Ctrl+Shift+O"]
        )
        self.recent_menu = file_menu.addMenu("Recent studies")
        self._fill_recent_menu()
        file_menu.addSeparator()
        self._action(file_menu, "Next study", lambda: self.state.step_study(1), ["PgDown", "N"])
        self._action(file_menu, "Previous study", lambda: self.state.step_study(-1), ["PgUp", "P"])
        file_menu.addSeparator()
        self._action(file_menu, "DICOM tags…", self.show_dicom_tags, ["T"])
        self._action(file_menu, "Files not opened…", self.show_skipped)
        file_menu.addSeparator()
        self._action(file_menu, "Export report…", self.export_report, ["Ctrl+E"])
        self._action(file_menu, "Export anonymised study…", self.export_anonymised)
        self._action(file_menu, "Audit log…", self.show_audit_log)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, ["Ctrl+Q"])

        view_menu = mb.addMenu("&View")
        self._action(view_menu, "Fit to window", self.fit_all, ["F"])
        self._action(
            view_menu, "Invert", lambda: self._on_active(lambda p: p.display.toggle_invert()), ["I"]
        )
        self._action(
            view_menu,
            "Rotate 90° clockwise",
            lambda: self._on_active(lambda p: p.display.rotate(1)),
            ["R"],
        )
        self._action(
            view_menu,
            "Rotate 90° anticlockwise",
            lambda: self._on_active(lambda p: p.display.rotate(-1)),
            ["Shift+R"],
        )
        self._action(
            view_menu,
            "Flip horizontally",
            lambda: self._on_active(lambda p: p.display.flip(True)),
            ["X"],
        )
        self._action(
            view_menu,
            "Flip vertically",
            lambda: self._on_active(lambda p: p.display.flip(False)),
            ["Y"],
        )
        self._action(
            view_menu,
            "Reset view",
            lambda: self._on_active(lambda p: (p.display.reset(p.radiograph.window), p.fit())),
            ["Backspace"],
        )
        self.wl_action = self._action(
            view_menu, "Window/level mouse mode", self._on_wl_mode, ["W"], checkable=True
        )
        view_menu.addSeparator()
        for i, name in enumerate(WINDOW_PRESETS, start=1):
            self._action(
                view_menu, f"Window: {name}", lambda _=False, n=name: self.apply_preset(n), [str(i)]
            )
        view_menu.addSeparator()
        self._action(view_menu, "Next view", lambda: self._step_active(1), ["V"])
        self.clahe_action = self._action(view_menu, "CLAHE on/off", self.toggle_clahe, ["C"])
        self.heatmap_action = self._action(
            view_menu,
            "Heatmap overlay on/off",
            lambda: self.state.set_heatmap(visible=not self.state.heatmap_visible),
            ["H"],
        )

        ai_menu = mb.addMenu("&AI")
        self._action(ai_menu, "Run AI on this study", self.run_analysis, ["Ctrl+R", "A"])
        self._action(ai_menu, "Cancel reading / AI run", self.cancel_work, ["Esc"])
        ai_menu.addSeparator()
        self.reveal_action = self._action(
            ai_menu,
            "Reveal the AI only after my read",
            lambda on: self.second_opinion.set_mode("after_read" if on else "immediate"),
            checkable=True,
            tip="Hide the AI result until you have submitted your own read",
        )
        self.reveal_action.setChecked(self.settings.reveal_ai == "after_read")

        teaching_menu = mb.addMenu("&Teaching")
        self._action(teaching_menu, "Open case set…", self.open_case_set_dialog)
        self._action(teaching_menu, "Open the sample case set", self.open_sample_case_set)

        models_menu = mb.addMenu("&Models")
        self._action(models_menu, "Install…", self.install_dialog, ["Ctrl+I"])
        self._action(models_menu, "Look for models again", self.refresh_models)

        help_menu = mb.addMenu("&Help")
        self._action(help_menu, "Shortcuts…", self.show_shortcuts, ["?", "F1"])
        self._action(help_menu, "About WristViewer…", lambda: dialogs.show_about(self))

    def _connect_state(self) -> None:
        s = self.state
        s.studies_changed.connect(self._on_studies_changed)
        s.current_changed.connect(self._on_current_changed)
        s.views_reordered.connect(self._on_views_reordered)
        s.clahe_changed.connect(self._on_clahe_changed)
        s.heatmap_changed.connect(self._on_heatmap_changed)
        s.analysis_changed.connect(self._on_analysis_changed)
        s.skipped_changed.connect(self._on_skipped_changed)
        self.second_opinion.changed.connect(self._on_second_opinion_changed)
        self.second_opinion.audit_failed.connect(self.status_label.setText)

    # opening ------------------------------------------------------------------------------
    def open_paths(self, paths: Sequence[str | Path]) -> Worker | None:
        """Read ``paths`` (files or folders) in a worker; the studies replace the open ones."""
        paths = [str(p) for p in paths]
        if not paths:
            return None
        log.info("opening %d path(s)", len(paths))
        self.settings.add_recent(paths)
        first = Path(paths[0])
        self.settings.last_folder = str(first if first.is_dir() else first.parent)
        self._fill_recent_menu()
        worker = Worker(load_job, paths)
        worker.signals.progress.connect(self._on_loading_progress)
        worker.signals.returned.connect(self._on_loaded)
        worker.signals.errored.connect(
            lambda exc: self._report_error("Could not open the files", exc)
        )
        worker.signals.finished.connect(self._on_loading_finished)
        self._loading += 1
        self._load_worker = worker
        self._set_busy(f"Reading {len(paths)} item(s)…")
        self.workers.start(worker)
        return worker

    def open_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Open radiographs",
            self.settings.last_folder,
            "Radiographs (*.dcm *.dicom *.png *.jpg *.jpeg *.tif *.tiff);;All files (*)",
        )
        if files:
            self.open_paths(files)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder", self.settings.last_folder)
        if folder:
            self.open_paths([folder])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(self.settings.recent))

    def _on_loaded(self, result: tuple[list[Study], list[SkippedFile]]) -> None:
        studies, skipped = result
        log.info(
            "read %d study(ies), %d view(s), %d skipped",
            len(studies),
            sum(len(s.views) for s in studies),
            len(skipped),
        )
        self._enhanced.clear()
        self.state.set_studies(studies, skipped)
        if not studies:
            self.status_label.setText(
                "Nothing could be opened"
                + (f": {len(skipped)} file(s) skipped" if skipped else ".")
            )
        self.studies_loaded.emit()

    def _on_loading_progress(self, fraction: float) -> None:
        self.busy_bar.setRange(0, 100)
        self.busy_bar.setValue(round(fraction * 100))

    def _on_loading_finished(self) -> None:
        self._loading -= 1
        self._update_busy()

    # studies and panels -------------------------------------------------------------------
    def _on_studies_changed(self) -> None:
        self.study_combo.blockSignals(True)
        self.study_combo.clear()
        for i, study in enumerate(self.state.studies):
            self.study_combo.addItem(self._study_title(i, study))
        self.study_combo.blockSignals(False)
        self.study_combo.setEnabled(bool(self.state.studies))

    def _study_title(self, index: int, study: Study) -> str:
        first = study.views[0].path if study.views else None
        where = first.parent.name if first is not None else study.id
        views = ", ".join(v.view.value for v in study.views)
        return f"{index + 1}. {where} — {len(study.views)} view(s): {views}"

    def _on_study_chosen(self, index: int) -> None:
        self.state.set_current(index)

    def _on_current_changed(self, index: int) -> None:
        self.study_combo.blockSignals(True)
        self.study_combo.setCurrentIndex(index)
        self.study_combo.blockSignals(False)
        self._rebuild_panels()
        study = self.state.current_study
        if study is not None:
            self.status_label.setText(
                f"Study {index + 1} of {len(self.state.studies)}: {len(study.views)} view(s)"
            )
            self._request_clahe()
            if self.settings.auto_run and self.model_specs and study.id not in self.state.analyses:
                self.run_analysis()

    def _on_views_reordered(self, study: Study) -> None:
        if study is self.state.current_study:
            self._rebuild_panels()
        i = self.state.studies.index(study) if study in self.state.studies else -1
        if i >= 0:
            self.study_combo.setItemText(i, self._study_title(i, study))

    def _rebuild_panels(self) -> None:
        for panel in self.panels:
            panel.detach()
            self.views_layout.removeWidget(panel)
            panel.deleteLater()
        self.panels = []
        self.active_panel = None
        study = self.state.current_study
        self.placeholder.setVisible(study is None)
        if study is None:
            return
        n = len(study.views)
        columns = n if n <= 3 else (2 if n == 4 else 3)
        analysis = self.state.current_analysis()
        for i, radiograph in enumerate(study.views):
            panel = ViewPanel(self.state, radiograph)
            enhanced = self._enhanced.get(Path(radiograph.path))
            if enhanced is not None and self._enhanced_settings == self.state.clahe:
                panel.set_enhanced(enhanced)
            panel.set_wl_mode(self.wl_action.isChecked())
            panel.activated.connect(lambda p=panel: self._set_active(p))
            self.views_layout.addWidget(panel, i // columns, i % columns)
            self.panels.append(panel)
            self._show_prediction(panel, analysis)
        for c in range(self.views_layout.columnCount()):
            self.views_layout.setColumnStretch(c, 1 if c < columns else 0)
        if self.panels:
            self._set_active(self.panels[0])
        QTimer.singleShot(0, self.fit_all)

    def _set_active(self, panel: ViewPanel) -> None:
        self.active_panel = panel
        for p in self.panels:
            p.set_active(p is panel)
        self.info_label.setText(dialogs.image_info(panel.radiograph))

    def _step_active(self, step: int) -> None:
        if self.panels:
            i = self.panels.index(self.active_panel) if self.active_panel in self.panels else 0
            self._set_active(self.panels[(i + step) % len(self.panels)])

    def _on_active(self, fn: Callable[[ViewPanel], Any]) -> None:
        if self.active_panel is not None:
            fn(self.active_panel)

    def fit_all(self) -> None:
        for panel in self.panels:
            panel.fit()

    def apply_preset(self, name: str) -> None:
        """Window preset for every view ("DICOM default" = each radiograph's own window)."""
        preset = WINDOW_PRESETS[name]
        for panel in self.panels:
            panel.display.set_window(preset if preset is not None else panel.radiograph.window)
        self.status_label.setText(f"Window: {name}")

    def _on_wl_mode(self, on: bool) -> None:
        for panel in self.panels:
            panel.set_wl_mode(on)
        self.status_label.setText("Left-drag sets window/level" if on else "Left-drag pans")

    # CLAHE --------------------------------------------------------------------------------
    def toggle_clahe(self) -> None:
        c = self.state.clahe
        self.state.set_clahe(
            ClaheSettings(enabled=not c.enabled, clip_limit=c.clip_limit, tile_grid=c.tile_grid)
        )

    def _on_clahe_changed(self, settings: ClaheSettings) -> None:
        self.settings.set_clahe(settings)
        self._request_clahe()

    def _request_clahe(self) -> None:
        study = self.state.current_study
        if study is None:
            return
        settings = self.state.clahe
        if self._enhanced_settings == settings and all(
            Path(r.path) in self._enhanced for r in study.views
        ):
            self._apply_enhanced()
            self.enhanced_ready.emit()
            return
        if not settings.enabled:  # no work: show the pixels now
            self._on_clahe_result((settings, {Path(r.path): r.pixels for r in study.views}, 0.0))
            self._clahe_runner.cancel()
            return
        self.clahe_panel.set_busy(True)
        self._clahe_runner.submit(clahe_job, list(study.views), settings)
        self._update_busy()

    def _on_clahe_result(self, result: tuple[ClaheSettings, dict[Path, np.ndarray], float]) -> None:
        settings, arrays, seconds = result
        if settings != self.state.clahe:
            return
        if self._enhanced_settings != settings:
            self._enhanced = {}
            self._enhanced_settings = settings
        self._enhanced.update(arrays)
        while len(self._enhanced) > ENHANCED_CACHE_MAX:
            self._enhanced.pop(next(iter(self._enhanced)))
        self.last_clahe_seconds = seconds
        self._apply_enhanced()
        self.clahe_panel.set_busy(self._clahe_runner.busy)
        self._update_busy()
        self.enhanced_ready.emit()

    def _on_clahe_idle(self) -> None:
        self.clahe_panel.set_busy(False)
        self._update_busy()

    def _on_clahe_error(self, exc: BaseException) -> None:
        self.clahe_panel.set_busy(False)
        self._report_error("CLAHE failed", exc)

    def _apply_enhanced(self) -> None:
        for panel in self.panels:
            arr = self._enhanced.get(Path(panel.radiograph.path))
            if arr is not None:
                panel.set_enhanced(arr)

    # models and AI ------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Look for installed bundles (a worker; skipped without torch when no file exists)."""
        if not bundle_files_present():
            self._on_models_found(([], {}, []))
            return
        self._models_busy = True
        self.results_panel.set_models(None, None)
        worker = Worker(find_models_job)
        worker.signals.returned.connect(self._on_models_found)
        worker.signals.errored.connect(
            lambda exc: (
                self._on_models_found(([], {}, [])),
                self._report_error("Could not read the model bundles", exc),
            )
        )
        worker.signals.finished.connect(self._on_models_job_finished)
        self.workers.start(worker)
        self._update_busy()

    def _on_models_job_finished(self) -> None:
        self._models_busy = False
        self._update_busy()

    def _on_models_found(self, result: tuple[list[str], dict[str, ModelCard], list[str]]) -> None:
        specs, cards, problems = result
        if problems:
            self.status_label.setText(f"{len(problems)} model file(s) unusable: {problems[0]}")
        self.model_specs = specs
        self.model_cards = cards
        chosen = (
            self.settings.model if self.settings.model in specs else (specs[0] if specs else None)
        )
        self.results_panel.set_models(specs, chosen)
        if chosen:
            self.settings.model = chosen
            self._show_model_warning(chosen)
        else:
            self.results_panel.set_untrained(False)
        log.info("%d model choice(s) found", len(specs))
        self.models_found.emit(specs)
        study = self.state.current_study
        if (
            specs
            and self.settings.auto_run
            and study is not None
            and study.id not in self.state.analyses
        ):
            self.run_analysis()

    def _show_model_warning(self, spec: str) -> None:
        cards = [self.model_cards.get(a) for a in ensemble_members(spec)]
        self.results_panel.set_untrained(any(c is not None and c.untrained for c in cards))

    def _on_model_chosen(self, spec: str) -> None:
        self.settings.model = spec
        self._show_model_warning(spec)

    def _on_device_chosen(self, device: str) -> None:
        self.settings.device = device

    def _on_auto_run_toggled(self, on: bool) -> None:
        self.settings.auto_run = on

    def run_analysis(self) -> Worker | None:
        """Analyse the current study with the chosen model, in a worker (one run at a time)."""
        study = self.state.current_study
        spec = self.results_panel.chosen_model()
        if study is None or not spec or self._ai_worker is not None:
            return None
        self._ai_study_id = study.id
        log.info(
            "AI run: model %s, device %s, %d view(s)", spec, self.settings.device, len(study.views)
        )
        snapshot = Study(id=study.id, views=list(study.views))  # the GUI may re-sort the original
        worker = Worker(predict_job, spec, self.settings.device, snapshot, controls=True)
        worker.signals.progress.connect(self.results_panel.set_progress)
        worker.signals.returned.connect(self._on_prediction)
        worker.signals.errored.connect(self._on_prediction_error)
        worker.signals.cancelled.connect(self._on_prediction_cancelled)
        worker.signals.finished.connect(self._on_prediction_finished)
        self._ai_worker = worker
        self.results_panel.set_running(True, "Loading the model and analysing…")
        self.workers.start(worker)
        self._update_busy()
        return worker

    def cancel_work(self) -> None:
        """Stop reading files and the AI run, whichever are going."""
        if self._load_worker is not None and not self._load_worker.is_done:
            self._load_worker.cancel()
            self.status_label.setText("Reading cancelled.")
        self.cancel_analysis()

    def cancel_analysis(self) -> None:
        if self._ai_worker is not None:
            self._ai_worker.cancel()
            self.results_panel.set_running(True, "Cancelling…")

    def _on_prediction(self, result: tuple[Predictor, list[ModelCard], StudyPrediction]) -> None:
        predictor, cards, prediction = result
        self.results_panel.set_untrained(any(c.untrained for c in cards))
        self.results_panel.set_device_in_use(
            predictor.device_name, predictor.precision, predictor.precision_reason
        )
        log.info("AI result: %d view(s) on %s", len(prediction.views), predictor.device_name)
        self.state.set_analysis(
            self._ai_study_id or prediction.study_id,
            Analysis(prediction, cards, predictor.device_name),
        )
        self.results_panel.set_running(False, "")
        self.analysis_finished.emit(True)

    def _on_prediction_error(self, exc: BaseException) -> None:
        self.results_panel.set_running(False, f"The analysis failed: {exc}")
        self._report_error("The analysis failed", exc)
        self.analysis_finished.emit(False)

    def _on_prediction_cancelled(self) -> None:
        self.results_panel.set_running(False, "Analysis cancelled.")
        self.results_panel.set_progress(0.0)
        self.analysis_finished.emit(False)

    def _on_prediction_finished(self) -> None:
        self._ai_worker = None
        self._update_busy()
        study = self.state.current_study
        if (
            not self._closing
            and self.settings.auto_run
            and study is not None
            and study.id != self._ai_study_id
            and study.id not in self.state.analyses
        ):
            self.run_analysis()

    def _on_analysis_changed(self, study_id: str) -> None:
        study = self.state.current_study
        if study is not None and study.id == study_id:
            analysis = self.state.current_analysis()
            for panel in self.panels:
                self._show_prediction(panel, analysis)

    def _on_second_opinion_changed(self) -> None:
        """The read was submitted, the mode changed…: show or hide the AI result again."""
        analysis = self.state.current_analysis()
        self.results_panel.show_analysis(analysis)
        for panel in self.panels:
            self._show_prediction(panel, analysis)

    def _show_prediction(self, panel: ViewPanel, analysis: Analysis | None) -> None:
        if analysis is not None and not self.second_opinion.ai_visible():
            analysis = None  # blind read: no badge, no heatmap until the read is submitted
        vp = analysis.view_prediction(panel.radiograph.path) if analysis is not None else None
        if vp is None or analysis is None:
            panel.set_prediction(None, 0.5, None)
        else:
            panel.set_prediction(vp.fracture_probability, analysis.prediction.threshold, vp.heatmap)

    def _on_heatmap_changed(self) -> None:
        self.settings.heatmap_visible = self.state.heatmap_visible
        self.settings.heatmap_opacity = self.state.heatmap_opacity

    def install_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Install a model bundle",
            self.settings.last_folder,
            f"Model bundles (*{BUNDLE_SUFFIX})",
        )
        if path:
            self.install_bundle(path)

    def install_bundle(self, path: str | Path) -> Worker:
        """Copy a bundle into the user models folder (checked by the AI layer), in a worker."""
        worker = Worker(install_job, str(path))
        worker.signals.returned.connect(
            lambda result: (
                self.status_label.setText(result.sentence()),
                self.refresh_models(),
            )
        )
        worker.signals.errored.connect(
            lambda exc: self._report_error("The model could not be installed", exc)
        )
        worker.signals.finished.connect(self._update_busy)
        self._set_busy("Installing the model…")
        self.workers.start(worker)
        return worker

    # dialogs ------------------------------------------------------------------------------
    def show_dicom_tags(self) -> None:
        panel = self.active_panel
        if panel is None:
            return
        radiograph = panel.radiograph
        worker = Worker(tags_job, Path(radiograph.path))
        worker.signals.returned.connect(
            lambda tags: dialogs.DicomTagsDialog(radiograph, tags, self).open()
        )
        worker.signals.errored.connect(
            lambda exc: self._report_error("Could not read the DICOM tags", exc)
        )
        self.workers.start(worker)

    def export_report(self) -> Worker | None:
        """File ▸ Export report… (PDF or PNG; identifiers only when asked for)."""
        from wristviewer.ui.report import export_report

        return export_report(self)

    def export_anonymised(self) -> Worker | None:
        """File ▸ Export anonymised study… (DICOM de-identified, PS3.15 E.1-1)."""
        from wristviewer.ui.report import export_anonymised

        return export_anonymised(self)

    def show_audit_log(self) -> None:
        AuditLogDialog(self.second_opinion.writer.path, self.workers, self).open()

    def open_case_set_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open a teaching case set (folder with cases.csv)", self.settings.last_folder
        )
        if folder:
            self.open_case_set(folder)

    def open_sample_case_set(self) -> None:
        from wristviewer.paths import resources_dir

        self.open_case_set(resources_dir() / "teaching" / "fracatlas-sample")

    def open_case_set(self, folder: str | Path) -> Any:
        """Open the quiz window on a case set; returns it (None when the set is unreadable)."""
        from wristviewer.ui.teaching import TeachingWindow
        from wristviewer.workflow.teaching import CaseSetError, load_case_set

        try:
            case_set = load_case_set(folder)
        except CaseSetError as exc:
            self._report_error("The case set could not be opened", exc)
            return None
        self.teaching_window = TeachingWindow(
            case_set, model_spec=self.results_panel.chosen_model(), device=self.settings.device
        )
        self.teaching_window.show()
        return self.teaching_window

    def show_skipped(self) -> None:
        if self.state.skipped:
            dialogs.SkippedFilesDialog(self.state.skipped, self).open()

    def show_shortcuts(self) -> None:
        dialogs.ShortcutsDialog(self._actions, self).open()

    @property
    def actions_with_shortcuts(self) -> list[QAction]:
        return [a for a in self._actions if any(not k.isEmpty() for k in a.shortcuts())]

    def _on_skipped_changed(self) -> None:
        """A warning for files that failed; documents (.md, .csv…) are only mentioned."""
        skipped = self.state.skipped
        failed = sum(not getattr(s, "document", False) for s in skipped)
        documents = len(skipped) - failed
        self.skipped_button.setVisible(bool(skipped))
        if failed:
            text = f"⚠ {failed} file{'s' if failed != 1 else ''} not opened — details"
            style = "color: #b26a00; text-decoration: underline;"
        else:
            text = (
                f"{documents} non-image file{'s' if documents != 1 else ''} passed over — details"
            )
            style = "color: #777; text-decoration: underline;"
        self.skipped_button.setText(text)
        self.skipped_button.setStyleSheet(style)
        if skipped:
            log.warning("%d file(s) not opened, %d document(s) passed over", failed, documents)

    def _report_error(self, what: str, exc: BaseException) -> None:
        sentence = f"{what}: {exc}"
        self.last_error = sentence
        log.error("%s (%s)", what, type(exc).__name__)
        self.status_label.setText(sentence)
        if not self._closing and self.isVisible() and not self.quiet_errors:
            box = QMessageBox(QMessageBox.Icon.Warning, "WristViewer", sentence, parent=self)
            box.open()

    # busy state ---------------------------------------------------------------------------
    def _set_busy(self, message: str) -> None:
        self.status_label.setText(message)
        self.busy_bar.setRange(0, 0)  # indeterminate until a job reports progress
        self.busy_bar.show()

    def _update_busy(self) -> None:
        self.busy_bar.setVisible(self.is_busy())

    def is_busy(self) -> bool:
        """True while any job is queued or running (reading, CLAHE, models, inference)."""
        return bool(
            self._loading
            or self._models_busy
            or self._clahe_runner.busy
            or self._ai_worker
            or self.workers.active
        )

    # drag and drop ------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        self.handle_dropped(paths)
        event.acceptProposedAction()

    def handle_dropped(self, paths: Sequence[str]) -> None:
        """Bundles (``.safetensors``) are installed; everything else is opened."""
        bundles = [p for p in paths if p.lower().endswith(BUNDLE_SUFFIX)]
        others = [p for p in paths if p not in bundles]
        for path in bundles:
            self.install_bundle(path)
        if others:
            self.open_paths(others)

    # geometry, settings, shutdown ---------------------------------------------------------
    def _restore_geometry(self) -> None:
        if self.settings.geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.settings.geometry.encode("ascii")))

    def save_settings(self) -> None:
        self.settings.geometry = bytes(self.saveGeometry().toBase64().data()).decode("ascii")
        self.settings.set_clahe(self.state.clahe)
        self.settings.heatmap_opacity = self.state.heatmap_opacity
        self.settings.heatmap_visible = self.state.heatmap_visible
        try:
            self.settings.save()
        except OSError as exc:
            log.error("settings not saved: %s", exc)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self._closing = True
        if self.persist_settings:
            self.save_settings()
        self._clahe_runner.cancel()
        self.workers.cancel_all()
        if not self.workers.wait_all(10.0):
            log.warning("workers still running at shutdown")
        for panel in self.panels:
            panel.detach()
        self.second_opinion.close()
        if self.teaching_window is not None:
            self.teaching_window.close()
        super().closeEvent(event)

    def describe(self) -> dict[str, Any]:
        """A few facts for logs and tests (no patient data)."""
        return {
            "studies": len(self.state.studies),
            "views": [anonymous(p.radiograph.path) for p in self.panels],
            "skipped": len(self.state.skipped),
        }
