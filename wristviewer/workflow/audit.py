"""The audit log: one row per second-opinion review, in a local SQLite database.

Where: ``user_data_dir()/audit.sqlite3``. What: the time (UTC, ISO 8601), a study key that
names no patient (:mod:`wristviewer.workflow.study_keys`; never a path), the model names and
weights SHA-256, the threshold, the probabilities per view and per study, the physician's
read, note, the agreement and the final decision. A review is inserted when the read is
submitted and updated in place (same ``review_id``) when the AI result or the final decision
follows, so a quality reviewer sees one row per review.

Durability: every write is one transaction, in WAL journal mode with ``synchronous=FULL``.
WAL with NORMAL is already safe against the application crashing or being killed (the WAL
lives in the file system), but may lose the last commits on power loss or an OS crash; FULL
fsyncs the WAL at each commit so a recorded decision survives those too. Reviews are a few
per minute at most, so the fsync per commit costs nothing noticeable.

Threads: :class:`AuditWriter` owns the only writing connection, on its own thread fed by a
queue; the GUI thread only enqueues. Failures (disk full, a folder that cannot be written)
reach ``on_error`` as one sentence; the viewer keeps working and later writes try again.

Schema: ``schema_version`` holds the version; :data:`MIGRATIONS` lists the statements that
bring a database from version N-1 to N, applied in one transaction at open.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import queue
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wristviewer.paths import user_data_dir
from wristviewer.workflow.study_keys import load_salt, study_key

log = logging.getLogger(__name__)

DB_FILE = "audit.sqlite3"
SCHEMA_VERSION = 1

#: statements taking the schema from version ``n - 1`` to ``n``
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE reviews (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            review_id TEXT NOT NULL UNIQUE,
            created_utc TEXT NOT NULL,
            updated_utc TEXT NOT NULL,
            study_key TEXT NOT NULL,
            key_method TEXT NOT NULL,
            n_views INTEGER NOT NULL,
            models TEXT NOT NULL,
            model_sha256 TEXT NOT NULL,
            untrained INTEGER,
            threshold REAL,
            study_probability REAL,
            view_probabilities TEXT NOT NULL,
            ai_suspected INTEGER,
            physician_read TEXT,
            note TEXT NOT NULL,
            agreement TEXT,
            final_decision TEXT,
            reveal_mode TEXT NOT NULL,
            app_version TEXT NOT NULL
        )""",
        "CREATE INDEX reviews_study_key ON reviews (study_key)",
    ),
}


class AuditError(Exception):
    """The audit database could not be opened, read or written. ``str()`` names the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def default_path() -> Path:
    """``user_data_dir()/audit.sqlite3``."""
    return user_data_dir() / DB_FILE


def utc_now() -> str:
    """The current time, UTC, ISO 8601 with seconds (``2026-01-31T12:00:00+00:00``)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class AuditRecord:
    """One review. Probabilities are calibrated, 0..1; ``view_probabilities`` is a list of
    ``{"view": "PA", "probability": 0.12}`` in hanging order; reads and decisions are
    ``"fracture"``, ``"no_fracture"`` or ``"unsure"``; ``agreement`` is ``"agree"``,
    ``"disagree"``, ``"unsure"`` or ``"no_ai"``; ``reveal_mode`` ``"immediate"`` or
    ``"after_read"``. ``study_key`` may be left empty: the writer then computes it."""

    review_id: str
    study_key: str = ""
    key_method: str = ""
    n_views: int = 0
    models: list[str] = field(default_factory=list)
    model_sha256: list[str] = field(default_factory=list)
    untrained: bool | None = None
    threshold: float | None = None
    study_probability: float | None = None
    view_probabilities: list[dict[str, Any]] = field(default_factory=list)
    ai_suspected: bool | None = None
    physician_read: str | None = None
    note: str = ""
    agreement: str | None = None
    final_decision: str | None = None
    reveal_mode: str = "immediate"
    app_version: str = ""
    created_utc: str = ""
    updated_utc: str = ""


