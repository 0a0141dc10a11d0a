"""What a path is before anything is opened: a regular file, a folder, or something to skip.

One rule for :func:`~wristviewer.imaging.reader.read` and for folder expansion: ``os.stat``
(following links) first, and only a regular file is ever opened, so a named pipe (FIFO), a
socket or a device can never block or flood a read. Every refusal is a
:class:`FileAccessError` whose reason says what the path is: missing, a broken link, a link
loop, behind a folder that cannot be searched, a folder, or a special file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from wristviewer.imaging.errors import FileAccessError

_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def special_kind(mode: int) -> str:
    """What a non-regular, non-folder file is, in words ("a named pipe (FIFO)", ...)."""
    for test, words in _SPECIAL_KINDS:
        if test(mode):
            return words
    return "a special file"


def stat_path(path: Path) -> os.stat_result:
    """``os.stat(path)`` following links; raises :class:`FileAccessError` with the reason."""
    try:
        return os.stat(path)
    except FileNotFoundError as exc:
        if os.path.lexists(path):
            raise FileAccessError(path, "a broken link: what it points to does not exist") from exc
        raise FileAccessError(path, "the file or folder does not exist") from exc
    except PermissionError as exc:
        raise FileAccessError(
            path, "permission denied: it, or a folder on its way, cannot be opened"
        ) from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileAccessError(
                path, "a symbolic link loop: the link leads back to itself"
            ) from exc
        raise FileAccessError(path, f"it cannot be examined ({exc.strerror or exc})") from exc
    except ValueError as exc:  # an embedded NUL character in the name
        raise FileAccessError(path, f"not a usable file name ({exc})") from exc


def regular_file(path: Path) -> os.stat_result:
    """The stat of ``path`` when it is a regular file (links followed), else raise
    :class:`FileAccessError` saying what it is instead."""
    st = stat_path(path)
    if stat.S_ISDIR(st.st_mode):
        raise FileAccessError(path, "this is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise FileAccessError(path, f"this is {special_kind(st.st_mode)}, not a file")
    return st
