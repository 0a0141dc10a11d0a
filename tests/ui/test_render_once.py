"""One change of the analysis, the read or the reveal mode draws each view of it once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.ui.helpers import fake_analysis, wait_idle, window_on
from wristviewer.workflow.blind_read import Read


@pytest.fixture
def counted(qtbot, monkeypatch, dicom_study: Path):  # noqa: ANN001, ANN201
    """A window on a three-view study, with every draw of the AI result counted."""
    yield from _counting_window(qtbot, monkeypatch, dicom_study)


def _counting_window(qtbot, monkeypatch, folder: Path):  # noqa: ANN001, ANN202
    """A window on what ``folder`` holds, auto-run off, every draw of the AI result counted."""
    from wristviewer.ui.read_panel import ReadPanel
    from wristviewer.ui.results_panel import ResultsPanel
    from wristviewer.ui.view_panel import ViewPanel

    draws: Counter[str] = Counter()

    def counting(cls: type, name: str, key) -> None:  # noqa: ANN001
        original = getattr(cls, name)

        def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN202
            draws[key(self)] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, wrapper)

    counting(ResultsPanel, "show_analysis", lambda _self: "results panel")
    counting(ReadPanel, "refresh", lambda _self: "read panel")
    counting(ViewPanel, "set_prediction", lambda self: f"view {self.radiograph.path.name}")
    win = window_on(qtbot, folder)
    draws.clear()
    yield win, draws
    win.close()


def _each_once(win) -> dict[str, int]:  # noqa: ANN001
    names = [f"view {p.radiograph.path.name}" for p in win.panels]
    return dict.fromkeys(["results panel", "read panel", *names], 1)


def test_an_analysis_draws_each_widget_once(counted) -> None:  # noqa: ANN001
    win, draws = counted
    study = win.state.current_study
    win.state.set_analysis(study.id, fake_analysis(study))
    assert dict(draws) == _each_once(win)
    assert all(not p.badge_label.isHidden() for p in win.panels)
    assert win.results_panel.verdict_label.text() == "Fracture suspected"


def test_after_read_the_read_reveals_with_one_draw_each(counted) -> None:  # noqa: ANN001
    win, draws = counted
    win.reveal_action.trigger()
    assert dict(draws) == _each_once(win)  # the mode changed: hidden state redrawn once
    draws.clear()
    study = win.state.current_study
    win.state.set_analysis(study.id, fake_analysis(study))
    assert dict(draws) == _each_once(win)
    assert all(p.badge_label.isHidden() for p in win.panels)  # the gate holds it back
    draws.clear()
    win.second_opinion.submit_read(Read.NO_FRACTURE)
    assert dict(draws) == _each_once(win)
    assert all(not p.badge_label.isHidden() for p in win.panels)
    assert win.read_panel.agreement_label.text().startswith("You and the AI DISAGREE")


def test_switching_studies_draws_each_widget_once(qtbot, monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    from tests.ui.helpers import wrist_like, write_dicom

    for i, uid in enumerate(("1.2.3.1", "1.2.3.2")):
        write_dicom(tmp_path / f"s{i}.dcm", wrist_like(120, 100, seed=i), study_uid=uid)
    gen = _counting_window(qtbot, monkeypatch, tmp_path)
    win, draws = next(gen)
    try:
        assert len(win.state.studies) == 2
        for study in win.state.studies:
            win.state.set_analysis(study.id, fake_analysis(study))
        draws.clear()
        win.state.step_study(1)
        wait_idle(qtbot, win)
        assert dict(draws) == _each_once(win)
        assert all(not p.badge_label.isHidden() for p in win.panels)
    finally:
        gen.close()
