"""Grad-CAM: the generic autograd form equals the exact single-forward form; hooks are tidy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from wristviewer.ai.architectures import cam_layer_name, head_weight
from wristviewer.ai.gradcam import (
    GradCAM,
    captured_outputs,
    forward_with_cam,
    grad_cam,
)
from wristviewer.ai.heatmap import HEATMAP_FLOOR, cam_to_heatmap, overlay_heatmap


def _exact_cam(model: nn.Module, arch: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    layer = model.get_submodule(cam_layer_name(arch))
    with torch.inference_mode():
        logits, cam = forward_with_cam(model, layer, head_weight(model, arch).detach(), x)
    return cam, logits


@pytest.mark.parametrize("which", ["densenet_bundle", "resnet_bundle"])
def test_generic_and_exact_grad_cam_agree(which: str, request: pytest.FixtureRequest) -> None:
    bundle = request.getfixturevalue(which)
    arch = bundle.card.arch
    model = bundle.build_model()
    x = torch.randn(2, 3, 160, 128, generator=torch.Generator().manual_seed(0))
    generic = grad_cam(model, cam_layer_name(arch), x)
    exact, _ = _exact_cam(model, arch, x)
    assert generic.shape == exact.shape == (2, 5, 4)
    assert float(exact.max()) > 0
    pearson = np.corrcoef(generic.numpy().ravel(), exact.numpy().ravel())[0, 1]
    assert pearson >= 0.999
    np.testing.assert_allclose(
        generic.numpy(), exact.numpy(), rtol=1e-3, atol=1e-6 * float(exact.max())
    )
    assert all(p.grad is None for p in model.parameters()), "Grad-CAM must not touch .grad"


def test_exact_cam_sums_to_the_logit_contribution(densenet_bundle) -> None:
    """Without the ReLU, the CAM cells add up to logit - bias (each cell's share of the logit)."""
    model = densenet_bundle.build_model()
    x = torch.randn(1, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    captured: list[torch.Tensor] = []
    handle = model.features_relu.register_forward_hook(lambda _m, _i, out: captured.append(out))
    with torch.inference_mode():
        logit = float(model(x)[0, 0])
    handle.remove()
    a = captured[0]
    w = model.classifier.weight[0].detach()
    signed = torch.einsum("nkhw,k->nhw", a, w) / (a.shape[-1] * a.shape[-2])
    assert float(signed.sum()) + float(model.classifier.bias.detach()[0]) == pytest.approx(
        logit, rel=1e-4, abs=1e-5
    )


def test_hooks_are_released_and_inplace_relus_restored(resnet_bundle) -> None:
    model = resnet_bundle.build_model()
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert relus and all(r.inplace for r in relus)
    layer = model.get_submodule("layer4")
    with GradCAM(model, "layer4") as cam:
        assert not any(r.inplace for r in relus)
        assert len(layer._forward_hooks) == 1
        cam(torch.randn(1, 3, 64, 64))
    assert all(r.inplace for r in relus)
    assert len(layer._forward_hooks) == 0
    with pytest.raises(RuntimeError, match="context manager"):
        cam(torch.randn(1, 3, 64, 64))


def test_hooks_are_released_when_the_body_raises(resnet_bundle) -> None:
    model = resnet_bundle.build_model()
    layer = model.get_submodule("layer4")
    with pytest.raises(ValueError, match="boom"), GradCAM(model, "layer4"):
        raise ValueError("boom")
    assert len(layer._forward_hooks) == 0


class _Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.unused = nn.Conv2d(4, 4, 1)
        self.head = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu(self.conv(x))
        return self.head(a.mean(dim=(2, 3)))


def test_warns_when_the_hook_never_fires() -> None:
    model = _Toy().eval()
    with pytest.warns(RuntimeWarning, match="never fired"):
        with GradCAM(model, "unused") as cam, pytest.raises(RuntimeError, match="no output"):
            cam(torch.randn(1, 1, 8, 8))


def test_inplace_relu_directly_on_the_hooked_conv_is_handled() -> None:
    """The ReLU after the hooked conv is in-place; Grad-CAM must still see the pre-ReLU map."""
    torch.manual_seed(0)
    model = _Toy().eval()
    x = torch.randn(2, 1, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generic = grad_cam(model, "conv", x)
    conv_out = model.conv(x).detach()
    w = model.head.weight[0].detach()
    # d logit / d conv_out = w / (H·W) where conv_out > 0, else 0
    mask = (conv_out > 0).float()
    alpha = (mask * w.view(1, -1, 1, 1) / 64).mean(dim=(2, 3), keepdim=True)
    expected = torch.relu((alpha * conv_out).sum(dim=1))
    np.testing.assert_allclose(generic.numpy(), expected.numpy(), rtol=1e-4, atol=1e-7)
    assert model.relu.inplace


def test_cam_to_heatmap_fixed_scale_and_geometry() -> None:
    cam = np.array([[0.0, 0.5], [1.0, 4.0]], np.float32)
    heat = cam_to_heatmap(cam, scale=2.0, input_size=(40, 48), output_size=(97, 150))
    assert heat.shape == (150, 97) and heat.dtype == np.float32
    assert 0.0 <= heat.min() and heat.max() <= 1.0
    assert heat[-1, -1] == pytest.approx(1.0)  # 4.0 / 2.0 clipped to 1
    assert heat[0, 0] == pytest.approx(0.0, abs=1e-6)
    cooler = cam_to_heatmap(cam * 0.1, scale=2.0, input_size=(40, 48), output_size=(97, 150))
    assert cooler.max() <= 0.2 + 1e-6  # not stretched back to 1 by a per-image min-max
    with pytest.raises(ValueError):
        cam_to_heatmap(cam, scale=0.0, input_size=(4, 4), output_size=(4, 4))


def test_overlay_keeps_the_image_where_the_heatmap_is_cold() -> None:
    grey = np.linspace(0, 1, 30 * 20, dtype=np.float32).reshape(30, 20)
    heat = np.zeros_like(grey)
    heat[10:20, 5:15] = 1.0
    out = overlay_heatmap(grey, heat)
    assert out.shape == (30, 20, 3) and out.dtype == np.uint8
    g8 = np.rint(grey * 255).astype(np.uint8)
    assert np.array_equal(out[0, :, 0], g8[0]) and np.array_equal(out[0, :, 2], g8[0])
    assert not np.array_equal(out[15, 10], np.repeat(g8[15, 10], 3))


def test_overlay_leaves_values_below_the_viewer_floor_undrawn() -> None:
    grey = np.full((4, 3), 0.5, dtype=np.float32)
    heat = np.array(
        [[0.0] * 3, [HEATMAP_FLOOR - 0.01] * 3, [HEATMAP_FLOOR] * 3, [1.0] * 3], np.float32
    )
    out = overlay_heatmap(grey, heat)
    g = np.full(3, 128, np.uint8)
    assert all(np.array_equal(out[r, c], g) for r in (0, 1) for c in range(3))
    assert not np.array_equal(out[2, 0], g) and not np.array_equal(out[3, 0], g)
    assert not np.array_equal(overlay_heatmap(grey, heat, floor=0.0)[1, 0], g)  # no floor: drawn


def test_captured_outputs_releases_its_hook_even_when_the_block_raises() -> None:
    layer = nn.ReLU()
    with pytest.raises(KeyError), captured_outputs(layer) as outputs:
        layer(torch.tensor([-1.0, 2.0]))
        raise KeyError("the body failed")
    assert len(outputs) == 1 and outputs[0].tolist() == [0.0, 2.0]
    assert not layer._forward_hooks, "the hook must be released"


def test_forward_with_cam_refuses_a_layer_the_pass_skips() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 2, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 1)
    )
    unused = nn.Conv2d(1, 2, 1)
    with pytest.raises(RuntimeError, match="no output"):
        forward_with_cam(model, unused, torch.ones(2), torch.ones(1, 1, 4, 4))
    assert not unused._forward_hooks
