"""The viewer's state, Qt-free, in the manner of napari's components.

Widgets take a :class:`ViewerState` in their constructor and subscribe to its events; nothing
here imports Qt, torch or pyqtgraph, so the state can be tested and driven without a window.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from wristviewer.imaging import ClaheSettings, Radiograph, SkippedFile, Study, View
from wristviewer.viewer.analysis import Analysis
from wristviewer.viewer.display import DisplayState
from wristviewer.viewer.events import Event
from wristviewer.viewer.measurements import Measurements
from wristviewer.viewer.review import Draft, Reviews
from wristviewer.viewer.status import Status
from wristviewer.workflow.blind_read import Read, ReadSession, RevealMode


class ViewerState:
    """Everything the window shows: the open studies, the current one, CLAHE, heatmaps, the
    analyses and the physician's reviews, and the status line.

    Events: ``studies_changed()``, ``current_changed(index)``, ``views_reordered(study)``,
    ``clahe_changed(settings)``, ``heatmap_changed()``, ``analysis_changed(study_id)``,
    ``review_changed(study_id)`` (a read or a decision recorded), ``draft_changed(study_id)``
    (the unsubmitted read of a study changed), ``skipped_changed()``, and
    ``shown_changed()``: what the current study shows of the AI, or of its review, may have
    changed (an analysis arrived, a read was submitted, the reveal mode changed) — the one
    event that views showing the AI result redraw on, besides ``current_changed``.
    """

    def __init__(
        self, clahe: ClaheSettings | None = None, reveal: RevealMode | str | None = None
    ) -> None:
        self.studies: list[Study] = []
        self.skipped: list[SkippedFile] = []
        self.current_index: int = -1
        self.clahe: ClaheSettings = clahe or ClaheSettings()
        self.heatmap_visible: bool = True
        self.heatmap_opacity: float = 0.6
        self.analyses: dict[str, Analysis] = {}
        self.reviews = Reviews(reveal)
        self.status = Status()
        self._display: dict[Path, DisplayState] = {}
        self.measurements = Measurements()
        self.studies_changed = Event()
        self.current_changed = Event()
        self.views_reordered = Event()
        self.clahe_changed = Event()
        self.heatmap_changed = Event()
        self.analysis_changed = Event()
        self.review_changed = Event()
        self.draft_changed = Event()
        self.skipped_changed = Event()
        self.shown_changed = Event()

    # studies ------------------------------------------------------------------------------
    @property
    def current_study(self) -> Study | None:
        if 0 <= self.current_index < len(self.studies):
            return self.studies[self.current_index]
        return None

    def study(self, study_id: str) -> Study | None:
        """The open study with ``study_id``, or None."""
        return next((s for s in self.studies if s.id == study_id), None)

    def set_studies(self, studies: list[Study], skipped: list[SkippedFile]) -> None:
        """Replace the open studies (and the list of files that could not be read)."""
        self.studies = list(studies)
        self.skipped = list(skipped)
        self.analyses.clear()
        self.reviews.clear()
        self._display.clear()
        self.measurements.clear()
        self.current_index = -1
        self.studies_changed.emit()
        self.skipped_changed.emit()
        self.set_current(0 if self.studies else -1)

    def regroup(self, old: Sequence[Study], new: Sequence[Study]) -> None:
        """Put ``new`` in place of the open studies ``old`` (joined or split at the user's
        request), where the first of ``old`` stood; ``new[0]`` becomes current. The analyses
        and reviews of ``old`` are dropped (they judged another grouping); those of the other
        studies are kept."""
        gone = {s.id for s in old}
        at = min((i for i, s in enumerate(self.studies) if s.id in gone), default=len(self.studies))
        kept = [s for s in self.studies if s.id not in gone]  # those before ``at`` are all kept
        self.studies = kept[:at] + list(new) + kept[at:]
        for study_id in gone:
            self.analyses.pop(study_id, None)
            self.reviews.drop(study_id)
        self.current_index = -1
        self.studies_changed.emit()
        self.set_current(at if new else 0)

    def set_current(self, index: int) -> None:
        if not self.studies:
            index = -1
        else:
            index = max(0, min(index, len(self.studies) - 1))
        if index == self.current_index:
            return
        self.current_index = index
        self.current_changed.emit(index)

    def step_study(self, step: int) -> None:
        """Next (+1) or previous (-1) study, wrapping around."""
        if self.studies:
            self.set_current((self.current_index + step) % len(self.studies))

    def set_view(self, radiograph: Radiograph, view: View) -> None:
        """Correct the projection of one radiograph; re-sorts its study's hanging order."""
        if radiograph.view == view:
            return
        radiograph.view = view
        for study in self.studies:
            if any(r is radiograph for r in study.views):
                study.sort_views()
                self.views_reordered.emit(study)
                return

    # display ------------------------------------------------------------------------------
    def display(self, radiograph: Radiograph) -> DisplayState:
        """The display state of one radiograph (created on first use with its own window)."""
        key = Path(radiograph.path)
        state = self._display.get(key)
        if state is None:
            state = DisplayState(window=radiograph.window)
            self._display[key] = state
        return state

    def set_clahe(self, settings: ClaheSettings) -> None:
        if settings != self.clahe:
            self.clahe = settings
            self.clahe_changed.emit(settings)

    def toggle_clahe(self) -> None:
        """CLAHE on or off, keeping its clip limit and tile grid."""
        c = self.clahe
        self.set_clahe(
            ClaheSettings(enabled=not c.enabled, clip_limit=c.clip_limit, tile_grid=c.tile_grid)
        )

    def set_heatmap(self, *, visible: bool | None = None, opacity: float | None = None) -> None:
        """Show or hide the heatmaps; ``opacity`` in 0..1."""
        if visible is not None:
            self.heatmap_visible = bool(visible)
        if opacity is not None:
            self.heatmap_opacity = float(min(max(opacity, 0.0), 1.0))
        self.heatmap_changed.emit()

    # analyses -----------------------------------------------------------------------------
    def set_analysis(self, study_id: str, analysis: Analysis | None) -> None:
        """Keep (or drop, with None) the AI result of ``study_id``; its review learns of it."""
        if analysis is None:
            self.analyses.pop(study_id, None)
        else:
            self.analyses[study_id] = analysis
            if self.study(study_id) is not None:
                self.reviews.open(study_id, analysis).set_analysis(
                    analysis.prediction, analysis.cards
                )
        self.analysis_changed.emit(study_id)
        self._shown_changed(study_id)

    def current_analysis(self) -> Analysis | None:
        """The current study's AI result, shown or not (see :meth:`visible_analysis`)."""
        study = self.current_study
        return self.analyses.get(study.id) if study is not None else None

    def needs_analysis(self) -> bool:
        """True when a study is open and has no AI result yet (the auto-run question)."""
        study = self.current_study
        return study is not None and study.id not in self.analyses

    # the blind-read gate --------------------------------------------------------------------
    def ai_visible(self, study_id: str | None = None) -> bool:
        """Whether the AI result of ``study_id`` (default: the current study) may be shown."""
        if study_id is None:
            study = self.current_study
            if study is None:
                return True
            study_id = study.id
        return self.reviews.ai_visible(study_id)

    def visible_analysis(self, study_id: str | None = None) -> Analysis | None:
        """The AI result of ``study_id`` (default: the current study) if it may be shown now:
        None while the physician's read is awaited in after-read mode (and when there is none).
        Every view of the AI result asks this, and only this."""
        if study_id is None:
            study = self.current_study
            if study is None:
                return None
            study_id = study.id
        analysis = self.analyses.get(study_id)
        if analysis is None or not self.reviews.ai_visible(study_id):
            return None
        return analysis

    def ai_hidden(self) -> bool:
        """True when the current study has an AI result that the gate holds back."""
        return self.current_analysis() is not None and self.visible_analysis() is None

    # reviews --------------------------------------------------------------------------------
    def session(self, study: Study | None = None) -> ReadSession | None:
        """The review of ``study`` (default: the current one), begun on first use."""
        study = study if study is not None else self.current_study
        if study is None:
            return None
        return self.reviews.open(study.id, self.analyses.get(study.id))

    def set_reveal_mode(self, mode: RevealMode | str) -> None:
        """After-read or immediate; applies to reviews still waiting for their read."""
        self.reviews.set_mode(mode)
        self.shown_changed.emit()

    def submit_read(
        self, read: Read | str, note: str = "", study: Study | None = None
    ) -> ReadSession | None:
        """Record the physician's read of ``study`` (default: the current one); reveals an
        after-read result and ends the study's draft."""
        session = self.session(study)
        if session is None:
            return None
        session.submit_read(read, note)
        self.reviews.drafts.pop(session.study_id, None)
        self.review_changed.emit(session.study_id)
        self._shown_changed(session.study_id)
        return session

    # drafts: a read begun but not submitted, kept per study -----------------------------------
    def draft(self, study: Study | None = None) -> Draft:
        """The unsubmitted read of ``study`` (default: the current one)."""
        study = study if study is not None else self.current_study
        return self.reviews.draft(study.id) if study is not None else Draft()

    def set_draft(self, read: Read | None, note: str, study: Study | None = None) -> None:
        """Keep what the physician has ticked and typed for ``study`` (default: current)."""
        study = study if study is not None else self.current_study
        if study is None:
            return
        draft = Draft(Read(read) if read is not None else None, note)
        before = self.reviews.draft(study.id)
        if draft == before or (draft.empty and before.empty):
            return
        self.reviews.set_draft(study.id, draft)
        self.draft_changed.emit(study.id)

    def unsubmitted_drafts(self) -> list[Study]:
        """The open studies with a read begun and not submitted."""
        ids = self.reviews.unsubmitted()
        return [s for s in self.studies if s.id in ids]

    def submit_drafts(self) -> int:
        """Submit every draft that has an answer ticked; returns how many were recorded."""
        count = 0
        for study in self.unsubmitted_drafts():
            draft = self.reviews.draft(study.id)
            if draft.read is not None:
                self.submit_read(draft.read, draft.note, study)
                count += 1
        return count

    def decide(self, decision: Read | str) -> ReadSession | None:
        """Record the final decision on the current study (after the read)."""
        session = self.session()
        if session is None:
            return None
        session.decide(decision)
        self.review_changed.emit(session.study_id)
        self._shown_changed(session.study_id)
        return session

    def _shown_changed(self, study_id: str) -> None:
        study = self.current_study
        if study is not None and study.id == study_id:
            self.shown_changed.emit()
