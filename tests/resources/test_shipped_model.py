"""The bundle shipped in ``resources/models/``: it loads, is what its card says, beat the
pixel-free control, and gives the sample study a real second opinion."""

from __future__ import annotations

import math
import subprocess

import pytest

from tests.conftest import REPO_ROOT

SHIPPED = REPO_ROOT / "resources" / "models" / "densenet161-fracatlas.safetensors"
SAMPLE = REPO_ROOT / "resources" / "sample"


@pytest.fixture(scope="module")
def shipped():  # -> ModelBundle
    from wristviewer.ai.bundle import load_bundle

    assert SHIPPED.is_file(), f"{SHIPPED} is missing: the shipped bundle is committed in git"
    return load_bundle(SHIPPED)  # verifies the card checksum and the weights' SHA-256


def test_shipped_bundle_is_small_trained_and_matches_its_card(shipped) -> None:  # noqa: ANN001
    from wristviewer.ai.bundle import weights_sha256

    assert SHIPPED.stat().st_size <= 60 * 1024 * 1024
    card = shipped.card
    assert card.arch == "densenet161" and not card.untrained
    assert weights_sha256(shipped.state_dict) == card.weights_sha256
    assert card.recipe.resize == "pad"
    auroc = card.metrics["auroc"]
    control = card.metrics["control"]["auroc"]
    assert auroc["set"] == "test" and len(auroc["ci95"]) == 2
    assert auroc["value"] > control["value"], (
        "a model that does not beat the control is not shipped"
    )
    assert card.training_data["init"] == "none"
    assert "no patient IDs" in card.training_data["caveats"]
    assert card.training_data["code_commit"]
    assert card.metrics["pointing_game"]["n"] > 0


def test_shipped_bundle_predicts_the_sample_study(shipped) -> None:  # noqa: ANN001
    from wristviewer.ai.predictor import Predictor
    from wristviewer.imaging import load_studies

    studies, skipped = load_studies([SAMPLE])
    assert studies and not [s for s in skipped if not s.document]  # ATTRIBUTION.md etc. only
    predictor = Predictor([shipped], device="cpu", precision="fp32")
    assert not predictor.untrained
    for study in studies:
        result = predictor.predict_study(study)
        assert 0.0 <= result.fracture_probability <= 1.0
        for view, radiograph in zip(result.views, study.views, strict=True):
            assert math.isfinite(view.fracture_probability)
            assert view.heatmap.shape == radiograph.pixels.shape
            x, y = view.heatmap_peak
            assert -0.5 <= x <= radiograph.cols - 0.5 and -0.5 <= y <= radiograph.rows - 0.5


def test_git_lets_in_exactly_the_shipped_bundle() -> None:
    def ignored(path: str) -> bool:
        run = subprocess.run(["git", "-C", str(REPO_ROOT), "check-ignore", "-q", path], check=False)
        return run.returncode == 0

    assert not ignored(str(SHIPPED.relative_to(REPO_ROOT)))
    assert ignored("resources/models/another.safetensors")
    assert ignored("runs/shipped/densenet161/best.pt")


def test_the_shipped_bundle_is_found_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from wristviewer.ai.registry import find_bundles

    monkeypatch.setenv("WRISTVIEWER_RESOURCES", str(REPO_ROOT / "resources"))
    entries = [e for e in find_bundles() if e.path == SHIPPED]
    assert len(entries) == 1 and entries[0].valid and entries[0].source == "bundled"
