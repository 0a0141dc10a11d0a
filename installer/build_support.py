"""What the PyInstaller spec packs, kept out of the spec so tests can check it directly.

``installer/wristviewer.spec`` calls :func:`collect_datas` (icons, the sample study, every
model bundle in ``resources/models``, each fully verified first), uses :data:`EXCLUDES`,
:data:`HIDDEN_IMPORTS` and, on macOS, :func:`info_plist`. A bundle that fails verification
stops the build with :class:`BuildError`, whose message is a sentence naming the file.

Runs with the project's interpreter (``.venv/bin/python``); verifying bundles imports torch.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESOURCES = REPO / "resources"
INSTALLER = REPO / "installer"
APP_NAME = "WristViewer"
#: the windowed executable (desktop entries, Finder, Start menu) and the console one (CLI)
GUI_EXE = "wristviewer-gui"
CLI_EXE = "wristviewer"
BUNDLE_ID = "org.wristviewer.WristViewer"

#: files under resources/ that are tools for developers, not application data
NOT_SHIPPED = {"make_icons.py", "make_sample.py"}

#: modules left out of the frozen app, and why (each one is never imported by the viewer):
#: triton (~0.9 GB) only serves torch.compile / Inductor GPU kernels, which inference here
#: does not use; the rest are development tools, optional plotting back-ends and the
#: training package (the viewer never imports it: see the import-linter contracts).
EXCLUDES: list[str] = [
    "triton",
    "training",
    "tkinter",
    "_tkinter",
    "matplotlib",
    "IPython",
    "jupyter_client",
    "notebook",
    "pytest",
    "_pytest",
    "pytestqt",
    "ruff",
    "importlinter",
    "grimp",
    "tensorboard",
    "torch.utils.tensorboard",
    "pyqtgraph.opengl",
    "pyqtgraph.examples",
    "PyInstaller",
]

#: modules imported by name at run time (CLI subcommands via importlib; pydicom's decoder
#: plug-ins are found through entry points, which PyInstaller does not follow)
HIDDEN_IMPORTS: list[str] = [
    "wristviewer.cli.gui",
    "wristviewer.cli.info",
    "wristviewer.cli.predict",
    "wristviewer.cli.models",
    "wristviewer.ui.single_instance",
    "PySide6.QtNetwork",
    "PySide6.QtSvg",
    "pylibjpeg",
    "libjpeg",
    "openjpeg",
    "rle",
    "pydicom.pixels.decoders.pylibjpeg",
]

#: native libraries loaded by file path rather than imported, so PyInstaller's analysis
#: misses them: torchvision's custom operators (``_C_stable``: nms, roi_align, and the
#: meta registrations ``import torchvision`` needs; ``image_stable``), loaded with
#: ``torch.ops.load_library`` from the torchvision folder.
PATH_LOADED_PACKAGES = ("torchvision",)
NATIVE_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")


class BuildError(Exception):
    """The build cannot go on; ``str(err)`` is a sentence for the person building."""


def _default_verify(path: Path) -> None:
    from wristviewer.ai.bundle import load_bundle

    load_bundle(path)


def verify_bundles(models_dir: Path, verify: Callable[[Path], Any] | None = None) -> list[Path]:
    """Every bundle in ``models_dir`` (sorted), each fully verified (format, model card,
    tensor names/shapes, weights SHA-256) with ``wristviewer.ai.bundle.load_bundle``.

    Raises :class:`BuildError` naming the first bad bundle and why. An absent folder or no
    bundle is fine: the app then ships without a model.
    """
    from wristviewer.ai.bundle import BundleError
    from wristviewer.ai.registry import BUNDLE_SUFFIX

    check = verify or _default_verify
    if not models_dir.is_dir():
        return []
    bundles = sorted(
        p
        for p in models_dir.glob(f"*{BUNDLE_SUFFIX}")
        if p.is_file() and not p.name.startswith(".")
    )
    for path in bundles:
        try:
            check(path)
        except BundleError as exc:
            raise BuildError(
                f"Build stopped: the model bundle {path} is not valid ({exc.reason}). "
                f"Replace it or remove it from {models_dir}, then build again."
            ) from exc
    return bundles


def _tree(source: Path, dest: str) -> list[tuple[str, str]]:
    """(file, destination folder) for every shipped file under ``source``."""
    datas: list[tuple[str, str]] = []
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name in NOT_SHIPPED or "__pycache__" in path.parts:
            continue
        if path.name.startswith("."):
            continue
        folder = path.parent.relative_to(source).as_posix()
        datas.append((str(path), dest if folder == "." else f"{dest}/{folder}"))
    return datas


def collect_datas(
    resources: Path | None = None, verify: Callable[[Path], Any] | None = None
) -> list[tuple[str, str]]:
    """PyInstaller ``datas``: (source file, folder inside the app) for the icons, the sample
    study and every verified model bundle; inside the app they sit under ``resources/``
    where :func:`wristviewer.paths.resources_dir` finds them (``sys._MEIPASS``).

    ``resources`` defaults to the checkout's ``resources/``. Raises :class:`BuildError` for
    a missing icon or sample folder, or a bad bundle.
    """
    resources = RESOURCES if resources is None else resources
    for needed in ("icons", "sample"):
        if not (resources / needed).is_dir():
            raise BuildError(f"Build stopped: {resources / needed} is missing.")
    datas = _tree(resources / "icons", "resources/icons")
    if not any(src.endswith(".png") for src, _ in datas):
        raise BuildError(
            f"Build stopped: no PNG icon in {resources / 'icons'} "
            "(render them with resources/icons/make_icons.py)."
        )
    datas += _tree(resources / "sample", "resources/sample")
    datas += [(str(p), "resources/models") for p in verify_bundles(resources / "models", verify)]
    return datas


def extension_binaries(packages: tuple[str, ...] = PATH_LOADED_PACKAGES) -> list[tuple[str, str]]:
    """PyInstaller ``binaries``: (library, folder inside the app) for the native libraries
    of :data:`PATH_LOADED_PACKAGES`, kept in the package's own folder where it looks."""
    import importlib.util

    binaries: list[tuple[str, str]] = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise BuildError(f"Build stopped: the package {package} is not installed.")
        root = Path(next(iter(spec.submodule_search_locations)))
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in NATIVE_SUFFIXES:
                folder = path.parent.relative_to(root.parent).as_posix()
                binaries.append((str(path), folder))
    return binaries


