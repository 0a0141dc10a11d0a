"""The Predictor: geometry, fixed-scale heatmaps, batching, ensemble, progress/cancel, devices."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

from tests.ai.helpers import make_radiograph, make_study
from wristviewer.ai.bundle import ModelBundle, weights_sha256
from wristviewer.ai.cpu import cpu_info
from wristviewer.ai.device import select_device
from wristviewer.ai.predictor import (
    ModelCache,
    NonFiniteResult,
    PredictionCancelled,
    Predictor,
    _loaded_model,
    aggregate,
    calibrated_probability,
    resolve_precision,
)
from wristviewer.imaging.radiograph import Study


def test_heatmap_has_the_radiograph_geometry(densenet_bundle) -> None:
    study = make_study([(150, 97), (211, 330)])
    result = Predictor([densenet_bundle], device="cpu").predict_study(study)
    assert [v.heatmap.shape for v in result.views] == [(150, 97), (211, 330)]
    for v in result.views:
        assert v.heatmap.dtype == np.float32
        assert 0.0 <= float(v.heatmap.min()) and float(v.heatmap.max()) <= 1.0
        assert 0.0 <= v.fracture_probability <= 1.0
    assert [v.path for v in result.views] == [r.path for r in study.views]
    assert result.study_id == "study-1" and result.models == [densenet_bundle.card.name]
    assert result.untrained is True


def test_heatmap_registers_with_the_image(densenet_bundle) -> None:
    """A CAM that is hot in the top-left feature cell lights the top-left of the radiograph."""
    from wristviewer.ai.heatmap import cam_to_heatmap

    recipe = densenet_bundle.card.recipe
    cam = np.zeros((recipe.input_height // 32, recipe.input_width // 32), np.float32)
    cam[0, 0] = 1.0
    heat = cam_to_heatmap(cam, 1.0, recipe.input_size, (400, 300))
    rows, cols = np.unravel_index(int(np.argmax(heat)), heat.shape)
    assert rows < 300 / cam.shape[0] and cols < 400 / cam.shape[1]


def _variant(
    bundle: ModelBundle, head_factor: float = 1.0, scale_factor: float = 1.0
) -> ModelBundle:
    """The bundle with its head weights and/or its card's heatmap scale multiplied."""
    sd = dict(bundle.state_dict)
    sd["classifier.weight"] = sd["classifier.weight"] * head_factor
    card = dataclasses.replace(
        bundle.card,
        weights_sha256=weights_sha256(sd),
        heatmap_scale=bundle.card.heatmap_scale * scale_factor,
    )
    return ModelBundle(bundle.path, card, sd)


def test_fixed_scale_means_weaker_activation_gives_a_cooler_map(densenet_bundle) -> None:
    """Scaling the evidence down by 4 cools the map by 4: it is not renormalised per image."""
    study = make_study([(160, 140)])

    def heat(bundle: ModelBundle) -> np.ndarray:
        return Predictor([bundle], device="cpu").predict_study(study).views[0].heatmap

    strong = heat(densenet_bundle)
    weak = heat(_variant(densenet_bundle, head_factor=0.25))
    assert strong.max() > 0.05
    assert weak.max() < strong.max() and weak.mean() < strong.mean()
    # with a scale large enough that nothing clips, the map is exactly proportional
    roomy = heat(_variant(densenet_bundle, scale_factor=100.0))
    roomy_weak = heat(_variant(densenet_bundle, head_factor=0.25, scale_factor=100.0))
    assert roomy.max() < 0.999
    np.testing.assert_allclose(roomy_weak, roomy * 0.25, rtol=1e-3, atol=1e-6)


def test_views_in_one_batch_equal_views_one_by_one(resnet_bundle) -> None:
    study = make_study([(120, 100), (90, 140), (200, 160)])
    predictor = Predictor([resnet_bundle], device="cpu")
    together = predictor.predict_study(study)
    for i, rad in enumerate(study.views):
        alone = predictor.predict_study(Study(f"one-{i}", [rad]))
        assert alone.views[0].fracture_probability == pytest.approx(
            together.views[i].fracture_probability, abs=1e-5
        )
        np.testing.assert_allclose(alone.views[0].heatmap, together.views[i].heatmap, atol=1e-4)
    assert together.fracture_probability == pytest.approx(
        max(v.fracture_probability for v in together.views)
    )


