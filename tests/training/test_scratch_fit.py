"""The cpu-scratch training loop's parts: CPU precision, the per-cell logits and box loss, the
cosine schedule."""

from __future__ import annotations

import math

import pytest
import torch

import wristviewer.ai.cpu as cpu_module
from training.config import FitConfig
from training.fit import amp_dtype, box_loss, cell_logits, lr_lambda
from wristviewer.ai.cpu import CpuInfo


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx2"}, None),
        ({"avx2", "avx512f", "avx512_bf16"}, torch.bfloat16),
        ({"avx2", "amx_tile", "amx_bf16"}, torch.bfloat16),
        (set(), None),
    ],
)
def test_auto_precision_on_the_cpu_follows_its_flags(
    monkeypatch: pytest.MonkeyPatch, flags: set[str], expected: torch.dtype | None
) -> None:
    monkeypatch.setattr(cpu_module, "cpu_info", lambda: CpuInfo("test CPU", frozenset(flags)))
    cpu = torch.device("cpu")
    assert amp_dtype(FitConfig(amp="auto"), cpu) is expected
    assert amp_dtype(FitConfig(amp="off"), cpu) is None
    assert amp_dtype(FitConfig(amp="bf16"), cpu) is torch.bfloat16  # forced: whatever the CPU


def test_cell_logits_average_to_the_image_logit() -> None:
    from wristviewer.ai.architectures import build_model, cam_layer_name, head_name
    from wristviewer.ai.gradcam import linear_head_cam

    torch.manual_seed(0)
    model = build_model("densenet161").eval()
    head = model.get_submodule(head_name("densenet161"))
    with torch.no_grad():
        head.bias.fill_(0.3)
    captured: list[torch.Tensor] = []
    hook = model.get_submodule(cam_layer_name("densenet161")).register_forward_hook(
        lambda _m, _i, out: captured.append(out)
    )
    try:
        with torch.no_grad():
            logits = model(torch.randn(2, 3, 80, 64))
    finally:
        hook.remove()
    cells = cell_logits(captured[-1], head)
    assert cells.shape == (2, 2, 2)  # 80x64 input / 32
    torch.testing.assert_close(cells.mean(dim=(1, 2)), logits[:, 0], atol=1e-5, rtol=1e-5)
    cam = linear_head_cam(captured[-1], head.weight[0])
    torch.testing.assert_close(cam, torch.relu(cells - 0.3) / 4, atol=1e-6, rtol=1e-5)


def content_cells(content: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.adaptive_avg_pool2d(content[:, None].float(), (4, 2))[:, 0] >= 0.5


def test_box_loss_uses_boxes_of_fractures_and_the_content_of_normals() -> None:
    """Grid 4x2 cells over a 64x32 input (16x16 each).

    Image 0 fractured, one box inside cell (row 1, col 0): that cell positive, nothing else.
    Image 1 normal with a box (ignored) and content only on the top half: those 4 cells negative.
    Image 2 fractured without boxes: nothing."""
    torch.manual_seed(1)
    cells = torch.randn(3, 4, 2, requires_grad=True)
    labels = torch.tensor([1.0, 0.0, 1.0])
    boxes = torch.zeros(3, 64, 32, dtype=torch.uint8)
    boxes[0, 20:28, 3:9] = 1
    boxes[1, 40:60, 0:32] = 1
    content = torch.ones(3, 64, 32, dtype=torch.uint8)
    content[1, 32:] = 0
    content[1, 24:32, :] = 0  # cell row 1 half on the padding: still counted (>= 0.5)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    pos, neg = cells[0, 1, 0:1], cells[1, :2].reshape(-1)
    pooled = box_loss(cells, labels, boxes, content, balanced=False)
    expected = bce(torch.cat([pos, neg]), torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0]))
    torch.testing.assert_close(pooled, expected)
    # balanced (the default): the positive and the negative cells weigh half each
    loss = box_loss(cells, labels, boxes, content)
    expected = 0.5 * bce(pos, torch.ones(1)) + 0.5 * bce(neg, torch.zeros(4))
    torch.testing.assert_close(loss, expected)
    only_negatives = box_loss(cells, torch.tensor([0.0, 0.0, 0.0]), boxes, content)
    torch.testing.assert_close(only_negatives, bce(cells[content_cells(content)], torch.zeros(20)))
    loss.backward()
    assert cells.grad is not None
    assert cells.grad[2].abs().sum() == 0 and cells.grad[1, 2:].abs().sum() == 0
    assert cells.grad[0].count_nonzero() == 1
    # nothing to learn from: zero, but still part of the graph
    nothing = box_loss(cells, torch.ones(3), torch.zeros_like(boxes), content)
    assert float(nothing) == 0.0 and nothing.requires_grad


def test_cosine_schedule_warms_up_then_decays_to_zero() -> None:
    f = lr_lambda(FitConfig(schedule="cosine", warmup_steps=4), total_steps=20)
    assert [f(s) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert f(4) == pytest.approx(1.0)
    assert f(12) == pytest.approx(0.5)  # half-way through the decay
    assert f(8) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.25)))
    assert f(20) == pytest.approx(0.0, abs=1e-12) and f(30) == pytest.approx(0.0, abs=1e-12)
    decay = [f(s) for s in range(4, 21)]
    assert all(a >= b for a, b in zip(decay, decay[1:], strict=False))
    no_warmup = lr_lambda(FitConfig(schedule="cosine", warmup_steps=0), total_steps=10)
    assert no_warmup(0) == pytest.approx(1.0)
    step = lr_lambda(FitConfig(), total_steps=1000)  # the paper: per epoch, x0.1 every 10
    assert step(9) == pytest.approx(1.0) and step(10) == pytest.approx(0.1)


def test_resume_refuses_to_bend_a_cosine_schedule(tmp_path) -> None:  # noqa: ANN001
    from training.config import FitConfig
    from training.fit import FitError, _merge_resume

    out = tmp_path / "run"
    out.mkdir()
    FitConfig(out=str(out), schedule="cosine", epochs=7).save(out / "config.json")
    with pytest.raises(FitError, match="cannot change --epochs of a cosine schedule"):
        _merge_resume(FitConfig(out=str(out), epochs=9, resume=True), {"epochs", "out", "resume"})
    same = _merge_resume(
        FitConfig(out=str(out), epochs=7, resume=True), {"epochs", "out", "resume"}
    )
    assert same.epochs == 7 and same.resume
    FitConfig(out=str(out), schedule="step", epochs=7).save(out / "config.json")
    assert _merge_resume(FitConfig(out=str(out), epochs=9), {"epochs", "out"}).epochs == 9
