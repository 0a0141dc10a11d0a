"""Command line: ``wristviewer [PATH...]`` opens the viewer; subcommands work without a window.

Each subcommand lives in its own module with ``register(subparsers)`` and ``run(args) -> int``;
heavy imports (torch, Qt) happen inside ``run`` so ``wristviewer info`` stays fast.

File names that are not valid UTF-8 travel as ``os.fsdecode`` strings (undecodable bytes as
lone surrogates). Text output writes them back as their original bytes (standard output is
switched to ``errors="surrogateescape"``); JSON escapes them (:mod:`wristviewer.cli.jsonout`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: subcommand name -> module under wristviewer.cli
SUBCOMMANDS: dict[str, str] = {
    "info": "info",
    "predict": "predict",
    "models": "models",
    "audit": "audit",
}


def _subcommand_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wristviewer",
        description="Wrist radiograph viewer and fracture second opinion. "
        "Run without a subcommand to open the viewer.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS.values():
        try:
            mod = importlib.import_module(f"wristviewer.cli.{module}")
        except ModuleNotFoundError as exc:  # a subcommand not built yet in this checkout
            if exc.name != f"wristviewer.cli.{module}":
                raise
            continue
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wristviewer`` console script. Returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in SUBCOMMANDS:
        args = _subcommand_parser().parse_args(args_list)
        _write_names_as_bytes(sys.stdout)
        return int(args.run(args) or 0)
    from wristviewer.cli import gui

    return gui.run_from_argv(args_list)


def _write_names_as_bytes(stream: object) -> None:
    """Let a text stream that would fail on a surrogate-escaped file name write its bytes."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None and getattr(stream, "errors", None) == "strict":
        reconfigure(errors="surrogateescape")


def gui_main() -> int:
    """Entry point of the windowed ``wristviewer-gui`` script (no console on Windows)."""
    return main()
