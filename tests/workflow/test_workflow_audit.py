"""The audit database: schema, upserts, durability after SIGKILL, failures, keys, CSV and CLI."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wristviewer.cli import main
from wristviewer.workflow.audit import (
    COLUMNS,
    SCHEMA_VERSION,
    AuditDatabase,
    AuditError,
    AuditRecord,
    AuditWriter,
    default_path,
)
from wristviewer.workflow.study_keys import (
    METHOD_CONTENT,
    METHOD_DICOM,
    load_salt,
    study_key,
)

REPO = Path(__file__).resolve().parents[2]
SALT = b"s" * 32


def _record(review_id: str, **kw) -> AuditRecord:
    base = dict(
        n_views=2,
        models=["densenet161-untrained"],
        model_sha256=["ab" * 32],
        untrained=True,
        threshold=0.42,
        study_probability=0.61,
        view_probabilities=[
            {"view": "PA", "probability": 0.61},
            {"view": "lateral", "probability": 0.2},
        ],
        ai_suspected=True,
        physician_read="fracture",
        agreement="agree",
        reveal_mode="after_read",
        app_version="0.1.0",
    )
    base.update(kw)
    return AuditRecord(review_id=review_id, **base)


def test_default_path_is_in_the_user_data_folder(isolated_home: Path) -> None:
    assert default_path() == isolated_home / "data" / "audit.sqlite3"


def test_schema_wal_full_and_upsert_keeps_one_row_per_review(tmp_path: Path) -> None:
    db = AuditDatabase(tmp_path / "a.sqlite3")
    assert db.schema_version() == SCHEMA_VERSION == 1
    assert db._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db.upsert(_record("r1", study_key="k" * 64, key_method=METHOD_DICOM))
    first = db.records()[0]
    db.upsert(
        _record("r1", study_key="k" * 64, key_method=METHOD_DICOM, final_decision="no_fracture")
    )
    db.upsert(_record("r2", study_key="j" * 64, key_method=METHOD_CONTENT, physician_read="unsure"))
    records = db.records()
    assert [r.review_id for r in records] == ["r2", "r1"]
    r1 = records[1]
    assert r1.final_decision == "no_fracture" and r1.created_utc == first.created_utc
    assert r1.view_probabilities[1] == {"view": "lateral", "probability": 0.2}
    assert r1.untrained is True and r1.ai_suspected is True and r1.threshold == pytest.approx(0.42)
    assert r1.created_utc.endswith("+00:00")  # UTC, ISO 8601
    summary = db.summary()
    assert summary["reviews"] == 2 and summary["with_final_decision"] == 1
    assert db.integrity_ok()
    db.close()


def test_a_database_from_a_newer_version_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    AuditDatabase(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (99, 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(AuditError, match="new.sqlite3.*newer"):
        AuditDatabase(path)


def test_rows_survive_sigkill_of_the_writing_process(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite3"
    code = textwrap.dedent(
        f"""
        import sys, time
        from wristviewer.workflow.audit import AuditRecord, AuditWriter
        w = AuditWriter({str(path)!r}, salt=b"s" * 32)
        for i in range(25):
            w.submit(AuditRecord(f"review-{{i}}", physician_read="fracture", n_views=1),
                     study_uid=f"1.2.3.{{i}}")
        assert w.flush(30)
        print("WRITTEN", w.written, flush=True)
        time.sleep(120)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        assert line.split() == ["WRITTEN", "25"]
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert Path(str(path) + "-wal").exists()  # the rows were in the WAL, not yet checkpointed
    db = AuditDatabase(path)
    records = db.records()
    assert len(records) == 25 and db.integrity_ok()
    assert {r.review_id for r in records} == {f"review-{i}" for i in range(25)}
    assert all(r.key_method == METHOD_DICOM and len(r.study_key) == 64 for r in records)
    db.close()