#: the record's fields, in order (the database columns)
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(AuditRecord))
#: the columns of the CSV export: the record's fields, then what is malformed in the row
EXPORT_COLUMNS: tuple[str, ...] = (*COLUMNS, "problems")
_JSON = {"models", "model_sha256", "view_probabilities"}
_BOOL = {"untrained", "ai_suspected"}


def _to_row(record: AuditRecord) -> dict[str, Any]:
    row = asdict(record)
    for name in _JSON:
        row[name] = json.dumps(row[name], separators=(",", ":"))
    for name in _BOOL:
        row[name] = None if row[name] is None else int(bool(row[name]))
    return row


def _from_row(row: sqlite3.Row) -> AuditRecord:
    """A record from a row. A malformed cell (edited or damaged outside WristViewer) is kept
    as stored rather than failing the whole read; :func:`cell_problems` names it."""
    values = {name: row[name] for name in COLUMNS}
    for name in _JSON:
        try:
            values[name] = json.loads(values[name])
        except (TypeError, ValueError, RecursionError):
            continue
    for name in _BOOL:
        if values[name] in (None, 0, 1):
            values[name] = None if values[name] is None else bool(values[name])
    return AuditRecord(**values)


_INT = {"n_views"}
_REAL = {"threshold", "study_probability"}
_NULLABLE_TEXT = {"physician_read", "agreement", "final_decision"}


def cell_problems(row: Mapping[str, Any]) -> list[str]:
    """What is malformed in one stored row (empty for a row WristViewer wrote): JSON columns
    that are not JSON lists, flags that are not 0/1, numbers that are not finite numbers,
    binary data, text that is not text."""
    out = []
    for name in COLUMNS:
        value = row[name]
        if isinstance(value, bytes):
            out.append(f"{name} holds binary data")
        elif name in _JSON:
            try:
                ok = isinstance(json.loads(value), list)
            except (TypeError, ValueError, RecursionError):
                ok = False
            if not ok:
                out.append(f"{name} is not a JSON list")
        elif name in _BOOL:
            if value not in (None, 0, 1):
                out.append(f"{name} is not 0, 1 or empty")
        elif name in _INT:
            if not isinstance(value, int):
                out.append(f"{name} is not an integer")
        elif name in _REAL:
            if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
                out.append(f"{name} is not a finite number")
        elif not isinstance(value, str) and not (value is None and name in _NULLABLE_TEXT):
            out.append(f"{name} is not text")
    return out


def _csv_cell(value: Any, name: str = "") -> Any:
    """A stored value as the CSV shows it: as stored (flags as True/False), binary data as
    ``x'hex'``."""
    if isinstance(value, bytes):
        return f"x'{value.hex()}'"
    if name in _BOOL and value in (0, 1) and not isinstance(value, float):
        return bool(value)
    return value


