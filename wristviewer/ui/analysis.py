"""AI runs and model handling for the main window: which models are installed, the chosen
model and device, loading the chosen model in advance (preload), running the model on the
current study (one run at a time, in a worker) with its stage and elapsed time, cancelling,
installing bundles, and the one rule for running automatically.

The model lane: at most one job that may load a model (a preload or a run) goes at a time,
so a run asked for while the model is still being loaded waits for that load and then finds
the model in the AI layer's cache: the model is never loaded twice. A cancelled run gives
the panel back at once; its worker, which cannot stop in the middle of a load or a forward
pass, keeps the lane until it ends, and its result is dropped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from wristviewer.ai.card import ModelCard
from wristviewer.ai.registry import bundle_files_present, ensemble_members, model_label
from wristviewer.imaging import Study
from wristviewer.ui.jobs import (
    STAGE_LOADING,
    find_models_job,
    install_job,
    predict_job,
    preload_job,
)
from wristviewer.ui.results_panel import ResultsPanel
from wristviewer.ui.settings import ViewerSettings
from wristviewer.ui.workers import Worker, WorkerPool
from wristviewer.viewer import Analysis, ViewerState

if TYPE_CHECKING:  # torch loads in the AI worker only
    from wristviewer.ai.predictor import Predictor
    from wristviewer.ai.registry import InstallResult
    from wristviewer.ai.results import StudyPrediction

log = logging.getLogger(__name__)

ModelsFound = tuple[list[str], dict[str, ModelCard], list[str]]


@dataclass(frozen=True)
class _RunRequest:
    """One AI run as asked for: its number, model choice, device and study snapshot."""

    number: int
    spec: str
    device: str
    study: Study


class AnalysisController(QObject):
    """Drives ``panel`` (the AI side panel) and puts results into ``state``.

    Signals: ``models_found(list)`` (the model choices), ``analysis_finished(bool)`` (True on
    success), ``busy_changed()`` when looking for models, a preload or a run starts or ends,
    ``preload_finished(bool)`` (True when the chosen model is loaded and waiting).
    :attr:`stages` lists the stages the latest run went through (``jobs.STAGES`` names).
    """

    models_found = Signal(list)
    analysis_finished = Signal(bool)
    busy_changed = Signal()
    preload_finished = Signal(bool)

    def __init__(
        self,
        state: ViewerState,
        settings: ViewerSettings,
        panel: ResultsPanel,
        workers: WorkerPool,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._settings = settings
        self._panel = panel
        self._workers = workers
        self.model_specs: list[str] | None = None  # None while still looking
        self.model_cards: dict[str, ModelCard] = {}
        self._lane: Worker | None = None  # the preload or run that may be loading a model
        self._preload_wanted: tuple[str, str] | None = None  # (spec, device) to load next
        self._run: _RunRequest | None = None  # the run shown in the panel (waiting or going)
        self._run_worker: Worker | None = None
        self._runs = 0
        self._study_id: str | None = None  # the study of the latest run
        self._started = 0.0
        self._stage_text = ""
        self.stages: list[str] = []
        self._clock = QTimer(self)
        self._clock.setInterval(100)
        self._clock.timeout.connect(self._show_stage)
        self._preloaded = False  # the outcome of the latest preload
        self._looking = False
        self.closed = False
        panel.set_device(settings.device)
        panel.set_auto_run(settings.auto_run)
        panel.run_requested.connect(self.run)
        panel.cancel_requested.connect(self.cancel)
        panel.model_chosen.connect(self._on_model_chosen)
        panel.device_chosen.connect(self._on_device_chosen)
        panel.auto_run_toggled.connect(self._on_auto_run_toggled)

    @property
    def busy(self) -> bool:
        return self._looking or self._run is not None or self._lane is not None

    @property
    def running(self) -> bool:
        """True from a run's request until its result, error or cancel is shown."""
        return self._run is not None

    @property
    def preloading(self) -> bool:
        return self._lane is not None and self._run_worker is not self._lane

    # the auto-run rule ------------------------------------------------------------------------
    def auto_run(self, *, not_again: str | None = None) -> bool:
        """Run the model on the current study if running automatically is on, a model is
        installed, and the study has no result yet (nor is ``not_again``, the study whose run
        just ended without one). The one place this rule lives."""
        study = self._state.current_study
        if (
            self.closed
            or not self._settings.auto_run
            or not self.model_specs
            or not self._state.needs_analysis()
            or (study is not None and study.id == not_again)
        ):
            return False
        return self.run()

    # models -----------------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Look for installed bundles (a worker; skipped without torch when no file exists)."""
        if not bundle_files_present():
            self._on_models_found(([], {}, []))
            return
        self._looking = True
        self._panel.set_models(None, None)
        self._workers.submit(
            find_models_job,
            _connect={
                "returned": self._on_models_found,
                "errored": self._on_models_error,
                "finished": self._on_models_job_finished,
            },
        )
        self.busy_changed.emit()

    def _on_models_error(self, exc: BaseException) -> None:
        self._on_models_found(([], {}, []))
        self._state.status.report_error("Could not read the model bundles", exc)

    def _on_models_job_finished(self) -> None:
        self._looking = False
        self.busy_changed.emit()

    def _on_models_found(self, result: ModelsFound) -> None:
        specs, cards, problems = result
        if problems:
            self._state.status.show(f"{len(problems)} model file(s) unusable: {problems[0]}")
        self.model_specs = specs
        self.model_cards = cards
        chosen = self._settings.model if self._settings.model in specs else None
        chosen = chosen or (specs[0] if specs else None)
        self._panel.set_models(specs, chosen)
        if chosen:
            self._settings.model = chosen
            self._show_model_warning(chosen)
        else:
            self._panel.set_untrained(False)
        log.info("%d model choice(s) found", len(specs))
        self.preload()
        self.models_found.emit(specs)
        self.auto_run()

    def _show_model_warning(self, spec: str) -> None:
        cards = [self.model_cards.get(a) for a in ensemble_members(spec)]
        self._panel.set_untrained(any(c is not None and c.untrained for c in cards))

    def _on_model_chosen(self, spec: str) -> None:
        self._settings.model = spec
        self._show_model_warning(spec)
        self.preload()

    def _on_device_chosen(self, device: str) -> None:
        self._settings.device = device
        self.preload()

    def _on_auto_run_toggled(self, on: bool) -> None:
        self._settings.auto_run = on
        self.preload()

    def install_bundle(self, path: str | Path) -> Worker:
        """Copy a bundle into the user models folder (checked by the AI layer), in a worker."""
        worker = self._workers.submit(
            install_job,
            str(path),
            _connect={
                "returned": self._on_installed,
                "errored": lambda exc: self._state.status.report_error(
                    "The model could not be installed", exc
                ),
                "finished": self.busy_changed.emit,
            },
        )
        self._state.status.show("Installing the model…")
        self.busy_changed.emit()
        return worker

    def _on_installed(self, result: InstallResult) -> None:
        self._state.status.show(result.sentence())
        self.refresh_models()

    # preload ----------------------------------------------------------------------------------
    def preload(self) -> None:
        """Load the chosen model on the chosen device in the background (torch included), so
        that a run has only the forward pass left. Only while the AI runs automatically (AI
        off: nothing is loaded before it is asked for) and a model is installed. A failure is
        a sentence in the status line; studies open as usual and a run loads again."""
        spec = self._panel.chosen_model()
        if self.closed or not spec or not self._settings.auto_run:
            self._preload_wanted = None
            return
        self._preload_wanted = (spec, self._settings.device)
        self._next_on_lane()

    def _start_preload(self, spec: str, device: str) -> None:
        log.info("preloading model %s on %s", spec, device)
        self._panel.set_device_note(f"loading {model_label(spec)}…")
        self._preloaded = False
        self._lane = self._workers.submit(
            preload_job,
            spec,
            device,
            _connect={
                "returned": self._on_preloaded,
                "errored": lambda exc, s=spec: self._on_preload_error(s, exc),
                "finished": self._on_preload_finished,
            },
        )
        self.busy_changed.emit()

    def _on_preloaded(self, predictor: Predictor) -> None:
        log.info("model preloaded on %s (%s)", predictor.device_name, predictor.precision)
        self._panel.set_device_in_use(
            predictor.device_name, predictor.precision, predictor.precision_reason
        )
        self._preloaded = True

    def _on_preload_error(self, spec: str, exc: BaseException) -> None:
        why = "there is not enough free memory" if isinstance(exc, MemoryError) else str(exc)
        sentence = (
            f"The model {model_label(spec)} could not be loaded in advance: "
            f"{why or type(exc).__name__}. Studies open as usual; Run AI tries to load it again."
        )
        log.warning("preload failed (%s)", type(exc).__name__)
        self._panel.set_device_note("not loaded (see the status line)")
        self._state.status.show(sentence)
        self._preloaded = False

    def _on_preload_finished(self) -> None:
        """The lane is free first, so that whoever hears ``preload_finished`` may run at once."""
        self._on_lane_free()
        self.preload_finished.emit(self._preloaded)

    def _on_lane_free(self) -> None:
        if self._run_worker is self._lane:
            self._run_worker = None
        self._lane = None
        self._next_on_lane()
        self.busy_changed.emit()

    def _next_on_lane(self) -> None:
        """Start what waits for the lane: the asked-for run first, else the wanted preload."""
        if self._lane is not None or self.closed:
            return
        if self._run is not None and self._run_worker is None:
            run = self._run
            if self._preload_wanted == (run.spec, run.device):
                self._preload_wanted = None  # the run loads it
            self._start_run(run)
        elif self._preload_wanted is not None:
            spec, device = self._preload_wanted
            self._preload_wanted = None
            self._start_preload(spec, device)

    # runs -------------------------------------------------------------------------------------
    def run(self) -> bool:
        """Analyse the current study with the chosen model, in a worker (one run at a time).

        True when the run starts, or waits for the model that is being loaded."""
        study = self._state.current_study
        spec = self._panel.chosen_model()
        if study is None or not spec or self._run is not None or self.closed:
            return False
        self._runs += 1
        self._study_id = study.id
        device = self._settings.device
        log.info("AI run: model %s, device %s, %d view(s)", spec, device, len(study.views))
        snapshot = Study(id=study.id, views=list(study.views))  # the GUI may re-sort the original
        self._run = _RunRequest(self._runs, spec, device, snapshot)
        self.stages = []
        self._started = time.perf_counter()
        self._stage_text = ""
        self._panel.set_running(True)
        self._show_stage()
        self._clock.start()
        if self._lane is not None and not self._lane.is_done:
            # a load is going: wait for it, then find the model loaded
            self._on_stage(self._runs, STAGE_LOADING)
        self._next_on_lane()
        self.busy_changed.emit()
        return True

    def _start_run(self, run: _RunRequest) -> None:
        number = run.number
        self._run_worker = self._lane = self._workers.submit(
            predict_job,
            run.spec,
            run.device,
            run.study,
            _controls=True,
            _connect={
                "stage": lambda name, n=number: self._on_stage(n, name),
                "returned": lambda result, n=number: self._on_prediction(n, result),
                "errored": lambda exc, n=number: self._on_prediction_error(n, exc),
                "cancelled": lambda n=number: self._on_prediction_cancelled(n),
                "finished": self._on_lane_free,
            },
        )

    def _current(self, number: int) -> _RunRequest | None:
        """The run numbered ``number`` if it is still the one shown (else its news is late)."""
        return self._run if self._run is not None and self._run.number == number else None

    def cancel(self) -> None:
        """Stop the run at once as far as the user sees: the panel is idle again, and whatever
        the worker still delivers is dropped (it stops at its next stage)."""
        if self._run is None:
            return
        if self._run_worker is not None:
            self._run_worker.cancel()
        self._end_run(False, "Analysis cancelled.")

    def _on_stage(self, number: int, name: str) -> None:
        run = self._current(number)
        if run is None or (self.stages and self.stages[-1] == name):
            return
        self.stages.append(name)
        label = model_label(run.spec)
        n = len(run.study.views)
        views = f"{n} view{'s' if n != 1 else ''}"
        self._stage_text = {
            STAGE_LOADING: f"Loading {label}…",
            "preparing views": f"Preparing {views}…",
            "running": f"Running {label} on {views}…",
            "heatmaps": f"Heatmaps of {views}…",
        }.get(name, f"{name}…")
        self._show_stage()

    def _show_stage(self) -> None:
        if self._run is not None:
            elapsed = time.perf_counter() - self._started
            self._panel.set_stage(f"{self._stage_text or 'Starting…'} {elapsed:.1f} s")

    def _on_prediction(
        self, number: int, result: tuple[Predictor, list[ModelCard], StudyPrediction]
    ) -> None:
        if self._current(number) is None:
            return
        predictor, cards, prediction = result
        analysis = Analysis(prediction, cards, predictor.device_name)
        self._panel.set_untrained(analysis.untrained)
        self._panel.set_device_in_use(
            predictor.device_name, predictor.precision, predictor.precision_reason
        )
        log.info("AI result: %d view(s) on %s", len(prediction.views), analysis.device_name)
        self._state.set_analysis(self._study_id or prediction.study_id, analysis)
        self._end_run(True, f"Analysed in {time.perf_counter() - self._started:.1f} s.")

    def _on_prediction_error(self, number: int, exc: BaseException) -> None:
        if self._current(number) is None:
            return
        self._end_run(False, f"The analysis failed: {exc}")
        self._state.status.report_error("The analysis failed", exc)

    def _on_prediction_cancelled(self, number: int) -> None:
        if self._current(number) is not None:
            self._end_run(False, "Analysis cancelled.")

    def _end_run(self, ok: bool, message: str) -> None:
        self._run = None
        self._stage_text = ""
        self._clock.stop()
        self._panel.set_running(False, message)
        self.analysis_finished.emit(ok)
        self.busy_changed.emit()
        self.auto_run(not_again=self._study_id)
