"""AI runs and model handling for the main window: which models are installed, the chosen
model and device, running the model on the current study (one run at a time, in a worker),
cancelling, installing bundles, and the one rule for running automatically."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from wristviewer.ai.card import ModelCard
from wristviewer.ai.registry import bundle_files_present, ensemble_members
from wristviewer.imaging import Study
from wristviewer.ui.jobs import find_models_job, install_job, predict_job
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


class AnalysisController(QObject):
    """Drives ``panel`` (the AI side panel) and puts results into ``state``.

    Signals: ``models_found(list)`` (the model choices), ``analysis_finished(bool)`` (True on
    success), ``busy_changed()`` when looking for models or a run starts or ends.
    """

    models_found = Signal(list)
    analysis_finished = Signal(bool)
    busy_changed = Signal()

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
        self._worker: Worker | None = None
        self._study_id: str | None = None  # the study of the latest run
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
        return self._looking or self._worker is not None

    # the auto-run rule ------------------------------------------------------------------------
    def auto_run(self, *, not_again: str | None = None) -> Worker | None:
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
            return None
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
        self.models_found.emit(specs)
        self.auto_run()

    def _show_model_warning(self, spec: str) -> None:
        cards = [self.model_cards.get(a) for a in ensemble_members(spec)]
        self._panel.set_untrained(any(c is not None and c.untrained for c in cards))

    def _on_model_chosen(self, spec: str) -> None:
        self._settings.model = spec
        self._show_model_warning(spec)

    def _on_device_chosen(self, device: str) -> None:
        self._settings.device = device

    def _on_auto_run_toggled(self, on: bool) -> None:
        self._settings.auto_run = on

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

    # runs -------------------------------------------------------------------------------------
    def run(self) -> Worker | None:
        """Analyse the current study with the chosen model, in a worker (one run at a time)."""
        study = self._state.current_study
        spec = self._panel.chosen_model()
        if study is None or not spec or self._worker is not None:
            return None
        self._study_id = study.id
        device = self._settings.device
        log.info("AI run: model %s, device %s, %d view(s)", spec, device, len(study.views))
        snapshot = Study(id=study.id, views=list(study.views))  # the GUI may re-sort the original
        self._worker = self._workers.submit(
            predict_job,
            spec,
            device,
            snapshot,
            _controls=True,
            _connect={
                "progress": self._panel.set_progress,
                "returned": self._on_prediction,
                "errored": self._on_prediction_error,
                "cancelled": self._on_prediction_cancelled,
                "finished": self._on_prediction_finished,
            },
        )
        self._panel.set_running(True, "Loading the model and analysing…")
        self.busy_changed.emit()
        return self._worker

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._panel.set_running(True, "Cancelling…")

    def _on_prediction(self, result: tuple[Predictor, list[ModelCard], StudyPrediction]) -> None:
        predictor, cards, prediction = result
        analysis = Analysis(prediction, cards, predictor.device_name)
        self._panel.set_untrained(analysis.untrained)
        self._panel.set_device_in_use(
            predictor.device_name, predictor.precision, predictor.precision_reason
        )
        log.info("AI result: %d view(s) on %s", len(prediction.views), analysis.device_name)
        self._state.set_analysis(self._study_id or prediction.study_id, analysis)
        self._panel.set_running(False, "")
        self.analysis_finished.emit(True)

    def _on_prediction_error(self, exc: BaseException) -> None:
        self._panel.set_running(False, f"The analysis failed: {exc}")
        self._state.status.report_error("The analysis failed", exc)
        self.analysis_finished.emit(False)

    def _on_prediction_cancelled(self) -> None:
        self._panel.set_running(False, "Analysis cancelled.")
        self._panel.set_progress(0.0)
        self.analysis_finished.emit(False)

    def _on_prediction_finished(self) -> None:
        self._worker = None
        self.busy_changed.emit()
        self.auto_run(not_again=self._study_id)
