"""The AI panel with a random-weight bundle: badges, verdict, overlay, cancel, responsiveness."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tests.ui.helpers import wait_idle, wrist_like
from wristviewer.imaging import Radiograph, Study, View
from wristviewer.paths import user_models_dir
from wristviewer.ui.results_panel import UNTRAINED_WARNING


def _study(n_views: int = 3, study_id: str = "study-1") -> Study:
    views = [View.PA, View.OBLIQUE, View.LATERAL, View.OBLIQUE]
    radiographs = [
        Radiograph(
            pixels=wrist_like(150 + 10 * i, 120, seed=i),
            path=Path(f"/virtual/{study_id}/v{i}.png"),
            format="PNG",
            bits_stored=8,
            photometric="MONOCHROME2",
            view=views[i % len(views)],
        )
        for i in range(n_views)
    ]
    return Study(id=study_id, views=radiographs)


def _find_models(qtbot, window) -> list[str]:  # noqa: ANN001
    with qtbot.waitSignal(window.models_found, timeout=30_000) as blocker:
        window.refresh_models()
    return blocker.args[0]


def test_a_run_shows_badges_verdict_overlay_and_the_untrained_banner(
    qtbot, installed_bundle, window
) -> None:  # noqa: ANN001
    assert _find_models(qtbot, window) == ["densenet161"]
    panel = window.results_panel
    assert (
        not panel.untrained_banner.isHidden() and panel.untrained_banner.text() == UNTRAINED_WARNING
    )
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000) as blocker:
        window.state.set_studies([_study()], [])  # auto-run is on by default
    assert blocker.args == [True]
    analysis = window.state.current_analysis()
    assert analysis is not None and len(analysis.prediction.views) == 3
    for view_panel in window.panels:
        assert (
            not view_panel.badge_label.isHidden()
            and view_panel.badge_label.text().strip().endswith("%")
        )
        heat = view_panel.heatmap_item.image
        assert heat is not None and heat.shape == view_panel.image_item.image.shape
        assert float(heat.min()) >= 0.0 and float(heat.max()) <= 1.0
        assert view_panel.heatmap_item.isVisible()
    verdict = panel.verdict_label.text()
    expected = "Fracture suspected" if analysis.prediction.suspected else "No fracture suspected"
    assert verdict == expected
    assert "threshold" in panel.probability_label.text()
    assert "AUROC" in panel.card_label.text() and "Training data" in panel.card_label.text()
    assert "CPU" in panel.device_label.text()
    # H hides the overlay everywhere
    window.heatmap_action.trigger()
    assert all(not p.heatmap_item.isVisible() for p in window.panels)
    wait_idle(qtbot, window)


def test_cancel_stops_a_run(qtbot, installed_bundle, window) -> None:  # noqa: ANN001
    window.settings.auto_run = False
    _find_models(qtbot, window)
    window.state.set_studies([_study(4)], [])
    assert window.state.current_analysis() is None
    with qtbot.waitSignal(window.analysis_finished, timeout=60_000) as blocker:
        assert window.run_analysis()
        window.cancel_analysis()
    assert blocker.args == [False]
    assert window.state.current_analysis() is None
    assert "cancelled" in window.results_panel.status_label.text().lower()
    assert all(p.badge_label.isHidden() for p in window.panels)
    wait_idle(qtbot, window)


def test_the_gui_thread_keeps_running_during_inference(qtbot, installed_bundle, window) -> None:  # noqa: ANN001
    from PySide6.QtCore import QTimer

    from wristviewer.ai.predictor import clear_model_cache

    clear_model_cache()  # the run below includes loading the model
    window.settings.auto_run = False
    _find_models(qtbot, window)
    window.state.set_studies([_study(3)], [])
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    start = time.perf_counter()
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        window.run_analysis()
    elapsed = time.perf_counter() - start
    timer.stop()
    gaps = np.diff([start, *ticks])
    assert len(ticks) >= 0.3 * elapsed / 0.02, (len(ticks), elapsed)
    assert gaps.max() < 0.5, f"the event loop stalled for {gaps.max():.2f} s"
    wait_idle(qtbot, window)


def test_no_model_says_how_to_install_one(window) -> None:  # noqa: ANN001
    panel = window.results_panel
    assert window.model_specs == []
    assert not panel.no_model_label.isHidden()
    assert "Models ▸ Install" in panel.no_model_label.text()
    assert "python -m training export" in panel.no_model_label.text()
    assert not panel.run_button.isEnabled()
    assert not window.run_analysis()


def test_dropping_a_bundle_installs_it(qtbot, untrained_bundle_file, window) -> None:  # noqa: ANN001
    assert window.model_specs == []
    with qtbot.waitSignal(window.models_found, timeout=60_000) as blocker:
        window.handle_dropped([str(untrained_bundle_file)])
    assert blocker.args[0] == ["densenet161"]
    assert any(user_models_dir().glob("*.safetensors"))
    assert window.results_panel.no_model_label.isHidden()


def _trained_card():  # -> ModelCard
    from wristviewer.ai.card import ModelCard, OperatingPoint
    from wristviewer.ai.recipe import Recipe

    return ModelCard(
        name="densenet161-fracatlas",
        arch="densenet161",
        version="1.0.0",
        recipe=Recipe(input_width=224, input_height=272, resize="pad"),
        operating_points=[OperatingPoint("youden", 0.31, 0.91, 0.55)],
        training_data={
            "source": ["fracatlas-hand", "fracatlas-other"],
            "training_by_region": {
                "hand": {"images": 700, "fracture": 200},
                "leg": {"images": 2000, "fracture": 200},
            },
            "test": {"images": 148, "fracture": 43},
            "caveats": "FracAtlas has no patient IDs <so> the split may leak.",
        },
        metrics={
            "auroc": {"value": 0.812, "ci95": [0.734, 0.871], "set": "test"},
            "control": {
                "auroc": {"value": 0.701, "ci95": [0.61, 0.78], "set": "test"},
                "model_minus_control": {"value": 0.111, "p_value": 0.031},
            },
            "youden": {
                "set": "test",
                "sensitivity": {"value": 0.721, "ci95": [0.57, 0.83]},
                "specificity": {"value": 0.75, "ci95": [0.66, 0.82]},
            },
            "pointing_game": {"hits": 14, "n": 41},
        },
    )


def test_the_card_summary_shows_test_figures_with_their_intervals() -> None:
    from wristviewer.ui.card_text import card_summary

    text = card_summary(_trained_card())
    assert "Test AUROC 0.812 (95% CI 0.734–0.871) on 148 test images" in text
    assert "control" in text and "0.701 (95% CI 0.610–0.780)" in text and "p = 0.031" in text
    # the test figures at the operating point, not the tuning ones (0.91 / 0.55) of the card
    assert "test: sensitivity 72% (95% CI 57%–83%), specificity 75% (95% CI 66%–82%)" in text
    assert "91%" not in text
    assert "Input 224×272 px (aspect kept, padded)" in text
    assert "Trained on 2700 radiographs (700 hand/wrist)" in text
    assert "14/41" in text
    assert "&lt;so&gt;" in text  # caveats are escaped, never HTML


def test_a_card_without_test_figures_labels_the_tuning_ones() -> None:
    import dataclasses

    from wristviewer.ui.card_text import card_summary

    card = dataclasses.replace(_trained_card(), metrics={})
    text = card_summary(card)
    assert "tuning-set sensitivity 91%, specificity 55% (no test figures in the card)" in text
    assert "AUROC: not reported" in text
