"""Every menu entry and shortcut of the window, pinned: a refactor of the menus loses none."""

from __future__ import annotations

import pytest

# (text, shortcuts, checkable); None is a separator; a str alone is a submenu
MENUS: list[tuple[str, list]] = [
    (
        "&File",
        [
            ("&Open files…", ["O", "Ctrl+O"], False),
            ("Open &folder…", ["Shift+O", "Ctrl+Shift+O"], False),
            ("Open Folder as One Study…", [], False),
            "Recent studies",
            None,
            ("Next study", ["PgDown", "N"], False),
            ("Previous study", ["PgUp", "P"], False),
            ("Treat Open Images as One Study", [], False),
            ("Split into Single Images", [], False),
            None,
            ("DICOM tags…", ["T"], False),
            ("Files not opened…", [], False),
            None,
            ("Export report…", ["Ctrl+E"], False),
            ("Export anonymised study…", [], False),
            ("Audit log…", [], False),
            None,
            ("&Quit", ["Ctrl+Q"], False),
        ],
    ),
    (
        "&View",
        [
            ("Fit to window", ["F"], False),
            ("Invert", ["I"], False),
            ("Rotate 90° clockwise", ["R"], False),
            ("Rotate 90° anticlockwise", ["Shift+R"], False),
            ("Flip horizontally", ["X"], False),
            ("Flip vertically", ["Y"], False),
            ("Reset view", ["Backspace"], False),
            ("Window/level mouse mode", ["W"], True),
            None,
            ("Window: Full range", ["1"], False),
            ("Window: Bone", ["2"], False),
            ("Window: Soft tissue", ["3"], False),
            ("Window: DICOM default", ["4"], False),
            None,
            ("Next view", ["V"], False),
            ("CLAHE on/off", ["C"], False),
            ("Heatmap overlay on/off", ["H"], False),
            None,
            ("Show Patient Banner", [], True),
        ],
    ),
    (  # new in issue 15: the read by keyboard, with the quiz's answer keys
        "&Read",
        [
            ("My read: Fracture", ["Shift+F"], False),
            ("My read: No fracture", ["Shift+N"], False),
            ("My read: Unsure", ["Shift+U"], False),
            ("Submit my read", ["Ctrl+Return", "Ctrl+Enter"], False),
        ],
    ),
    (
        "&Measure",
        [
            ("Ruler", ["M"], True),
            ("Angle", ["Shift+M"], True),
            None,
            ("Delete selected measurement", ["Del"], False),
            ("Clear Measurements", ["Shift+Del"], False),
        ],
    ),
    (
        "&AI",
        [
            ("Run AI on this study", ["Ctrl+R", "A"], False),
            ("Cancel reading / AI run", ["Esc"], False),
            None,
            ("Reveal the AI only after my read", [], True),
        ],
    ),
    ("&Teaching", [("Open case set…", [], False), ("Open the sample case set", [], False)]),
    ("&Models", [("Install…", ["Ctrl+I"], False), ("Look for models again", [], False)]),
    ("&Help", [("Shortcuts…", ["?", "F1"], False), ("About WristViewer…", [], False)]),
]


def _entries(menu) -> list:  # noqa: ANN001
    out: list = []
    for action in menu.actions():
        if action.isSeparator():
            out.append(None)
        elif action.menu() is not None:
            out.append(action.text())
        else:
            keys = [k.toString() for k in action.shortcuts()]
            out.append((action.text(), keys, action.isCheckable()))
    return out


def test_every_menu_entry_and_shortcut_is_there(window) -> None:  # noqa: ANN001
    menus = [(a.text(), _entries(a.menu())) for a in window.menuBar().actions()]
    assert menus == MENUS


def test_shortcuts_work_anywhere_in_the_window_and_none_is_shared(window) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    on_window = window.actions()
    keyed = [a for a in on_window if a.shortcuts()]
    assert len(keyed) == sum(
        1 for _, entries in MENUS for e in entries if isinstance(e, tuple) and e[1]
    )
    assert all(a.shortcutContext() == Qt.ShortcutContext.WindowShortcut for a in keyed)
    keys = [k.toString() for a in keyed for k in a.shortcuts()]
    assert len(keys) == len(set(keys)), "a key is bound twice"
    assert set(window.actions_with_shortcuts) == set(keyed)


def test_the_reveal_entry_explains_itself_and_follows_the_setting(qtbot) -> None:  # noqa: ANN001
    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.settings import ViewerSettings

    win = MainWindow(ViewerSettings(reveal_ai="after_read"))
    qtbot.addWidget(win)
    assert win.reveal_action.isChecked()
    assert win.reveal_action.statusTip() == (
        "Hide the AI result until you have submitted your own read"
    )
    win.reveal_action.trigger()
    assert win.settings.reveal_ai == "immediate"


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("CLAHE on/off", lambda w: not w.state.clahe.enabled),
        ("Heatmap overlay on/off", lambda w: not w.state.heatmap_visible),
        ("Window/level mouse mode", lambda w: "window/level" in w.status_label.text()),
    ],
)
def test_entries_reach_their_handlers(window, text: str, check) -> None:  # noqa: ANN001
    action = next(a for a in window.actions() if a.text() == text)
    action.trigger()
    assert check(window)


def test_every_handler_in_the_table_is_a_callable_of_the_window(window) -> None:  # noqa: ANN001
    from operator import attrgetter

    from wristviewer.ui.actions import MENUS, ActionSpec

    specs = [e for _, entries in MENUS for e in entries if isinstance(e, ActionSpec)]
    assert len({s.id for s in specs}) == len(specs) == len(window.actions_by_id)
    for spec in specs:
        assert callable(attrgetter(spec.handler)(window)), spec.handler
