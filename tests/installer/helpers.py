"""Paths and helpers for the packaging tests (``build_support`` made importable)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "installer"
LINUX = INSTALLER / "linux"

if str(INSTALLER) not in sys.path:  # build_support is a script folder, not a package
    sys.path.insert(0, str(INSTALLER))

import build_support as bs  # noqa: E402  (the module the spec imports, the same object)

__all__ = ["INSTALLER", "LINUX", "REPO", "bs", "require_tool"]


def require_tool(name: str, package: str) -> str:
    """The path of a desktop tool the tests need.

    Missing tool: a failure when the tests run as root with apt-get (CI installs it there,
    so its absence is a broken set-up); a skip only for a non-root developer without apt,
    who cannot install it.
    """
    path = shutil.which(name)
    if path:
        return path
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if not is_root and shutil.which("apt-get") is None:
        pytest.skip(f"{name} is not installed and cannot be (not root, no apt-get)")
    pytest.fail(f"{name} is not installed: apt-get install {package} (make test does this as root)")
    raise AssertionError  # unreachable: pytest.fail raises
