"""``wristviewer audit``: the audit log of second-opinion reviews, for quality review.

``wristviewer audit [--json]`` prints a summary (reviews, reads, final decisions, agreement
counts, first and last time); with ``--json`` the output is always one strict JSON document:
``"database": null`` and zero counts when there is no log yet, ``{"error": sentence}`` when it
cannot be read. ``wristviewer audit export --csv FILE`` writes every review as CSV (one row
per review; study keys are salted SHA-256 hashes, never names or paths); a malformed cell is
exported as stored, named in the ``problems`` column and in a warning line.
``--db FILE`` reads another database than the user's (``user_data_dir()/audit.sqlite3``).
"""

from __future__ import annotations

import argparse
import sys

from wristviewer.cli import jsonout

EXIT_OK = 0
EXIT_ERROR = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "audit",
        help="summarise or export the audit log of second-opinion reviews",
        description="Print a summary of the audit log (default) or export it as CSV.",
    )
    p.add_argument("--db", default=None, help="the audit database (default: the user's)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    export = actions.add_parser("export", help="write every review to a CSV file")
    export.add_argument("--csv", required=True, metavar="FILE", help="the CSV file to write")
    p.set_defaults(run=run)


def _json(doc: dict) -> None:
    sys.stdout.write(jsonout.dumps(doc) + "\n")


def _fail(sentence: str, as_json: bool, path: object) -> int:
    from wristviewer.text import printable

    sys.stderr.write(printable(sentence) + "\n")
    if as_json:
        _json({"error": sentence, "database": str(path)})
    return EXIT_ERROR


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wristviewer.workflow.audit import AuditDatabase, AuditError, default_path

    path = Path(args.db) if args.db else default_path()
    as_json = bool(args.json)
    if not path.exists():
        if args.action == "export":
            return _fail(f"{path}: no audit log yet (no review was recorded)", as_json, path)
        if as_json:
            _json(
                {
                    "database": None,
                    "path": str(path),
                    "records": 0,
                    "reviews": 0,
                    "with_read": 0,
                    "with_final_decision": 0,
                    "agreement": {},
                    "first_utc": None,
                    "last_utc": None,
                }
            )
        else:
            sys.stdout.write(f"No audit log yet at {path}: 0 reviews.\n")
        return EXIT_OK
    problems: list[str] = []
    try:
        db = AuditDatabase(path)
        try:
            if args.action == "export":
                count = db.export_csv(args.csv, on_problem=problems.append)
            else:
                summary = db.summary()
        finally:
            db.close()
    except AuditError as exc:
        return _fail(str(exc), as_json, path)
    if args.action == "export":
        for problem in problems:
            sys.stderr.write(f"warning: {problem}\n")
        if as_json:
            _json({"database": str(path), "csv": args.csv, "records": count, "flagged": problems})
        else:
            flagged = f" ({len(problems)} flagged in the 'problems' column)" if problems else ""
            sys.stdout.write(f"{count} review(s) written to {args.csv}{flagged}\n")
        return EXIT_OK
    if as_json:
        _json({"database": str(path), "path": str(path), "records": summary["reviews"], **summary})
        return EXIT_OK
    agreement = ", ".join(f"{k} {v}" for k, v in sorted(summary["agreement"].items())) or "none"
    sys.stdout.write(
        f"Audit log {path}\n"
        f"  reviews: {summary['reviews']}\n"
        f"  with the physician's read: {summary['with_read']}\n"
        f"  with a final decision: {summary['with_final_decision']}\n"
        f"  agreement with the AI: {agreement}\n"
        f"  from {summary['first_utc'] or '-'} to {summary['last_utc'] or '-'} (UTC)\n"
    )
    return EXIT_OK
