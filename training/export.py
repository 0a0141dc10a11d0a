"""``python -m training export``: a viewer bundle from an evaluated run, or an untrained one.

The card gets the run's recipe, the operating points chosen on the tuning set (thresholds on
the calibrated probability), the temperature, the fixed heatmap scale (99th percentile of the
CAM on the tuning set's fracture images), the test metrics with their intervals and a summary
of the data, including the split's leakage warning when patient IDs were missing.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

from training.evaluate import EVALUATION_DIR, evaluate, load_model
from training.fit import RUN_INFO, FitError


def _defined(value: Any) -> Any:
    """``value`` with every NaN or infinite number replaced by None (JSON null): a metric that
    is undefined on this test set (no positives for a PPV, a degenerate interval). A bundle
    whose card holds a non-finite number is refused by the viewer."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _defined(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_defined(v) for v in value]
    return value


def _metrics(ev: dict[str, Any]) -> dict[str, Any]:
    a = ev["test_auroc"]
    out: dict[str, Any] = {
        "auroc": {
            "value": a["auc"],
            "ci95": [a["ci_low"], a["ci_high"]],
            "method": f"DeLong, {a['ci_method']} interval",
            "set": "test",
        },
        "tuning_auroc": {"value": ev["tuning_auroc"]["auc"], "set": "tuning"},
        "ece": ev["ece_test"],
    }
    control = ev.get("control")
    if control:
        c, d = control["control_test_auroc"], control["model_minus_control"]
        out["control"] = {
            "description": "pixel-free control: logistic regression on image size, file size, "
            "view, hardware and multiscan flags, fitted on the training part",
            "auroc": {"value": c["auc"], "ci95": [c["ci_low"], c["ci_high"]], "set": "test"},
            "model_minus_control": {
                "value": d["difference"],
                "ci95": [d["ci_low"], d["ci_high"]],
                "p_value": d["p_value"],
                "test": "paired DeLong",
            },
        }
    if ev.get("pointing_game"):
        out["pointing_game"] = ev["pointing_game"]
    for name, m in ev["test_at_operating_points"].items():
        out[name] = {"set": "test"} | {
            k: {
                "value": m[k]["value"],
                "ci95": [m[k]["ci_low"], m[k]["ci_high"]],
                "n": m[k]["total"],
            }
            for k in ("sensitivity", "specificity", "ppv", "npv", "accuracy")
        }
    return _defined(out)


def default_model_name(arch: str, run: Path) -> str:
    """The bundle's name when ``--name`` is absent: the run folder's name, prefixed with the
    architecture unless the folder name already says it (``runs/densenet161`` gives
    ``densenet161``, not ``densenet161-densenet161``)."""
    folder = run.resolve().name
    return folder if arch in folder.lower() else f"{arch}-{folder}"


def export_run(
    run: str | Path,
    out: str | Path,
    *,
    name: str | None = None,
    version: str = "0.1.0",
    aggregation: str = "max",
    device: str = "auto",
    weights_dtype: str = "float16",
    allow_no_better_than_control: bool = False,
) -> Path:
    """Write the bundle of a fit run; evaluates it first when ``<run>/evaluation`` is missing.

    Refuses (:class:`FitError`) an evaluation computed from other weights, and a model whose
    test AUROC does not beat the pixel-free control (unless ``allow_no_better_than_control``).
    Floating-point weights are stored as ``weights_dtype`` (float16 halves the file; the
    viewer computes in its own precision)."""
    import torch

    from wristviewer.ai.bundle import save_bundle, weights_sha256
    from wristviewer.ai.card import ModelCard, OperatingPoint

    run = Path(run)
    ev_path = run / EVALUATION_DIR / "evaluation.json"
    ev = (
        json.loads(ev_path.read_text(encoding="utf-8"))
        if ev_path.is_file()
        else evaluate(run, device=device, progress=False)
    )
    loaded = load_model(run)
    state = loaded.model.state_dict()
    _check_evaluation(ev, weights_sha256(state), loaded.epoch, ev_path)
    if not allow_no_better_than_control:
        _check_control(ev, ev_path)
    cfg_path = run / "config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.is_file() else {}
    info_path = run / RUN_INFO
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    calibration = ev.get("calibration") or {"slope": 1.0 / ev["temperature"], "offset": 0.0}
    training_data = {
        "source": _data_names(cfg),
        "layout": cfg.get("layout"),
        "split": ev["split"],
        "training_by_region": info.get("training_by_region"),
        "tuning": ev["data"]["tuning"],
        "test": ev["data"]["test"],
        "skipped_images": info.get("skipped_images"),
        "epoch": loaded.epoch,
        "epochs_run": _epochs_run(run),
        "init": _init_name(cfg.get("init")),
        "hyperparameters": {k: v for k, v in cfg.items() if k not in _NOT_HYPERPARAMETERS},
        "code_commit": info.get("code_commit"),
        "weights_dtype": weights_dtype,
        "caveats": CAVEATS,
    }
    card = ModelCard(
        name=name or default_model_name(loaded.arch, run),
        arch=loaded.arch,
        version=version,
        recipe=loaded.recipe,
        operating_points=[
            OperatingPoint(
                p["name"], p["threshold"], _defined(p["sensitivity"]), _defined(p["specificity"])
            )
            for p in ev["operating_points"]
        ],
        temperature=1.0,
        platt_slope=float(calibration["slope"]),
        platt_offset=float(calibration["offset"]),
        heatmap_scale=float(ev["heatmap_scale"]),
        aggregation=aggregation,
        training_data=_defined(training_data),
        metrics=_metrics(ev),
        untrained=False,
    )
    dtype = {"float16": torch.float16, "float32": torch.float32}[weights_dtype]
    shipped = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
    return save_bundle(out, shipped, card)


