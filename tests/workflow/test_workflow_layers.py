"""wristviewer.workflow is Qt-free and torch-free (checked in a clean interpreter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_workflow_loads_neither_qt_nor_torch() -> None:
    code = (
        "import sys\n"
        "import wristviewer.workflow.audit, wristviewer.workflow.blind_read\n"
        "import wristviewer.workflow.teaching, wristviewer.workflow.report\n"
        "import wristviewer.workflow.study_keys, wristviewer.imaging.anonymise\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    loaded = {m.split(".")[0] for m in out.split()}
    assert not loaded & {"PySide6", "pyqtgraph", "torch", "torchvision", "training"}
