"""The viewer window: the only package that imports Qt (PySide6 + pyqtgraph).

Plain-Python state lives in :mod:`wristviewer.ui.state` (no Qt); the widgets subscribe to it.
Long work (reading, CLAHE on large images, model loading, inference) runs in the workers of
:mod:`wristviewer.ui.workers`. Importing this package does nothing: Qt loads with the
submodules, torch only when a model is needed.
"""
