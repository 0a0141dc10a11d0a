"""``wristviewer [PATH...] [--one-study] [--screenshot OUT.png]``: the viewer window."""

from __future__ import annotations

import argparse
import sys
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
    parser.add_argument(
        "--one-study",
        action="store_true",
        help="open the PNG/JPEG images of each folder given as one study (by default each "
        "image is a study of its own: such files name no patient); opens in a window of its "
        "own rather than handing the files to a running viewer",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--check-qt-libs",
        action="store_true",
        help="check that the system libraries Qt's X11 plugin needs are installed, name what "
        "is missing, and exit (status 1 when something is missing)",
    )
    return parser


def run_from_argv(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    if args.version:
        from wristviewer import __version__

        print(f"wristviewer {__version__}")
        return 0
    from wristviewer.cli import qt_libs

    if args.check_qt_libs:
        missing = qt_libs.missing_libraries()
        if missing:
            sys.stderr.write(qt_libs.message_for(missing) + "\n")
            return 1
        print("Qt's X11 plugin has every system library it needs.")
        return 0
    problem = qt_libs.check_before_window()
    if problem is not None:  # instead of Qt's "could not load the Qt platform plugin" abort
        sys.stderr.write(problem + "\n")
        return 1
    from wristviewer.ui.app import run_app

    return run_app(
        args.paths,
        screenshot=args.screenshot,
        new_instance=args.new_instance,
        one_study=args.one_study,
    )
