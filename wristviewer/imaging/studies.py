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
- **Grouping that cannot mislead.** DICOM images are grouped by StudyInstanceUID: the
  modality wrote them as one examination. PNG, JPEG and TIFF files carry no patient data, and
  a folder of them is as likely to hold several people (a teaching set, a download) as one
  wrist: each is a study of its own, so no study-level verdict ever spans images that may
  belong to different people. The same holds for DICOM without a StudyInstanceUID. Images
  become one study only on the user's say-so: opened as one study (``plain_images_by_folder``:
  plain images grouped by the folder they are in) or joined afterwards
  (:func:`merge_studies`); :func:`split_study` undoes either. Every study says which rule
  made it in ``Study.grouping`` (the ``GROUPING_*`` sentences), for the window to show.
  A DICOM copy of a PNG sits in a study of its own either way.
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

import hashlib
import os
import stat
from collections.abc import Generator, Iterable, Iterator, Sequence
from pathlib import Path

from wristviewer.imaging.errors import FileAccessError, ImagingError
from wristviewer.imaging.files import special_kind, stat_path
from wristviewer.imaging.identity import PatientMatch, within_study
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


#: Why a study holds the images it does (``Study.grouping``).
GROUPING_DICOM = "one study per DICOM Study Instance UID"
GROUPING_PER_IMAGE = (
    "one study per image: PNG/JPEG files carry no patient data, so images are joined only "
    "when you say so (treat as one study)"
)
GROUPING_NO_UID = "one study per image: the DICOM file names no Study Instance UID"
GROUPING_FOLDER = "opened as one study: the images of this folder, not checked to be one patient"
GROUPING_JOINED = "treated as one study at your request: not checked to be one patient"
GROUPING_SPLIT = "split into single images at your request"
#: Added to a joined study's grouping when the headers name different patients.
MIXED_PATIENTS = "the images name different patients"


def study_key(radiograph: Radiograph, plain_images_by_folder: bool = False) -> str:
    """The study a radiograph belongs to: its StudyInstanceUID (DICOM), else its own path;
    its folder instead when ``plain_images_by_folder`` (the user opened them as one study)."""
    if radiograph.format == "DICOM" and radiograph.study_uid:
        return radiograph.study_uid
    return str(radiograph.path.parent if plain_images_by_folder else radiograph.path)


def _grouping(radiograph: Radiograph, plain_images_by_folder: bool) -> str:
    if radiograph.format == "DICOM" and radiograph.study_uid:
        return GROUPING_DICOM
    if plain_images_by_folder:
        return GROUPING_FOLDER
    return GROUPING_NO_UID if radiograph.format == "DICOM" else GROUPING_PER_IMAGE


def _name(views: list[Radiograph]) -> str:
    """A file name for one image, else the folder name (never the patient's)."""
    if len(views) == 1:
        return views[0].path.name
    folders = {r.path.parent for r in views}
    folder = min(folders)
    return (folder.name or str(folder)) + (" and others" if len(folders) > 1 else "")


def group_studies(
    radiographs: Iterable[Radiograph], *, plain_images_by_folder: bool = False
) -> list[Study]:
    """Group radiographs into studies (:func:`study_key`), views in hanging order.

    Studies keep the order in which their first radiograph arrives.
    """
    by_key: dict[str, Study] = {}
    for radiograph in radiographs:
        key = study_key(radiograph, plain_images_by_folder)
        grouping = _grouping(radiograph, plain_images_by_folder)
        by_key.setdefault(key, Study(id=key, views=[], grouping=grouping)).views.append(radiograph)
    studies = list(by_key.values())
    for study in studies:
        study.sort_views()
        study.name = _name(study.views)
    return studies


def split_study(study: Study) -> list[Study]:
    """ "Split into single images": one study per view, in hanging order, each ``id`` its file
    path. A study of one image comes back as it is."""
    if len(study.views) <= 1:
        return [study]
    return [
        Study(id=str(r.path), views=[r], name=r.path.name, grouping=GROUPING_SPLIT)
        for r in study.views
    ]


def merge_studies(studies: Sequence[Study], name: str) -> Study:
    """ "Treat as one study": the views of ``studies`` as one study called ``name``.

    The ``id`` is derived from the files (the same images joined twice get the same id).
    When the headers name different patients (:func:`~wristviewer.imaging.identity.within_study`)
    the grouping sentence says so. Raises ValueError for no studies or no images.
    """
    views = [r for s in studies for r in s.views]
    if not views:
        raise ValueError("there are no images to treat as one study")
    digest = hashlib.sha256("\0".join(sorted(str(r.path) for r in views)).encode()).hexdigest()
    merged = Study(id=f"joined:{digest[:16]}", views=views, name=name, grouping=GROUPING_JOINED)
    merged.sort_views()
    if within_study(merged) is PatientMatch.DIFFERENT:
        merged.grouping = f"{GROUPING_JOINED}; {MIXED_PATIENTS}"
    return merged


def iter_load_studies(
    paths: Iterable[str | Path], *, plain_images_by_folder: bool = False
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
    return group_studies(radiographs, plain_images_by_folder=plain_images_by_folder), skipped


def load_studies(
    paths: Iterable[str | Path], *, plain_images_by_folder: bool = False
) -> tuple[list[Study], list[SkippedFile]]:
    """Read files and folders into studies; unreadable files are listed with the reason.

    ``plain_images_by_folder``: the user opened the plain images as one study (one per folder);
    by default each plain image is a study of its own (see the module docstring).

    ``skipped`` holds one :class:`SkippedFile` per file that was not read, its ``reason`` the
    sentence of the error without the path (e.g. "the file is empty (0 bytes)").
    """
    steps = iter_load_studies(paths, plain_images_by_folder=plain_images_by_folder)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
