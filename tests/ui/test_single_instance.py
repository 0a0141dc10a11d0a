"""One viewer per user: hand-off protocol, stale sockets, two real processes, QFileOpenEvent."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from wristviewer.ui import single_instance as si

REPO = Path(__file__).resolve().parents[2]
SAMPLE_JPG = REPO / "resources" / "sample" / "wrist_PA.jpg"


@pytest.fixture
def name(monkeypatch: pytest.MonkeyPatch) -> str:
    """A socket name of this test's own, also seen by child processes."""
    value = f"wv-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv(si.NAME_ENV, value)
    return value


# protocol --------------------------------------------------------------------------------
def test_request_line_round_trip_with_absolute_paths(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    line = si.encode_request(["a b.dcm", tmp_path / "é.png"])
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert si.decode_request(line.rstrip(b"\n")) == [
        str(tmp_path / "a b.dcm"),
        str(tmp_path / "é.png"),
    ]
    assert si.decode_request(si.encode_request([]).strip()) == []


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"not json", "not a JSON line"),
        (b'{"files": []}', "expected"),
        (b'{"paths": [1]}', "expected"),
        (b'{"paths": ["relative.dcm"]}', "must be absolute"),
        (b"\xff\xfe", "not a JSON line"),
    ],
)
def test_malformed_requests_are_refused_with_a_reason(line: bytes, why: str) -> None:
    with pytest.raises(si.HandoffError, match=why):
        si.decode_request(line)


def test_instance_name_is_per_user_and_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(si.NAME_ENV, raising=False)
    monkeypatch.setattr(si.getpass, "getuser", lambda: "alice")
    alice = si.instance_name()
    monkeypatch.setattr(si.getpass, "getuser", lambda: "bob")
    bob = si.instance_name()
    assert alice != bob
    assert alice.startswith("wristviewer-") and alice.replace("-", "").isalnum()
    monkeypatch.setattr(si.getpass, "getuser", lambda: "alice")
    assert si.instance_name() == alice  # stable between launches
    monkeypatch.setenv(si.NAME_ENV, "wv-custom")
    assert si.instance_name() == "wv-custom"


