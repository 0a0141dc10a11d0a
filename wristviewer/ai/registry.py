"""The model catalogue: which models exist, where their bundles live, which one is used.

The one place that knows the architectures (:data:`ARCHITECTURES`), the ensemble
(:data:`ENSEMBLE`: one bundle of each architecture), the model choices (:data:`MODEL_SPECS`)
and their labels (:func:`model_label`), the bundle file suffix (:data:`BUNDLE_SUFFIX`) and
which bundle is preferred; the command lines, training and the window ask it.

- ``wristviewer.paths.bundled_models_dir()`` (``resources/models``): shipped, read-only.
- ``wristviewer.paths.user_models_dir()``: installed with ``wristviewer models install FILE``
  (copied there as ``<card name>.safetensors``), removed with ``wristviewer models remove NAME``.

Choosing a bundle for an architecture (:func:`resolve_models`): among the valid bundles of
that architecture, trained ones before untrained ones, then the most recently created, then
user-installed before bundled; a bundle that fails full verification is passed over.

Importing this module loads no torch (the window imports it at start-up); reading bundles
(:func:`find_bundles`, :func:`resolve_models`, ...) loads :mod:`wristviewer.ai.bundle` then.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wristviewer.ai.card import ARCHITECTURES, ModelCard
from wristviewer.paths import bundled_models_dir, user_models_dir
from wristviewer.text import printable

if TYPE_CHECKING:  # pragma: no cover - types only; bundle.py imports torch
    from wristviewer.ai.bundle import ModelBundle

__all__ = [
    "ARCHITECTURES",
    "AUTO",
    "BUNDLE_SUFFIX",
    "ENSEMBLE",
    "ENSEMBLE_RULE",
    "HOW_TO_INSTALL",
    "MODEL_SPECS",
    "BundleEntry",
    "InstallResult",
    "NoModelError",
    "RegistryError",
    "bundle_files_present",
    "ensemble_members",
    "ensemble_sha256",
    "find_bundles",
    "install_bundle",
    "model_choices",
    "model_label",
    "preferred_cards",
    "remove_bundle",
    "resolve_models",
]
#: the model choice that runs one bundle of every architecture together
ENSEMBLE = "ensemble"
#: the model choice that runs the ensemble when every architecture is installed, else the one
AUTO = "auto"
MODEL_SPECS: tuple[str, ...] = (AUTO, ENSEMBLE, *ARCHITECTURES)
#: a model bundle's file name ends in this
BUNDLE_SUFFIX = ".safetensors"
#: how an ensemble combines its members (the Predictor's rule, provisional)
ENSEMBLE_RULE = (
    "mean of calibrated probabilities and of scaled heatmaps; threshold = mean of "
    "the members' Youden thresholds (provisional)"
)
_LABELS: dict[str, str] = {
    "densenet161": "DenseNet-161",
    "resnet152": "ResNet-152",
    ENSEMBLE: "Both (DenseNet-161 + ResNet-152)",
    AUTO: "Automatic",
}

#: the sentence telling a user how to get a model
HOW_TO_INSTALL = (
    "Install a model bundle with 'wristviewer models install FILE', "
    "or train and export one with 'python -m training export'."
)


def model_label(spec: str) -> str:
    """The name a person reads for a model choice (``"DenseNet-161"``); the spec itself for
    one this catalogue does not know."""
    return _LABELS.get(spec, spec)


def ensemble_members(spec: str) -> tuple[str, ...]:
    """The architectures a model choice runs: every one for :data:`ENSEMBLE`, else the
    architecture itself (empty for a spec that is neither)."""
    if spec == ENSEMBLE:
        return ARCHITECTURES
    return (spec,) if spec in ARCHITECTURES else ()


def model_choices(archs: Iterable[str]) -> list[str]:
    """The model choices offered when bundles of ``archs`` are installed: each architecture,
    then :data:`ENSEMBLE` when every architecture is there."""
    present = set(archs)
    specs = [arch for arch in ARCHITECTURES if arch in present]
    if len(specs) == len(ARCHITECTURES):
        specs.append(ENSEMBLE)
    return specs


def ensemble_sha256(member_sha256s: Iterable[str]) -> str:
    """An ensemble's identity: SHA-256 (hex) over its members' sorted weights checksums."""
    return hashlib.sha256("".join(sorted(member_sha256s)).encode()).hexdigest()


def bundle_files_present() -> bool:
    """Whether any bundle file exists (a cheap look at the folders that reads no bundle)."""
    for _source, folder in _folders():
        if folder.is_dir() and any(folder.glob(f"*{BUNDLE_SUFFIX}")):
            return True
    return False


class RegistryError(Exception):
    """A registry operation that cannot be done; ``str(err)`` is a sentence for the user."""


class NoModelError(RegistryError):
    """No usable model matches the request."""


@dataclass
class BundleEntry:
    """A bundle file found in a models folder. ``card`` is None when the file is unusable,
    and ``error`` then says why. ``source``: ``"bundled"`` or ``"user"``."""

    path: Path
    card: ModelCard | None
    source: str
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.card is not None

    @property
    def display_name(self) -> str:
        """The card's name (or the file's, for an unusable file) safe to print or draw:
        without control or bidirectional-override characters."""
        return printable(self.card.name if self.card is not None else self.path.stem) or "?"


def _folders() -> list[tuple[str, Path]]:
    return [("bundled", bundled_models_dir()), ("user", user_models_dir())]


def find_bundles(*, verify: bool = False) -> list[BundleEntry]:
    """Every ``*.safetensors`` in the bundled folder, then the user folder.

    An unusable file (not a bundle, a damaged one, a FIFO, a folder) is listed with its
    reason, never raised, so it never hides the good ones; so is a models folder that cannot
    be listed. ``verify=False`` checks the format, the card and the tensor names/shapes from
    the header only (fast); ``verify=True`` also reads the weights and checks their SHA-256
    and that they are finite.
    """
    from wristviewer.ai.bundle import BundleError, inspect_bundle, load_bundle

    entries: list[BundleEntry] = []
    for source, folder in _folders():
        try:
            if not folder.is_dir():
                continue
            paths = sorted(folder.glob(f"*{BUNDLE_SUFFIX}"))
        except OSError as exc:
            reason = f"the models folder cannot be read ({exc.strerror or exc})"
            entries.append(BundleEntry(folder, None, source, reason))
            continue
        for path in paths:
            if path.name.startswith("."):
                continue
            try:
                card = load_bundle(path).card if verify else inspect_bundle(path)
            except BundleError as exc:
                entries.append(BundleEntry(path, None, source, exc.reason))
            else:
                entries.append(BundleEntry(path, card, source))
    return entries


def _preference(entry: BundleEntry) -> tuple[bool, str, bool]:
    """The sort key of the preference rule (module docstring): larger is preferred."""
    assert entry.card is not None
    return (not entry.card.untrained, entry.card.created, entry.source == "user")


def preferred_cards(entries: Sequence[BundleEntry]) -> dict[str, ModelCard]:
    """The card of the bundle :func:`resolve_models` prefers for each architecture among
    ``entries`` (usable ones only; a bundle failing full verification is found out only when
    it is loaded)."""
    best: dict[str, BundleEntry] = {}
    for entry in entries:
        if entry.card is None:
            continue
        held = best.get(entry.card.arch)
        if held is None or _preference(entry) > _preference(held):
            best[entry.card.arch] = entry
    return {arch: entry.card for arch, entry in best.items() if entry.card is not None}


def _best_for_arch(
    arch: str, entries: list[BundleEntry], failures: list[str]
) -> ModelBundle | None:
    from wristviewer.ai.bundle import BundleError, load_bundle

    candidates = sorted(
        (e for e in entries if e.card is not None and e.card.arch == arch),
        key=_preference,
        reverse=True,
    )
    for entry in candidates:
        try:
            return load_bundle(entry.path)
        except BundleError as exc:
            failures.append(str(exc))
    return None


def _no_model(what: str, entries: list[BundleEntry], failures: list[str]) -> NoModelError:
    broken = failures + [f"{e.path}: {e.error}" for e in entries if e.card is None]
    detail = f" ({len(broken)} unusable bundle(s): {'; '.join(broken[:3])})" if broken else ""
    return NoModelError(f"No usable {what} model is installed{detail}. {HOW_TO_INSTALL}")


def resolve_models(spec: str) -> list[ModelBundle]:
    """The verified bundle(s) for ``spec``.

    ``"densenet161"`` / ``"resnet152"``: the preferred bundle of that architecture;
    ``"ensemble"``: one of each; ``"auto"``: the ensemble when both exist, else whichever
    exists; a file path: that bundle; otherwise an installed bundle with that card name.
    Raises :class:`NoModelError` (a sentence saying how to install one) or
    :class:`~wristviewer.ai.bundle.BundleError` for a path that is not a valid bundle.
    """
    from wristviewer.ai.bundle import BundleError, load_bundle

    candidate = Path(spec).expanduser()
    if spec not in MODEL_SPECS and (candidate.suffix == BUNDLE_SUFFIX or candidate.exists()):
        if not candidate.is_file():
            raise NoModelError(f"{candidate}: no such model bundle file. {HOW_TO_INSTALL}")
        return [load_bundle(candidate)]
    entries = find_bundles()
    failures: list[str] = []
    if spec in ARCHITECTURES:
        best = _best_for_arch(spec, entries, failures)
        if best is None:
            raise _no_model(spec, entries, failures)
        return [best]
    if spec in (ENSEMBLE, AUTO):
        found = {arch: _best_for_arch(arch, entries, failures) for arch in ARCHITECTURES}
        present = [b for b in found.values() if b is not None]
        if spec == ENSEMBLE and len(present) < len(ARCHITECTURES):
            missing = [arch for arch, b in found.items() if b is None]
            raise _no_model(f"{' and '.join(missing)} (needed for the ensemble)", entries, failures)
        if not present:
            raise _no_model("fracture", entries, failures)
        return present
    named = [e for e in entries if e.card is not None and e.card.name == spec]
    for entry in sorted(named, key=_preference, reverse=True):
        try:
            return [load_bundle(entry.path)]
        except BundleError as exc:
            failures.append(str(exc))
    choices = ", ".join(MODEL_SPECS)
    raise NoModelError(
        f"No model bundle file or installed model is called {spec!r} (choose {choices}, a "
        f"bundle file, or an installed model's name). {HOW_TO_INSTALL}"
    )


def _file_name(card_name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", card_name).strip("._") or "model"
    return safe + BUNDLE_SUFFIX


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _write_error(folder: Path, exc: OSError, size: int) -> RegistryError:
    if exc.errno == errno.ENOSPC:
        return RegistryError(
            f"Not enough disk space in {folder} to install the model ({size / 1e6:.0f} MB needed)."
        )
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return RegistryError(f"Cannot write to the models folder {folder}: permission denied.")
    return RegistryError(f"Cannot install the model into {folder}: {exc.strerror or exc}.")


@dataclass
class InstallResult:
    """What ``install_bundle`` did. ``status``: ``"installed"`` (a new file),
    ``"unchanged"`` (an identical bundle was already installed; nothing was written) or
    ``"replaced"`` (``replaced`` describes each file it took the place of)."""

    path: Path
    status: str
    replaced: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        """One sentence for the user."""
        where = printable(self.path)
        if self.status == "unchanged":
            return f"Already installed, identical: {where} (nothing was changed)."
        if self.status == "replaced":
            return f"Installed {where}, replacing {'; '.join(self.replaced)}."
        return f"Installed {where}."


def _describe(entry: BundleEntry) -> str:
    card = entry.card
    if card is None:
        return f"the unusable file {printable(entry.path)} ({printable(entry.error or '')})"
    return (
        f"{printable(entry.path)} (model {entry.display_name!r}, version "
        f"{printable(card.version)!r}, weights {card.weights_sha256[:12]}…)"
    )


def _difference(installed: ModelCard, new: ModelCard) -> str:
    if installed.name != new.name:
        return (
            f"it is the model {printable(installed.name)!r}, whose name gives the same file "
            f"name as {printable(new.name)!r}"
        )
    if installed.weights_sha256 != new.weights_sha256:
        return "its weights differ"
    return "its model card differs (same weights)"


def _verified(entry: BundleEntry) -> bool:
    """True when the installed file still loads and verifies (checksum, finite weights)."""
    from wristviewer.ai.bundle import BundleError, load_bundle

    try:
        load_bundle(entry.path)
    except BundleError:
        return False
    return True


def install_bundle(path: str | Path, *, force: bool = False) -> InstallResult:
    """Verify a bundle, then copy it atomically into the user models folder.

    The copy is named after the card (``<name>.safetensors``, sanitised). Installing an
    identical bundle (same card, same weights, still verifying) again changes nothing and
    says so. A *different* bundle — other weights, another card, or another model whose name
    sanitises to the same file name — is refused unless ``force``; when forced, the result
    names what was replaced. An unusable file in the way is replaced and named too.
    Raises :class:`~wristviewer.ai.bundle.BundleError` for an invalid bundle and
    :class:`RegistryError` for a clash, an unwritable folder or a full disk.
    """
    from wristviewer.ai.bundle import load_bundle

    source = Path(path)
    bundle = load_bundle(source)
    card = bundle.card
    del bundle
    folder = user_models_dir()
    target = folder / _file_name(card.name)
    if _same_file(source, target):
        return InstallResult(target, "unchanged")
    user = [e for e in find_bundles() if e.source == "user"]
    in_the_way = [
        e
        for e in user
        if e.path.name == target.name or (e.card is not None and e.card.name == card.name)
    ]
    identical = [
        e
        for e in in_the_way
        if e.card is not None and e.card.to_dict() == card.to_dict() and _verified(e)
    ]
    if identical and all(e in identical for e in in_the_way):
        return InstallResult(identical[0].path, "unchanged")
    different = [e for e in in_the_way if e.card is not None and e not in identical]
    if different and not force:
        clash = different[0]
        assert clash.card is not None
        raise RegistryError(
            f"A different model is already installed as {printable(clash.path)} "
            f"({_difference(clash.card, card)}); use --force to replace it."
        )
    size = source.stat().st_size
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _write_error(folder, exc, size) from exc
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, length=4 * 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise _write_error(folder, exc, size) from exc
    replaced = [e for e in in_the_way if e not in identical or e.path != target]
    for entry in replaced:
        if entry.path != target:
            with contextlib.suppress(FileNotFoundError):
                entry.path.unlink()
    if not replaced:
        return InstallResult(target, "installed")
    return InstallResult(target, "replaced", [_describe(e) for e in replaced])


def remove_bundle(name: str) -> Path:
    """Delete the user-installed bundle called ``name`` (card name, or file name for an
    invalid file). Bundled models are read-only. Returns the removed path; raises
    :class:`RegistryError`."""
    entries = find_bundles()

    def matches(e: BundleEntry) -> bool:
        return (
            (e.card is not None and e.card.name == name)
            or e.path.name == name
            or e.path.stem == name
        )

    user = [e for e in entries if e.source == "user" and matches(e)]
    if not user:
        if any(e.source == "bundled" and matches(e) for e in entries):
            raise RegistryError(
                f"The model {name!r} is bundled with the application and is read-only; it cannot be removed."
            )
        raise RegistryError(f"No installed model is named {name!r} (see 'wristviewer models').")
    for entry in user:
        try:
            entry.path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise RegistryError(f"Cannot remove {entry.path}: {exc.strerror or exc}.") from exc
    return user[0].path
