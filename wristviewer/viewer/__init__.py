"""The viewer's model, Qt-free (napari's ``components/`` to its ``_qt/``).

Studies, the current study, display transforms, CLAHE settings, the analyses, the
physician's reviews with the one blind-read gate (:meth:`ViewerState.visible_analysis`), and
the status line — all as state with events (:class:`~wristviewer.viewer.events.Event`).
:mod:`wristviewer.ui` draws it and forwards the user's gestures. No Qt, no torch here
(import-linter contracts in ``pyproject.toml``).
"""

from wristviewer.viewer.analysis import Analysis
from wristviewer.viewer.display import WINDOW_PRESETS, DisplayState
from wristviewer.viewer.enhanced import EnhancedCache
from wristviewer.viewer.events import Event
from wristviewer.viewer.measurements import Measurements, MeasureTool
from wristviewer.viewer.model import ViewerState
from wristviewer.viewer.review import Draft, Reviews
from wristviewer.viewer.status import Status

__all__ = [
    "WINDOW_PRESETS",
    "Analysis",
    "DisplayState",
    "Draft",
    "EnhancedCache",
    "Event",
    "MeasureTool",
    "Measurements",
    "Reviews",
    "Status",
    "ViewerState",
]
