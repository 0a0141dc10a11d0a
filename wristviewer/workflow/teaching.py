"""Teaching case sets and quiz scoring (Qt-free).

A **case set** is a folder with a ``cases.csv`` (any ``.csv`` when there is just one):

* ``image`` (or ``path``): the image, relative to the folder and inside it (absolute paths,
  ``..`` and symbolic links leading out of the folder are refused: a case set from elsewhere
  must not make any readable file a "case");
* ``label`` (or ``fractured``): ``1``/``0``, ``yes``/``no``, ``true``/``false``,
  ``fracture``/``normal`` (``no_fracture``, ``none``);
* ``note`` (optional): the teaching note shown with the truth;
* ``boxes`` (or ``fracture_boxes_yolo``, optional): fracture boxes as YOLO ``cx cy w h``
  normalised to 0..1, several separated by ``;``.

Every row has exactly the header's fields; a malformed row is a :class:`CaseSetError` naming
the file and the line. The table and the images must be regular files: a FIFO or a device is
refused from ``stat``, never opened.

**Scoring.** The learner answers fracture / no fracture / unsure; the AI answers fracture when
its study probability is at or above the model's threshold. Sensitivity = TP / (TP + FN) over
fractured cases, specificity = TN / (TN + FP) over normal cases. **"Unsure" is not an
answer**: it counts in neither sensitivity nor specificity and is reported as its own count.
Counting it as "fracture" (the clinically safe action) would reward hedging with sensitivity;
counting it as wrong would punish honest uncertainty. The learner-versus-AI comparison uses
only the cases where **both** gave an answer (learner not unsure, AI result present), so the
two rates come from the same cases.
"""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from wristviewer.workflow.blind_read import Read

CASES_FILE = "cases.csv"
#: the largest case table read (a teaching set has tens to hundreds of rows)
MAX_TABLE_BYTES = 16 * 1024 * 1024
_TRUE = {"1", "yes", "true", "y", "fracture", "fractured", "positive"}
_FALSE = {"0", "no", "false", "n", "normal", "no_fracture", "none", "negative"}


class CaseSetError(Exception):
    """A case set cannot be read. ``str()`` is ``"<path>: <reason>"`` (row number when known)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class Box:
    """A fracture box, YOLO style: centre and size as fractions (0..1) of the image width/height."""

    cx: float
    cy: float
    w: float
    h: float

    def to_pixels(self, cols: int, rows: int) -> tuple[float, float, float, float]:
        """(left, top, width, height) in pixels of a ``cols`` × ``rows`` image."""
        return (
            (self.cx - self.w / 2) * cols,
            (self.cy - self.h / 2) * rows,
            self.w * cols,
            self.h * rows,
        )


def parse_boxes(text: str) -> list[Box]:
    """``"cx cy w h;cx cy w h"`` → boxes. Raises ValueError for malformed or out-of-range values."""
    boxes: list[Box] = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        values = [float(v) for v in part.split()]
        if len(values) != 4:
            raise ValueError(f"a box needs 4 numbers (cx cy w h), got {part!r}")
        if not all(0.0 <= v <= 1.0 for v in values):
            raise ValueError(f"box values must be normalised to 0..1, got {part!r}")
        boxes.append(Box(*values))
    return boxes


@dataclass(frozen=True)
class Case:
    """One teaching case: the image, the truth, the note and the boxes."""

    image: Path
    fractured: bool
    note: str = ""
    boxes: tuple[Box, ...] = ()

    @property
    def truth(self) -> Read:
        return Read.FRACTURE if self.fractured else Read.NO_FRACTURE


@dataclass
class CaseSet:
    """The cases of a folder, in CSV order; ``title`` is the folder name."""

    folder: Path
    cases: list[Case]
    title: str = ""

    def __len__(self) -> int:
        return len(self.cases)


def _column(header: list[str], *names: str) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _regular_file(path: Path, table: Path, what: str) -> os.stat_result:
    """``os.stat`` of ``path`` (following links), refusing anything but a regular file, without
    opening it: a FIFO would block the reader forever and a device could be endless."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise CaseSetError(table, f"{what} not found") from exc
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CaseSetError(table, f"{what} cannot be read ({reason})") from exc
    if not stat.S_ISREG(st.st_mode):
        raise CaseSetError(table, f"{what} is not a regular file (a FIFO, device or folder)")
    return st


