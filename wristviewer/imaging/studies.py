"""Sorting files into studies and views.

Rules:

- A folder is searched recursively, links to files and folders followed. Dotfiles and dot-folders (``.DS_Store``, ``.git``) and the
  operating systems' own ``Thumbs.db`` / ``desktop.ini`` are passed over silently. Files with a
  document or data extension (``.txt``, ``.csv``, ``.md``, ``.json``, ``.pdf``, ...) are not
  opened and are reported as skipped ("not an image"), so the user sees what was left out.
  Everything else is read by content (DICOM without extension included); a DICOMDIR is reported
  as a non-image DICOM file. Files named explicitly are always read, whatever their name.
- Nothing is passed over silently that may be a radiograph: a folder that cannot be searched
  (permissions), a broken link, a symbolic link loop, a link back into a folder already being
  searched, and special files (named pipes, sockets, devices) are reported as skipped with the
  reason. Special files are never opened (a named pipe would block the read).
- DICOM images are grouped by StudyInstanceUID; plain images (and DICOM without a
  StudyInstanceUID) by the folder they are in. So a DICOM copy of a PNG sits in its own study.
- Each study's views are ordered AP/PA, oblique(s), lateral, unknown, then by file path.
  Studies come in the order their first file was found: paths in the order given, and within
  a folder its own files before those of its subfolders (then by name). So a folder of plain
  images with a ``dicom/`` subfolder opens on the folder's own study.
- One unreadable file never stops the others: it lands in ``skipped`` with the sentence why.

Memory: :func:`load_studies` returns every radiograph with its pixels (float32, about 27 MB for
a 2300 × 2900 image). Tools that only need the metadata (``wristviewer info``) use
:func:`read_many` and drop the pixels as they go.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

from wristviewer.imaging.errors import FileAccessError, ImagingError
from wristviewer.imaging.files import special_kind, stat_path
from wristviewer.imaging.radiograph import Radiograph, SkippedFile, Study
from wristviewer.imaging.reader import read

#: Names passed over silently when searching folders (besides anything starting with a dot).
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini"})

#: Extensions of documents and data files: not opened when searching folders, reported skipped.
NON_IMAGE_SUFFIXES = frozenset(
    {
        ".txt", ".csv", ".tsv", ".md", ".rst", ".json", ".xml", ".html", ".htm", ".pdf",
        ".doc", ".docx", ".xls", ".xlsx", ".odt", ".ods", ".rtf", ".log", ".ini", ".cfg",
        ".yaml", ".yml", ".toml", ".py", ".sh", ".bat", ".exe", ".dll", ".zip", ".gz",
        ".tar", ".7z", ".rar", ".iso", ".mp4", ".avi", ".mov", ".mp3", ".wav",
    }
)  # fmt: skip


def _is_hidden(path: Path) -> bool:
    return path.name.startswith(".") or path.name.lower() in IGNORED_NAMES


def expand_paths(paths: Iterable[str | bytes | Path]) -> tuple[list[Path], list[SkippedFile]]:
    """Files to read from files and folders (recursive), and those skipped without opening.

    Returns ``(files, skipped)``: ``files`` sorted within each folder and without duplicates
    (the same file reached twice, through a link, is read once); ``skipped`` holds what is not
    read, with the reason: missing paths, documents, folders that cannot be searched, broken
    links, link loops and special files (see the module docstring). Within a folder, its own
    files come before those of its subfolders. Never opens anything but folders; never raises
    for a path (a ``bytes`` path is decoded with ``os.fsdecode``).
    """
    files: list[Path] = []
    skipped: list[SkippedFile] = []
    seen: set[tuple[int, int]] = set()

    def add(path: Path, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if key not in seen:
            seen.add(key)
            files.append(path)

    for raw in paths:
        path = Path(os.fsdecode(raw))
        st = _examine(path)
        if isinstance(st, SkippedFile):
            skipped.append(st)
        elif stat.S_ISDIR(st.st_mode):
            found, not_read = _search_folder(path, st)
            skipped.extend(not_read)
            for file_path, file_st in found:
                add(file_path, file_st)
        else:
            add(path, st)
    return files, skipped


def _examine(path: Path) -> os.stat_result | SkippedFile:
    """The stat of a folder or regular file (links followed), else why it is skipped."""
    try:
        st = stat_path(path)
    except FileAccessError as err:
        return SkippedFile(path, err.reason)
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        return SkippedFile(path, f"this is {special_kind(st.st_mode)}, not a file")
    return st


def _search_folder(
    root: Path, root_st: os.stat_result
) -> tuple[list[tuple[Path, os.stat_result]], list[SkippedFile]]:
    """Regular files below ``root`` (links followed; hidden names pruned) in reading order:
    by depth, then by path. And what was skipped, with the reason.

    Folders are tracked by (device, inode): a link back to a folder that contains it is a loop,
    reported and not followed; a folder reached a second way (a link to a sibling) is searched
    once. The search uses an explicit stack (no recursion limit).
    """
    found: list[tuple[Path, os.stat_result]] = []
    skipped: list[SkippedFile] = []
    root_key = (root_st.st_dev, root_st.st_ino)
    visited = {root_key}
    stack: list[tuple[Path, frozenset[tuple[int, int]]]] = [(root, frozenset({root_key}))]
    while stack:
        folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            reason = (
                "permission denied: the folder cannot be searched"
                if isinstance(exc, PermissionError)
                else f"the folder cannot be searched ({exc.strerror or exc})"
            )
            skipped.append(SkippedFile(folder, reason))
            continue
        for entry in entries:
            if _is_hidden(Path(entry.name)):
                continue
            path = Path(entry.path)
            st = _examine(path)
            if isinstance(st, SkippedFile):
                skipped.append(st)
            elif stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in ancestors:
                    skipped.append(
                        SkippedFile(
                            path, "a link back to a folder that holds it (a loop); not followed"
                        )
                    )
                elif key not in visited:
                    visited.add(key)
                    stack.append((path, ancestors | {key}))
            elif path.suffix.lower() in NON_IMAGE_SUFFIXES:
                skipped.append(
                    SkippedFile(path, f"not an image (a {path.suffix.lower()} file)", document=True)
                )
            else:
                found.append((path, st))

    def order(path: Path) -> tuple[int, str]:
        return len(path.relative_to(root).parts), str(path)

    found.sort(key=lambda item: order(item[0]))
    skipped.sort(key=lambda item: order(item.path))
    return found, skipped


def read_many(files: Iterable[Path]) -> Iterator[tuple[Path, Radiograph | ImagingError]]:
    """Read files one by one, yielding ``(path, radiograph)`` or ``(path, error)``.

    A generator, so callers can report progress, stop early, or drop pixels as they go.
    """
    for path in files:
        try:
            yield path, read(path)
        except ImagingError as err:
            yield path, err


def study_key(radiograph: Radiograph) -> str:
    """The study a radiograph belongs to: its StudyInstanceUID (DICOM), else its folder."""
    if radiograph.format == "DICOM" and radiograph.study_uid:
        return radiograph.study_uid
    return str(radiograph.path.parent)


def group_studies(radiographs: Iterable[Radiograph]) -> list[Study]:
    """Group radiographs into studies (:func:`study_key`), views in hanging order.

    Studies keep the order in which their first radiograph arrives.
    """
    by_key: dict[str, Study] = {}
    for radiograph in radiographs:
        key = study_key(radiograph)
        by_key.setdefault(key, Study(id=key, views=[])).views.append(radiograph)
    studies = list(by_key.values())
    for study in studies:
        study.sort_views()
    return studies


def iter_load_studies(
    paths: Iterable[str | Path],
) -> Generator[float, None, tuple[list[Study], list[SkippedFile]]]:
    """:func:`load_studies` step by step: yields the fraction of files read (0..1) after each
    file, so a caller can show progress or stop early; returns ``(studies, skipped)``."""
    files, skipped = expand_paths(paths)
    yield 0.0
    radiographs: list[Radiograph] = []
    for i, (path, result) in enumerate(read_many(files)):
        if isinstance(result, ImagingError):
            skipped.append(SkippedFile(path, result.reason))
        else:
            radiographs.append(result)
        yield (i + 1) / max(len(files), 1)
    return group_studies(radiographs), skipped


def load_studies(paths: Iterable[str | Path]) -> tuple[list[Study], list[SkippedFile]]:
    """Read files and folders into studies; unreadable files are listed with the reason.

    ``skipped`` holds one :class:`SkippedFile` per file that was not read, its ``reason`` the
    sentence of the error without the path (e.g. "the file is empty (0 bytes)").
    """
    steps = iter_load_studies(paths)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
