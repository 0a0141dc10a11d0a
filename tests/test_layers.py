"""The layer rules of DESIGN.md, checked in clean interpreters and by import-linter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _modules_after_import(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def _top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_importing_the_package_loads_nothing_heavy() -> None:
    loaded = _top_level(_modules_after_import("import wristviewer, wristviewer.cli"))
    assert not loaded & {"torch", "torchvision", "PySide6", "pyqtgraph", "cv2", "pydicom"}


def test_imaging_needs_neither_torch_nor_qt() -> None:
    loaded = _top_level(_modules_after_import("import wristviewer.imaging"))
    assert not loaded & {"torch", "torchvision", "PySide6", "pyqtgraph"}
    assert "cv2" in loaded


def test_the_viewer_model_needs_neither_qt_nor_torch() -> None:
    loaded = _top_level(_modules_after_import("import wristviewer.viewer"))
    assert not loaded & {"torch", "torchvision", "PySide6", "pyqtgraph", "training"}


def test_card_result_and_catalogue_load_no_torch() -> None:
    """The types and the model catalogue the window and the workflow import at start-up."""
    loaded = _top_level(
        _modules_after_import(
            "import wristviewer.ai.card, wristviewer.ai.results, wristviewer.ai.registry"
        )
    )
    assert not loaded & {"torch", "torchvision", "PySide6", "pyqtgraph"}


@pytest.mark.parametrize("package", ["wristviewer.ai"])
def test_ai_never_loads_qt(package: str) -> None:
    if not (REPO / package.replace(".", "/")).is_dir():
        pytest.fail(f"{package} is missing")
    loaded = _top_level(_modules_after_import(f"import {package}"))
    assert not loaded & {"PySide6", "pyqtgraph", "training"}


def test_import_contracts_hold() -> None:
    """import-linter contracts in pyproject.toml: layers, no training in the viewer."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
