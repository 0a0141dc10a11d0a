"""The physician's reviews of the open studies and the reveal rule (the blind-read gate)."""

from __future__ import annotations

from wristviewer.viewer.analysis import Analysis
from wristviewer.workflow.blind_read import ReadSession, ReadState, RevealMode


def reveal_mode(value: RevealMode | str | None) -> RevealMode:
    """``value`` as a RevealMode; anything unknown (an old settings file) is IMMEDIATE."""
    if isinstance(value, RevealMode):
        return value
    try:
        return RevealMode(value or "")
    except ValueError:
        return RevealMode.IMMEDIATE


class Reviews:
    """One :class:`ReadSession` per open study (made on first use), and the reveal mode."""

    def __init__(self, mode: RevealMode | str | None = None) -> None:
        self.mode = reveal_mode(mode)
        self.sessions: dict[str, ReadSession] = {}

    def clear(self) -> None:
        self.sessions.clear()

    def drop(self, study_id: str) -> None:
        """Forget the review of a study that is no longer open (regrouped)."""
        self.sessions.pop(study_id, None)

    def get(self, study_id: str) -> ReadSession | None:
        """The review of ``study_id`` if it has begun."""
        return self.sessions.get(study_id)

    def open(self, study_id: str, analysis: Analysis | None) -> ReadSession:
        """The review of ``study_id``, begun now (in the current mode) when it has not been."""
        session = self.sessions.get(study_id)
        if session is None:
            session = ReadSession(study_id, mode=self.mode)
            if analysis is not None:
                session.set_analysis(analysis.prediction, analysis.cards)
            self.sessions[study_id] = session
        return session

    def set_mode(self, mode: RevealMode | str) -> None:
        """Change the reveal mode; applies to reviews still waiting for their read."""
        self.mode = RevealMode(mode)
        for session in self.sessions.values():
            if session.state is ReadState.AWAITING_READ:
                session.mode = self.mode

    def ai_visible(self, study_id: str) -> bool:
        """Whether the AI result of ``study_id`` may be shown (the blind-read rule)."""
        session = self.sessions.get(study_id)
        if session is None:
            return self.mode is RevealMode.IMMEDIATE
        return session.ai_visible
