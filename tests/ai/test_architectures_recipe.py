"""Architectures (names, heads, torchvision key compatibility) and the preprocessing recipe."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from tests.ai.helpers import make_radiograph
from wristviewer.ai.architectures import (
    ARCHITECTURES,
    UnknownArchitectureError,
    build_model,
    cam_layer_name,
    expected_shapes,
    head_name,
)
from wristviewer.ai.recipe import Recipe, enhance_and_resize, preprocess
from wristviewer.imaging.enhance import clahe


def test_importing_the_ai_package_is_lazy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, wristviewer.ai, wristviewer.ai.recipe, wristviewer.ai.heatmap\n"
        "assert 'torch' not in sys.modules, 'torch loaded eagerly'\n"
        "from wristviewer.ai import Predictor\n"
        "assert 'torch' in sys.modules and Predictor.__name__ == 'Predictor'\n"
    )
    repo = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=repo)


def test_architecture_names_and_cam_layers() -> None:
    assert ARCHITECTURES == ("densenet161", "resnet152")
    assert cam_layer_name("densenet161") == "features_relu"
    assert cam_layer_name("resnet152") == "layer4"
    assert head_name("densenet161") == "classifier"
    assert head_name("resnet152") == "fc"
    with pytest.raises(UnknownArchitectureError, match="vgg16"):
        build_model("vgg16")


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_state_dict_keys_match_torchvision(arch: str) -> None:
    """ImageNet torchvision weights load into our models: same keys, only the head differs."""
    with torch.device("meta"):
        ours = build_model(arch)
        tv = getattr(torchvision.models, arch)(weights=None)
    ours_sd, tv_sd = ours.state_dict(), tv.state_dict()
    assert set(ours_sd) == set(tv_sd)
    head = head_name(arch)
    differing = {k for k in ours_sd if ours_sd[k].shape != tv_sd[k].shape}
    assert differing == {f"{head}.weight", f"{head}.bias"}
    assert ours_sd[f"{head}.weight"].shape[0] == 1
    assert set(expected_shapes(arch)) == set(ours_sd)


def test_densenet_relu_is_a_named_module_after_the_last_norm() -> None:
    with torch.device("meta"):
        model = build_model("densenet161")
    relu = model.get_submodule("features_relu")
    assert isinstance(relu, nn.ReLU) and not relu.inplace
    assert list(model.features.named_children())[-1][0] == "norm5"


def test_single_logit_output(densenet_bundle, resnet_bundle) -> None:
    for bundle in (densenet_bundle, resnet_bundle):
        model = bundle.build_model()
        with torch.inference_mode():
            out = model(torch.zeros(2, 3, 64, 64))
        assert out.shape == (2, 1)


def test_recipe_round_trip_and_missing_fields() -> None:
    recipe = Recipe(clahe_clip_limit=3.0, clahe_tile_grid=(4, 6), input_width=120, input_height=140)
    assert Recipe.from_dict(recipe.to_dict()) == recipe
    broken = recipe.to_dict()
    del broken["std"]
    with pytest.raises(KeyError, match="std"):
        Recipe.from_dict(broken)
    with pytest.raises(ValueError):
        Recipe(input_width=0)


def test_preprocess_is_clahe_then_plain_resize_then_normalise() -> None:
    rad = make_radiograph(301, 257, seed=3)
    recipe = Recipe(input_width=96, input_height=112)
    x = preprocess(rad, recipe)
    assert x.dtype == np.float32 and x.shape == (3, 112, 96)
    expected = cv2.resize(
        clahe(rad.pixels, 2.0, (8, 8), bits=8), (96, 112), interpolation=cv2.INTER_AREA
    )
    np.testing.assert_allclose(enhance_and_resize(rad, recipe), expected, atol=1e-6)
    for c in range(3):
        np.testing.assert_allclose(x[c], (expected - recipe.mean[c]) / recipe.std[c], atol=1e-5)


def test_single_channel_recipe() -> None:
    recipe = Recipe(input_width=64, input_height=80, channels=1, mean=(0.5,), std=(0.25,))
    x = preprocess(make_radiograph(100, 90), recipe)
    assert x.shape == (1, 80, 64)
