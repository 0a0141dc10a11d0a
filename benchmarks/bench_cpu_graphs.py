"""Can a faster inference graph close the gap to the "predict ≥ 8× grad-cam" target on a CPU?

    .venv/bin/python benchmarks/bench_cpu_graphs.py [--json FILE] [--repeats N] [--arch A ...]

Weights: the trained bundles in resources/models (or ``--weights``) where there is one for the
architecture — quantisation error on random weights says little — else random weights (speed
does not depend on them); the JSON says which.

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
- ``eager_bf16``: the eager model in bf16 (what ``precision="auto"`` runs where the CPU has
  native bf16; measured there only, or everywhere with ``--bf16``: emulated bf16 is 6-8× slower);
- ``ort_fp32``: the same graph (logits and CAM feature map as two outputs) exported to ONNX
  and run by ONNX Runtime on the CPU, all graph optimisations on;
- ``ort_int8``: that ONNX graph statically quantised to int8 (QDQ, per-channel weights,
  activations calibrated on ``--calibration`` FracAtlas hand images preprocessed as the
  predictor does; synthetic images when ../shared is absent);
- ``autograd_cam``: this project's generic Grad-CAM (:class:`wristviewer.ai.gradcam.GradCAM`:
  forward with autograd, backward to the CAM layer only — cheaper than grad-cam's, which also
  computes every parameter's gradient).

Each variant returns the logits and the CAM layer's feature map, and is checked against eager
(largest absolute difference of the logits and of the feature map, each relative to its
largest magnitude, and the Pearson correlation of the feature maps). ``best_speedup`` is eager
over the fastest graph; ``bound_8x`` says whether ``autograd_cam / fastest`` reaches 8.

ONNX Runtime is adopted as a second runtime only if it is at least ``ADOPT_SPEEDUP`` (1.5×)
faster than the best torch path (fp32 or bf16) at the same accuracy (feature map r ≥ 0.99,
logits within 5 % of their range); ``ort_decision`` records the figures and the verdict.
Needs the ``bench`` extra (``pip install -e '.[bench]'``: onnx, onnxscript, onnxruntime);
without it the ORT columns are skipped and the JSON says so.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_inference import interleaved  # noqa: E402 - this folder is on sys.path when run

from wristviewer.ai.registry import ARCHITECTURES  # noqa: E402 - after the path above

WIDTH, HEIGHT, VIEWS = 550, 660, 3
#: a second runtime must beat the best torch path by this much to be worth shipping
ADOPT_SPEEDUP = 1.5
#: "the same accuracy": feature-map correlation and logits relative difference vs eager fp32
SAME_FEATURE_R = 0.99
SAME_LOGIT_REL = 0.05
HAND = REPO.parent / "shared" / "data" / "fracatlas-hand" / "images"


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


def _calibration_batches(n: int):  # noqa: ANN202 - numpy imported lazily
    """``n`` single-image batches preprocessed as the predictor does (CLAHE, resize, normalise)."""
    import numpy as np

    from wristviewer.ai.recipe import Recipe, preprocess
    from wristviewer.imaging import read

    paths = sorted(HAND.glob("*.jpg"))[::37][:n] if HAND.is_dir() else []
    batches = [preprocess(read(p), Recipe())[None] for p in paths]
    rng = np.random.default_rng(0)
    while len(batches) < n:  # no ../shared: synthetic stand-ins
        batches.append(rng.normal(0, 1, (1, 3, HEIGHT, WIDTH)).astype(np.float32))
    return batches


def ort_variants(eager, x, calibration: int, work: Path) -> dict[str, Any]:  # noqa: ANN001
    """ONNX Runtime fp32 and static int8 sessions of ``eager`` (returns logits and features)."""
    import numpy as np
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    fp32 = work / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            eager.float().to(memory_format=torch.contiguous_format),
            (x.contiguous()[:1],),
            str(fp32),
            input_names=["x"],
            output_names=["logits", "features"],
            dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}, "features": {0: "n"}},
            dynamo=False,
        )
    prepared = work / "model.prep.onnx"
    quant_pre_process(str(fp32), str(prepared))
    batches = _calibration_batches(calibration)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            b = next(self.it, None)
            return None if b is None else {"x": b}

    int8 = work / "model.int8.onnx"
    quantize_static(
        str(prepared),
        str(int8),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = torch.get_num_threads()
    feed = {"x": x.contiguous().numpy()}
    out: dict[str, Any] = {}
    for name, path in (("ort_fp32", fp32), ("ort_int8", int8)):
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        def call(session=session) -> tuple[Any, Any]:  # noqa: ANN001
            logits, features = session.run(None, feed)
            return torch.from_numpy(logits), torch.from_numpy(features)

        out[name] = call
    return out


def _agreement(logits, features, reference) -> dict[str, float]:  # noqa: ANN001
    import numpy as np

    scale = float(reference[0].abs().max()) or 1.0
    feature_scale = float(reference[1].abs().max()) or 1.0
    logits, features = logits.float(), features.float()
    a = features.numpy().astype(np.float64).ravel()
    b = reference[1].numpy().astype(np.float64).ravel()
    return {
        "logit_max_rel_diff": float((logits - reference[0]).abs().max()) / scale,
        "feature_max_rel_diff": float((features - reference[1]).abs().max()) / feature_scale,
        "feature_pearson": float(np.corrcoef(a, b)[0, 1]),
    }


def ort_decision(best: dict[str, float], agreement: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Adopt ONNX Runtime only if ≥ ADOPT_SPEEDUP× faster than the best torch path, same accuracy."""
    torch_paths = [n for n in ("eager", "eager_nchw", "eager_bf16") if n in best]
    best_torch = min(torch_paths, key=best.__getitem__)
    verdicts = {}
    for name in ("ort_fp32", "ort_int8"):
        if name not in best:
            continue
        a = agreement[name]
        same = a["feature_pearson"] >= SAME_FEATURE_R and a["logit_max_rel_diff"] <= SAME_LOGIT_REL
        speedup = best[best_torch] / best[name]
        verdicts[name] = {
            "speedup_over_best_torch": speedup,
            "same_accuracy": same,
            "adopt": bool(same and speedup >= ADOPT_SPEEDUP),
        }
    return {
        "best_torch_path": best_torch,
        "threshold": ADOPT_SPEEDUP,
        "runtimes": verdicts,
        "adopt": any(v["adopt"] for v in verdicts.values()),
    }


