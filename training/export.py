"""``python -m training export``: a viewer bundle from an evaluated run, or an untrained one.

The card gets the run's recipe, the operating points chosen on the tuning set (thresholds on
the calibrated probability), the temperature, the fixed heatmap scale (99th percentile of the
CAM on the tuning set's fracture images), the test metrics with their intervals and a summary
of the data, including the split's leakage warning when patient IDs were missing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from training.evaluate import EVALUATION_DIR, evaluate, load_model
from training.fit import FitError


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
        "tuning_auroc": {"value": ev["tuning_auroc"]["auc"]},
        "ece": ev["ece_test"],
    }
    for name, m in ev["test_at_operating_points"].items():
        out[name] = {
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
) -> Path:
    """Write the bundle of a fit run; evaluates it first when ``<run>/evaluation`` is missing."""
    from wristviewer.ai.bundle import ModelCard, OperatingPoint, save_bundle

    run = Path(run)
    ev_path = run / EVALUATION_DIR / "evaluation.json"
    ev = (
        json.loads(ev_path.read_text(encoding="utf-8"))
        if ev_path.is_file()
        else evaluate(run, device=device, progress=False)
    )
    loaded = load_model(run)
    cfg_path = run / "config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.is_file() else {}
    training_data = {
        "source": Path(cfg["data"]).name if cfg.get("data") else None,
        "layout": cfg.get("layout"),
        "split": ev["split"],
        "tuning": ev["data"]["tuning"],
        "test": ev["data"]["test"],
        "epoch": loaded.epoch,
        "init": cfg.get("init"),
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
        temperature=float(ev["temperature"]),
        heatmap_scale=float(ev["heatmap_scale"]),
        aggregation=aggregation,
        training_data=_defined(training_data),
        metrics=_metrics(ev),
        untrained=False,
    )
    return save_bundle(out, loaded.model.state_dict(), card)


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
        )
    sys.stdout.write(f"wrote {path}\n")
    return 0
