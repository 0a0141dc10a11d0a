"""Helpers for tests of hostile input: paths the operating system refuses, strict JSON.

As root (CI, these sessions) chmod does not stop anything, so refusals are simulated at the
``os`` call the code makes; a normal user gets the real chmod as well where it applies.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest


def deny_stat(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """``os.stat(path)`` raises PermissionError, as for a file inside an unsearchable folder."""
    real = os.stat

    def stat(p: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if os.fspath(p) == str(path):
            raise PermissionError(13, "Permission denied", str(p))
        return real(p, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)


def deny_scandir(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """``folder`` cannot be searched: chmod 000 and ``os.scandir(folder)`` raising
    PermissionError. The caller restores the mode (``folder.chmod(0o755)``) to clean up."""
    real = os.scandir

    def scandir(p: Any = ".") -> Any:
        if os.fspath(p) == str(folder):
            raise PermissionError(13, "Permission denied", str(p))
        return real(p)

    monkeypatch.setattr(os, "scandir", scandir)
    folder.chmod(0o000)


def strict_loads(text: str) -> Any:
    """``json.loads`` that fails on NaN, Infinity and -Infinity (not JSON, though Python
    writes them by default)."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not strict JSON")

    return json.loads(text, parse_constant=refuse)
