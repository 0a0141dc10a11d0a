"""The second-opinion read: the physician reads first, then sees the AI, then decides.

A :class:`ReadSession` per study is a small state machine::

    AWAITING_READ --submit_read()--> READ_SUBMITTED --decide()--> DECIDED

With :attr:`RevealMode.AFTER_READ` the AI result (badges, verdict, heatmaps) must stay hidden
while the session is ``AWAITING_READ``; :attr:`ReadSession.ai_visible` is the one rule the
window asks. With :attr:`RevealMode.IMMEDIATE` it is always visible and the read is optional.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from wristviewer.ai.card import ModelCard
from wristviewer.ai.results import StudyPrediction
from wristviewer.workflow.audit import AuditRecord


class Read(enum.StrEnum):
    """A physician's (or a learner's) answer about one study."""

    FRACTURE = "fracture"
    NO_FRACTURE = "no_fracture"
    UNSURE = "unsure"

    @property
    def label(self) -> str:
        return {"fracture": "Fracture", "no_fracture": "No fracture", "unsure": "Unsure"}[self]


class RevealMode(enum.StrEnum):
    """When the AI result is shown: at once, or only after the read is submitted."""

    IMMEDIATE = "immediate"
    AFTER_READ = "after_read"


class ReadState(enum.StrEnum):
    AWAITING_READ = "awaiting_read"
    READ_SUBMITTED = "read_submitted"
    DECIDED = "decided"


class Agreement(enum.StrEnum):
    """The physician's read against the AI verdict at the model's threshold."""

    AGREE = "agree"
    DISAGREE = "disagree"
    UNSURE = "unsure"  # the physician was unsure: neither agreement nor disagreement
    NO_AI = "no_ai"  # no AI result for this study

    @property
    def sentence(self) -> str:
        return {
            "agree": "You and the AI agree.",
            "disagree": "You and the AI DISAGREE — look again before deciding.",
            "unsure": "You were unsure; the AI result is shown for your decision.",
            "no_ai": "No AI result for this study (no model installed or not run).",
        }[self]


def agreement(read: Read | None, ai_suspected: bool | None) -> Agreement:
    """Compare a read with the AI verdict (``ai_suspected``: probability ≥ threshold)."""
    if ai_suspected is None:
        return Agreement.NO_AI
    if read is None or read is Read.UNSURE:
        return Agreement.UNSURE
    return Agreement.AGREE if (read is Read.FRACTURE) == bool(ai_suspected) else Agreement.DISAGREE


class ReadStateError(RuntimeError):
    """A step taken out of order (deciding before reading, reading twice)."""


@dataclass
class ReadSession:
    """One study's review. ``prediction`` is the AI result, ``cards`` the model cards used;
    both arrive whenever the analysis finishes, before or after the read."""

    study_id: str
    mode: RevealMode = RevealMode.IMMEDIATE
    state: ReadState = ReadState.AWAITING_READ
    read: Read | None = None
    note: str = ""
    final_decision: Read | None = None
    prediction: StudyPrediction | None = None
    cards: list[ModelCard] = field(default_factory=list)
    review_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def ai_visible(self) -> bool:
        """Whether the AI result may be shown now."""
        return self.mode is RevealMode.IMMEDIATE or self.state is not ReadState.AWAITING_READ

    @property
    def ai_suspected(self) -> bool | None:
        return None if self.prediction is None else bool(self.prediction.suspected)

    @property
    def agreement(self) -> Agreement:
        return agreement(self.read, self.ai_suspected)

    def submit_read(self, read: Read | str, note: str = "") -> None:
        """Record the physician's own read (reveals the AI result in AFTER_READ mode)."""
        if self.state is not ReadState.AWAITING_READ:
            raise ReadStateError("the read for this study was already submitted")
        self.read = Read(read)
        self.note = note.strip()
        self.state = ReadState.READ_SUBMITTED

    def decide(self, decision: Read | str) -> None:
        """Record the final decision, after the read (may be changed until the study closes)."""
        if self.state is ReadState.AWAITING_READ:
            raise ReadStateError("submit your own read before the final decision")
        self.final_decision = Read(decision)
        self.state = ReadState.DECIDED

    def set_analysis(self, prediction: StudyPrediction | None, cards: Sequence[ModelCard]) -> None:
        self.prediction = prediction
        self.cards = list(cards)

    def audit_record(self, app_version: str, n_views: int) -> AuditRecord:
        """The audit row for this review as it stands (study key left for the writer)."""
        p = self.prediction
        views = []
        if p is not None:
            views = [
                {"view": str(v.view), "probability": round(float(v.fracture_probability), 6)}
                for v in p.views
            ]
        return AuditRecord(
            review_id=self.review_id,
            n_views=n_views,
            models=[str(c.name) for c in self.cards] if p is not None else [],
            model_sha256=[str(c.weights_sha256) for c in self.cards] if p is not None else [],
            untrained=None if p is None else bool(p.untrained),
            threshold=None if p is None else float(p.threshold),
            study_probability=None if p is None else float(p.fracture_probability),
            view_probabilities=views,
            ai_suspected=self.ai_suspected,
            physician_read=None if self.read is None else str(self.read),
            note=self.note,
            agreement=str(self.agreement) if self.read is not None else None,
            final_decision=None if self.final_decision is None else str(self.final_decision),
            reveal_mode=str(self.mode),
            app_version=app_version,
        )