#: what every trained card says about its data, whatever the metrics
CAVEATS = (
    "Trained and tested on FracAtlas (Abedeen et al., Sci Data 2023; CC BY 4.0): no patient "
    "IDs, so the split is by image (byte-identical files kept together) and one patient may "
    "appear on both sides; test metrics may be optimistic. The label is 'fracture anywhere "
    "in the image', not only the distal radius. Research and teaching use only: not a "
    "medical device, not for clinical diagnosis."
)

#: config keys that are places or run mechanics, not the recipe
_NOT_HYPERPARAMETERS = frozenset(
    {
        "data",
        "extra_data",
        "out",
        "split",
        "cache_dir",
        "resume",
        "progress",
        "tensorboard",
        "workers",
        "device",
        "threads",
        "max_batches",
        "init",
        "limit",
    }
)


def _data_names(cfg: dict[str, Any]) -> list[str] | None:
    names = [Path(cfg[k]).name for k in ("data", "extra_data") if cfg.get(k)]
    return names or None


def _init_name(init: str | None) -> str | None:
    """``init`` for the card: ``none``/``imagenet`` as they are; a weights file is only ever
    called ``"a weights file"`` (a local path must not travel with a bundle)."""
    if init in (None, "none", "imagenet"):
        return init
    return "a weights file"


def _epochs_run(run: Path) -> int | None:
    metrics = run / "metrics.csv"
    if not metrics.is_file():
        return None
    with metrics.open(newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def _check_evaluation(ev: dict[str, Any], sha: str, epoch: int | None, ev_path: Path) -> None:
    """Refuse an evaluation that was not computed from these weights (e.g. ``fit --resume``
    after ``evaluate``: new weights must not be paired with old thresholds)."""
    if ev.get("weights_sha256") != sha:
        raise FitError(
            f"{ev_path}: this evaluation was not computed from the weights being exported "
            f"(evaluated epoch {ev.get('epoch')}, exporting epoch {epoch}); run "
            "'python -m training evaluate' again"
        )


def _check_control(ev: dict[str, Any], ev_path: Path) -> None:
    control = ev.get("control")
    if not control:
        raise FitError(f"{ev_path}: no pixel-free control in this evaluation; evaluate again")
    if not control["model_beats_control"]:
        a = ev["test_auroc"]["auc"]
        c = control["control_test_auroc"]["auc"]
        raise FitError(
            f"{ev_path}: the model (test AUROC {a:.3f}) does not beat the pixel-free control "
            f"({c:.3f}) on the same test images, so it has not learned to read radiographs "
            "and is not exported (--allow-no-better-than-control writes it for development)"
        )


def export_from_args(args: argparse.Namespace) -> int:
    if args.random_init:
        if not args.arch:
            raise FitError("export --random-init needs --arch densenet161 or --arch resnet152")
        from wristviewer.ai.bundle import create_untrained_bundle

        path = create_untrained_bundle(args.arch, args.out, seed=args.seed, name=args.name)
    else:
        if not args.model:
            raise FitError("export needs a fit output folder (or --random-init --arch ARCH)")
        path = export_run(
            args.model,
            args.out,
            name=args.name,
            version=args.version,
            aggregation=args.aggregation,
            device=args.device,
            weights_dtype=args.weights_dtype,
            allow_no_better_than_control=args.allow_no_better_than_control,
        )
    sys.stdout.write(f"wrote {path}\n")
    return 0
