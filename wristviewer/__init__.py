"""WristViewer: wrist radiographs, CLAHE, and a fracture second opinion.

Importing this package does no work: torch, Qt and the models load only when used.
"""

__version__ = "0.1.0"