def desktop_files() -> list[tuple[Path, str]]:
    """Files copied beside the executables (not inside ``_internal``): the Linux desktop
    integration, so a user of the frozen folder can run ``linux/install.sh``."""
    linux = INSTALLER / "linux"
    names = ("install.sh", "uninstall.sh", "wristviewer.desktop", "wristviewer-mime.xml")
    return [(linux / name, f"linux/{name}") for name in names]


def icon_file(system: str | None = None) -> str | None:
    """The executable's icon for ``system`` (``platform.system()`` by default)."""
    system = system or platform.system()
    name = {"Windows": "wristviewer.ico", "Darwin": "wristviewer.icns"}.get(system)
    return str(RESOURCES / "icons" / name) if name else None


def info_plist(version: str) -> dict[str, Any]:
    """The macOS ``Info.plist`` additions: DICOM, PNG and JPEG document types, and the
    imported DICOM type (``org.nema.dicom``), so Finder offers WristViewer for them and
    sends the files as ``QFileOpenEvent``."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "NSHighResolutionCapable": True,
        "LSMinimumSystemVersion": "11.0",
        "NSHumanReadableCopyright": "WristViewer engineers",
        "CFBundleDocumentTypes": [
            {
                "CFBundleTypeName": "DICOM image",
                "CFBundleTypeRole": "Viewer",
                "LSHandlerRank": "Owner",
                "LSItemContentTypes": ["org.nema.dicom"],
                "CFBundleTypeIconFile": "wristviewer.icns",
            },
            {
                "CFBundleTypeName": "PNG image",
                "CFBundleTypeRole": "Viewer",
                "LSHandlerRank": "Alternate",
                "LSItemContentTypes": ["public.png"],
            },
            {
                "CFBundleTypeName": "JPEG image",
                "CFBundleTypeRole": "Viewer",
                "LSHandlerRank": "Alternate",
                "LSItemContentTypes": ["public.jpeg"],
            },
        ],
        "UTImportedTypeDeclarations": [
            {
                "UTTypeIdentifier": "org.nema.dicom",
                "UTTypeDescription": "DICOM image",
                "UTTypeConformsTo": ["public.data", "public.image"],
                "UTTypeTagSpecification": {
                    "public.filename-extension": ["dcm", "dicom"],
                    "public.mime-type": ["application/dicom"],
                },
            }
        ],
    }


def version() -> str:
    """The package version, read without importing heavy modules."""
    namespace: dict[str, Any] = {}
    init = (REPO / "wristviewer" / "__init__.py").read_text(encoding="utf-8")
    for line in init.splitlines():
        if line.startswith("__version__"):
            exec(line, namespace)  # noqa: S102 - one assignment from our own file
    return str(namespace.get("__version__", "0.0.0"))