def test_an_unwritable_folder_gives_one_sentence_and_the_writer_keeps_going(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    errors: list[str] = []
    writer = AuditWriter(blocker / "audit.sqlite3", on_error=errors.append, salt=SALT)
    writer.submit(_record("r1"), study_uid="1.2.3")
    writer.submit(_record("r2"), study_uid="1.2.4")
    assert writer.flush(10)
    writer.close()
    assert writer.failures == 2 and writer.written == 0
    assert "not-a-folder" in errors[0] and "could not be written" in errors[0]
    assert "keeps working" in errors[0]


def test_study_keys_are_salted_and_content_keys_ignore_names(tmp_path: Path) -> None:
    a = study_key("1.2.840.1", [], SALT)
    assert a == study_key("1.2.840.1", [], SALT) and a.method == METHOD_DICOM
    assert a.key != study_key("1.2.840.1", [], b"t" * 32).key
    assert a.key != study_key("1.2.840.2", [], SALT).key
    f1 = tmp_path / "Doe_John_wrist.jpg"
    f1.write_bytes(b"pixels-1")
    f2 = tmp_path / "x.jpg"
    f2.write_bytes(b"pixels-2")
    k1 = study_key(None, [f1, f2], SALT)
    renamed = tmp_path / "anon.jpg"
    f1.rename(renamed)
    assert study_key(None, [f2, renamed], SALT) == k1 and k1.method == METHOD_CONTENT
    salt = load_salt(tmp_path / "data")
    assert len(salt) == 32 and load_salt(tmp_path / "data") == salt
    assert (tmp_path / "data" / "audit.salt").stat().st_mode & 0o777 == 0o600


def test_no_path_reaches_the_database(tmp_path: Path) -> None:
    folder = tmp_path / "Smith_Jane_1970"
    folder.mkdir()
    image = folder / "Smith_Jane_PA.png"
    image.write_bytes(b"not really a png, only hashed")
    db_path = tmp_path / "a.sqlite3"
    writer = AuditWriter(db_path)
    writer.submit(_record("r1"), study_uid=None, files=[image])
    assert writer.flush(10)
    writer.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("a.sqlite3*"))
    assert b"Smith" not in raw and str(tmp_path).encode() not in raw


