"""The Predictor: a :class:`Study` in, per-view and per-study fracture probabilities out.

Device: ``"auto"`` picks CUDA, then Apple MPS, then the CPU. An explicit ``"cuda"`` or
``"mps"`` on a machine without one **falls back to the CPU with a RuntimeWarning** (the
result is the same, only slower; a saved setting must not make the viewer unusable on
another machine). :attr:`Predictor.device_name` says what actually ran.

Precision: ``"auto"`` is fp16 on CUDA (not measured in this project: no GPU was available;
override with ``precision="fp32"``), fp32 on MPS, and on the CPU bf16 where the CPU has
native bf16 (AVX-512 BF16 or AMX: about 2× faster than fp32 at the same accuracy) and fp32
elsewhere (on AVX2-only CPUs emulated bf16 was 6–8× slower; benchmarks/README.md). The choice
comes from the CPU's own flags (:mod:`wristviewer.ai.cpu`), never from its vendor, and
:attr:`Predictor.precision_reason` says why. Impossible requests (fp16 on the CPU, bf16 on MPS
or on a GPU without bf16) fall back to fp32 with a warning.

Every view of a study goes through each model in **one** batched forward pass
(channels_last, ``torch.inference_mode``); the heatmap comes from the same pass through the
exact CAM of a global-average-pool + linear head (:func:`~wristviewer.ai.gradcam.linear_head_cam`,
no backward pass). Loaded models are cached per (weights SHA-256, device, precision).

Probabilities are calibrated: ``sigmoid(logit / temperature)``. A study's probability is
the card's aggregation rule over its views. **Ensemble** (several bundles; provisional
rules, to be revisited once trained models are evaluated together): a view's probability is
the mean of the members' calibrated probabilities, its heatmap the mean of the members'
scaled heatmaps, the study probability the members' common aggregation rule over those
views (``"max"`` when they disagree), and the threshold the mean of the members' Youden
thresholds.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from wristviewer.ai.architectures import cam_layer_name, head_weight
from wristviewer.ai.bundle import ModelBundle, weights_sha256
from wristviewer.ai.gradcam import linear_head_cam
from wristviewer.ai.heatmap import cam_peak, cam_to_heatmap
from wristviewer.ai.recipe import Recipe, preprocess
from wristviewer.imaging.radiograph import Study, View

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16")
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

#: how many loaded models stay cached (each DenseNet-161 / ResNet-152 is 100-230 MB in fp32)
MODEL_CACHE_SIZE = 4

#: most views in one forward pass; a wrist study (2-4 views) always fits in one, and a folder
#: of hundreds of plain images opened as one "study" does not exhaust memory
MAX_BATCH = 8


class PredictionCancelled(Exception):
    """Raised by :meth:`Predictor.predict_study` when ``cancelled()`` returned True."""


class NonFiniteResult(ValueError):
    """A model gave a non-finite (NaN or infinite) logit or heatmap for some views: those
    views have no result, and the study no verdict — never "no fracture".
    ``view_errors`` maps each such view's path to a sentence."""

    def __init__(self, view_errors: dict[Path, str]) -> None:
        self.view_errors = view_errors
        super().__init__(" ".join(view_errors.values()) + " No verdict is given for this study.")


@dataclass
class ViewPrediction:
    """One view's result.

    ``fracture_probability``: calibrated, 0..1. ``heatmap``: float32 (rows, cols) — the
    radiograph's own pixel geometry — in 0..1 on the card's fixed ``heatmap_scale``.
    ``member_probabilities``: each model's calibrated probability, by model name.
    ``heatmap_peak``: (x, y) of the raw CAM's maximum in the radiograph's own pixel
    coordinates (before any display rotation); for an ensemble, the peak of the first model.
    """

    path: Path
    view: View
    fracture_probability: float
    heatmap: np.ndarray
    member_probabilities: dict[str, float] = field(default_factory=dict)
    heatmap_peak: tuple[float, float] | None = None


