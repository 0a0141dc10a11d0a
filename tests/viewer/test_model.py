"""The Qt-free viewer model: studies, the current study, display state, heatmap settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wristviewer.imaging import Radiograph, Study, View, Window
from wristviewer.viewer import ViewerState


def _radiograph(name: str, view: View) -> Radiograph:
    return Radiograph(
        pixels=np.zeros((4, 3), np.float32),
        path=Path(name),
        format="PNG",
        bits_stored=8,
        photometric="MONOCHROME2",
        view=view,
    )


def test_correcting_a_view_resorts_the_hanging_order() -> None:
    a, b, c = (
        _radiograph("a", View.UNKNOWN),
        _radiograph("b", View.OBLIQUE),
        _radiograph("c", View.LATERAL),
    )
    study = Study(id="s", views=[b, c, a])
    state = ViewerState()
    seen: list[Study] = []
    state.views_reordered.connect(seen.append)
    state.set_studies([study], [])
    state.set_view(a, View.PA)
    assert [r.path.name for r in study.views] == ["a", "b", "c"]
    assert a.view is View.PA and seen == [study]


def test_display_state_events_and_study_stepping() -> None:
    state = ViewerState()
    studies = [Study(id=str(i), views=[_radiograph(f"{i}", View.PA)]) for i in range(3)]
    current: list[int] = []
    state.current_changed.connect(current.append)
    state.set_studies(studies, [])
    state.step_study(-1)
    assert current == [0, 2]
    display = state.display(studies[2].views[0])
    changes: list[bool] = []
    display.changed.connect(lambda: changes.append(True))
    display.rotate(1)
    display.rotate(3)
    display.flip(True)
    display.set_window(Window(0.4, 0.0))
    assert display.rotation == 0 and display.flip_horizontal and display.window.width > 0
    assert len(changes) == 4


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_heatmap_opacity_is_clamped(fraction: float) -> None:
    state = ViewerState()
    state.set_heatmap(opacity=fraction * 3 - 1)
    assert 0.0 <= state.heatmap_opacity <= 1.0


def test_regroup_puts_the_new_studies_in_place_and_forgets_only_the_old_ones() -> None:
    from wristviewer.imaging.studies import merge_studies, split_study

    one, two, three, four = (
        Study(id=n, views=[_radiograph(n, View.PA)]) for n in ("1", "2", "3", "4")
    )
    state = ViewerState()
    state.set_studies([one, two, three, four], [])
    for study in (one, two, three, four):
        state.set_current(state.studies.index(study))
        state.submit_read("fracture")
    events: list[str] = []
    state.studies_changed.connect(lambda: events.append("studies"))
    state.current_changed.connect(lambda i: events.append(f"current {i}"))
    merged = merge_studies([two, three], "joined")
    state.regroup([two, three], [merged])
    assert [s.id for s in state.studies] == ["1", merged.id, "4"]
    assert state.current_study is merged and events == ["studies", "current 1"]
    assert {sid for sid in ("1", "2", "3", "4") if state.reviews.get(sid)} == {"1", "4"}
    parts = split_study(merged)
    state.regroup([merged], parts)
    assert [s.views[0].path.name for s in state.studies] == ["1", "2", "3", "4"]
    assert state.current_study is parts[0] and state.reviews.get(merged.id) is None
