"""Sorting files into studies and views.

Rules:

- A folder is searched recursively. Dotfiles and dot-folders (``.DS_Store``, ``.git``) and the
  operating systems' own ``Thumbs.db`` / ``desktop.ini`` are passed over silently. Files with a
  document or data extension (``.txt``, ``.csv``, ``.md``, ``.json``, ``.pdf``, ...) are not
  opened and are reported as skipped ("not an image"), so the user sees what was left out.
  Everything else is read by content (DICOM without extension included); a DICOMDIR is reported
  as a non-image DICOM file. Files named explicitly are always read, whatever their name.
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

from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

from wristviewer.imaging.errors import ImagingError
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


def expand_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[SkippedFile]]:
    """Files to read from files and folders (recursive), and those skipped without opening.

    Returns ``(files, skipped)``: ``files`` sorted within each folder and without duplicates;
    ``skipped`` holds missing paths and documents found in folders (see the module docstring).
    Within a folder, its own files come before those of its subfolders.
    """
    files: list[Path] = []
    skipped: list[SkippedFile] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(path)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found_files = sorted(
                path.rglob("*"), key=lambda p: (len(p.relative_to(path).parts), str(p))
            )
            for found in found_files:
                relative = found.relative_to(path)
                if any(_is_hidden(Path(part)) for part in relative.parts) or not found.is_file():
                    continue
                if found.suffix.lower() in NON_IMAGE_SUFFIXES:
                    skipped.append(
                        SkippedFile(
                            found, f"not an image (a {found.suffix.lower()} file)", document=True
                        )
                    )
                    continue
                add(found)
        elif path.exists():
            add(path)
        else:
            skipped.append(SkippedFile(path, "the file or folder does not exist"))
    return files, skipped


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