@dataclass
class StudyPrediction:
    """One study's result: ``suspected`` is ``fracture_probability >= threshold``.

    ``models``: the names of the bundles that ran; ``untrained``: True when any of them is an
    untrained (random-weight) bundle, whose results are meaningless. ``seconds``:
    ``preprocess``, ``inference`` (forward passes and CAMs) and ``heatmaps`` (mapping onto
    the radiographs) for this study.
    """

    study_id: str
    fracture_probability: float
    threshold: float
    suspected: bool
    views: list[ViewPrediction]
    models: list[str]
    aggregation: str = "max"
    untrained: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


def select_device(requested: str = "auto") -> torch.device:
    """``"auto"``: CUDA, then MPS, then CPU. ``"cuda"``/``"mps"`` without one: CPU + RuntimeWarning."""
    if requested not in DEVICES:
        raise ValueError(f"unknown device {requested!r}; choose one of {', '.join(DEVICES)}")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if requested == "auto":
        if cuda:
            return torch.device("cuda")
        return torch.device("mps") if mps else torch.device("cpu")
    unavailable = {
        "cuda": None if cuda else "CUDA was requested but no CUDA GPU is available",
        "mps": None if mps else "Apple MPS was requested but is not available",
    }
    if unavailable.get(requested):
        warnings.warn(f"{unavailable[requested]}: using the CPU", RuntimeWarning, stacklevel=2)
        return torch.device("cpu")
    return torch.device(requested)


def resolve_precision(requested: str, device: torch.device) -> str:
    """The precision to run at on ``device``: ``"fp32"``, ``"fp16"`` or ``"bf16"`` (module docstring)."""
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}; choose one of {', '.join(PRECISIONS)}")
    kind = device.type
    if requested == "auto":
        if kind == "cpu":
            from wristviewer.ai.cpu import cpu_info

            return "bf16" if cpu_info().native_bf16 else "fp32"
        return "fp16" if kind == "cuda" else "fp32"
    if requested == "fp16" and kind == "cpu":
        warnings.warn("fp16 is not used on the CPU: running in fp32", RuntimeWarning, stacklevel=2)
        return "fp32"
    if requested == "bf16":
        if kind == "mps" or (kind == "cuda" and not torch.cuda.is_bf16_supported()):
            warnings.warn(
                f"bf16 is not supported on {kind}: running in fp32", RuntimeWarning, stacklevel=2
            )
            return "fp32"
    return requested


def precision_reason(requested: str, device: torch.device, precision: str) -> str:
    """One sentence: why ``precision`` runs on ``device`` when ``requested`` was asked for."""
    if requested != "auto":
        return f"{precision}: as set" + (
            "" if requested == precision else f" ({requested} is not possible here)"
        )
    if device.type == "cpu":
        from wristviewer.ai.cpu import cpu_info

        return cpu_info().bf16_reason()
    if device.type == "cuda":
        return "fp16: the GPU's fast half precision"
    return f"{precision}: the default on {device.type}"


def device_description(device: torch.device) -> str:
    """Human-readable device name: the GPU's name, ``"Apple MPS"`` or ``"CPU"``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return "CPU"


def aggregate(probabilities: Sequence[float], rule: str) -> float:
    """Study probability from view probabilities: ``max``, ``mean`` or ``noisy_or``."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.size == 0:
        raise ValueError("no view probabilities to aggregate")
    if rule == "max":
        return float(p.max())
    if rule == "mean":
        return float(p.mean())
    if rule == "noisy_or":
        return float(1.0 - np.prod(1.0 - p))
    raise ValueError(f"unknown aggregation rule {rule!r}")


def calibrated_probability(
    logits: np.ndarray, temperature: float, slope: float = 1.0, offset: float = 0.0
) -> np.ndarray:
    """``sigmoid(slope * logit / temperature + offset)`` in float64, numerically stable for
    large logits (Platt scaling when ``slope``/``offset`` are set; temperature scaling alone
    is ``slope=1, offset=0``)."""
    z = float(slope) * np.asarray(logits, dtype=np.float64) / float(temperature) + float(offset)
    return np.exp(-np.logaddexp(0.0, -z))


