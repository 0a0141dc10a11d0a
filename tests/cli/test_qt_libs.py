"""The launch explains missing Qt system libraries instead of Qt's abort."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wristviewer.cli import gui, qt_libs

REPO = Path(__file__).resolve().parents[2]
X11 = {"DISPLAY": ":0"}


def _without(*gone: str) -> object:
    return lambda soname: soname not in gone


def test_a_missing_library_is_named_with_the_command_that_installs_it() -> None:
    message = qt_libs.check_before_window(
        X11, "linux", loader=_without("libxcb-cursor.so.0", "libxcb-icccm.so.4")
    )
    assert message is not None
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4" in message
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 " in message
    assert message.count(".") >= 1 and "\n" not in message  # one sentence, one line


def test_nothing_is_said_when_everything_loads() -> None:
    assert qt_libs.check_before_window(X11, "linux", loader=lambda _: True) is None


@pytest.mark.parametrize(
    ("environ", "platform", "checked"),
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "w", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({}, "linux", False),  # no display at all: another problem, Qt says it itself
        ({"DISPLAY": ":0"}, "darwin", False),
        ({"DISPLAY": ":0"}, "win32", False),
    ],
)
def test_checked_only_where_qt_uses_xcb(
    environ: dict[str, str], platform: str, checked: bool
) -> None:
    message = qt_libs.check_before_window(environ, platform, loader=lambda _: False)
    assert (message is not None) is checked


def test_the_launch_stops_with_the_sentence_before_qt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(qt_libs, "loadable", lambda soname: soname != "libxcb-xkb.so.1")
    monkeypatch.setattr(qt_libs.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert gui.run_from_argv([]) == 1
    err = capsys.readouterr().err
    assert "libxcb-xkb.so.1" in err and "sudo apt-get install libxcb-xkb1" in err


def test_check_qt_libs_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(qt_libs, "missing_libraries", lambda: [("libGL.so.1", "libgl1")])
    assert gui.run_from_argv(["--check-qt-libs"]) == 1
    assert "sudo apt-get install libgl1" in capsys.readouterr().err
    monkeypatch.setattr(qt_libs, "missing_libraries", lambda: [])
    assert gui.run_from_argv(["--check-qt-libs"]) == 0


def test_the_list_matches_what_make_run_installs() -> None:
    script = (REPO / "installer" / "linux" / "qt-system-libs.sh").read_text(encoding="utf-8")
    listed = re.search(r'needed="([^"]*)"', script)
    assert listed is not None
    installed = set(listed.group(1).split())
    checked = {package for _, package in qt_libs.XCB_LIBRARIES}
    assert installed - qt_libs.NOT_CHECKED <= checked  # what make run adds, the launch checks
    install = (REPO / "installer" / "linux" / "install.sh").read_text(encoding="utf-8")
    assert '"$exe" --check-qt-libs' in install
