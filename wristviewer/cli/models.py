"""``wristviewer models``: list, install, remove (and create untrained) model bundles.

``wristviewer models [--json]`` lists the bundles shipped with the application and those the
user installed, fully verified (checksums included); unusable files are listed with the
reason (``UNUSABLE: reason``) beside the good ones. Names are printed without control or
bidirectional-override characters. ``models install FILE [--force]`` verifies a bundle and
copies it atomically into the user models folder; it says when an identical bundle was
already installed, refuses to replace a different one without ``--force``, and names what it
replaced. ``models remove NAME`` deletes a user-installed bundle (bundled ones are
read-only). ``models create-untrained ARCH FILE`` writes a random-weight bundle for demos
and tests (its results are meaningless).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wristviewer.ai.registry import ARCHITECTURES
from wristviewer.cli import jsonout

EXIT_OK = 0
EXIT_ERROR = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "models",
        help="list, install or remove model bundles",
        description="List the installed model bundles (default), or install / remove one.",
    )
    p.add_argument("--json", action="store_true", help="list as JSON")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    lister = actions.add_parser("list", help="list the model bundles (the default)")
    lister.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="list as JSON"
    )
    install = actions.add_parser(
        "install", help="verify a bundle file and install it for this user"
    )
    install.add_argument("file", metavar="FILE")
    install.add_argument(
        "--force", action="store_true", help="replace an installed bundle of the same name"
    )
    remove = actions.add_parser("remove", help="remove a user-installed bundle")
    remove.add_argument("name", metavar="NAME")
    create = actions.add_parser(
        "create-untrained",
        help="write a random-weight bundle (demos and tests only: its results are meaningless)",
    )
    create.add_argument("arch", choices=ARCHITECTURES)
    create.add_argument("file", metavar="FILE")
    create.add_argument("--seed", type=int, default=0)
    create.add_argument("--name", default=None)
    p.set_defaults(run=run)


def _err(message: str) -> None:
    from wristviewer.text import printable

    sys.stderr.write(printable(message) + "\n")


def run(args: argparse.Namespace) -> int:
    action = args.action or "list"
    if action == "list":
        return _list(bool(args.json))
    if action == "install":
        return _install(args.file, bool(args.force))
    if action == "remove":
        return _remove(args.name)
    return _create(args.arch, args.file, args.seed, args.name)


def _entry_dict(entry: Any) -> dict[str, Any]:
    from wristviewer.text import printable

    card = entry.card
    d: dict[str, Any] = {
        "name": entry.display_name,
        "arch": card.arch if card else None,
        "version": printable(card.version) if card else None,
        "untrained": card.untrained if card else None,
        "source": entry.source,
        "path": str(entry.path),
        "sha256": card.weights_sha256[:12] if card else None,
        "valid": card is not None,
    }
    if card is None:
        d["reason"] = printable(entry.error or "")
    return d


def _list(as_json: bool) -> int:
    from wristviewer.ai.registry import HOW_TO_INSTALL, find_bundles
    from wristviewer.paths import bundled_models_dir, user_models_dir
    from wristviewer.text import printable

    entries = [_entry_dict(e) for e in find_bundles(verify=True)]
    if as_json:
        doc = {
            "bundled_dir": str(bundled_models_dir()),
            "user_dir": str(user_models_dir()),
            "models": entries,
        }
        sys.stdout.write(jsonout.dumps(doc) + "\n")
        return EXIT_OK
    out = sys.stdout
    if not entries:
        out.write(f"No model bundles found. {HOW_TO_INSTALL}\n")
        return EXIT_OK
    out.write(f"{'NAME':<28} {'ARCH':<12} {'VERSION':<16} {'SOURCE':<8} {'SHA256':<12} PATH\n")
    for e in entries:
        path = printable(e["path"])
        if not e["valid"]:
            out.write(f"{e['name']:<28} UNUSABLE: {e['reason']}  ({path})\n")
            continue
        flag = "  [UNTRAINED]" if e["untrained"] else ""
        out.write(
            f"{e['name']:<28} {e['arch']:<12} {e['version']:<16} {e['source']:<8} "
            f"{e['sha256']:<12} {path}{flag}\n"
        )
    return EXIT_OK


def _install(file: str, force: bool) -> int:
    from wristviewer.ai.bundle import BundleError
    from wristviewer.ai.registry import RegistryError, install_bundle

    try:
        result = install_bundle(file, force=force)
    except (BundleError, RegistryError) as exc:
        _err(str(exc))
        return EXIT_ERROR
    sys.stdout.write(result.sentence() + "\n")
    return EXIT_OK


def _remove(name: str) -> int:
    from wristviewer.ai.registry import RegistryError, remove_bundle

    try:
        path = remove_bundle(name)
    except RegistryError as exc:
        _err(str(exc))
        return EXIT_ERROR
    sys.stdout.write(f"removed {path}\n")
    return EXIT_OK


def _create(arch: str, file: str, seed: int, name: str | None) -> int:
    from wristviewer.ai.bundle import BundleError, create_untrained_bundle

    try:
        path = create_untrained_bundle(arch, file, seed=seed, name=name)
    except (BundleError, OSError) as exc:
        _err(str(exc))
        return EXIT_ERROR
    sys.stdout.write(f"wrote {path} (UNTRAINED: random weights, meaningless results)\n")
    return EXIT_OK
