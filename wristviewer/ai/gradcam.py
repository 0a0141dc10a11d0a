"""Grad-CAM (Selvaraju et al.), two ways.

(a) :class:`GradCAM` — the generic form for any named layer, through autograd:
    CAM = ReLU(sum_k alpha_k A_k), alpha_k = mean over positions of d score / d A_k.
(b) :func:`linear_head_cam` — the exact single-forward form for networks whose head is
    global average pooling + one linear layer (both of ours). There
    logit = b + sum_k w_k · mean_ij A_k(i, j), so d logit / d A_k(i, j) = w_k / (H·W) at every
    position, alpha_k = w_k / (H·W), and

        CAM = ReLU(sum_k w_k A_k) / (H·W)

    — identical to (a) with no backward pass. Each CAM cell is that cell's contribution to
    the logit (before the ReLU). :func:`forward_with_cam` runs it: one forward pass gives the
    logits and the CAMs; the :class:`~wristviewer.ai.predictor.Predictor`, training's
    evaluation and the untrained bundles' heatmap scale all use it. Tests prove (a) and (b)
    agree on both architectures.

CAMs are returned raw, on the feature grid (N, h, w), float32: never min-max normalised per
image. :func:`wristviewer.ai.heatmap.cam_to_heatmap` puts them on the card's fixed scale.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from types import TracebackType

import torch
from torch import nn


def linear_head_cam(activations: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Exact Grad-CAM of a GAP + linear head: ReLU(sum_k w_k A_k) / (H·W).

    ``activations``: (N, K, H, W), the CAM layer's output; ``weight``: (K,), the head's row
    for the fracture logit. Computed in float32 whatever the input precision. Returns
    (N, H, W) float32, >= 0.
    """
    if activations.ndim != 4 or weight.ndim != 1 or activations.shape[1] != weight.shape[0]:
        raise ValueError(
            f"activations (N, K, H, W) and weight (K,) do not match: "
            f"{tuple(activations.shape)} vs {tuple(weight.shape)}"
        )
    a = activations.float()
    w = weight.float().to(a.device)
    h, wd = a.shape[-2:]
    cam = torch.einsum("nkhw,k->nhw", a, w) / float(h * wd)
    return torch.relu(cam)


@contextlib.contextmanager
def captured_outputs(layer: nn.Module) -> Iterator[list[torch.Tensor]]:
    """The outputs of ``layer`` during the ``with`` block, in order (a forward hook, released
    on exit even when the block raises)."""
    outputs: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: outputs.append(out))
    try:
        yield outputs
    finally:
        handle.remove()


def forward_with_cam(
    model: nn.Module, layer: nn.Module, weight: torch.Tensor, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward pass of ``x``: (the model's output, :func:`linear_head_cam` of ``layer``'s
    output with the head row ``weight``), the CAMs (N, h, w) float32. Runs under whatever
    grad mode the caller set (the callers use ``torch.inference_mode`` or ``no_grad``)."""
    with captured_outputs(layer) as outputs:
        logits = model(x)
    if not outputs:
        raise RuntimeError("the CAM layer produced no output in the forward pass")
    return logits, linear_head_cam(outputs[-1], weight)


class GradCAM:
    """Generic Grad-CAM on the output of ``model.get_submodule(layer_name)``.

    A context manager: hooks are registered on entry and released on exit, even when the
    body raises. Inside the context, every ``nn.ReLU`` of the model runs with
    ``inplace=False`` (an in-place ReLU downstream would overwrite the hooked activation and
    break its gradient); the original flags are restored on exit. A warning is issued on
    exit when the forward hook never fired (wrong layer name or a layer the forward pass
    skips)::

        with GradCAM(model, "layer4") as cam:
            maps = cam(x)          # (N, h, w) float32 raw CAM of output column 0
    """

    def __init__(self, model: nn.Module, layer_name: str) -> None:
        self.model = model
        self.layer_name = layer_name
        self.layer = model.get_submodule(layer_name)
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._relu_flags: list[tuple[nn.ReLU, bool]] = []
        self._activation: torch.Tensor | None = None
        self._gradient: torch.Tensor | None = None
        self._fired = False

    def __enter__(self) -> GradCAM:
        for module in self.model.modules():
            if isinstance(module, nn.ReLU) and module.inplace:
                self._relu_flags.append((module, True))
                module.inplace = False
        self._handles.append(self.layer.register_forward_hook(self._on_forward))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        for module, flag in self._relu_flags:
            module.inplace = flag
        self._relu_flags.clear()
        self._activation = None
        self._gradient = None
        if exc_type is None and not self._fired:
            warnings.warn(
                f"Grad-CAM hook on layer {self.layer_name!r} never fired: the forward pass "
                "does not go through it",
                RuntimeWarning,
                stacklevel=2,
            )

    def _on_forward(self, module: nn.Module, inputs: object, output: torch.Tensor) -> None:
        self._fired = True
        self._activation = output
        if output.requires_grad:
            output.register_hook(self._on_backward)

    def _on_backward(self, grad: torch.Tensor) -> None:
        self._gradient = grad

    def __call__(self, x: torch.Tensor, target: int = 0) -> torch.Tensor:
        """Raw Grad-CAM of output column ``target`` for the batch ``x``: (N, h, w) float32.

        The model's parameters are left untouched (no ``.grad`` is accumulated).
        """
        if not self._handles:
            raise RuntimeError("use GradCAM as a context manager: with GradCAM(model, name) as cam")
        self._activation = None
        self._gradient = None
        with torch.enable_grad():
            inp = x.detach().requires_grad_(True)
            scores = self.model(inp)
            if self._activation is None:
                raise RuntimeError(
                    f"layer {self.layer_name!r} produced no output in the forward pass"
                )
            score = scores[:, target].sum()
            (grad,) = torch.autograd.grad(score, self._activation, allow_unused=True)
        if self._gradient is None:
            warnings.warn(
                f"Grad-CAM backward hook on {self.layer_name!r} never fired: the score does not "
                "depend on this layer",
                RuntimeWarning,
                stacklevel=2,
            )
            grad = torch.zeros_like(self._activation) if grad is None else grad
        else:
            grad = self._gradient
        acts = self._activation.detach().float()
        alpha = grad.detach().float().mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((alpha * acts).sum(dim=1))
        self._activation = None
        self._gradient = None
        return cam


def grad_cam(model: nn.Module, layer_name: str, x: torch.Tensor, target: int = 0) -> torch.Tensor:
    """One-shot :class:`GradCAM`: hooks on, one forward and backward, hooks off."""
    with GradCAM(model, layer_name) as cam:
        return cam(x, target)