def test_csv_export_and_the_cli(tmp_path: Path, isolated_home: Path, capsys) -> None:
    writer = AuditWriter()  # the user's database
    for i in range(3):
        writer.submit(
            _record(f"r{i}", final_decision="fracture" if i else None), study_uid=f"1.{i}"
        )
    assert writer.flush(10)
    writer.close()
    assert main(["audit"]) == 0
    out = capsys.readouterr().out
    assert "reviews: 3" in out and "with a final decision: 2" in out
    assert main(["audit", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reviews"] == 3
    target = tmp_path / "review.csv"
    assert main(["audit", "export", "--csv", str(target)]) == 0
    with open(target, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["review_id"] for r in rows] == ["r0", "r1", "r2"]
    assert tuple(rows[0].keys()) == (*COLUMNS, "problems")
    assert all(r["problems"] == "" for r in rows) and rows[0]["untrained"] == "True"
    assert json.loads(rows[1]["view_probabilities"])[0]["view"] == "PA"
    assert main(["audit", "export", "--csv", str(tmp_path / "missing" / "x.csv")]) == 1
    assert "missing" in capsys.readouterr().err


def test_cli_without_a_log(capsys) -> None:
    assert main(["audit"]) == 0
    assert "0 reviews" in capsys.readouterr().out


# --- hostile databases: malformed cells, empty and foreign files, --json always JSON ---------


def _damaged_log(path: Path) -> None:
    """A log of three reviews whose middle one was edited outside WristViewer."""
    db = AuditDatabase(path)
    for i in range(3):
        db.upsert(_record(f"r{i}", study_key="k" * 64, key_method=METHOD_DICOM))
    db.close()
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE reviews SET view_probabilities = '{not json', untrained = 7, "
        "threshold = 'abc', study_probability = ?, note = ?, models = '[[[', agreement = ?, "
        "updated_utc = ? WHERE review_id = 'r1'",
        (float("inf"), b"\x00\xff", b"\x01", b"\xfe"),
    )
    conn.commit()
    conn.close()


def test_export_survives_malformed_cells_and_flags_them(tmp_path: Path, capsys) -> None:
    path = tmp_path / "damaged.sqlite3"
    _damaged_log(path)
    target = tmp_path / "out.csv"
    assert main(["audit", "--db", str(path), "export", "--csv", str(target)]) == 0
    out, err = capsys.readouterr()
    assert "3 review(s) written" in out and "1 flagged" in out
    assert err.count("warning: review r1") == 1 and "exported as stored" in err
    with open(target, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["review_id"] for r in rows] == ["r0", "r1", "r2"]
    bad = rows[1]
    assert bad["view_probabilities"] == "{not json" and bad["threshold"] == "abc"
    assert bad["note"] == "x'00ff'" and bad["untrained"] == "7"
    for column in (
        "view_probabilities",
        "models",
        "untrained",
        "threshold",
        "study_probability",
        "note",
        "agreement",
        "updated_utc",
    ):
        assert column in bad["problems"], column
    assert rows[0]["problems"] == rows[2]["problems"] == ""
    # the dialog's reader keeps the malformed cells as stored instead of failing
    from wristviewer.workflow.audit import read_records

    records = read_records(path)
    assert [r.review_id for r in records] == ["r2", "r1", "r0"]
    assert records[1].view_probabilities == "{not json"
    assert main(["audit", "--db", str(path), "--json", "export", "--csv", str(target)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["records"] == 3 and len(doc["flagged"]) == 1


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", r"empty \(0 bytes\)"),
        (b"review,when\nr1,today\n", "not an SQLite database"),
        (b"SQLite format 3\x00" + bytes(84), "database disk image is malformed|not a database"),
    ],
    ids=["empty", "csv", "damaged-sqlite"],
)
def test_a_file_that_is_not_an_audit_log_is_a_sentence_never_replaced(
    tmp_path: Path, capsys, content: bytes, reason: str
) -> None:
    path = tmp_path / "audit.sqlite3"
    path.write_bytes(content)
    with pytest.raises(AuditError, match=reason) as info:
        AuditDatabase(path)
    assert info.value.path == path
    assert path.read_bytes() == content  # not silently re-initialised
    errors: list[str] = []
    writer = AuditWriter(path, on_error=errors.append, salt=SALT)
    writer.submit(_record("r1"), study_uid="1.2.3")
    assert writer.flush(10)
    writer.close()
    assert writer.written == 0 and "audit.sqlite3" in errors[0]
    assert path.read_bytes() == content
    assert main(["audit", "--db", str(path)]) == 1
    assert "audit.sqlite3" in capsys.readouterr().err
    assert main(["audit", "--db", str(path), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert "audit.sqlite3" in doc["error"] and doc["database"] == str(path)


def test_another_applications_sqlite_database_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE patients (name TEXT)")
    conn.execute("INSERT INTO patients VALUES ('someone')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(AuditError, match="another kind \\(tables: patients\\)"):
        AuditDatabase(path)
    assert path.read_bytes() == before
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    conn.close()
    assert tables == ["patients"]


def test_special_files_at_the_database_path_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "audit.sqlite3"
    folder.mkdir()
    with pytest.raises(AuditError, match="not a regular file"):
        AuditDatabase(folder)
    fifo = tmp_path / "fifo.sqlite3"
    os.mkfifo(fifo)
    with pytest.raises(AuditError, match="not a regular file"):
        AuditDatabase(fifo)


def test_audit_json_is_always_strict_json(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "none.sqlite3"
    assert main(["audit", "--db", str(missing), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out, parse_constant=pytest.fail)
    assert doc["database"] is None and doc["records"] == 0 and doc["reviews"] == 0
    assert main(["audit", "--db", str(missing), "--json", "export", "--csv", "x.csv"]) == 1
    assert "no audit log yet" in json.loads(capsys.readouterr().out)["error"]
    path = tmp_path / "damaged.sqlite3"
    _damaged_log(path)  # an infinite probability stored in a row
    assert main(["audit", "--db", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out, parse_constant=pytest.fail)
    assert doc["database"] == str(path) and doc["records"] == doc["reviews"] == 3
