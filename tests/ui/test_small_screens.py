"""The window on small screens: it opens inside the screen and fits 1024 px with a result."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.helpers import fake_analysis, window_on

#: the widest a window may need to be: a 1024×768 screen, and 1280×720 with room to spare
MAX_MINIMUM_WIDTH = 1024


@pytest.mark.parametrize(
    ("screen", "expected"),
    [((1280, 720), (1152, 648)), ((1366, 768), (1229, 691)), ((2560, 1440), (1600, 1000))],
)
def test_a_fresh_window_takes_at_most_nine_tenths_of_the_screen(screen, expected) -> None:  # noqa: ANN001
    from PySide6.QtCore import QSize

    from wristviewer.ui.main_window import initial_size

    size = initial_size(QSize(*screen))
    assert (size.width(), size.height()) == expected


def test_a_fresh_window_opens_inside_a_small_screen(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QRect

    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.settings import ViewerSettings

    win = MainWindow(ViewerSettings())
    qtbot.addWidget(win)
    area = QRect(100, 40, 1280, 690)  # a 1280×720 screen less a 30 px task bar, offset
    win.fit_to_screen(area)
    assert (win.width(), win.height()) == (1152, 621)
    assert area.contains(win.geometry())


def test_saved_geometry_larger_than_the_screen_is_fitted(qtbot) -> None:  # noqa: ANN001
    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.settings import ViewerSettings

    big = MainWindow(ViewerSettings())
    qtbot.addWidget(big)
    area = big.available_geometry()
    big.resize(area.width() + 400, area.height() + 300)
    geometry = bytes(big.saveGeometry().toBase64().data()).decode("ascii")
    win = MainWindow(ViewerSettings(geometry=geometry))
    qtbot.addWidget(win)
    assert win.width() <= area.width() and win.height() <= area.height()


@pytest.mark.parametrize("reveal", ["immediate", "after_read"])
def test_minimum_width_with_an_ai_result_fits_1024(
    qtbot, fracatlas_study: Path, untrained_bundle_file: Path, reveal: str
) -> None:  # noqa: ANN001
    """Three JPEG views (long image facts in the status bar), an untrained model's card, its
    red banner, the badges, and the read panel once the read is in."""
    from wristviewer.ai.bundle import inspect_bundle
    from wristviewer.workflow.blind_read import Read

    win = window_on(qtbot, fracatlas_study, one_study=True)
    if reveal == "after_read":
        win.reveal_action.trigger()
    study = win.state.current_study
    assert study is not None and len(win.panels) == 3
    card = inspect_bundle(untrained_bundle_file)
    win.state.set_analysis(study.id, fake_analysis(study, [card]))
    win.second_opinion.submit_read(Read.FRACTURE, "distal radius, dorsal cortex " * 4)
    win.second_opinion.decide(Read.UNSURE)
    win.state.status.show("A very long status sentence that says a great deal " * 6)
    qtbot.wait(50)
    assert win.results_panel.untrained_banner.isVisibleTo(win)
    assert all(p.badge_label.isVisibleTo(win) for p in win.panels)
    assert win.read_panel.decision_buttons[Read.UNSURE].isVisibleTo(win)
    hint = win.minimumSizeHint()
    assert hint.width() <= MAX_MINIMUM_WIDTH, hint.width()
    assert hint.height() <= 648, hint.height()


def test_at_its_minimum_width_nothing_in_the_side_panel_is_cut(qtbot, dicom_study: Path) -> None:  # noqa: ANN001
    from wristviewer.workflow.blind_read import Read

    win = window_on(qtbot, dicom_study)
    study = win.state.current_study
    win.state.set_analysis(study.id, fake_analysis(study))
    win.second_opinion.submit_read(Read.NO_FRACTURE)
    win.resize(win.minimumSizeHint().width(), 640)
    qtbot.wait(50)
    side = win.splitter.widget(1)
    inner = side.widget()
    assert inner.width() <= side.viewport().width()
    for button in win.read_panel.decision_buttons.values():
        right = button.mapTo(side.viewport(), button.rect().topRight()).x()
        assert right < side.viewport().width(), button.text()