@dataclass
class _LoadedModel:
    model: nn.Module
    layer: nn.Module
    weight: torch.Tensor  # (K,) float32 on the device
    lock: threading.Lock


_CACHE: OrderedDict[tuple[str, str, str], _LoadedModel] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Forget every cached model (frees their memory once no predictor holds them)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _cache_key(bundle: ModelBundle, device: torch.device, precision: str) -> tuple[str, str, str]:
    sha = bundle.card.weights_sha256 or weights_sha256(bundle.state_dict)
    return (sha, str(device), precision)


def _loaded_model(bundle: ModelBundle, device: torch.device, precision: str) -> _LoadedModel:
    key = _cache_key(bundle, device, precision)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
        model = bundle.build_model(share_memory=True)
        model.requires_grad_(False)
        model = model.to(device=device, dtype=_DTYPES[precision])
        model = model.to(memory_format=torch.channels_last)
        arch = bundle.card.arch
        loaded = _LoadedModel(
            model=model,
            layer=model.get_submodule(cam_layer_name(arch)),
            weight=head_weight(model, arch).detach().float(),
            lock=threading.Lock(),
        )
        _CACHE[key] = loaded
        while len(_CACHE) > MODEL_CACHE_SIZE:
            _CACHE.popitem(last=False)
        return loaded


