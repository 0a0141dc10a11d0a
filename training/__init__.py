"""Training, evaluation and export of WristViewer's fracture models.

Imports ``wristviewer.imaging`` and ``wristviewer.ai`` so that training and the viewer
preprocess identically; the viewer never imports this package. Nothing heavy is imported here:
``python -m training --help`` stays fast and torch loads inside the subcommands.
"""
