"""The inference engine: architectures, model bundles, the registry, the preprocessing recipe,
Grad-CAM and the :class:`Predictor`. torch and torchvision live here; never Qt.

Names are exported lazily (PEP 562): ``import wristviewer.ai`` loads nothing heavy, and
``from wristviewer.ai import Predictor`` imports torch only at that moment. Import
``wristviewer.ai.card``, ``wristviewer.ai.results``, ``wristviewer.ai.registry`` (the model
catalogue; reading bundles loads torch), ``wristviewer.ai.recipe`` or ``wristviewer.ai.heatmap``
directly for the torch-free parts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "ARCHITECTURES": "registry",
    "build_model": "architectures",
    "cam_layer_name": "architectures",
    "head_name": "architectures",
    "Recipe": "recipe",
    "preprocess": "recipe",
    "BundleError": "bundle",
    "OperatingPoint": "card",
    "ModelCard": "card",
    "ModelBundle": "bundle",
    "save_bundle": "bundle",
    "load_bundle": "bundle",
    "inspect_bundle": "bundle",
    "create_untrained_bundle": "bundle",
    "weights_sha256": "bundle",
    "BundleEntry": "registry",
    "RegistryError": "registry",
    "NoModelError": "registry",
    "find_bundles": "registry",
    "resolve_models": "registry",
    "install_bundle": "registry",
    "remove_bundle": "registry",
    "GradCAM": "gradcam",
    "grad_cam": "gradcam",
    "linear_head_cam": "gradcam",
    "cam_to_heatmap": "heatmap",
    "overlay_heatmap": "heatmap",
    "Predictor": "predictor",
    "PredictionCancelled": "predictor",
    "ViewPrediction": "results",
    "StudyPrediction": "results",
    "select_device": "device",
    "DeviceUnavailable": "device",
    "ModelCache": "predictor",
    "MODEL_CACHE": "predictor",
    "forward_with_cam": "gradcam",
    "clear_model_cache": "predictor",
}

__all__ = [
    "ARCHITECTURES",
    "BundleEntry",
    "DeviceUnavailable",
    "MODEL_CACHE",
    "ModelCache",
    "BundleError",
    "GradCAM",
    "ModelBundle",
    "ModelCard",
    "NoModelError",
    "OperatingPoint",
    "PredictionCancelled",
    "Predictor",
    "Recipe",
    "RegistryError",
    "StudyPrediction",
    "ViewPrediction",
    "build_model",
    "cam_layer_name",
    "cam_to_heatmap",
    "clear_model_cache",
    "create_untrained_bundle",
    "find_bundles",
    "forward_with_cam",
    "grad_cam",
    "head_name",
    "inspect_bundle",
    "install_bundle",
    "linear_head_cam",
    "load_bundle",
    "overlay_heatmap",
    "preprocess",
    "remove_bundle",
    "resolve_models",
    "save_bundle",
    "select_device",
    "weights_sha256",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wristviewer.ai' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"wristviewer.ai.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from wristviewer.ai.architectures import build_model, cam_layer_name, head_name
    from wristviewer.ai.bundle import (
        BundleError,
        ModelBundle,
        create_untrained_bundle,
        inspect_bundle,
        load_bundle,
        save_bundle,
        weights_sha256,
    )
    from wristviewer.ai.card import ModelCard, OperatingPoint
    from wristviewer.ai.device import DeviceUnavailable, select_device
    from wristviewer.ai.gradcam import GradCAM, forward_with_cam, grad_cam, linear_head_cam
    from wristviewer.ai.heatmap import cam_to_heatmap, overlay_heatmap
    from wristviewer.ai.predictor import (
        MODEL_CACHE,
        ModelCache,
        PredictionCancelled,
        Predictor,
        clear_model_cache,
    )
    from wristviewer.ai.recipe import Recipe, preprocess
    from wristviewer.ai.registry import (
        ARCHITECTURES,
        BundleEntry,
        NoModelError,
        RegistryError,
        find_bundles,
        install_bundle,
        remove_bundle,
        resolve_models,
    )
    from wristviewer.ai.results import StudyPrediction, ViewPrediction
