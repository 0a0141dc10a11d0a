"""The AI result of one study as the viewer holds it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wristviewer.ai.card import ModelCard
from wristviewer.ai.results import StudyPrediction, ViewPrediction


@dataclass
class Analysis:
    """The AI result for one study, as the panels show it.

    ``prediction``: the AI's result; ``cards`` the model cards of the bundles used (both
    torch-free types); ``device_name`` where it ran ("CPU", "CUDA: …").
    """

    prediction: StudyPrediction
    cards: list[ModelCard]
    device_name: str

    def view_prediction(self, path: Path) -> ViewPrediction | None:
        """The ViewPrediction for the radiograph at ``path``, or None."""
        for vp in self.prediction.views:
            if Path(vp.path) == Path(path):
                return vp
        return None

    @property
    def untrained(self) -> bool:
        """True when any model used has random weights (the panels show a red banner)."""
        return any(c.untrained for c in self.cards)
