"""The window's menus as one table of actions: id, text, shortcuts, handler.

A handler is the name of a method reached from the window (``"views.fit_all"`` is
``window.views.fit_all``), called with ``args`` (and, for checkable actions, the new checked
state first). :func:`build_menus` makes the QActions, puts them in the menu bar and on the
window (shortcuts work anywhere in it) and returns them by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from wristviewer.viewer import WINDOW_PRESETS
from wristviewer.workflow.blind_read import Read

Key = str | QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    """One menu entry. ``handler`` is an attribute path from the window."""

    id: str
    text: str
    handler: str
    shortcuts: Sequence[Key] = ()
    args: tuple[Any, ...] = ()
    checkable: bool = False
    tip: str = ""


SEPARATOR = None
#: a submenu filled at run time (File ▸ Recent studies); the window keeps it by this id
RECENT = "recent"

MenuEntry = ActionSpec | str | None

#: The answer keys, meaning the same in the window (tick your read; Ctrl+Enter submits it) and
#: in the teaching quiz (answer the case). Shifted, because plain F and N are Fit and Next.
READ_KEYS: dict[Read, str] = {
    Read.FRACTURE: "Shift+F",
    Read.NO_FRACTURE: "Shift+N",
    Read.UNSURE: "Shift+U",
}
SUBMIT_KEYS = ("Ctrl+Return", "Ctrl+Enter")

#: The teaching quiz's keys (text, shortcuts): the answers, and next / previous / fit as in
#: the window. Listed in Help ▸ Shortcuts.
QUIZ_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    **{str(read): (f"Quiz: answer {read.label}", (key,)) for read, key in READ_KEYS.items()},
    "next": ("Quiz: next case", ("N", "PgDown", "Right")),
    "previous": ("Quiz: previous case", ("P", "PgUp", "Left")),
    "fit": ("Quiz: fit to window", ("F",)),
    "presenter": ("Quiz: presenter mode", ("F11",)),
}

_READS = [
    ActionSpec(
        f"read_{read}",
        f"My read: {read.label}",
        "read_panel.choose",
        [key],
        args=(read,),
        tip="Tick this answer; it is recorded when you submit your read",
    )
    for read, key in READ_KEYS.items()
]

_PRESETS = [
    ActionSpec(f"preset_{i}", f"Window: {name}", "apply_preset", [str(i)], args=(name,))
    for i, name in enumerate(WINDOW_PRESETS, start=1)
]

MENUS: list[tuple[str, list[MenuEntry]]] = [
    (
        "&File",
        [
            ActionSpec(
                "open_files",
                "&Open files…",
                "dialogs.open_files_dialog",
                ["O", QKeySequence.StandardKey.Open],
            ),
            ActionSpec(
                "open_folder",
                "Open &folder…",
                "dialogs.open_folder_dialog",
                ["Shift+O", "Ctrl+Shift+O"],
            ),
            ActionSpec(
                "open_folder_one_study",
                "Open Folder as One Study…",
                "dialogs.open_folder_as_one_study_dialog",
                tip="The folder's PNG/JPEG images as one study (not checked to be one patient)",
            ),
            RECENT,
            SEPARATOR,
            ActionSpec("next_study", "Next study", "state.step_study", ["PgDown", "N"], args=(1,)),
            ActionSpec(
                "previous_study", "Previous study", "state.step_study", ["PgUp", "P"], args=(-1,)
            ),
            ActionSpec(
                "treat_as_one_study",
                "Treat Open Images as One Study",
                "grouping.treat_as_one_study",
                tip="Join the open PNG/JPEG images into one study (not checked to be one patient)",
            ),
            ActionSpec("split_study", "Split into Single Images", "grouping.split_current"),
            SEPARATOR,
            ActionSpec("dicom_tags", "DICOM tags…", "dialogs.show_dicom_tags", ["T"]),
            ActionSpec("skipped", "Files not opened…", "dialogs.show_skipped"),
            SEPARATOR,
            ActionSpec("export_report", "Export report…", "dialogs.export_report", ["Ctrl+E"]),
            ActionSpec(
                "export_anonymised", "Export anonymised study…", "dialogs.export_anonymised"
            ),
            ActionSpec("audit_log", "Audit log…", "dialogs.show_audit_log"),
            SEPARATOR,
            ActionSpec("quit", "&Quit", "close", ["Ctrl+Q"]),
        ],
    ),
    (
        "&View",
        [
            ActionSpec("fit", "Fit to window", "views.fit_all", ["F"]),
            ActionSpec("invert", "Invert", "views.invert_active", ["I"]),
            ActionSpec(
                "rotate_cw", "Rotate 90° clockwise", "views.rotate_active", ["R"], args=(1,)
            ),
            ActionSpec(
                "rotate_ccw",
                "Rotate 90° anticlockwise",
                "views.rotate_active",
                ["Shift+R"],
                args=(-1,),
            ),
            ActionSpec("flip_h", "Flip horizontally", "views.flip_active", ["X"], args=(True,)),
            ActionSpec("flip_v", "Flip vertically", "views.flip_active", ["Y"], args=(False,)),
            ActionSpec("reset_view", "Reset view", "views.reset_active", ["Backspace"]),
            ActionSpec("wl_mode", "Window/level mouse mode", "set_wl_mode", ["W"], checkable=True),
            SEPARATOR,
            *_PRESETS,
            SEPARATOR,
            ActionSpec("next_view", "Next view", "views.step_active", ["V"], args=(1,)),
            ActionSpec("clahe", "CLAHE on/off", "state.toggle_clahe", ["C"]),
            ActionSpec("heatmap", "Heatmap overlay on/off", "toggle_heatmap", ["H"]),
            SEPARATOR,
            ActionSpec(
                "patient_banner",
                "Show Patient Banner",
                "patient_banner.set_shown",
                checkable=True,
                tip="The patient's name, ID and the study over the views",
            ),
        ],
    ),
    (
        "&Read",
        [
            *_READS,
            ActionSpec("submit_read", "Submit my read", "read_panel.submit", list(SUBMIT_KEYS)),
        ],
    ),
    (
        "&Measure",
        [
            ActionSpec(
                "ruler",
                "Ruler",
                "measure.set_ruler",
                ["M"],
                checkable=True,
                tip="Click the two ends of a length (mm from the image's pixel spacing)",
            ),
            ActionSpec(
                "angle",
                "Angle",
                "measure.set_angle",
                ["Shift+M"],
                checkable=True,
                tip="Click two points on each of two lines (radial inclination, volar tilt)",
            ),
            SEPARATOR,
            ActionSpec(
                "delete_measurement",
                "Delete selected measurement",
                "measure.delete_selected",
                ["Del"],
            ),
            ActionSpec("clear_measurements", "Clear Measurements", "measure.clear", ["Shift+Del"]),
        ],
    ),
    (
        "&AI",
        [
            ActionSpec("run_ai", "Run AI on this study", "run_analysis", ["Ctrl+R", "A"]),
            ActionSpec("cancel", "Cancel reading / AI run", "cancel_work", ["Esc"]),
            SEPARATOR,
            ActionSpec(
                "reveal_after_read",
                "Reveal the AI only after my read",
                "second_opinion.set_after_read",
                checkable=True,
                tip="Hide the AI result until you have submitted your own read",
            ),
        ],
    ),
    (
        "&Teaching",
        [
            ActionSpec("open_case_set", "Open case set…", "dialogs.open_case_set_dialog"),
            ActionSpec(
                "sample_case_set", "Open the sample case set", "dialogs.open_sample_case_set"
            ),
        ],
    ),
    (
        "&Models",
        [
            ActionSpec("install", "Install…", "dialogs.install_dialog", ["Ctrl+I"]),
            ActionSpec("refresh_models", "Look for models again", "refresh_models"),
        ],
    ),
    (
        "&Help",
        [
            ActionSpec("shortcuts", "Shortcuts…", "dialogs.show_shortcuts", ["?", "F1"]),
            ActionSpec("about", "About WristViewer…", "dialogs.show_about"),
        ],
    ),
]


def _call(window: QMainWindow, spec: ActionSpec, checked: bool = False) -> None:
    handler = attrgetter(spec.handler)(window)
    if spec.checkable:
        handler(checked, *spec.args)
    else:
        handler(*spec.args)


def make_action(window: QMainWindow, spec: ActionSpec) -> QAction:
    """The QAction of ``spec``, added to ``window`` so its shortcuts work anywhere in it."""
    action = QAction(spec.text, window)
    keys = [k for k in (QKeySequence(s) for s in spec.shortcuts) if not k.isEmpty()]
    if keys:
        action.setShortcuts(keys)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.setCheckable(spec.checkable)
    if spec.tip:
        action.setStatusTip(spec.tip)
    action.triggered.connect(lambda checked=False: _call(window, spec, checked))
    window.addAction(action)
    return action


def build_menus(
    window: QMainWindow, menus: list[tuple[str, list[MenuEntry]]] = MENUS
) -> tuple[dict[str, QAction], dict[str, QMenu]]:
    """Fill ``window``'s menu bar from ``menus``; returns (actions by id, submenus by id)."""
    actions: dict[str, QAction] = {}
    submenus: dict[str, QMenu] = {}
    bar = window.menuBar()
    for title, entries in menus:
        menu = bar.addMenu(title)
        for entry in entries:
            if entry is SEPARATOR:
                menu.addSeparator()
            elif isinstance(entry, str):
                submenus[entry] = menu.addMenu("Recent studies" if entry == RECENT else entry)
            else:
                action = make_action(window, entry)
                menu.addAction(action)
                actions[entry.id] = action
    return actions, submenus
