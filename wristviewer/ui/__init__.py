"""The viewer window: the only package that imports Qt (PySide6 + pyqtgraph).

The Qt-free model lives in :mod:`wristviewer.viewer`; the widgets here draw it and subscribe
to its events.
Long work (reading, CLAHE on large images, model loading, inference) runs in the workers of
:mod:`wristviewer.ui.workers`. Importing this package does nothing: Qt loads with the
submodules, torch only when a model is needed.
"""
