"""Can a faster inference graph close the gap to the "predict ≥ 8× grad-cam" target on a CPU?

    .venv/bin/python benchmarks/bench_cpu_graphs.py [--json FILE] [--repeats N] [--arch A ...]

The predictor's cost is one forward pass (benchmarks/bench_inference.py: predict ≈ 1.0×
forward); grad-cam's is a forward with autograd plus a backward. So on a given machine
``grad-cam / predict`` can only exceed ``grad-cam / forward`` if the predictor runs a faster
graph than the plain eager forward. This script measures, side by side in one process
(interleaved rounds, fastest of ``--repeats``), on a 3-view batch at 550×660, fp32, random
weights (speed does not depend on them):

- ``eager``: the predictor's model as it runs today (channels_last, ``inference_mode``);
- ``eager_nchw``: the same in the default contiguous layout;
- ``fx_fused``: conv + BatchNorm folded by ``torch.fx.experimental.optimization.fuse``;
- ``jit_frozen``: ``torch.jit.trace`` + ``torch.jit.freeze`` (constant folding, conv-BN folding);
- ``jit_optimized``: ``torch.jit.optimize_for_inference`` on top (oneDNN layouts and fusions);
- ``autograd_cam``: this project's generic Grad-CAM (:class:`wristviewer.ai.gradcam.GradCAM`:
  forward with autograd, backward to the CAM layer only — cheaper than grad-cam's, which also
  computes every parameter's gradient).

Each variant returns the logits and the CAM layer's feature map, and is checked against eager
(largest absolute difference of the logits and of the feature map, each relative to its
largest magnitude). ``best_speedup`` is eager
over the fastest graph; ``bound_8x`` says whether ``autograd_cam / fastest`` reaches 8.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_inference import interleaved  # noqa: E402 - this folder is on sys.path when run

from wristviewer.ai.registry import ARCHITECTURES  # noqa: E402 - after the path above

WIDTH, HEIGHT, VIEWS = 550, 660, 3


def _with_features(model, arch: str):  # noqa: ANN001, ANN202 - torch imported lazily
    """A module returning (logits, CAM-layer feature map) in one forward, traceable."""
    import torch
    from torch import nn

    class WithFeatures(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.m = model

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            m = self.m
            if arch == "densenet161":
                f = m.features_relu(m.features(x))
                return m.classifier(torch.flatten(m.pool(f), 1)), f
            y = m.maxpool(m.relu(m.bn1(m.conv1(x))))
            f = m.layer4(m.layer3(m.layer2(m.layer1(y))))
            return m.fc(torch.flatten(m.avgpool(f), 1)), f

    return WithFeatures().eval()


def measure(arch: str, repeats: int) -> dict[str, Any]:
    import torch
    import torch.fx.experimental.optimization as fx_opt

    from wristviewer.ai.architectures import build_model, cam_layer_name
    from wristviewer.ai.gradcam import GradCAM

    torch.manual_seed(0)
    model = build_model(arch).requires_grad_(False)
    x_cl = torch.randn(VIEWS, 3, HEIGHT, WIDTH).contiguous(memory_format=torch.channels_last)
    x_nchw = x_cl.contiguous()
    eager = _with_features(model, arch).to(memory_format=torch.channels_last)
    with torch.inference_mode():
        reference = eager(x_cl)

    eager_nchw = _with_features(copy.deepcopy(model), arch)  # default contiguous layout
    variants: dict[str, Any] = {"eager": (eager, x_cl), "eager_nchw": (eager_nchw, x_nchw)}
    fused = fx_opt.fuse(copy.deepcopy(eager)).to(memory_format=torch.channels_last)
    variants["fx_fused"] = (fused, x_cl)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frozen = torch.jit.freeze(torch.jit.trace(copy.deepcopy(eager), x_cl[:1]))
        optimized = torch.jit.optimize_for_inference(
            torch.jit.freeze(torch.jit.trace(copy.deepcopy(eager), x_cl[:1]))
        )
    variants["jit_frozen"] = (frozen, x_cl)
    variants["jit_optimized"] = (optimized, x_cl)

    def run(fn, x):  # noqa: ANN001, ANN202
        def call() -> tuple[Any, Any]:
            with torch.inference_mode():
                return fn(x)

        return call

    calls = {name: run(fn, x) for name, (fn, x) in variants.items()}
    grad_model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    cam = GradCAM(grad_model, cam_layer_name(arch))

    def autograd_cam() -> None:
        with cam:
            cam(x_cl)

    calls["autograd_cam"] = autograd_cam

    scale = float(reference[0].abs().max()) or 1.0
    feature_scale = float(reference[1].abs().max()) or 1.0
    agreement = {}
    for name, call in calls.items():
        if name == "autograd_cam":
            continue
        logits, features = call()
        agreement[name] = {
            "logit_max_rel_diff": float((logits - reference[0]).abs().max()) / scale,
            "feature_max_rel_diff": float((features - reference[1]).abs().max()) / feature_scale,
        }
    times = interleaved(calls, repeats)  # one warm-up each, then rounds side by side
    best = {name: min(ts) for name, ts in times.items()}
    graphs = [n for n in best if n != "autograd_cam"]
    fastest = min(graphs, key=best.__getitem__)
    return {
        "seconds": best,
        "all_times_s": times,
        "agreement_vs_eager": agreement,
        "fastest_graph": fastest,
        "best_speedup_over_eager": best["eager"] / best[fastest],
        "autograd_cam_over_eager": best["autograd_cam"] / best["eager"],
        "autograd_cam_over_fastest": best["autograd_cam"] / best[fastest],
        "bound_8x": best["autograd_cam"] / best[fastest] >= 8.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--arch", nargs="+", default=list(ARCHITECTURES))
    args = parser.parse_args(argv)
    import torch

    results: dict[str, Any] = {
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "batch": [VIEWS, 3, HEIGHT, WIDTH],
    }
    for arch in args.arch:
        r = measure(arch, args.repeats)
        results[arch] = r
        s = r["seconds"]
        cols = "  ".join(f"{k} {v:.2f}s" for k, v in s.items())
        print(f"{arch}: {cols}")
        print(
            f"  fastest graph {r['fastest_graph']}: {r['best_speedup_over_eager']:.2f}x eager; "
            f"autograd CAM / eager {r['autograd_cam_over_eager']:.2f}, "
            f"/ fastest {r['autograd_cam_over_fastest']:.2f}"
        )
        for name, a in r["agreement_vs_eager"].items():
            print(
                f"  {name}: logits rel diff {a['logit_max_rel_diff']:.1e}, "
                f"features rel diff {a['feature_max_rel_diff']:.1e}"
            )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
