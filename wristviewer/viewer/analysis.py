"""The AI result of one study as the viewer holds it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Analysis:
    """The AI result for one study, as the panels show it.

    ``prediction`` is a ``StudyPrediction``; ``cards`` the model cards of the bundles used;
    ``device_name`` where it ran ("CPU", "CUDA: …").
    """

    prediction: Any
    cards: list[Any]
    device_name: str

    def view_prediction(self, path: Path) -> Any | None:
        """The ViewPrediction for the radiograph at ``path``, or None."""
        for vp in self.prediction.views:
            if Path(vp.path) == Path(path):
                return vp
        return None

    @property
    def untrained(self) -> bool:
        """True when any model used has random weights (the panels show a red banner)."""
        return any(getattr(c, "untrained", False) for c in self.cards)
