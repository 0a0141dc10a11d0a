"""One window per user: a second launch hands its files to the running viewer and exits.

The running viewer listens on a local socket (``QLocalServer``: a Unix socket in the temp
folder on Linux/macOS, a named pipe on Windows) whose name comes from the user name, so two
users on one machine never reach each other's window. ``WRISTVIEWER_INSTANCE_NAME``
replaces the name (tests).

Protocol: one connection per hand-off. The client sends one JSON line,
``{"paths": ["/abs/a.dcm", ...]}\\n`` (UTF-8, absolute paths, possibly empty: then the
window only comes forward), and the server answers ``ok\\n`` once it has taken the request
(or ``error <reason>\\n``). A socket file left by a crashed viewer is removed
(``QLocalServer.removeServer``) when nobody answers on it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QDir, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

NAME_ENV = "WRISTVIEWER_INSTANCE_NAME"
APP_KEY = "wristviewer"
#: how long a second launch waits for the running viewer (connect, then the reply), in ms
HANDOFF_TIMEOUT_MS = 3000
#: longest request line the server accepts, in bytes (a few thousand paths)
MAX_REQUEST_BYTES = 4_000_000


class HandoffError(Exception):
    """A request line that cannot be understood; ``str(err)`` says why."""


def instance_name(app: str = APP_KEY) -> str:
    """The local-socket name for this user and application (``WRISTVIEWER_INSTANCE_NAME`` wins).

    The user name is hashed: it may hold characters a socket name cannot, and the temp
    folder is shared between users.
    """
    override = os.environ.get(NAME_ENV)
    if override:
        return override
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    digest = hashlib.sha256(f"{app}\0{user}".encode()).hexdigest()[:16]
    return f"{re.sub(r'[^a-z0-9]', '', app.lower()) or 'app'}-{digest}"


def encode_request(paths: Sequence[str | Path]) -> bytes:
    """The request line for ``paths`` (made absolute, not resolved: links are kept)."""
    absolute = [os.path.abspath(os.fspath(p)) for p in paths]
    return (json.dumps({"paths": absolute}, ensure_ascii=False) + "\n").encode("utf-8")


def decode_request(line: bytes) -> list[str]:
    """The paths of a request line. Raises :class:`HandoffError` for anything malformed."""
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise HandoffError(f"not a JSON line ({exc})") from exc
    paths = message.get("paths") if isinstance(message, dict) else None
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise HandoffError('expected {"paths": [string, ...]}')
    relative = [p for p in paths if not os.path.isabs(p)]
    if relative:
        raise HandoffError(f"paths must be absolute ({relative[0]!r} is not)")
    return paths


def send_to_running(
    paths: Sequence[str | Path], name: str | None = None, *, timeout_ms: int = HANDOFF_TIMEOUT_MS
) -> bool:
    """Hand ``paths`` to a running viewer. True when it accepted them (this process may exit).

    False when none is listening, or it did not answer within ``timeout_ms`` (a hung viewer:
    the caller then starts its own window). Blocking; needs no event loop.
    """
    name = name or instance_name()
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    try:
        request = encode_request(paths)
        socket.write(request)
        if not socket.waitForBytesWritten(timeout_ms):
            log.warning("single instance: the running viewer did not take the request")
            return False
        reply = b""
        while not reply.endswith(b"\n"):
            # waitForReadyRead is False when the server hung up; what it sent is still read.
            ready = socket.waitForReadyRead(timeout_ms)
            reply += bytes(socket.readAll().data())
            if not ready and not reply.endswith(b"\n"):
                log.warning("single instance: the running viewer did not answer (%r)", reply[:80])
                return False
        if reply.strip() != b"ok":
            log.warning(
                "single instance: the running viewer refused the request: %s", reply.strip()[:200]
            )
            return False
        return True
    finally:
        socket.disconnectFromServer()


class InstanceServer(QObject):
    """Listens for hand-offs from later launches; emits ``paths_received(list[str])``.

    An empty list means "come forward" (a launch without files).
    """

    paths_received = Signal(list)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or instance_name()
        self._server = QLocalServer(self)
        # Only this user may connect (the socket file is 0700 on Unix).
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_new_connection)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        """Start listening. False when another live viewer already listens under the name
        (or the socket cannot be made); a stale socket left by a crash is removed first.

        Liveness is probed *before* listening: with ``UserAccessOption`` Qt creates the
        socket aside and renames it into place, which would silently replace a live one.
        """
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        if probe.waitForConnected(500):
            probe.disconnectFromServer()
            log.warning("single instance: another viewer already listens")
            return False
        # Nobody answers: a socket file still there is a crashed viewer's (Unix; no-op on
        # Windows, whose named pipes vanish with their process).
        stale = Path(QDir.tempPath(), self.name)
        if stale.exists() and QLocalServer.removeServer(self.name):
            log.info("single instance: removed a stale socket left by a previous run")
        if self._server.listen(self.name):
            log.info("single instance: listening")
            return True
        log.warning("single instance: cannot listen (%s)", self._server.errorString())
        return False

    def is_listening(self) -> bool:
        return self._server.isListening()

    def full_name(self) -> str:
        """The socket path (Unix) or pipe name (Windows) the server listens on."""
        return self._server.fullServerName()

    def close(self) -> None:
        """Stop listening (removes the socket file) and drop open connections."""
        self._server.close()
        for socket in list(self._buffers):
            socket.abort()
        self._buffers.clear()

    # connections ---------------------------------------------------------------------------
    def _on_new_connection(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._on_ready_read(s))
            socket.disconnected.connect(lambda s=socket: self._buffers.pop(s, None))
            socket.disconnected.connect(socket.deleteLater)
            if socket.bytesAvailable():  # the request came before readyRead was connected
                self._on_ready_read(socket)

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        if socket not in self._buffers:
            return
        data = self._buffers[socket] + bytes(socket.readAll().data())
        if b"\n" not in data:
            if len(data) > MAX_REQUEST_BYTES:
                self._reply(socket, b"error request too long\n")
            else:
                self._buffers[socket] = data
            return
        line = data.split(b"\n", 1)[0]
        try:
            paths = decode_request(line)
        except HandoffError as exc:
            log.warning("single instance: bad request: %s", exc)
            self._reply(socket, f"error {exc}\n".encode())
            return
        log.info("single instance: received %d path(s) from another launch", len(paths))
        self._reply(socket, b"ok\n")
        self.paths_received.emit(paths)

    def _reply(self, socket: QLocalSocket, message: bytes) -> None:
        self._buffers.pop(socket, None)
        socket.write(message)
        socket.flush()
        socket.disconnectFromServer()
