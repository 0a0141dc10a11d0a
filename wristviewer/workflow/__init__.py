"""Clinical workflows around the viewer: the blind second-opinion read, the audit log,
teaching case sets and quizzes, and the content of exported reports.

Qt-free (the windows live in :mod:`wristviewer.ui`): imports :mod:`wristviewer.imaging`, the
standard library, and :mod:`wristviewer.ai` only lazily, never at import time.
"""
