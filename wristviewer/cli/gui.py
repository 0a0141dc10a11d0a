"""``wristviewer [PATH...] [--screenshot OUT.png]``: the viewer window."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wristviewer",
        description="Open the WristViewer window. Subcommands: info, predict, models "
        "(see 'wristviewer COMMAND --help').",
    )
    parser.add_argument("paths", nargs="*", help="DICOM, PNG or JPEG files, or folders, to open")
    parser.add_argument(
        "--screenshot",
        metavar="OUT.png",
        help="render the window with the study loaded (and analysed when a model is installed) "
        "to a PNG, then exit",
    )
    parser.add_argument(
        "--new-instance",
        action="store_true",
        help="open a window of its own even when WristViewer is already running "
        "(by default the files go to the running window)",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


def run_from_argv(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    if args.version:
        from wristviewer import __version__

        print(f"wristviewer {__version__}")
        return 0
    from wristviewer.ui.app import run_app

    return run_app(args.paths, screenshot=args.screenshot, new_instance=args.new_instance)