def _inside(folder: Path, raw: str, table: Path, what: str) -> Path:
    """``raw`` (a path from the CSV) as a path inside ``folder``. Refuses absolute paths, ``..``
    and symbolic links that lead out of the folder; ``what`` starts the sentence (it names
    the line)."""
    parts = PureWindowsPath(raw).parts if "\\" in raw else PurePosixPath(raw).parts
    if PurePosixPath(raw).is_absolute() or PureWindowsPath(raw).anchor:
        raise CaseSetError(
            table, f"{what} is an absolute path; images must be inside the case-set folder"
        )
    if ".." in parts:
        raise CaseSetError(table, f"{what} leaves the case-set folder (..)")
    path = folder / Path(*parts)
    try:
        real, root = path.resolve(), folder.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, an embedded NUL
        raise CaseSetError(table, f"{what} cannot be resolved ({exc})") from exc
    if not real.is_relative_to(root):
        raise CaseSetError(
            table, f"{what} leads out of the case-set folder (through a symbolic link)"
        )
    return path


def _read_rows(table: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows of ``table``, each with the line it starts on."""
    size = _regular_file(table, table, "the case table").st_size
    if size > MAX_TABLE_BYTES:
        raise CaseSetError(table, f"is {size} bytes; a case table has at most {MAX_TABLE_BYTES}")
    rows: list[tuple[int, list[str]]] = []
    try:
        with open(table, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            while True:
                line = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    raise CaseSetError(
                        table, f"line {line}: not a readable CSV row ({exc})"
                    ) from exc
                if any(cell.strip() for cell in row):
                    rows.append((line, row))
    except OSError as exc:
        raise CaseSetError(table, f"cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise CaseSetError(table, f"is not UTF-8 text ({exc.reason})") from exc
    if not rows:
        raise CaseSetError(table, "is empty: it needs a header and cases")
    return [h.strip() for h in rows[0][1]], rows[1:]


def load_case_set(folder: str | Path, csv_name: str | None = None) -> CaseSet:
    """Read a case set (see the module docstring). Raises :class:`CaseSetError` naming the
    file (and the line) for anything malformed or out of bounds."""
    folder = Path(folder)
    if folder.suffix.lower() == ".csv" and not folder.is_dir():
        folder, csv_name = folder.parent, folder.name
    if not folder.is_dir():
        raise CaseSetError(folder, "not a folder")
    if csv_name is None:
        default = folder / CASES_FILE
        candidates = [default] if os.path.lexists(default) else sorted(folder.glob("*.csv"))
        if len(candidates) != 1:
            raise CaseSetError(
                folder, f"needs a {CASES_FILE} (or exactly one .csv), found {len(candidates)}"
            )
        table = candidates[0]
    else:
        table = _inside(folder, csv_name, folder / csv_name, f"the case table {csv_name!r}")
    _inside(folder, table.name, table, "the case table")  # a link out of the folder
    header, rows = _read_rows(table)
    lowered = [h.lower() for h in header]
    duplicates = sorted({h for h in lowered if h and lowered.count(h) > 1})
    if duplicates:
        raise CaseSetError(table, f"line 1: the column {duplicates[0]!r} appears twice")
    if not rows:
        raise CaseSetError(table, "has no cases")
    image_col = _column(header, "image", "path", "file")
    label_col = _column(header, "label", "fractured", "fracture")
    if image_col is None or label_col is None:
        raise CaseSetError(
            table, "needs an 'image' (or 'path') and a 'label' (or 'fractured') column"
        )
    note_col = _column(header, "note", "notes", "teaching_note")
    box_col = _column(header, "boxes", "fracture_boxes_yolo", "box")
    cases: list[Case] = []
    for line, row in rows:
        where = f"line {line}"
        if len(row) != len(header):
            raise CaseSetError(
                table, f"{where}: {len(row)} fields where the header has {len(header)}"
            )
        raw_path = row[image_col].strip()
        label = row[label_col].strip().lower()
        if not raw_path:
            raise CaseSetError(table, f"{where}: no image")
        if label in _TRUE:
            fractured = True
        elif label in _FALSE:
            fractured = False
        else:
            raise CaseSetError(table, f"{where}: label {label!r} is neither fracture nor normal")
        image = _inside(folder, raw_path, table, f"{where}: image {raw_path!r}")
        _regular_file(image, table, f"{where}: image {raw_path}")
        try:
            boxes = parse_boxes(row[box_col]) if box_col is not None else []
        except ValueError as exc:
            raise CaseSetError(table, f"{where}: {exc}") from exc
        note = row[note_col].strip() if note_col is not None else ""
        cases.append(Case(image, fractured, note, tuple(boxes)))
    return CaseSet(folder, cases, title=folder.name)


@dataclass
class Tally:
    """Counts of one reader over some cases (unsure answers counted apart)."""

    tp: int = 0
    fn: int = 0
    tn: int = 0
    fp: int = 0
    unsure: int = 0

    def add(self, answer: Read | None, truth: bool) -> None:
        if answer is None:
            return
        if answer is Read.UNSURE:
            self.unsure += 1
        elif truth:
            self.tp += answer is Read.FRACTURE
            self.fn += answer is Read.NO_FRACTURE
        else:
            self.tn += answer is Read.NO_FRACTURE
            self.fp += answer is Read.FRACTURE

    @property
    def answered(self) -> int:
        return self.tp + self.fn + self.tn + self.fp

    @property
    def sensitivity(self) -> float | None:
        """TP / (TP + FN), or None without fractured cases."""
        n = self.tp + self.fn
        return self.tp / n if n else None

    @property
    def specificity(self) -> float | None:
        """TN / (TN + FP), or None without normal cases."""
        n = self.tn + self.fp
        return self.tn / n if n else None


@dataclass(frozen=True)
class QuizAnswer:
    """One answered case: the learner's answer, the AI's (None without a model), the truth."""

    case_index: int
    learner: Read
    ai_suspected: bool | None
    truth: bool


@dataclass
class QuizScore:
    """The running score of a quiz (see the module docstring for the rules)."""

    answers: list[QuizAnswer] = field(default_factory=list)

    def record(self, answer: QuizAnswer) -> None:
        """Add (or replace, for the same case) one answer."""
        self.answers = [a for a in self.answers if a.case_index != answer.case_index]
        self.answers.append(answer)

    def learner(self) -> Tally:
        """The learner over every case answered (with or without an AI result)."""
        tally = Tally()
        for a in self.answers:
            tally.add(a.learner, a.truth)
        return tally

    def paired(self) -> tuple[Tally, Tally]:
        """(learner, AI) over only the cases where both answered (learner not unsure, AI present)."""
        learner, ai = Tally(), Tally()
        for a in self.answers:
            if a.learner is Read.UNSURE or a.ai_suspected is None:
                continue
            learner.add(a.learner, a.truth)
            ai.add(Read.FRACTURE if a.ai_suspected else Read.NO_FRACTURE, a.truth)
        return learner, ai


def fmt_rate(value: float | None) -> str:
    """``0.833`` → ``"83%"``; None → ``"–"``."""
    return "–" if value is None else f"{value * 100:.0f}%"


def score_text(score: QuizScore) -> str:
    """The running score in one or two lines of plain text."""
    you = score.learner()
    lines = [
        f"You: {you.answered} answered, {you.unsure} unsure — sensitivity "
        f"{fmt_rate(you.sensitivity)}, specificity {fmt_rate(you.specificity)}"
    ]
    learner, ai = score.paired()
    if ai.answered:
        lines.append(
            f"Same {ai.answered} case(s), you vs AI — sensitivity {fmt_rate(learner.sensitivity)}"
            f" vs {fmt_rate(ai.sensitivity)}, specificity {fmt_rate(learner.specificity)} vs "
            f"{fmt_rate(ai.specificity)}"
        )
    return "\n".join(lines)


def iter_images(case_set: CaseSet) -> Iterable[Path]:
    return (c.image for c in case_set.cases)