def measure(
    arch: str,
    repeats: int,
    calibration: int = 8,
    onnx: bool = True,
    bf16: bool = False,
    weights: Path | None = None,
) -> dict[str, Any]:
    import torch
    import torch.fx.experimental.optimization as fx_opt

    from wristviewer.ai.architectures import build_model, cam_layer_name
    from wristviewer.ai.gradcam import GradCAM

    torch.manual_seed(0)
    if weights is not None:  # a trained bundle: accuracy figures that mean something
        from wristviewer.ai.bundle import load_bundle

        bundle = load_bundle(weights)
        if bundle.card.arch != arch:
            raise SystemExit(f"{weights}: a {bundle.card.arch} bundle, not {arch}")
        model = bundle.build_model().requires_grad_(False)
    else:
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
    if bf16:
        eager_bf16 = copy.deepcopy(eager).to(torch.bfloat16)
        variants["eager_bf16"] = (eager_bf16, x_cl.to(torch.bfloat16))

    def run(fn, x):  # noqa: ANN001, ANN202
        def call() -> tuple[Any, Any]:
            with torch.inference_mode():
                return fn(x)

        return call

    calls = {name: run(fn, x) for name, (fn, x) in variants.items()}
    skipped = None
    if onnx:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            skipped = "onnxruntime is not installed (pip install -e '.[bench]')"
        else:
            with tempfile.TemporaryDirectory() as tmp:
                calls.update(ort_variants(copy.deepcopy(eager), x_cl, calibration, Path(tmp)))
    grad_model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    cam = GradCAM(grad_model, cam_layer_name(arch))

    def autograd_cam() -> None:
        with cam:
            cam(x_cl)

    calls["autograd_cam"] = autograd_cam

    agreement = {}
    for name, call in calls.items():
        if name != "autograd_cam":
            agreement[name] = _agreement(*call(), reference)
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
        "ort_decision": ort_decision(best, agreement) if skipped is None and onnx else None,
        "ort_skipped": skipped,
    }


def _trained_bundles(given: list[str]) -> dict[str, Path]:
    """{arch: bundle} from --weights, else the trained bundles shipped in resources/models."""
    from wristviewer.ai.bundle import BundleError, inspect_bundle

    paths = [Path(g) for g in given] or sorted(
        (REPO / "resources" / "models").glob("*.safetensors")
    )
    out: dict[str, Path] = {}
    for path in paths:
        try:
            card = inspect_bundle(path)
        except BundleError:
            continue
        if not card.untrained:
            out.setdefault(card.arch, path)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--arch", nargs="+", default=list(ARCHITECTURES))
    parser.add_argument("--calibration", type=int, default=8, help="int8 calibration images")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime columns")
    parser.add_argument("--bf16", action="store_true", help="bf16 even without native bf16")
    parser.add_argument(
        "--weights",
        action="append",
        default=[],
        metavar="BUNDLE",
        help="a trained bundle for its architecture (default: the shipped ones in "
        "resources/models; random weights for an architecture without one)",
    )
    args = parser.parse_args(argv)
    import torch

    from wristviewer.ai.cpu import cpu_info

    cpu = cpu_info()
    trained = _trained_bundles(args.weights)

    results: dict[str, Any] = {
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpu_info": cpu.to_dict(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "batch": [VIEWS, 3, HEIGHT, WIDTH],
    }
    for arch in args.arch:
        r = measure(
            arch,
            args.repeats,
            args.calibration,
            not args.no_onnx,
            args.bf16 or cpu.native_bf16,
            trained.get(arch),
        )
        r["weights"] = str(trained[arch]) if arch in trained else "random"
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
                f"features rel diff {a['feature_max_rel_diff']:.1e}, r {a['feature_pearson']:.4f}"
            )
        if r["ort_decision"]:
            d = r["ort_decision"]
            print(
                f"  ONNX Runtime adopted: {d['adopt']} (vs {d['best_torch_path']}: {d['runtimes']})"
            )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
