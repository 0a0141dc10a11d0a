"""Where and how large the main window opens: a fresh profile fits the screen it is on, a
saved geometry is restored unless it was saved on a larger screen than this one."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

#: the size a fresh profile opens at on a screen with room for it
PREFERRED_SIZE = QSize(1600, 1000)
#: a fresh window takes at most this fraction of the screen's available area
SCREEN_FRACTION = 0.9


def initial_size(available: QSize, preferred: QSize = PREFERRED_SIZE) -> QSize:
    """The size a window without saved geometry opens at: ``preferred``, but never more than
    :data:`SCREEN_FRACTION` of the screen's ``available`` area (1152×648 on 1280×720)."""
    return QSize(
        min(preferred.width(), int(available.width() * SCREEN_FRACTION)),
        min(preferred.height(), int(available.height() * SCREEN_FRACTION)),
    )


def available_geometry(window: QWidget) -> QRect:
    """The available area (without task bars) of the screen ``window`` is on."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1600, 1000)


def fit_to_screen(window: QWidget, area: QRect) -> None:
    """Resize ``window`` to :func:`initial_size` of ``area`` and centre it there."""
    size = initial_size(area.size())
    window.resize(size)
    frame = QRect(0, 0, size.width(), size.height())
    frame.moveCenter(area.center())
    window.move(frame.topLeft())


def restore_geometry(window: QWidget, saved: str) -> None:
    """Restore ``saved`` (base64, from :func:`saved_geometry`; empty: nothing to restore),
    refitting when it does not fit this screen (saved on a larger one)."""
    if not saved:
        return
    window.restoreGeometry(QByteArray.fromBase64(saved.encode("ascii")))
    area = available_geometry(window)
    if window.width() > area.width() or window.height() > area.height():
        fit_to_screen(window, area)


def saved_geometry(window: QWidget) -> str:
    """``window``'s geometry as base64 text, for the settings file."""
    return bytes(window.saveGeometry().toBase64().data()).decode("ascii")
