"""``python -m training evaluate`` and ``compare``: test-set performance the way the paper reports it.

Evaluation of a run (or a bundle with ``--split``):

1. Logits on the tuning and test parts (the same cached preprocessing as training).
2. Platt scaling fitted on the tuning logits (slope and offset, NLL,
   :func:`training.stats.fit_platt`; the temperature alone is reported beside it); every
   probability below is the calibrated ``sigmoid(a * logit + b)``, which is what the viewer
   shows and what the model card's thresholds apply to.
3. Operating points chosen on the tuning set (Youden, sensitivity >= 0.95, specificity >=
   0.95), then applied unchanged to the test set: sensitivity, specificity, PPV, NPV and
   accuracy with Wilson 95% intervals, confusion matrices.
4. Test AUROC with DeLong's 95% interval (logit by default), ROC curve, reliability diagram
   and ECE before and after calibration.
5. ``heatmap_scale``: the 99th percentile of the raw CAM values
   (:func:`wristviewer.ai.gradcam.linear_head_cam`, every cell of every map) over the tuning
   set's fracture images, so that a typical strong activation on a true fracture shows as
   the top of the colour scale, the same fixed scale for every image.
6. A gallery of the most confident false negatives and false positives at the Youden point,
   with Grad-CAM overlays on that fixed scale.
7. The pixel-free control (:mod:`training.control`) on the same test images, with the paired
   DeLong test; the pointing game on the test fractures; the SHA-256 and epoch of the
   evaluated weights (``export`` refuses an evaluation of other weights).

Outputs (``<run>/evaluation`` by default): ``evaluation.json``, ``predictions.csv``,
``report.md``, ``roc.png``, ``reliability.png``, ``confusion.png``, ``gallery/*.png``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training import figures
from training import stats as st
from training.control import compare_with_control
from training.data import PreprocessCache, RadiographDataset, Record, summarize, warm_cache
from training.fit import (
    BEST,
    FitError,
    Progress,
    _write_skipped,
    load_weights_file,
    predict_logits,
    training_device,
)
from training.splits import Split, load_split

EVALUATION_DIR = "evaluation"


@dataclass
class LoadedModel:
    """A network ready to score, with where it came from."""

    model: torch.nn.Module
    arch: str
    recipe: Any  # wristviewer.ai.recipe.Recipe
    source: Path
    run_dir: Path | None
    epoch: int | None


def load_model(path: str | Path) -> LoadedModel:
    """A fit output folder, its ``best.pt`` / ``checkpoint.pt``, or a ``.safetensors`` bundle."""
    from wristviewer.ai.architectures import build_model
    from wristviewer.ai.recipe import Recipe
    from wristviewer.ai.registry import BUNDLE_SUFFIX

    p = Path(path)
    if p.is_dir():
        p = p / BEST
    if not p.is_file():
        raise FitError(
            f"{p}: no such model file (expected a fit output folder, best.pt or a bundle)"
        )
    if p.suffix == BUNDLE_SUFFIX:
        from wristviewer.ai.bundle import load_bundle

        bundle = load_bundle(p)
        return LoadedModel(
            bundle.build_model(), bundle.card.arch, bundle.card.recipe, p, None, None
        )
    obj = torch.load(p, map_location="cpu", weights_only=True)
    run_dir = p.parent
    cfg_path = run_dir / "config.json"
    arch = obj.get("arch") if isinstance(obj, dict) else None
    recipe_d = obj.get("recipe") if isinstance(obj, dict) else None
    if (arch is None or recipe_d is None) and cfg_path.is_file():
        from training.config import FitConfig

        cfg = FitConfig.from_dict(json.loads(cfg_path.read_text(encoding="utf-8")))
        arch, recipe_d = arch or cfg.arch, recipe_d or cfg.recipe_dict()
    if arch is None or recipe_d is None:
        raise FitError(f"{p}: cannot tell the architecture and recipe (no config.json beside it)")
    model = build_model(arch)
    model.load_state_dict(load_weights_file(p))
    return LoadedModel(model.eval(), arch, Recipe.from_dict(recipe_d), p, run_dir, obj.get("epoch"))


def _cache_for(loaded: LoadedModel, cache_dir: str | None) -> PreprocessCache:
    if cache_dir:
        root = Path(cache_dir)
    elif loaded.run_dir is not None:
        cfg_path = loaded.run_dir / "config.json"
        saved = (
            json.loads(cfg_path.read_text(encoding="utf-8")).get("cache_dir")
            if cfg_path.is_file()
            else None
        )
        root = Path(saved) if saved else loaded.run_dir.resolve().parent / "cache"
    else:
        root = loaded.source.resolve().parent / "cache"
    return PreprocessCache(root, loaded.recipe)


@torch.no_grad()
def raw_cams(
    loaded: LoadedModel, dataset: RadiographDataset, device: torch.device, batch_size: int = 8
) -> np.ndarray:
    """Raw CAMs (N, h, w) float32 of the fracture logit (exact Grad-CAM of the GAP+linear head)."""
    from wristviewer.ai.architectures import cam_layer_name, head_weight
    from wristviewer.ai.gradcam import forward_with_cam

    model = loaded.model.to(device).eval()
    layer = model.get_submodule(cam_layer_name(loaded.arch))
    weight = head_weight(model, loaded.arch)
    maps: list[np.ndarray] = []
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    for images, _ in loader:
        _, cams = forward_with_cam(model, layer, weight, images.to(device))
        maps.append(cams.cpu().numpy())
    return np.concatenate(maps) if maps else np.zeros((0, 1, 1), np.float32)


#: the pointing game's tolerance: each fracture box is grown by this fraction of the image's
#: short side on every side before the heatmap's peak is tested against it
POINTING_MARGIN = 0.10


def pointing_game(
    loaded: LoadedModel, records: Sequence[Record], cams: np.ndarray
) -> dict[str, Any]:
    """Share of fractured images whose heatmap peak (:func:`wristviewer.ai.heatmap.cam_peak`,
    in the radiograph's pixels) falls inside one of its fracture boxes grown by
    :data:`POINTING_MARGIN` of the short side. Wilson 95% interval."""
    from training.data import parse_boxes
    from wristviewer.ai.heatmap import cam_peak
    from wristviewer.imaging import read

    hits = 0
    for record, cam in zip(records, cams, strict=True):
        radiograph = read(record.path)
        cols, rows = radiograph.cols, radiograph.rows
        box = loaded.recipe.content_box(cols, rows)
        x, y = cam_peak(cam, loaded.recipe.input_size, (cols, rows), box)
        margin = POINTING_MARGIN * min(cols, rows)
        for cx, cy, bw, bh in parse_boxes(record.boxes, str(record.path)):
            left, right = (cx - bw / 2) * cols - margin, (cx + bw / 2) * cols + margin
            top, bottom = (cy - bh / 2) * rows - margin, (cy + bh / 2) * rows + margin
            if left <= x <= right and top <= y <= bottom:
                hits += 1
                break
    n = len(records)
    low, high = st.wilson_ci(hits, n) if n else (float("nan"), float("nan"))
    return {
        "hits": hits,
        "n": n,
        "hit_rate": hits / n if n else None,
        "ci95": [low, high] if n else None,
        "margin_of_short_side": POINTING_MARGIN,
    }


def heatmap_scale_from(cams: np.ndarray, percentile: float = 99.0) -> float:
    """The ``percentile`` of all CAM cells; falls back to the largest cell, then 1.0."""
    if cams.size == 0:
        return 1.0
    v = float(np.percentile(cams, percentile))
    if not v > 0:
        v = float(cams.max())
    return v if v > 0 and math.isfinite(v) else 1.0


def _clamp01(t: float) -> float:
    return float(min(max(t, 0.0), 1.0))


def _fmt_prop(p: st.Proportion) -> str:
    if p.total == 0:
        return "n/a"
    return f"{100 * p.value:.1f}% ({100 * p.ci_low:.1f}-{100 * p.ci_high:.1f}; {p.successes}/{p.total})"


def _gallery(
    loaded: LoadedModel,
    cases: list[tuple[str, Record, float]],
    cams: np.ndarray,
    scale: float,
    folder: Path,
    display_height: int = 400,
) -> list[tuple[str, Path]]:
    """Overlay PNGs, ``display_height`` pixels tall: the CLAHE'd radiograph (the recipe's
    CLAHE, resized for display) with the heatmap on the fixed scale."""
    import dataclasses

    from wristviewer.ai.heatmap import cam_to_heatmap, overlay_heatmap
    from wristviewer.ai.recipe import enhance_and_resize
    from wristviewer.imaging import read

    out = []
    for (kind, rec, prob), cam in zip(cases, cams, strict=True):
        radiograph = read(rec.path)
        width = max(32, round(display_height * radiograph.cols / radiograph.rows))
        shown = dataclasses.replace(loaded.recipe, input_width=width, input_height=display_height)
        grey = enhance_and_resize(radiograph, shown)
        heat = cam_to_heatmap(cam, scale, loaded.recipe.input_size, shown.input_size)
        img = figures.caption(overlay_heatmap(grey, heat), f"{kind} p={prob:.3f} {rec.path.name}")
        path = figures.save_png(img, folder / f"{kind}_{len(out):02d}_{rec.path.stem}.png")
        out.append((kind, path))
    return out


def evaluate(
    model_path: str | Path,
    split: Split | None = None,
    out: str | Path | None = None,
    *,
    device: str = "auto",
    batch_size: int = 8,
    workers: int = 0,
    cache_dir: str | None = None,
    min_sensitivity: float = 0.95,
    min_specificity: float = 0.95,
    n_bins: int = 10,
    gallery: int = 6,
    ci_method: str = "logit",
    heatmap_percentile: float = 99.0,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate a model on a split's test part; writes the report and returns evaluation.json's content."""
    loaded = load_model(model_path)
    if split is None:
        if loaded.run_dir is None or not (loaded.run_dir / "split" / "split.csv").is_file():
            raise FitError(f"{loaded.source}: pass --split (a bundle carries no split)")
        split = load_split(loaded.run_dir / "split")
    out_dir = Path(out) if out else (loaded.run_dir or loaded.source.parent) / EVALUATION_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    if not split.test:
        raise FitError(f"{out_dir}: the split has no test images")
    dev = training_device(device)
    cache = _cache_for(loaded, cache_dir)
    tuning, skipped_t = warm_cache(split.tuning, cache, workers)
    bar = Progress("preprocess test", len(split.test), progress)
    test, skipped_s = warm_cache(split.test, cache, workers, lambda done, _total: bar.update(done))
    _write_skipped(skipped_t + skipped_s, out_dir / "skipped.csv")
    for name, recs in (("tuning", tuning), ("test", test)):
        y = np.array([r.label for r in recs])
        if y.size == 0 or y.min() == y.max():
            raise FitError(
                f"{out_dir}: the {name} part needs images of both classes, it has {int(y.sum())} fracture and {int(y.size - y.sum())} normal"
            )
    model = loaded.model.to(dev)
    tds, sds = RadiographDataset(tuning, cache), RadiographDataset(test, cache)
    t_logit = predict_logits(
        model, tds, dev, batch_size, workers, progress=Progress("tuning", len(tds), progress)
    )
    s_logit = predict_logits(
        model, sds, dev, batch_size, workers, progress=Progress("test", len(sds), progress)
    )
    t_y, s_y = tds.labels, sds.labels

    temperature = st.fit_temperature(t_y, t_logit)
    try:
        platt_slope, platt_offset = st.fit_platt(t_y, t_logit)
        calibration = "platt"
    except ValueError:  # the tuning logits rank backwards: keep the temperature alone
        platt_slope, platt_offset = 1.0 / temperature, 0.0
        calibration = "temperature"
    t_p = st.sigmoid(platt_slope * t_logit + platt_offset)
    s_p = st.sigmoid(platt_slope * s_logit + platt_offset)
    s_p_raw = st.sigmoid(s_logit)
    points = st.operating_points(t_y, t_p, min_sensitivity, min_specificity)
    points = [
        st.OperatingPoint(p.name, _clamp01(p.threshold), p.sensitivity, p.specificity)
        for p in points
    ]
    test_at = {p.name: st.binary_metrics(s_y, s_p, p.threshold) for p in points}
    auc = st.auroc_ci(s_y, s_logit, method=ci_method)
    tuning_auc = st.auroc_ci(t_y, t_logit, method=ci_method)
    curve = st.roc_curve(s_y, s_logit)
    bins = st.reliability_bins(s_y, s_p, n_bins)

    pos_idx = [i for i, r in enumerate(tuning) if r.label == 1]
    cams_pos = raw_cams(
        loaded, RadiographDataset([tuning[i] for i in pos_idx], cache), dev, batch_size
    )
    scale = heatmap_scale_from(cams_pos, heatmap_percentile)
    # on the tuning fractures too: the figure a recipe choice (e.g. the box loss) is judged by
    tuning_boxed = [k for k, i in enumerate(pos_idx) if tuning[i].boxes]
    tuning_pointing = pointing_game(
        loaded, [tuning[pos_idx[k]] for k in tuning_boxed], [cams_pos[k] for k in tuning_boxed]
    )
    boxed = [r for r in test if r.label == 1 and r.boxes]
    pointing = pointing_game(
        loaded, boxed, raw_cams(loaded, RadiographDataset(boxed, cache), dev, batch_size)
    )
    control = compare_with_control(split.train, test, s_logit, ci_method)

    youden = test_at["youden"].threshold
    fn = sorted(
        (i for i in range(len(test)) if s_y[i] == 1 and s_p[i] < youden), key=lambda i: s_p[i]
    )[:gallery]
    fp = sorted(
        (i for i in range(len(test)) if s_y[i] == 0 and s_p[i] >= youden), key=lambda i: -s_p[i]
    )[:gallery]
    cases = [("FN", test[i], float(s_p[i])) for i in fn] + [
        ("FP", test[i], float(s_p[i])) for i in fp
    ]
    gallery_files: list[tuple[str, Path]] = []
    for stale in (out_dir / "gallery").glob("F[NP]_*.png"):  # from an earlier evaluation
        stale.unlink()
    if cases:
        case_cams = raw_cams(
            loaded, RadiographDataset([c[1] for c in cases], cache), dev, batch_size
        )
        gallery_files = _gallery(loaded, cases, case_cams, scale, out_dir / "gallery")

    with (out_dir / "predictions.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["split", "path", "label", "logit", "probability", "control_logit"])
        for name, recs, lg, pr, cl in (
            ("tuning", tuning, t_logit, t_p, [None] * len(tuning)),
            ("test", test, s_logit, s_p, control.pop("scores")),
        ):
            for r, lo, p, c in zip(recs, lg, pr, cl, strict=True):
                w.writerow(
                    [
                        name,
                        str(r.path),
                        r.label,
                        repr(float(lo)),
                        repr(float(p)),
                        "" if c is None else repr(float(c)),
                    ]
                )

    y_point = [
        (p.name, 1 - test_at[p.name].specificity.value, test_at[p.name].sensitivity.value)
        for p in points
    ]
    figures.save_png(
        figures.roc_figure(
            [(f"{loaded.arch} AUROC {auc.auc:.3f}", curve.fpr, curve.tpr)],
            y_point,
            "ROC curve, test set",
        ),
        out_dir / "roc.png",
    )
    figures.save_png(
        figures.reliability_figure(bins, f"Reliability, test set (T = {temperature:.2f})"),
        out_dir / "reliability.png",
    )
    c = test_at["youden"].confusion
    figures.save_png(
        figures.confusion_figure(
            c.tp, c.fp, c.tn, c.fn, "Confusion matrix, test set, Youden point"
        ),
        out_dir / "confusion.png",
    )

    from wristviewer.ai.bundle import weights_sha256

    result: dict[str, Any] = {
        "model": str(loaded.source),
        "arch": loaded.arch,
        "epoch": loaded.epoch,
        # export refuses an evaluation that was not computed from the weights it exports
        "weights_sha256": weights_sha256(loaded.model.state_dict()),
        "recipe": loaded.recipe.to_dict(),
        "test_auroc": auc.to_dict(),
        "tuning_auroc": tuning_auc.to_dict(),
        "temperature": temperature,
        "temperature_at_bound": not 0.051 < temperature < 19.9,
        "calibration": {"method": calibration, "slope": platt_slope, "offset": platt_offset},
        "control": control,
        "pointing_game": pointing,
        "tuning_pointing_game": tuning_pointing,
        "nll_test": {
            "uncalibrated": st.binary_nll(s_y, s_logit),
            "temperature": st.binary_nll(s_y, s_logit, temperature),
            "calibrated": st.binary_nll(s_y, platt_slope * s_logit + platt_offset),
        },
        "ece_test": {
            "uncalibrated": st.expected_calibration_error(s_y, s_p_raw, n_bins),
            "calibrated": st.expected_calibration_error(s_y, s_p, n_bins),
        },
        "reliability_bins": [b.to_dict() for b in bins],
        "operating_points": [p.to_dict() for p in points],
        "test_at_operating_points": {k: v.to_dict() for k, v in test_at.items()},
        "heatmap_scale": scale,
        "heatmap_percentile": heatmap_percentile,
        "data": {
            "tuning": summarize(tuning),
            "test": summarize(test),
            "skipped": len(skipped_t) + len(skipped_s),
        },
        "split": {
            "method": split.method,
            "seed": split.seed,
            "params": split.params,
            "warnings": split.warnings,
            "may_leak": split.may_leak,
        },
        "gallery": [str(p.relative_to(out_dir)) for _, p in gallery_files],
    }
    (out_dir / "evaluation.json").write_text(
        json.dumps(result, indent=2, default=float), encoding="utf-8"
    )
    (out_dir / "report.md").write_text(_report(result, test_at, points), encoding="utf-8")
    return result


def _report(
    r: dict[str, Any], test_at: dict[str, st.BinaryMetrics], points: list[st.OperatingPoint]
) -> str:
    a = r["test_auroc"]
    lines = [
        f"# Evaluation: {r['arch']}",
        "",
        f"Model: `{r['model']}`" + (f" (epoch {r['epoch']})" if r["epoch"] else ""),
        "",
    ]
    for w in r["split"]["warnings"]:
        lines += [f"> **Warning:** {w}", ""]
    d = r["data"]
    lines += [
        f"Test set: {d['test']['images']} images ({d['test']['fracture']} fracture, {d['test']['no_fracture']} without); "
        f"tuning set: {d['tuning']['images']} images; unreadable images skipped: {d['skipped']}.",
        "",
        "## Discrimination",
        "",
        f"- Test AUROC **{a['auc']:.3f}** (95% CI {a['ci_low']:.3f}-{a['ci_high']:.3f}, DeLong, {a['ci_method']} interval)",
        f"- Tuning AUROC {r['tuning_auroc']['auc']:.3f} (the tuning set chose the epoch, "
        "thresholds and calibration: optimistic)",
        *_control_lines(r),
        "",
        "![ROC curve](roc.png)",
        "",
        "## Operating points (chosen on the tuning set, applied to the test set)",
        "",
        "Thresholds are on the calibrated probability (the calibration below). Values: percent (95% Wilson CI; count).",
        "",
        "| point | threshold | tuning sens / spec | test sensitivity | test specificity | PPV | NPV | accuracy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        m = test_at[p.name]
        lines.append(
            f"| {p.name} | {p.threshold:.4f} | {100 * p.sensitivity:.1f}% / {100 * p.specificity:.1f}% | {_fmt_prop(m.sensitivity)} | "
            f"{_fmt_prop(m.specificity)} | {_fmt_prop(m.ppv)} | {_fmt_prop(m.npv)} | {_fmt_prop(m.accuracy)} |"
        )
    c = test_at["youden"].confusion
    lines += [
        "",
        f"Confusion matrix at the Youden point: TP {c.tp}, FN {c.fn}, FP {c.fp}, TN {c.tn}.",
        "",
        "![Confusion matrix](confusion.png)",
        "",
        "## Calibration",
        "",
        f"- Calibration fitted on the tuning set: {r['calibration']['method']}, "
        f"sigmoid({r['calibration']['slope']:.3f} × logit + {r['calibration']['offset']:.3f})",
        f"- Temperature alone (for comparison): T = {r['temperature']:.3f}"
        + (
            " (at the search bound: the tuning logits carry little information, e.g. an untrained model)"
            if r["temperature_at_bound"]
            else ""
        ),
        f"- Test ECE ({len(r['reliability_bins'])} equal-width bins): {r['ece_test']['uncalibrated']:.3f} before, {r['ece_test']['calibrated']:.3f} after calibration",
        f"- Test NLL: {r['nll_test']['uncalibrated']:.4f} before, {r['nll_test']['calibrated']:.4f} after",
        "",
        "![Reliability diagram](reliability.png)",
        "",
        "## Heatmaps",
        "",
        f"Fixed heatmap scale: CAM value {r['heatmap_scale']:.4g} = 1.0 (the {r['heatmap_percentile']:g}th percentile of CAM cells on the tuning set's fracture images).",
        "",
        *_pointing_lines(r),
    ]
    if r["gallery"]:
        lines += [
            "Most confident errors at the Youden point (FN = missed fracture, FP = false alarm):",
            "",
        ]
        lines += [f"![{Path(g).stem}]({g})" for g in r["gallery"]]
    else:
        lines.append("No false negatives or false positives at the Youden point.")
    return "\n".join(lines) + "\n"


def _control_lines(r: dict[str, Any]) -> list[str]:
    control = r.get("control")
    if not control:
        return []
    c, d = control["control_test_auroc"], control["model_minus_control"]
    verdict = "beats" if control["model_beats_control"] else "does **not** beat"
    return [
        f"- Pixel-free control (logistic regression on image size, file size, view, hardware and "
        f"multiscan flags; fitted on {control['control']['n_train']} training images): test AUROC "
        f"{c['auc']:.3f} (95% CI {c['ci_low']:.3f}-{c['ci_high']:.3f})",
        f"- Model − control: {d['difference']:+.3f} (95% CI {d['ci_low']:+.3f} to {d['ci_high']:+.3f}), "
        f"paired DeLong z = {d['z']:.2f}, p = {d['p_value']:.4g}: the model {verdict} the control",
    ]


def _pointing_lines(r: dict[str, Any]) -> list[str]:
    pg = r.get("pointing_game")
    if not pg or not pg["n"]:
        return []
    low, high = pg["ci95"]
    return [
        f"Pointing game: the heatmap's peak lies inside the fracture box (grown by "
        f"{100 * pg['margin_of_short_side']:.0f}% of the short side) in {pg['hits']} of {pg['n']} "
        f"test fractures ({100 * pg['hit_rate']:.1f}%, 95% CI {100 * low:.1f}-{100 * high:.1f}).",
        "",
    ]


def evaluate_from_args(args: argparse.Namespace) -> int:
    split = load_split(args.split) if args.split else None
    r = evaluate(
        args.model,
        split,
        args.out,
        device=args.device,
        batch_size=args.batch_size,
        workers=args.workers,
        cache_dir=args.cache_dir,
        min_sensitivity=args.min_sensitivity,
        min_specificity=args.min_specificity,
        n_bins=args.bins,
        gallery=args.gallery,
        ci_method=args.ci,
        heatmap_percentile=args.heatmap_percentile,
        progress=args.progress,
    )
    a = r["test_auroc"]
    c = r["control"]["control_test_auroc"]
    d = r["control"]["model_minus_control"]
    sys.stdout.write(
        f"test AUROC {a['auc']:.4f} (95% CI {a['ci_low']:.4f}-{a['ci_high']:.4f}); "
        f"pixel-free control {c['auc']:.4f} (95% CI {c['ci_low']:.4f}-{c['ci_high']:.4f}), "
        f"paired DeLong p {d['p_value']:.4g}; calibration {r['calibration']['method']}\n"
    )
    return 0


# --------------------------------------------------------------------------- compare


def _read_predictions(path: Path) -> dict[str, tuple[int, float]]:
    p = path / "predictions.csv" if path.is_dir() else path
    if p.is_dir() or not p.is_file():
        p = path / EVALUATION_DIR / "predictions.csv"
    if not p.is_file():
        raise FitError(f"{path}: no predictions.csv (run evaluate first)")
    with p.open(newline="", encoding="utf-8") as fh:
        return {
            row["path"]: (int(row["label"]), float(row["logit"]))
            for row in csv.DictReader(fh)
            if row["split"] == "test"
        }


def compare(a: str | Path, b: str | Path, out: str | Path | None = None) -> st.DelongTest:
    """DeLong's test of two evaluations on the same test images (matched by path)."""
    pa, pb = _read_predictions(Path(a)), _read_predictions(Path(b))
    common = sorted(set(pa) & set(pb))
    if len(common) != len(pa) or len(common) != len(pb):
        raise FitError(
            f"{a} and {b} were evaluated on different test sets ({len(pa)} and {len(pb)} images, {len(common)} shared)"
        )
    y = np.array([pa[k][0] for k in common])
    if any(pa[k][0] != pb[k][0] for k in common):
        raise FitError(f"{a} and {b} disagree on the labels of the test images")
    t = st.delong_test(y, [pa[k][1] for k in common], [pb[k][1] for k in common])
    if out:
        o = Path(out)
        o.mkdir(parents=True, exist_ok=True)
        (o / "comparison.json").write_text(
            json.dumps({"a": str(a), "b": str(b), "n": len(common), **t.to_dict()}, indent=2),
            encoding="utf-8",
        )
        (o / "comparison.md").write_text(
            f"# DeLong's test\n\nA: `{a}`\n\nB: `{b}`\n\n{len(common)} test images.\n\n"
            f"AUROC A {t.auc_a:.4f}, B {t.auc_b:.4f}; difference {t.difference:.4f} "
            f"(95% CI {t.ci_low:.4f} to {t.ci_high:.4f}); z = {t.z:.3f}, two-sided p = {t.p_value:.4g}.\n",
            encoding="utf-8",
        )
    return t


def compare_from_args(args: argparse.Namespace) -> int:
    t = compare(args.a, args.b, args.out)
    sys.stdout.write(
        f"AUROC A {t.auc_a:.4f}, B {t.auc_b:.4f}, difference {t.difference:.4f} "
        f"(95% CI {t.ci_low:.4f} to {t.ci_high:.4f}), z {t.z:.3f}, p {t.p_value:.4g}\n"
    )
    return 0