class Predictor:
    """Runs one model, or an ensemble, on studies. Thread-safe; models are shared via a cache.

    ``device``: auto|cpu|cuda|mps; ``precision``: auto|fp32|fp16|bf16 (module docstring for
    the rules and fallbacks).
    """

    def __init__(
        self,
        bundles: Sequence[ModelBundle],
        device: str = "auto",
        precision: str = "auto",
    ) -> None:
        if not bundles:
            raise ValueError("a Predictor needs at least one model bundle")
        self.bundles: list[ModelBundle] = list(bundles)
        self.device: torch.device = select_device(device)
        self.precision: str = resolve_precision(precision, self.device)
        self.precision_reason: str = precision_reason(precision, self.device, self.precision)
        self.device_name: str = device_description(self.device)
        self._models = [_loaded_model(b, self.device, self.precision) for b in self.bundles]
        rules = {b.card.aggregation for b in self.bundles}
        self.aggregation: str = rules.pop() if len(rules) == 1 else "max"
        self.threshold: float = float(np.mean([b.card.threshold for b in self.bundles]))

    @property
    def model_names(self) -> list[str]:
        return [b.card.name for b in self.bundles]

    @property
    def untrained(self) -> bool:
        """True when any model is an untrained (random-weight) bundle."""
        return any(b.card.untrained for b in self.bundles)

    def predict_study(
        self,
        study: Study,
        *,
        progress: Callable[[float], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> StudyPrediction:
        """Predict every view of ``study``; ``progress`` gets the fraction done (0..1),
        ``cancelled`` is polled between steps (raises :class:`PredictionCancelled`). A NaN or
        infinite logit or CAM for any view raises :class:`NonFiniteResult` naming those views:
        the study then gets no verdict at all."""
        views = list(study.views)
        if not views:
            raise ValueError(f"study {study.id} has no views")
        recipes: list[Recipe] = list(dict.fromkeys(b.card.recipe for b in self.bundles))
        total = len(views) * len(recipes) + 2 * len(self.bundles)
        done = 0

        def step() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(min(done / total, 1.0))

        def check() -> None:
            if cancelled is not None and cancelled():
                raise PredictionCancelled(f"prediction of study {study.id} was cancelled")

        seconds = {"preprocess": 0.0, "inference": 0.0, "heatmaps": 0.0}
        batches: dict[Recipe, np.ndarray] = {}
        for recipe in recipes:
            arrays = []
            for radiograph in views:
                check()
                t0 = time.perf_counter()
                arrays.append(preprocess(radiograph, recipe))
                seconds["preprocess"] += time.perf_counter() - t0
                step()
            batches[recipe] = np.stack(arrays)
            del arrays

        member_probs: list[np.ndarray] = []
        heatmap_sums: list[np.ndarray | None] = [None] * len(views)
        peaks: list[tuple[float, float] | None] = [None] * len(views)
        non_finite: dict[Path, str] = {}
        for bundle, loaded in zip(self.bundles, self._models, strict=True):
            check()
            t0 = time.perf_counter()
            logits, cams = self._forward(loaded, batches[bundle.card.recipe])
            finite = np.isfinite(logits) & np.isfinite(cams.reshape(len(cams), -1)).all(axis=1)
            for i in np.flatnonzero(~finite):
                non_finite.setdefault(
                    views[i].path,
                    f"{views[i].path} ({views[i].view.value}): the model {bundle.card.name!r} "
                    "gave a non-finite result (NaN or infinity) for this view.",
                )
            if not non_finite:
                card = bundle.card
                member_probs.append(
                    calibrated_probability(
                        logits, card.temperature, card.platt_slope, card.platt_offset
                    )
                )
            seconds["inference"] += time.perf_counter() - t0
            step()
            check()
            t0 = time.perf_counter()
            recipe = bundle.card.recipe
            for i, radiograph in enumerate(views):
                size = (radiograph.cols, radiograph.rows)
                box = recipe.content_box(*size)
                heat = cam_to_heatmap(
                    cams[i], bundle.card.heatmap_scale, recipe.input_size, size, box
                )
                if peaks[i] is None:
                    peaks[i] = cam_peak(cams[i], recipe.input_size, size, box)
                if heatmap_sums[i] is None:
                    heatmap_sums[i] = heat
                else:
                    heatmap_sums[i] += heat
            seconds["heatmaps"] += time.perf_counter() - t0
            step()
        del batches
        if non_finite:
            raise NonFiniteResult(non_finite)

        n_models = len(self.bundles)
        probs = np.mean(np.stack(member_probs), axis=0)
        results: list[ViewPrediction] = []
        for i, radiograph in enumerate(views):
            heat = heatmap_sums[i]
            assert heat is not None
            if n_models > 1:
                heat /= np.float32(n_models)
            results.append(
                ViewPrediction(
                    path=radiograph.path,
                    view=radiograph.view,
                    fracture_probability=float(probs[i]),
                    heatmap=heat,
                    member_probabilities={
                        b.card.name: float(p[i])
                        for b, p in zip(self.bundles, member_probs, strict=True)
                    },
                    heatmap_peak=peaks[i],
                )
            )
        study_probability = aggregate([v.fracture_probability for v in results], self.aggregation)
        if progress is not None and done < total:
            progress(1.0)
        return StudyPrediction(
            study_id=study.id,
            fracture_probability=study_probability,
            threshold=self.threshold,
            suspected=bool(study_probability >= self.threshold),
            views=results,
            models=self.model_names,
            aggregation=self.aggregation,
            untrained=self.untrained,
            seconds=seconds,
        )

    def _forward(self, loaded: _LoadedModel, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward passes of a (N, C, H, W) batch, :data:`MAX_BATCH` views at a time:
        (logits (N,), raw CAMs (N, h, w)) as numpy on the CPU."""
        logits_out: list[np.ndarray] = []
        cams_out: list[np.ndarray] = []
        captured: list[torch.Tensor] = []
        for start in range(0, len(batch), MAX_BATCH):
            x = torch.from_numpy(batch[start : start + MAX_BATCH]).to(
                device=self.device, dtype=_DTYPES[self.precision], memory_format=torch.channels_last
            )
            captured.clear()
            with loaded.lock:
                handle = loaded.layer.register_forward_hook(
                    lambda _m, _i, out: captured.append(out)
                )
                try:
                    with torch.inference_mode():
                        logits = loaded.model(x)
                        cams = linear_head_cam(captured[-1], loaded.weight)
                finally:
                    handle.remove()
            logits_out.append(logits.float().reshape(-1).cpu().numpy())
            cams_out.append(cams.cpu().numpy())
            captured.clear()
            del x, logits, cams
        return np.concatenate(logits_out), np.concatenate(cams_out)