class AuditDatabase:
    """A connection to the audit database (created and migrated on open). Use from one thread.

    Raises :class:`AuditError` (naming the file) for any SQLite or file-system failure.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        try:
            existed = _check_existing_file(self.path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            if existed:
                self._check_schema()
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise AuditError(self.path, f"WAL journal mode refused (got {mode})")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise AuditError(self.path, _reason(exc)) from exc

    # schema --------------------------------------------------------------------------------
    def _check_schema(self) -> None:
        """Refuse, before writing anything, an SQLite database that is not an audit log."""
        try:
            tables = {
                r[0]
                for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if not {"schema_version", "reviews"} <= tables:
                other = ", ".join(sorted(t for t in tables if not t.startswith("sqlite_")))
                raise AuditError(
                    self.path,
                    f"an SQLite database of another kind (tables: {other or 'none'}), not a "
                    "WristViewer audit log; move it away or choose another file",
                )
            columns = {r[1] for r in self._conn.execute("PRAGMA table_info(reviews)")}
        except sqlite3.Error as exc:
            self._conn.close()
            raise AuditError(self.path, _reason(exc)) from exc
        except AuditError:
            self._conn.close()
            raise
        missing = [c for c in COLUMNS if c not in columns]
        if missing and self.schema_version() >= SCHEMA_VERSION:
            self._conn.close()
            raise AuditError(
                self.path,
                f"the audit log's reviews table lacks {', '.join(missing[:3])}: it is damaged",
            )

    def schema_version(self) -> int:
        row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, applied_utc TEXT NOT NULL)"
            )
            current = self.schema_version()
            if current > SCHEMA_VERSION:
                raise AuditError(
                    self.path,
                    f"written by a newer WristViewer (schema {current}, this one reads "
                    f"{SCHEMA_VERSION})",
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version, applied_utc) VALUES (?, ?)",
                    (version, utc_now()),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # writing -------------------------------------------------------------------------------
    def upsert(self, record: AuditRecord) -> None:
        """Insert the review, or update the row with the same ``review_id`` (one transaction).
        Sets ``updated_utc`` (and ``created_utc`` when empty) to now."""
        if not record.study_key:
            raise AuditError(self.path, "a review without a study key cannot be recorded")
        now = utc_now()
        record.created_utc = record.created_utc or now
        record.updated_utc = now
        row = _to_row(record)
        names = list(COLUMNS)
        updates = ", ".join(
            f"{n} = excluded.{n}" for n in names if n not in ("review_id", "created_utc")
        )
        sql = (
            f"INSERT INTO reviews ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)}) "
            f"ON CONFLICT(review_id) DO UPDATE SET {updates}"
        )
        try:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute(sql, row)
        except sqlite3.Error as exc:
            raise AuditError(self.path, _reason(exc)) from exc

    # reading -------------------------------------------------------------------------------
    def records(self, limit: int | None = None) -> list[AuditRecord]:
        """The reviews, newest first (``limit`` rows at most)."""
        sql = "SELECT * FROM reviews ORDER BY id DESC"
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (int(limit),)
        try:
            return [_from_row(r) for r in self._conn.execute(sql, params)]
        except sqlite3.Error as exc:
            raise AuditError(self.path, _reason(exc)) from exc

    def summary(self) -> dict[str, Any]:
        """Counts for a quick look: reviews, with a read, with a final decision, agreements."""
        try:
            c = self._conn
            total = c.execute("SELECT COUNT(*) FROM reviews").fetchone()[0]
            read = c.execute(
                "SELECT COUNT(*) FROM reviews WHERE physician_read IS NOT NULL"
            ).fetchone()[0]
            final = c.execute(
                "SELECT COUNT(*) FROM reviews WHERE final_decision IS NOT NULL"
            ).fetchone()[0]
            agreement = dict(
                c.execute(
                    "SELECT COALESCE(agreement, 'pending'), COUNT(*) FROM reviews "
                    "GROUP BY COALESCE(agreement, 'pending')"
                ).fetchall()
            )
            first, last = c.execute(
                "SELECT MIN(created_utc), MAX(updated_utc) FROM reviews"
            ).fetchone()
        except sqlite3.Error as exc:
            raise AuditError(self.path, _reason(exc)) from exc
        return {
            "reviews": int(total),
            "with_read": int(read),
            "with_final_decision": int(final),
            "agreement": {str(_csv_cell(k)): int(v) for k, v in agreement.items()},
            "first_utc": None if first is None else str(_csv_cell(first)),
            "last_utc": None if last is None else str(_csv_cell(last)),
        }

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` says ``ok``."""
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def export_csv(self, path: str | Path, on_problem: Callable[[str], None] | None = None) -> int:
        """Write every review, oldest first, as CSV: :data:`EXPORT_COLUMNS` (the stored
        values as they are, lists as JSON, and ``problems``). A malformed cell never stops
        the export: the row is exported as stored, its ``problems`` column names what is
        wrong, and ``on_problem`` gets one sentence for it. Returns the number of rows.
        Raises :class:`AuditError` naming ``path`` when it cannot be written."""
        out = Path(path)
        try:
            rows = self._conn.execute("SELECT * FROM reviews ORDER BY id ASC").fetchall()
        except sqlite3.Error as exc:
            raise AuditError(self.path, _reason(exc)) from exc
        try:
            with open(out, "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(EXPORT_COLUMNS)
                for row in rows:
                    problems = cell_problems(row)
                    writer.writerow([_csv_cell(row[n], n) for n in COLUMNS] + ["; ".join(problems)])
                    if problems and on_problem is not None:
                        on_problem(
                            f"review {_csv_cell(row['review_id'])!s} (row {row['id']}): "
                            f"{'; '.join(problems)}; exported as stored"
                        )
        except OSError as exc:
            raise AuditError(out, _reason(exc)) from exc
        return len(rows)

    def close(self) -> None:
        self._conn.close()


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_existing_file(path: Path) -> bool:
    """Whether an audit database already exists at ``path``; raises :class:`AuditError` for
    something there that is not one (an empty file, another kind of file, a FIFO or folder),
    so that it is never silently replaced by a new, empty log."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode):
        raise AuditError(path, "not a regular file, so not an audit log")
    if st.st_size == 0:
        raise AuditError(
            path,
            "the file is empty (0 bytes), not an audit log; it may be the remains of a "
            "failed write — move it away to start a new log",
        )
    with path.open("rb") as fh:
        head = fh.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        raise AuditError(path, "not an SQLite database, so not a WristViewer audit log")
    return True


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    if "disk is full" in text or getattr(exc, "errno", None) == 28:
        return "the disk is full"
    if "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        return "the folder cannot be written (read-only or no permission)"
    return text


@dataclass
class _Job:
    record: AuditRecord
    study_uid: str | None
    files: tuple[str, ...]


class AuditWriter:
    """Writes :class:`AuditRecord` s on a dedicated thread, in submission order.

    ``on_error(sentence)`` is called from the writer thread for each failed write (Qt code must
    hand it to the GUI thread, e.g. through a signal). ``on_written(record)`` likewise after
    each successful write. The database is opened on the first record, and again after a
    failure, so a freed disk or a fixed folder works without restarting.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        on_error: Callable[[str], None] | None = None,
        on_written: Callable[[AuditRecord], None] | None = None,
        salt: bytes | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._on_error = on_error
        self._on_written = on_written
        self._salt = salt
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._db: AuditDatabase | None = None
        self._closed = False
        self.failures = 0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def submit(
        self, record: AuditRecord, *, study_uid: str | None = None, files: Iterable[str | Path] = ()
    ) -> None:
        """Queue one record (a copy is taken). When ``record.study_key`` is empty the writer
        keys the study from ``study_uid`` or the files' contents (read on the writer thread)."""
        if self._closed:
            raise RuntimeError("the audit writer is closed")
        copy = AuditRecord(**asdict(record))
        self._queue.put(_Job(copy, study_uid, tuple(str(f) for f in files)))

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued record is written or has failed. True when drained."""
        done = threading.Event()

        def drain() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=drain, daemon=True).start()
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, then stop the thread and close the database."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout_s)

    # writer thread -------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    if self._db is not None:
                        self._db.close()
                    return
                self._write(job)
            finally:
                self._queue.task_done()

    def _write(self, job: _Job) -> None:
        record = job.record
        try:
            if not record.study_key:
                if self._salt is None:
                    self._salt = load_salt(self.path.parent)
                key = study_key(job.study_uid, job.files, self._salt)
                record.study_key, record.key_method = key.key, key.method
            if self._db is None:
                self._db = AuditDatabase(self.path)
            self._db.upsert(record)
        except (AuditError, OSError, ValueError) as exc:
            self.failures += 1
            if self._db is not None and isinstance(exc, AuditError):
                self._db.close()
                self._db = None
            where = exc if isinstance(exc, AuditError) else AuditError(self.path, _reason(exc))
            sentence = (
                f"The audit log could not be written ({where}). The viewer keeps working; "
                "this review is not recorded."
            )
            log.error("audit write failed: %s", type(exc).__name__)
            if self._on_error is not None:
                self._on_error(sentence)
            return
        self.written += 1
        if self._on_written is not None:
            self._on_written(record)


def read_records(path: str | Path | None = None, limit: int | None = None) -> list[AuditRecord]:
    """Open, read the reviews newest first, close (for dialogs and the CLI)."""
    db = AuditDatabase(path)
    try:
        return db.records(limit)
    finally:
        db.close()


def record_columns() -> Sequence[str]:
    """:data:`COLUMNS` (for table headers)."""
    return COLUMNS
