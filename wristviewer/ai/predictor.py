"""The Predictor: a :class:`Study` in, per-view and per-study fracture probabilities out.

Device: :func:`wristviewer.ai.device.select_device` — ``"auto"`` picks CUDA, then Apple MPS,
then the CPU; an explicit ``"cuda"`` or ``"mps"`` on a machine without one **falls back to
the CPU with a RuntimeWarning**. :attr:`Predictor.device_name` says what actually ran.

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
no backward pass). Loaded networks are owned by a :class:`ModelCache` (one model set in
memory at a time), keyed by (weights SHA-256, device, precision).

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from wristviewer.ai.architectures import cam_layer_name, head_weight
from wristviewer.ai.bundle import ModelBundle, weights_sha256
from wristviewer.ai.card import ModelCard
from wristviewer.ai.device import device_description, select_device
from wristviewer.ai.gradcam import forward_with_cam
from wristviewer.ai.heatmap import cam_peak, cam_to_heatmap
from wristviewer.ai.recipe import Recipe, preprocess
from wristviewer.ai.results import StudyPrediction, ViewPrediction
from wristviewer.imaging.radiograph import Study

PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16")
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

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


_Key = tuple[str, str, str]


def _cache_key(bundle: ModelBundle, device: torch.device, precision: str) -> _Key:
    sha = bundle.card.weights_sha256 or weights_sha256(bundle.state_dict)
    return (sha, str(device), precision)


def _load(bundle: ModelBundle, device: torch.device, precision: str) -> _LoadedModel:
    model = bundle.build_model(share_memory=True)
    model.requires_grad_(False)
    model = model.to(device=device, dtype=_DTYPES[precision])
    model = model.to(memory_format=torch.channels_last)
    arch = bundle.card.arch
    return _LoadedModel(
        model=model,
        layer=model.get_submodule(cam_layer_name(arch)),
        weight=head_weight(model, arch).detach().float(),
        lock=threading.Lock(),
    )


class ModelCache:
    """The one owner of loaded networks, shared by every :class:`Predictor` in the process.

    Memory policy: **one model set in memory at a time**. A model set is the networks one
    Predictor runs (one bundle, or the ensemble's members) on one device at one precision;
    each DenseNet-161 / ResNet-152 is 100-230 MB in fp32. Loading another set lets go of the
    previous one (its memory is freed once no Predictor still holds it); asking again for
    the loaded set reuses it. :meth:`predictor` also keeps the Predictor of the last model
    choice, so a window runs study after study without loading again; :meth:`clear` forgets
    everything (call it when the installed bundles change).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._networks: dict[_Key, _LoadedModel] = {}
        self._chosen: tuple[tuple[str, str], Predictor] | None = None

    def networks(
        self, bundles: Sequence[ModelBundle], device: torch.device, precision: str
    ) -> list[_LoadedModel]:
        """The loaded networks of ``bundles`` (this becomes the set held in memory)."""
        keys = [_cache_key(b, device, precision) for b in bundles]
        with self._lock:
            # let go of the rest before loading, so two sets are never held here at once
            held = {k: self._networks[k] for k in keys if k in self._networks}
            self._networks = held
            if self._chosen is not None and not all(
                any(m is h for h in held.values()) for m in self._chosen[1].networks
            ):
                self._chosen = None
            for bundle, key in zip(bundles, keys, strict=True):
                if key not in held:
                    held[key] = _load(bundle, device, precision)
            return [held[k] for k in keys]

    def ready(self, spec: str, device: str = "auto") -> bool:
        """True when :meth:`predictor` would return at once (nothing to read or load)."""
        with self._lock:
            return self._chosen is not None and self._chosen[0] == (spec, device)

    def predictor(self, spec: str, device: str = "auto") -> Predictor:
        """The Predictor for a model choice (``spec`` as :func:`~wristviewer.ai.registry.resolve_models`
        takes it) on ``device``: the one made last time when both are the same, else a new
        one (resolving and loading the bundles; the previous set is let go)."""
        from wristviewer.ai.registry import resolve_models

        with self._lock:
            if self._chosen is not None and self._chosen[0] == (spec, device):
                return self._chosen[1]
            self._chosen = None
        predictor = Predictor(resolve_models(spec), device=device, cache=self)
        with self._lock:
            self._chosen = ((spec, device), predictor)
        return predictor

    def clear(self) -> None:
        """Forget every loaded network and Predictor (memory is freed once no caller holds
        them)."""
        with self._lock:
            self._networks = {}
            self._chosen = None


#: the process's model cache (the viewer's windows and the command line share it)
MODEL_CACHE = ModelCache()


def clear_model_cache() -> None:
    """Forget every cached model (frees their memory once no predictor holds them)."""
    MODEL_CACHE.clear()


def _loaded_model(bundle: ModelBundle, device: torch.device, precision: str) -> _LoadedModel:
    """One bundle's network through :data:`MODEL_CACHE` (it becomes the set in memory)."""
    return MODEL_CACHE.networks([bundle], device, precision)[0]


class Predictor:
    """Runs one model, or an ensemble, on studies. Thread-safe; the networks come from
    ``cache`` (:data:`MODEL_CACHE` by default, whose memory policy applies).

    ``device``: auto|cpu|cuda|mps; ``precision``: auto|fp32|fp16|bf16 (module docstring for
    the rules and fallbacks).
    """

    def __init__(
        self,
        bundles: Sequence[ModelBundle],
        device: str = "auto",
        precision: str = "auto",
        *,
        cache: ModelCache | None = None,
    ) -> None:
        if not bundles:
            raise ValueError("a Predictor needs at least one model bundle")
        self.bundles: list[ModelBundle] = list(bundles)
        self.device: torch.device = select_device(device)
        self.precision: str = resolve_precision(precision, self.device)
        self.precision_reason: str = precision_reason(precision, self.device, self.precision)
        self.device_name: str = device_description(self.device)
        self.networks = (cache or MODEL_CACHE).networks(self.bundles, self.device, self.precision)
        rules = {b.card.aggregation for b in self.bundles}
        self.aggregation: str = rules.pop() if len(rules) == 1 else "max"
        self.threshold: float = float(np.mean([b.card.threshold for b in self.bundles]))

    @property
    def model_names(self) -> list[str]:
        return [b.card.name for b in self.bundles]

    @property
    def cards(self) -> list[ModelCard]:
        return [b.card for b in self.bundles]

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
        stage: Callable[[str], None] | None = None,
    ) -> StudyPrediction:
        """Predict every view of ``study``; ``progress`` gets the fraction done (0..1),
        ``stage`` the name of each stage as it starts (``"preparing views"``, then
        ``"running"`` and ``"heatmaps"`` for each model),
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
        check()
        if stage is not None:
            stage("preparing views")
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
        for bundle, loaded in zip(self.bundles, self.networks, strict=True):
            check()
            if stage is not None:
                stage("running")
            t0 = time.perf_counter()
            logits, cams = self._forward(loaded, batches[bundle.card.recipe])
            finite = np.isfinite(logits) & np.isfinite(cams.reshape(len(cams), -1)).all(axis=1)
            for bad in np.flatnonzero(~finite):
                non_finite.setdefault(
                    views[bad].path,
                    f"{views[bad].path} ({views[bad].view.value}): the model {bundle.card.name!r} "
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
            if stage is not None:
                stage("heatmaps")
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
            summed = heatmap_sums[i]
            assert summed is not None
            if n_models > 1:
                summed /= np.float32(n_models)
            results.append(
                ViewPrediction(
                    path=radiograph.path,
                    view=radiograph.view,
                    fracture_probability=float(probs[i]),
                    heatmap=summed,
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
        for start in range(0, len(batch), MAX_BATCH):
            x = torch.from_numpy(batch[start : start + MAX_BATCH]).to(
                device=self.device, dtype=_DTYPES[self.precision], memory_format=torch.channels_last
            )
            with loaded.lock, torch.inference_mode():
                logits, cams = forward_with_cam(loaded.model, loaded.layer, loaded.weight, x)
            logits_out.append(logits.float().reshape(-1).cpu().numpy())
            cams_out.append(cams.cpu().numpy())
            del x, logits, cams
        return np.concatenate(logits_out), np.concatenate(cams_out)
