"""The two networks of Kim et al. (2021) with a single-logit fracture head.

Both are torchvision models built with ``weights=None`` (nothing is ever downloaded here;
training loads ImageNet weights itself). Each names the layer whose output Grad-CAM reads:

- DenseNet-161: torchvision applies the last ReLU as ``F.relu(features, inplace=True)``
  inside ``forward()``, so no module outputs the post-ReLU map. :class:`DenseNetFracture`
  re-expresses the same network with that ReLU as a module, ``features_relu``, keeping
  torchvision's state-dict key names (``features.*``, ``classifier.*``) so ImageNet
  weights still load (all but the replaced classifier).
- ResNet-152: the output of ``layer4`` (its last block ends in a ReLU module).

Both heads are global average pooling followed by one ``nn.Linear`` (``head_name``), which
is what makes the single-forward CAM of :mod:`wristviewer.ai.gradcam` exact.
"""

from __future__ import annotations

import functools

import torch
import torchvision
from torch import nn

from wristviewer.ai.card import ARCHITECTURES

__all__ = [
    "ARCHITECTURES",
    "DenseNetFracture",
    "UnknownArchitectureError",
    "build_model",
    "cam_layer_name",
    "expected_shapes",
    "feature_channels",
    "head_name",
    "head_weight",
]

_CAM_LAYERS = {"densenet161": "features_relu", "resnet152": "layer4"}
_HEADS = {"densenet161": "classifier", "resnet152": "fc"}
_FEATURE_CHANNELS = {"densenet161": 2208, "resnet152": 2048}


class UnknownArchitectureError(ValueError):
    """An architecture name this version does not know."""

    def __init__(self, arch: str) -> None:
        super().__init__(
            f"unknown architecture {arch!r}; this version knows {', '.join(ARCHITECTURES)}"
        )
        self.arch = arch


def _check(arch: str) -> None:
    if arch not in ARCHITECTURES:
        raise UnknownArchitectureError(arch)


class DenseNetFracture(nn.Module):
    """torchvision DenseNet with the final ReLU as a named module.

    Input (N, 3, H, W) float; output (N, num_outputs) logits. ``features_relu`` outputs
    the (N, 2208, H/32, W/32) map Grad-CAM reads.
    """

    def __init__(self, densenet: torchvision.models.DenseNet, num_outputs: int = 1) -> None:
        super().__init__()
        self.features = densenet.features
        self.features_relu = nn.ReLU(inplace=False)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(densenet.classifier.in_features, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.features_relu(self.features(x))
        return self.classifier(torch.flatten(self.pool(maps), 1))


def build_model(arch: str) -> nn.Module:
    """A freshly initialised network (random weights, nothing downloaded), in eval mode.

    Output shape (N, 1): the fracture logit. Build it under ``torch.device("meta")`` to get
    the structure without allocating weights.
    """
    _check(arch)
    if arch == "densenet161":
        model: nn.Module = DenseNetFracture(torchvision.models.densenet161(weights=None))
    else:
        resnet = torchvision.models.resnet152(weights=None)
        resnet.fc = nn.Linear(resnet.fc.in_features, 1)
        model = resnet
    return model.eval()


def cam_layer_name(arch: str) -> str:
    """Name (for ``model.get_submodule``) of the module whose output Grad-CAM reads."""
    _check(arch)
    return _CAM_LAYERS[arch]


def head_name(arch: str) -> str:
    """Name of the final ``nn.Linear`` (global-average-pool + linear head)."""
    _check(arch)
    return _HEADS[arch]


def feature_channels(arch: str) -> int:
    """Number of channels of the CAM layer's output (= the head's input features)."""
    _check(arch)
    return _FEATURE_CHANNELS[arch]


def head_weight(model: nn.Module, arch: str) -> torch.Tensor:
    """The head's weight vector, shape (channels,), for the single fracture logit."""
    linear = model.get_submodule(head_name(arch))
    if not isinstance(linear, nn.Linear) or linear.out_features != 1:
        raise TypeError(f"{arch}: expected a single-output nn.Linear head at {head_name(arch)!r}")
    return linear.weight[0]


def expected_shapes(arch: str) -> dict[str, tuple[int, ...]]:
    """Every state-dict entry of ``arch`` with its shape (computed once, without allocating)."""
    _check(arch)
    return dict(_expected_shapes(arch))


@functools.cache
def _expected_shapes(arch: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    with torch.device("meta"):
        model = build_model(arch)
    return tuple((name, tuple(t.shape)) for name, t in model.state_dict().items())
