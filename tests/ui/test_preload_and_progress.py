"""Issue 12: the chosen model loads in the background at launch (torch off the GUI thread, the
first run does not load again), each AI run shows its stages with an honest busy bar, and
Cancel gives the panel back at once at every stage. No timings are asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ui.helpers import wait_idle
from tests.ui.test_ai_panel import _study
from wristviewer.ui.jobs import STAGE_LOADING, STAGES
from wristviewer.ui.workers import Worker

REPO = Path(__file__).resolve().parents[2]
WITHOUT_LOADING = [s for s in STAGES if s != STAGE_LOADING]


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[threading.Thread]]:
    """The AI layer's model loader, counted: the thread of every network load, in order.
    The model cache starts empty."""
    from wristviewer.ai import predictor

    predictor.clear_model_cache()
    threads: list[threading.Thread] = []
    real = predictor._load

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(predictor, "_load", counted)
    yield threads
    predictor.clear_model_cache()


@pytest.fixture
def make_window(qtbot) -> Iterator[Callable[..., object]]:  # noqa: ANN001
    """A MainWindow built when the test says so (after its patches), with default settings
    but for ``auto_run``."""
    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.settings import ViewerSettings

    made: list[MainWindow] = []

    def make(*, auto_run: bool = True) -> MainWindow:
        win = MainWindow(ViewerSettings(auto_run=auto_run))
        win.quiet_errors = True
        qtbot.addWidget(win)
        win.show()
        made.append(win)
        return win

    yield make
    for win in made:
        win.workers.cancel_all()
        win.workers.wait_all(60)


@pytest.fixture
def hold_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], threading.Event]]:
    """``hold_at(stage)``: AI jobs stop once they have reported ``stage`` and sit in it until
    the returned event is set (as a slow load or forward pass would)."""
    real = Worker.report_progress
    gates: list[threading.Event] = []

    def hold(stage: str) -> threading.Event:
        gate = threading.Event()
        gates.append(gate)

        def held(self: Worker, value: float | str) -> None:
            real(self, value)
            if value == stage:
                gate.wait(60)

        monkeypatch.setattr(Worker, "report_progress", held)
        return gate

    yield hold
    for gate in gates:  # a failed test leaves no job waiting
        gate.set()


def test_the_model_is_preloaded_off_the_gui_thread_and_the_first_run_does_not_load_it(
    qtbot, installed_bundle, loads, make_window
) -> None:  # noqa: ANN001
    from wristviewer.ai.predictor import MODEL_CACHE

    win = make_window()
    panel = win.results_panel
    with qtbot.waitSignal(win.analysis.preload_finished, timeout=120_000) as blocker:
        pass
    assert blocker.args == [True]
    assert len(loads) == 1 and loads[0] is not threading.main_thread()
    assert MODEL_CACHE.ready("densenet161", "auto")
    assert "CPU" in panel.device_label.text()  # the "in use" line, before any run
    with qtbot.waitSignal(win.analysis_finished, timeout=120_000) as done:
        win.state.set_studies([_study()], [])  # auto-run
    assert done.args == [True]
    assert len(loads) == 1, "the run loaded the model again"
    assert win.analysis.stages == WITHOUT_LOADING
    assert win.state.current_analysis() is not None
    wait_idle(qtbot, win)


def test_a_run_asked_for_during_the_preload_waits_for_it_and_loads_nothing_more(
    qtbot, installed_bundle, loads, make_window, monkeypatch
) -> None:  # noqa: ANN001
    from wristviewer.ai import predictor

    gate = threading.Event()
    counted = predictor._load

    def held(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        gate.wait(60)
        return counted(*args, **kwargs)

    monkeypatch.setattr(predictor, "_load", held)
    win = make_window()
    qtbot.waitUntil(lambda: win.analysis.preloading, timeout=60_000)
    win.state.set_studies([_study()], [])  # auto-run: asked for while the model loads
    panel = win.results_panel
    assert win.analysis.running and win.analysis.stages == [STAGE_LOADING]
    assert "Loading DenseNet-161…" in panel.status_label.text()
    assert panel.progress_bar.maximum() == 0 and panel.cancel_button.isEnabled()
    with qtbot.waitSignal(win.analysis_finished, timeout=120_000) as done:
        gate.set()
    assert done.args == [True]
    assert len(loads) == 1
    assert win.analysis.stages == list(STAGES)
    wait_idle(qtbot, win)


def test_each_stage_shows_in_order_with_the_elapsed_time_and_an_indeterminate_bar(
    qtbot, installed_bundle, loads, make_window
) -> None:  # noqa: ANN001
    win = make_window(auto_run=False)  # AI on request only: nothing is preloaded
    qtbot.waitUntil(lambda: win.model_specs == ["densenet161"], timeout=60_000)
    assert not win.analysis.preloading and loads == []
    panel = win.results_panel
    shown: list[tuple[str, int, bool]] = []
    panel.status_label.setText = (  # type: ignore[method-assign]
        lambda text, real=panel.status_label.setText: (
            shown.append((text, panel.progress_bar.maximum(), panel.progress_bar.isVisible())),
            real(text),
        )
    )
    win.state.set_studies([_study(3)], [])
    with qtbot.waitSignal(win.analysis_finished, timeout=120_000) as done:
        assert win.run_analysis()
    assert done.args == [True]
    assert win.analysis.stages == list(STAGES)
    during = [(text, maximum) for text, maximum, visible in shown if visible and text]
    firsts = [next(t for t, _ in during if t.startswith(p)) for p in ("Loading", "Preparing")]
    running = [t for t, _ in during if t.startswith("Running DenseNet-161 on 3 views…")]
    heatmaps = [t for t, _ in during if t.startswith("Heatmaps of 3 views…")]
    assert firsts and running and heatmaps
    order = [t for t, _ in during]
    assert order.index(firsts[0]) < order.index(firsts[1]) < order.index(running[0])
    assert order.index(running[0]) < order.index(heatmaps[0])
    assert all(t.endswith(" s") and t.rsplit(" ", 2)[-2].replace(".", "").isdigit() for t in order)
    assert all(maximum == 0 for _, maximum in during), "a run's bar has no fraction"
    # done: the bar is reset and hidden, the line says so, Cancel is off
    assert panel.progress_bar.isHidden() and panel.progress_bar.maximum() == 100
    assert panel.progress_bar.value() == 0
    assert panel.status_label.text().startswith("Analysed in ")
    assert not panel.cancel_button.isEnabled() and panel.run_button.isEnabled()
    wait_idle(qtbot, win)
    assert win.busy_bar.maximum() == 0  # the status bar's bar waits without a fraction


@pytest.mark.parametrize("stage", STAGES)
def test_cancel_at_each_stage_returns_to_idle_at_once_and_drops_the_late_result(
    qtbot, installed_bundle, loads, make_window, hold_at, stage
) -> None:  # noqa: ANN001
    gate = hold_at(stage)
    win = make_window(auto_run=False)
    qtbot.waitUntil(lambda: win.model_specs == ["densenet161"], timeout=60_000)
    win.state.set_studies([_study(3)], [])
    finished: list[bool] = []
    win.analysis_finished.connect(finished.append)
    assert win.run_analysis()
    qtbot.waitUntil(lambda: win.analysis.stages[-1:] == [stage], timeout=120_000)
    panel = win.results_panel
    win.cancel_analysis()
    # idle at once, before the worker has moved
    assert finished == [False] and not win.analysis.running
    assert not panel.cancel_button.isEnabled() and panel.run_button.isEnabled()
    assert panel.progress_bar.isHidden() and "cancelled" in panel.status_label.text().lower()
    gate.set()
    wait_idle(qtbot, win)
    assert finished == [False], "the cancelled run reported again"
    assert win.state.current_analysis() is None
    assert all(p.badge_label.isHidden() for p in win.panels)
    assert "cancelled" in panel.status_label.text().lower()


def test_a_result_delivered_after_cancel_is_dropped(
    qtbot, installed_bundle, loads, make_window
) -> None:  # noqa: ANN001
    win = make_window(auto_run=False)
    qtbot.waitUntil(lambda: win.model_specs == ["densenet161"], timeout=60_000)
    win.state.set_studies([_study(2)], [])
    finished: list[bool] = []
    win.analysis_finished.connect(finished.append)
    assert win.run_analysis()
    # the worker finishes while the GUI thread is held: its result waits in the event queue
    assert win.workers.wait_all(120)
    win.cancel_analysis()
    assert finished == [False]
    wait_idle(qtbot, win)  # the queued result is delivered now, and must be dropped
    assert finished == [False]
    assert win.state.current_analysis() is None
    assert all(p.badge_label.isHidden() for p in win.panels)


def test_a_cancelled_load_is_not_repeated_by_the_next_run(
    qtbot, installed_bundle, loads, make_window, hold_at
) -> None:  # noqa: ANN001
    gate = hold_at(STAGE_LOADING)
    win = make_window(auto_run=False)
    qtbot.waitUntil(lambda: win.model_specs == ["densenet161"], timeout=60_000)
    win.state.set_studies([_study(2)], [])
    assert win.run_analysis()
    qtbot.waitUntil(lambda: win.analysis.stages == [STAGE_LOADING], timeout=60_000)
    win.cancel_analysis()
    assert win.run_analysis()  # at once: it waits for the cancelled run's load
    assert win.analysis.stages == [STAGE_LOADING]
    with qtbot.waitSignal(win.analysis_finished, timeout=120_000) as done:
        gate.set()
    assert done.args == [True]
    assert len(loads) == 1
    assert win.analysis.stages == [STAGE_LOADING, *WITHOUT_LOADING]
    wait_idle(qtbot, win)


def test_a_preload_failure_is_a_sentence_and_blocks_nothing(
    qtbot, installed_bundle, loads, make_window, monkeypatch
) -> None:  # noqa: ANN001
    from wristviewer.ai import predictor

    counted = predictor._load

    def out_of_memory(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise MemoryError()

    monkeypatch.setattr(predictor, "_load", out_of_memory)
    win = make_window()
    with qtbot.waitSignal(win.analysis.preload_finished, timeout=120_000) as blocker:
        pass
    assert blocker.args == [False]
    message = win.state.status.message
    assert "could not be loaded in advance" in message and "not enough free memory" in message
    assert "Studies open as usual" in message
    assert win.last_error is None  # no message box: a sentence in the status line
    monkeypatch.setattr(predictor, "_load", counted)  # the memory is back
    with qtbot.waitSignal(win.analysis_finished, timeout=120_000) as done:
        win.state.set_studies([_study(2)], [])
    assert len(win.panels) == 2
    assert done.args == [True] and win.analysis.stages[0] == STAGE_LOADING
    wait_idle(qtbot, win)


def test_changing_the_device_preloads_again(qtbot, installed_bundle, loads, make_window) -> None:  # noqa: ANN001
    from wristviewer.ai.predictor import MODEL_CACHE

    win = make_window()
    with qtbot.waitSignal(win.analysis.preload_finished, timeout=120_000):
        pass
    combo = win.results_panel.device_combo
    with qtbot.waitSignal(win.analysis.preload_finished, timeout=120_000) as blocker:
        combo.setCurrentIndex(combo.findData("cpu"))
    assert blocker.args == [True]
    assert win.settings.device == "cpu" and MODEL_CACHE.ready("densenet161", "cpu")
    wait_idle(qtbot, win)


def test_nothing_is_preloaded_without_a_bundle_or_with_the_ai_off(
    qtbot, make_window, untrained_bundle_file
) -> None:  # noqa: ANN001
    win = make_window()
    assert win.model_specs == [] and not win.analysis.preloading and not win.analysis.busy
    off = make_window(auto_run=False)
    with qtbot.waitSignal(off.models_found, timeout=60_000):
        off.handle_dropped([str(untrained_bundle_file)])
    assert off.model_specs == ["densenet161"] and not off.analysis.preloading
    wait_idle(qtbot, off)


_LAUNCH = textwrap.dedent(
    """
    import json, sys, threading, time
    torch_imports = []
    def hook(event, args):
        if event == "import" and args[0] == "torch":
            torch_imports.append(threading.current_thread() is threading.main_thread())
    sys.addaudithook(hook)
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.settings import ViewerSettings
    window = MainWindow(ViewerSettings())
    window.show()
    outcome = []
    window.analysis.preload_finished.connect(outcome.append)
    deadline = time.monotonic() + 300
    while not outcome and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    print(json.dumps({
        "preloaded": outcome,
        "torch_loaded": "torch" in sys.modules,
        "torch_imported_on_gui_thread": torch_imports,
    }))
    window.close()
    """
)


def test_a_launch_imports_torch_in_a_worker_only(installed_bundle) -> None:  # noqa: ANN001
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-c", _LAUNCH],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts["preloaded"] == [True]
    assert facts["torch_loaded"]
    assert facts["torch_imported_on_gui_thread"] == [False]