def test_large_studies_are_split_into_several_forward_passes(
    resnet_bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wristviewer.ai.predictor as predictor_module

    study = make_study([(120, 100), (90, 140), (200, 160)])
    predictor = Predictor([resnet_bundle], device="cpu")
    together = predictor.predict_study(study)
    monkeypatch.setattr(predictor_module, "MAX_BATCH", 2)
    split = predictor.predict_study(study)
    for a, b in zip(together.views, split.views, strict=True):
        assert a.fracture_probability == pytest.approx(b.fracture_probability, abs=1e-5)
        np.testing.assert_allclose(a.heatmap, b.heatmap, atol=1e-4)


def test_ensemble_means_members(densenet_bundle, resnet_bundle) -> None:
    study = make_study([(130, 110), (140, 120)])
    dn = Predictor([densenet_bundle], device="cpu").predict_study(study)
    rn = Predictor([resnet_bundle], device="cpu").predict_study(study)
    both = Predictor([densenet_bundle, resnet_bundle], device="cpu").predict_study(study)
    for i in range(2):
        mean_p = (dn.views[i].fracture_probability + rn.views[i].fracture_probability) / 2
        assert both.views[i].fracture_probability == pytest.approx(mean_p, abs=1e-6)
        np.testing.assert_allclose(
            both.views[i].heatmap, (dn.views[i].heatmap + rn.views[i].heatmap) / 2, atol=1e-5
        )
        assert set(both.views[i].member_probabilities) == {
            densenet_bundle.card.name,
            resnet_bundle.card.name,
        }
    assert both.threshold == pytest.approx(
        (densenet_bundle.card.threshold + resnet_bundle.card.threshold) / 2
    )
    assert both.suspected == (both.fracture_probability >= both.threshold)
    assert both.models == [densenet_bundle.card.name, resnet_bundle.card.name]


def test_temperature_and_aggregation_rules(densenet_bundle) -> None:
    assert calibrated_probability(np.array([0.0, 2.0, -800.0]), 2.0) == pytest.approx(
        [0.5, 1 / (1 + np.e**-1), 0.0]
    )
    assert aggregate([0.2, 0.6], "max") == pytest.approx(0.6)
    assert aggregate([0.2, 0.6], "mean") == pytest.approx(0.4)
    assert aggregate([0.2, 0.6], "noisy_or") == pytest.approx(1 - 0.8 * 0.4)
    study = make_study([(100, 100), (120, 90)])
    card = dataclasses.replace(densenet_bundle.card, temperature=3.0, aggregation="mean")
    hot = ModelBundle(densenet_bundle.path, card, densenet_bundle.state_dict)
    base = Predictor([densenet_bundle], device="cpu").predict_study(study)
    calibrated = Predictor([hot], device="cpu").predict_study(study)
    for b, c in zip(base.views, calibrated.views, strict=True):
        logit = np.log(b.fracture_probability / (1 - b.fracture_probability))
        assert c.fracture_probability == pytest.approx(1 / (1 + np.exp(-logit / 3.0)), abs=1e-6)
    assert calibrated.fracture_probability == pytest.approx(
        np.mean([v.fracture_probability for v in calibrated.views])
    )


def test_progress_and_cancel(densenet_bundle) -> None:
    study = make_study([(100, 90), (110, 80), (90, 100)])
    predictor = Predictor([densenet_bundle], device="cpu")
    seen: list[float] = []
    predictor.predict_study(study, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) >= 4
    calls = 0

    def cancel_after_two() -> bool:
        nonlocal calls
        calls += 1
        return calls > 2

    with pytest.raises(PredictionCancelled):
        predictor.predict_study(study, cancelled=cancel_after_two)


def test_empty_study_is_an_error(densenet_bundle) -> None:
    with pytest.raises(ValueError, match="no views"):
        Predictor([densenet_bundle], device="cpu").predict_study(Study("empty", []))


def test_a_non_finite_result_is_an_error_for_that_view_never_a_verdict(
    densenet_bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = make_study([(100, 90), (110, 80), (90, 100)])
    predictor = Predictor([densenet_bundle], device="cpu")
    real_forward = predictor._forward

    def poisoned(loaded, batch):  # noqa: ANN001, ANN202
        logits, cams = real_forward(loaded, batch)
        logits[1] = np.nan  # the second view: NaN probability
        cams[2, 0, 0] = np.inf  # the third view: an infinite heatmap cell
        return logits, cams

    monkeypatch.setattr(predictor, "_forward", poisoned)
    with pytest.raises(NonFiniteResult) as info:
        predictor.predict_study(study)
    bad = [study.views[1].path, study.views[2].path]
    assert list(info.value.view_errors) == bad
    for path in bad:
        assert str(path) in info.value.view_errors[path]
        assert "non-finite" in info.value.view_errors[path]
    assert str(study.views[0].path) not in str(info.value)
    assert "No verdict" in str(info.value)
    assert isinstance(info.value, ValueError)  # callers that catch ValueError still see it


def test_models_are_cached_per_weights_device_precision(densenet_bundle) -> None:
    a = _loaded_model(densenet_bundle, torch.device("cpu"), "fp32")
    b = _loaded_model(densenet_bundle, torch.device("cpu"), "fp32")
    assert a is b
    assert a.model.features.conv0.weight.is_contiguous(memory_format=torch.channels_last)


def test_the_model_cache_holds_one_model_set_at_a_time(densenet_bundle, resnet_bundle) -> None:
    cache = ModelCache()
    cpu = torch.device("cpu")
    (dn,) = cache.networks([densenet_bundle], cpu, "fp32")
    assert cache.networks([densenet_bundle], cpu, "fp32")[0] is dn
    both = cache.networks([densenet_bundle, resnet_bundle], cpu, "fp32")
    assert both[0] is dn, "a set that keeps a loaded network reuses it"
    cache.networks([resnet_bundle], cpu, "fp32")
    assert cache.networks([densenet_bundle], cpu, "fp32")[0] is not dn, "it was let go"


def test_the_model_cache_keeps_the_last_choice_until_another_or_clear(
    densenet_path, resnet_path
) -> None:
    cache = ModelCache()
    first = cache.predictor(str(densenet_path), "cpu")
    assert cache.predictor(str(densenet_path), "cpu") is first
    assert [c.name for c in first.cards] == first.model_names
    other = cache.predictor(str(resnet_path), "cpu")
    assert other is not first and cache.predictor(str(resnet_path), "cpu") is other
    cache.clear()
    assert cache.predictor(str(resnet_path), "cpu") is not other


def test_cuda_and_mps_requests_fall_back_to_cpu_with_a_warning(densenet_bundle) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.warns(RuntimeWarning, match="CUDA was requested"):
        assert select_device("cuda").type == "cpu"
    with pytest.warns(RuntimeWarning, match="MPS was requested"):
        assert select_device("mps").type == "cpu"
    with pytest.warns(RuntimeWarning, match="CUDA"):
        predictor = Predictor([densenet_bundle], device="cuda")
    assert predictor.device.type == "cpu" and predictor.device_name == "CPU"
    # auto on the CPU it fell back to: bf16 only where this CPU has native bf16
    assert predictor.precision == ("bf16" if cpu_info().native_bf16 else "fp32")
    with pytest.raises(ValueError, match="unknown device"):
        select_device("tpu")


def test_auto_prefers_cuda_then_mps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert select_device("auto").type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert select_device("auto").type == "cpu"


AVX2_ONLY = "model name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx avx2 fma\n"
AVX512_BF16 = "model name\t: AMD EPYC 9B14\nflags\t\t: avx2 avx512f avx512_vnni avx512_bf16\n"
AMX = "model name\t: Intel(R) Xeon(R) Platinum 8481C\nflags\t\t: avx2 avx512f amx_tile amx_bf16\n"


@pytest.mark.parametrize(
    ("cpuinfo", "expected"), [(AVX2_ONLY, "fp32"), (AVX512_BF16, "bf16"), (AMX, "bf16")]
)
def test_auto_precision_on_the_cpu_follows_its_bf16_flags(
    monkeypatch: pytest.MonkeyPatch, cpuinfo: str, expected: str
) -> None:
    from wristviewer.ai import cpu as cpu_mod
    from wristviewer.ai.predictor import precision_reason

    monkeypatch.setattr(cpu_mod, "cpu_info", lambda: cpu_mod.parse_cpuinfo(cpuinfo))
    device = torch.device("cpu")
    assert resolve_precision("auto", device) == expected
    reason = precision_reason("auto", device, expected)
    assert reason.startswith(expected) and ("native bf16" in reason)
    assert precision_reason("fp32", device, "fp32") == "fp32: as set"


def test_precision_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from wristviewer.ai import cpu as cpu_mod

    monkeypatch.setattr(cpu_mod, "cpu_info", lambda: cpu_mod.parse_cpuinfo(AVX2_ONLY))
    cpu, cuda, mps = torch.device("cpu"), torch.device("cuda"), torch.device("mps")
    assert resolve_precision("auto", cpu) == "fp32"
    assert resolve_precision("auto", cuda) == "fp16"
    assert resolve_precision("auto", mps) == "fp32"
    assert resolve_precision("fp32", cuda) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    with pytest.warns(RuntimeWarning, match="fp16 is not used on the CPU"):
        assert resolve_precision("fp16", cpu) == "fp32"
    with pytest.warns(RuntimeWarning, match="bf16"):
        assert resolve_precision("bf16", mps) == "fp32"
    with pytest.raises(ValueError):
        resolve_precision("int8", cpu)


def test_bf16_on_cpu_stays_close_to_fp32(densenet_bundle) -> None:
    study = make_study([(120, 100)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p32 = Predictor([densenet_bundle], device="cpu", precision="fp32").predict_study(study)
        p16 = Predictor([densenet_bundle], device="cpu", precision="bf16").predict_study(study)
    assert abs(p32.fracture_probability - p16.fracture_probability) < 0.05
    corr = np.corrcoef(p32.views[0].heatmap.ravel(), p16.views[0].heatmap.ravel())[0, 1]
    assert corr > 0.9


def test_radiograph_with_16_bits(densenet_bundle) -> None:
    rad = make_radiograph(140, 120)
    rad = dataclasses.replace(rad, bits_stored=12)
    result = Predictor([densenet_bundle], device="cpu").predict_study(Study("s", [rad]))
    assert result.views[0].heatmap.shape == (140, 120)
