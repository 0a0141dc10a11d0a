"""The viewer model's events, the one blind-read gate, switching studies, status and cache."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from wristviewer.imaging import ClaheSettings, Radiograph, Study, View
from wristviewer.viewer import Analysis, EnhancedCache, Event, Status, ViewerState
from wristviewer.workflow.blind_read import Read, ReadState, RevealMode


def _radiograph(name: str, rows: int = 4) -> Radiograph:
    return Radiograph(
        pixels=np.full((rows, 3), 0.5, np.float32),
        path=Path(f"/virtual/{name}.png"),
        format="PNG",
        bits_stored=8,
        photometric="MONOCHROME2",
        view=View.PA,
    )


def _studies(n: int = 2) -> list[Study]:
    return [Study(id=f"s{i}", views=[_radiograph(f"s{i}-pa")]) for i in range(n)]


def _analysis(study: Study, probability: float = 0.8) -> Analysis:
    views = [
        SimpleNamespace(path=r.path, fracture_probability=probability, heatmap=None, view="PA")
        for r in study.views
    ]
    prediction = SimpleNamespace(
        views=views,
        threshold=0.5,
        fracture_probability=probability,
        suspected=probability >= 0.5,
        models=["densenet161"],
        untrained=True,
    )
    return Analysis(prediction, [SimpleNamespace(name="m", untrained=True)], "CPU")


def _record(state: ViewerState, *names: str) -> list[tuple]:
    seen: list[tuple] = []
    for name in names:
        getattr(state, name).connect(lambda *args, n=name: seen.append((n, *args)))
    return seen


def test_an_event_calls_each_callback_once_in_order_until_disconnected() -> None:
    event = Event()
    calls: list[tuple[str, int]] = []

    def first(x: int) -> None:
        calls.append(("first", x))

    def second(x: int) -> None:
        calls.append(("second", x))

    event.connect(first)
    event.connect(second)
    event.connect(first)  # connected once only
    event.emit(1)
    event.disconnect(first)
    event.emit(2)
    assert calls == [("first", 1), ("second", 1), ("second", 2)]
    assert len(event) == 1


def test_immediate_mode_shows_the_analysis_at_once() -> None:
    state = ViewerState()
    studies = _studies()
    state.set_studies(studies, [])
    assert state.visible_analysis() is None  # nothing to show yet
    analysis = _analysis(studies[0])
    state.set_analysis("s0", analysis)
    assert state.visible_analysis() is analysis and state.visible_analysis("s0") is analysis
    assert not state.ai_hidden()


def test_after_read_the_gate_holds_the_analysis_back_until_the_read() -> None:
    state = ViewerState(reveal="after_read")
    studies = _studies()
    state.set_studies(studies, [])
    analysis = _analysis(studies[0])
    state.set_analysis("s0", analysis)
    assert state.current_analysis() is analysis  # it is there …
    assert state.visible_analysis() is None and state.ai_hidden()  # … but not shown
    assert not state.ai_visible()
    state.submit_read(Read.FRACTURE, "  cortex step ")
    assert state.visible_analysis() is analysis and not state.ai_hidden()
    session = state.session()
    assert session is not None and session.note == "cortex step"
    assert session.prediction is analysis.prediction  # the review knows the AI's verdict
    assert session.agreement == "agree"


def test_each_study_is_blinded_separately_and_switching_keeps_the_reviews() -> None:
    state = ViewerState(reveal=RevealMode.AFTER_READ)
    studies = _studies(2)
    state.set_studies(studies, [])
    for study in studies:
        state.set_analysis(study.id, _analysis(study))
    state.submit_read(Read.UNSURE)
    assert state.visible_analysis() is not None
    state.step_study(1)
    assert state.current_study is studies[1] and state.visible_analysis() is None
    assert state.visible_analysis("s0") is not None
    state.step_study(1)  # wraps around to the first study, its read kept
    assert state.current_study is studies[0] and state.visible_analysis() is not None
    session = state.session()
    assert session is not None and session.read is Read.UNSURE


def test_changing_the_mode_reaches_only_reviews_still_waiting() -> None:
    state = ViewerState()
    studies = _studies(2)
    state.set_studies(studies, [])
    state.submit_read(Read.NO_FRACTURE)  # s0: read in
    waiting = state.session(studies[1])
    seen = _record(state, "shown_changed")
    state.set_reveal_mode("after_read")
    assert seen == [("shown_changed",)]
    assert waiting is not None and waiting.mode is RevealMode.AFTER_READ
    assert state.session(studies[0]).mode is RevealMode.IMMEDIATE
    assert state.ai_visible("s0") and not state.ai_visible("s1")


def test_an_unknown_mode_from_old_settings_means_immediate() -> None:
    assert ViewerState(reveal="sometimes").reviews.mode is RevealMode.IMMEDIATE


def test_one_analysis_change_emits_one_shown_changed_for_the_current_study_only() -> None:
    state = ViewerState()
    studies = _studies(2)
    state.set_studies(studies, [])
    seen = _record(state, "analysis_changed", "review_changed", "shown_changed")
    state.set_analysis("s0", _analysis(studies[0]))
    state.set_analysis("s1", _analysis(studies[1]))  # not the current study: nothing to redraw
    assert seen == [("analysis_changed", "s0"), ("shown_changed",), ("analysis_changed", "s1")]
    seen.clear()
    state.submit_read(Read.FRACTURE)
    state.decide(Read.NO_FRACTURE)
    assert seen == [
        ("review_changed", "s0"),
        ("shown_changed",),
        ("review_changed", "s0"),
        ("shown_changed",),
    ]
    assert state.session().state is ReadState.DECIDED


def test_switching_studies_emits_current_changed_once_and_clamps() -> None:
    state = ViewerState()
    seen = _record(state, "current_changed")
    state.set_studies(_studies(3), [])
    state.set_current(0)  # already current: no event
    state.set_current(7)  # clamped to the last study
    state.step_study(1)  # wraps to the first
    assert seen == [("current_changed", 0), ("current_changed", 2), ("current_changed", 0)]
    assert state.needs_analysis()
    state.set_studies([], [])
    assert state.current_study is None and len(seen) == 3  # studies_changed says it
    assert not state.needs_analysis() and state.session() is None


def test_new_studies_forget_the_old_analyses_and_reviews() -> None:
    state = ViewerState(reveal="after_read")
    studies = _studies(1)
    state.set_studies(studies, [])
    state.set_analysis("s0", _analysis(studies[0]))
    state.submit_read(Read.FRACTURE)
    state.set_studies(studies, [])  # opened again
    assert state.analyses == {} and state.reviews.sessions == {}
    assert state.needs_analysis() and not state.ai_visible()


def test_the_clahe_toggle_keeps_clip_limit_and_grid() -> None:
    state = ViewerState(clahe=ClaheSettings(enabled=True, clip_limit=3.0, tile_grid=(4, 4)))
    seen = _record(state, "clahe_changed")
    state.toggle_clahe()
    assert state.clahe == ClaheSettings(enabled=False, clip_limit=3.0, tile_grid=(4, 4))
    assert seen == [("clahe_changed", state.clahe)]


def test_status_says_messages_errors_and_busy_as_events() -> None:
    status = Status()
    seen: list[tuple] = []
    status.message_changed.connect(lambda m: seen.append(("message", m)))
    status.error_reported.connect(lambda s: seen.append(("error", s)))
    status.busy_changed.connect(lambda b: seen.append(("busy", b)))
    status.show("Reading 3 item(s)…")
    status.set_busy(True)
    status.set_busy(True)  # no change, no event
    sentence = status.report_error("Could not open the files", FileNotFoundError("/x.dcm"))
    status.set_busy(False)
    assert sentence == "Could not open the files: /x.dcm" == status.last_error
    assert seen == [
        ("message", "Reading 3 item(s)…"),
        ("busy", True),
        ("message", sentence),
        ("error", sentence),
        ("busy", False),
    ]


def test_the_enhanced_cache_keeps_one_setting_and_drops_the_oldest() -> None:
    on = ClaheSettings()
    other = ClaheSettings(clip_limit=5.0)
    radiographs = [_radiograph(f"r{i}") for i in range(3)]
    cache = EnhancedCache(limit=2)
    cache.add(on, {Path(r.path): r.pixels for r in radiographs})
    assert cache.get(radiographs[0], on) is None  # the oldest went
    assert cache.get(radiographs[2], on) is radiographs[2].pixels
    assert cache.covers(radiographs[1:], on) and not cache.covers(radiographs, on)
    assert cache.get(radiographs[2], other) is None
    cache.add(other, {Path(radiographs[0].path): radiographs[0].pixels})
    assert not cache.covers(radiographs[1:], on)  # other settings replace the kept outputs


@pytest.mark.parametrize("untrained", [True, False])
def test_an_analysis_finds_its_views_and_says_when_a_model_is_untrained(untrained: bool) -> None:
    study = _studies(1)[0]
    analysis = _analysis(study)
    analysis.cards = [SimpleNamespace(untrained=untrained)]
    assert analysis.untrained is untrained
    assert analysis.view_prediction(study.views[0].path).fracture_probability == 0.8
    assert analysis.view_prediction(Path("/elsewhere.png")) is None
