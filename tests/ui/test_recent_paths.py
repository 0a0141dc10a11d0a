"""Recent studies are stored as absolute paths, so a launch from another folder opens them."""

from __future__ import annotations

from pathlib import Path

import pytest

from wristviewer.ui.settings import ViewerSettings


def test_recent_paths_are_stored_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "resources" / "sample").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    settings = ViewerSettings()
    settings.add_recent(["resources/sample", "./resources/../resources/sample/"])
    assert settings.recent == [str(tmp_path.resolve() / "resources" / "sample")]
    monkeypatch.chdir(tmp_path / "resources")
    settings.add_recent(["sample"])  # the same folder from elsewhere: still one entry
    assert settings.recent == [str(tmp_path.resolve() / "resources" / "sample")]
