"""Before the window opens: are the system libraries Qt's X11 (xcb) platform plugin needs there?

On a minimal Debian/Ubuntu desktop a few are missing (``libxcb-cursor0``, ``libxcb-icccm4``,
...), and Qt answers with "could not load the Qt platform plugin xcb" and an abort. This
module checks them first, without importing Qt, and says in one sentence what is missing and
the command that installs it. ``installer/linux/qt-system-libs.sh`` (``make run``) installs
the same packages; ``installer/linux/install.sh`` runs ``wristviewer-gui --check-qt-libs``.

The check runs only where Qt would use the xcb plugin: on Linux, with ``QT_QPA_PLATFORM``
unset or ``xcb``, and an X display (``DISPLAY``) - not in a Wayland session (Qt then uses its
Wayland plugin) and not for ``offscreen``. A library counts as present when the dynamic
loader can load it by its soname (what the plugin itself will ask for).
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

#: (soname, the Debian/Ubuntu package holding it) of what Qt's xcb plugin links
#: (``ldd PySide6/Qt/plugins/platforms/libqxcb.so``, PySide6 6.11), its libraries' own
#: system dependencies included. ``qt-system-libs.sh`` installs the ones minimal images lack
#: (and libxcb-xinerama0, which Qt 5 needed and Qt 6 no longer links: not checked here).
XCB_LIBRARIES: tuple[tuple[str, str], ...] = (
    ("libxcb.so.1", "libxcb1"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxkbcommon.so.0", "libxkbcommon0"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-image.so.0", "libxcb-image0"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-randr.so.0", "libxcb-randr0"),
    ("libxcb-render.so.0", "libxcb-render0"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxcb-shape.so.0", "libxcb-shape0"),
    ("libxcb-shm.so.0", "libxcb-shm0"),
    ("libxcb-sync.so.1", "libxcb-sync1"),
    ("libxcb-util.so.1", "libxcb-util1"),
    ("libxcb-xfixes.so.0", "libxcb-xfixes0"),
    ("libxcb-xkb.so.1", "libxcb-xkb1"),
    ("libEGL.so.1", "libegl1"),
    ("libGL.so.1", "libgl1"),
    ("libfontconfig.so.1", "libfontconfig1"),
    ("libdbus-1.so.3", "libdbus-1-3"),
    ("libglib-2.0.so.0", "libglib2.0-0"),
)

#: Installed by ``qt-system-libs.sh`` but not needed by Qt 6's xcb plugin.
NOT_CHECKED = frozenset({"libxcb-xinerama0"})


def loadable(soname: str) -> bool:
    """Whether the dynamic loader finds and loads ``soname``."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def uses_xcb(environ: Mapping[str, str], platform: str) -> bool:
    """Whether Qt would load its xcb plugin here (see the module docstring)."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").strip().lower()
    if chosen:
        return chosen.startswith("xcb") and bool(environ.get("DISPLAY"))
    if environ.get("WAYLAND_DISPLAY"):
        return False
    return bool(environ.get("DISPLAY"))


def missing_libraries(loader: Callable[[str], bool] | None = None) -> list[tuple[str, str]]:
    """The (soname, package) pairs of :data:`XCB_LIBRARIES` the loader (default
    :func:`loadable`) cannot load."""
    loader = loadable if loader is None else loader
    return [(soname, package) for soname, package in XCB_LIBRARIES if not loader(soname)]


def message_for(missing: list[tuple[str, str]]) -> str:
    """One sentence naming the missing libraries and the command that installs them."""
    names = ", ".join(soname for soname, _ in missing)
    packages = " ".join(package for _, package in missing)
    return (
        f"WristViewer cannot open its window: Qt's X11 plugin needs system libraries that are "
        f"not installed ({names}); install them with: sudo apt-get install {packages} "
        f"(Debian/Ubuntu package names; other distributions name them alike)."
    )


def check_before_window(
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    loader: Callable[[str], bool] | None = None,
) -> str | None:
    """The sentence to print instead of opening the window, or None when Qt can go ahead."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not uses_xcb(environ, platform):
        return None
    missing = missing_libraries(loader)
    return message_for(missing) if missing else None