# in-process server -----------------------------------------------------------------------
def _send_from_child(paths: list[str], name: str) -> subprocess.Popen:
    """``send_to_running`` in another process (a thread would hold the GIL while it blocks)."""
    code = (
        "import sys; from wristviewer.ui.single_instance import send_to_running; "
        "print(send_to_running(sys.argv[2:], sys.argv[1]))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, name, *paths],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_server_receives_paths_and_acknowledges(qtbot, name: str, tmp_path: Path) -> None:  # noqa: ANN001
    server = si.InstanceServer()
    assert server.listen()
    try:
        received: list[list[str]] = []
        server.paths_received.connect(received.append)
        target = tmp_path / "study" / "img.dcm"
        child = _send_from_child([str(target)], name)
        qtbot.waitUntil(lambda: bool(received) and child.poll() is not None, timeout=30_000)
        out, err = child.communicate()
        assert received == [[str(target)]]
        assert out.strip() == "True", err
    finally:
        server.close()


def test_no_running_viewer_means_no_handoff(name: str) -> None:
    start = time.monotonic()
    assert si.send_to_running(["/x.dcm"], name, timeout_ms=2000) is False
    assert time.monotonic() - start < 2.0


def test_a_bad_request_is_answered_with_an_error(qtbot, name: str) -> None:  # noqa: ANN001
    from PySide6.QtNetwork import QLocalSocket

    server = si.InstanceServer()
    assert server.listen()
    try:
        received: list[list[str]] = []
        server.paths_received.connect(received.append)
        client = QLocalSocket()
        client.connectToServer(name)
        assert client.waitForConnected(2000)
        reply = bytearray()
        client.readyRead.connect(lambda: reply.extend(bytes(client.readAll().data())))
        client.write(b'{"paths": ["relative"]}\n')
        qtbot.waitUntil(lambda: reply.endswith(b"\n"), timeout=5000)
        assert reply.startswith(b"error") and b"absolute" in reply
        assert received == []
    finally:
        server.close()


def test_second_server_under_a_live_name_does_not_take_over(name: str) -> None:
    first = si.InstanceServer()
    assert first.listen()
    second = si.InstanceServer()
    try:
        assert second.listen() is False
        assert first.is_listening()
    finally:
        first.close()
        second.close()


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes leave no file behind")
def test_stale_socket_after_a_crash_is_removed(name: str) -> None:
    from PySide6.QtCore import QDir

    path = Path(QDir.tempPath()) / name
    crashed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    crashed.bind(str(path))  # a socket file nobody listens on: what a killed viewer leaves
    crashed.close()
    assert path.exists()
    server = si.InstanceServer()
    try:
        assert server.listen(), "the stale socket file was not cleared"
        assert Path(server.full_name()) == path
    finally:
        server.close()
    assert not path.exists()


# two processes ---------------------------------------------------------------------------
def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the first viewer exited ({proc.returncode}) before {what}:\n{err}")
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def _log_text(home: Path) -> str:
    log = home / "log" / "wristviewer.log"
    return log.read_text(encoding="utf-8") if log.is_file() else ""


@pytest.fixture
def first_viewer(name: str, isolated_home: Path):  # noqa: ANN201
    """A viewer process started offscreen, listening under the test's socket name."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", si.NAME_ENV: name}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wristviewer"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(
            lambda: "single instance: listening" in _log_text(isolated_home), 90, "listening", proc
        )
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _launch(*args: str, name: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", si.NAME_ENV: name}
    return subprocess.run(
        [sys.executable, "-m", "wristviewer", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_second_launch_hands_its_file_to_the_running_viewer(
    first_viewer: subprocess.Popen, name: str, isolated_home: Path
) -> None:
    start = time.monotonic()
    second = _launch(str(SAMPLE_JPG), name=name)
    elapsed = time.monotonic() - start
    assert second.returncode == 0, second.stderr
    assert elapsed < 15, f"the hand-off took {elapsed:.1f} s"
    _wait_for(
        lambda: "read 1 study(ies), 1 view(s)" in _log_text(isolated_home), 60, "the file to open"
    )
    assert "received 1 path(s) from another launch" in _log_text(isolated_home)
    # Closing as a user would (SIGTERM closes the window) saves the recent list: the proof
    # that the first process, not the second, opened the file.
    first_viewer.send_signal(signal.SIGTERM)
    first_viewer.communicate(timeout=60)
    assert first_viewer.returncode == 0
    settings = json.loads((isolated_home / "config" / "settings.json").read_text("utf-8"))
    assert settings["recent"] == [str(SAMPLE_JPG)]


def test_screenshot_and_new_instance_never_hand_off(
    first_viewer: subprocess.Popen, name: str, isolated_home: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "shot.png"
    result = _launch(str(SAMPLE_JPG), "--screenshot", str(shot), name=name)
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 10_000
    version = _launch("--new-instance", "--version", name=name)
    assert version.returncode == 0 and version.stdout.startswith("wristviewer ")
    assert "received" not in _log_text(isolated_home)
    assert first_viewer.poll() is None


# macOS Finder: QFileOpenEvent ------------------------------------------------------------
def test_file_open_event_opens_the_file_in_the_window(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QFileOpenEvent

    from wristviewer.ui.app import install_file_open_filter, open_in_window

    app = QCoreApplication.instance()
    handler = install_file_open_filter(app)
    try:
        handler.set_target(open_in_window(window))
        QCoreApplication.postEvent(app, QFileOpenEvent(str(SAMPLE_JPG)))
        qtbot.waitUntil(lambda: bool(window.state.studies) and not window.is_busy(), timeout=30_000)
        assert window.settings.recent[0] == str(SAMPLE_JPG)
        assert len(window.panels) == 1
    finally:
        app.removeEventFilter(handler)


def test_file_open_events_before_the_window_wait_and_open_together(qtbot, window) -> None:  # noqa: ANN001
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QFileOpenEvent

    from wristviewer.ui.app import install_file_open_filter

    app = QCoreApplication.instance()
    handler = install_file_open_filter(app)
    opened: list[list[str]] = []
    try:
        a, b = (str(SAMPLE_JPG.with_name(n)) for n in ("wrist_PA.jpg", "wrist_lateral.jpg"))
        QCoreApplication.postEvent(app, QFileOpenEvent(a))
        QCoreApplication.postEvent(app, QFileOpenEvent(b))
        qtbot.waitUntil(lambda: len(handler.pending) == 2, timeout=5000)
        assert opened == []  # no target yet: kept, not lost
        handler.set_target(opened.append)
        qtbot.waitUntil(lambda: bool(opened), timeout=5000)
        assert opened == [[a, b]]
        handler.add([])  # a launch without files: the window only comes forward
        qtbot.waitUntil(lambda: len(opened) == 2, timeout=5000)
        assert opened[1] == []
    finally:
        app.removeEventFilter(handler)
