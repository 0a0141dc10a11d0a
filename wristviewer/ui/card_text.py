"""The model card in a few lines of HTML for the AI panel: what the model is, what it was
trained on, its test figures with their intervals beside the pixel-free control."""

from __future__ import annotations

import html
from typing import Any

from wristviewer.ai.card import ModelCard
from wristviewer.ai.registry import model_label
from wristviewer.text import printable


def _value_ci(entry: Any, percent: bool = False) -> str | None:
    """``"0.812 (95% CI 0.74–0.87)"`` from a card metric ``{"value", "ci95"}`` (or a number)."""
    if isinstance(entry, int | float) and not isinstance(entry, bool):
        return f"{100 * entry:.0f}%" if percent else f"{entry:.3f}"
    if not isinstance(entry, dict):
        return None
    value = entry.get("value", entry.get("estimate"))
    ci = entry.get("ci95")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    fmt = (lambda v: f"{100 * v:.0f}%") if percent else (lambda v: f"{v:.3f}")
    if (
        isinstance(ci, list | tuple)
        and len(ci) == 2
        and all(isinstance(v, int | float) and v == v for v in ci)
    ):
        return f"{fmt(value)} (95% CI {fmt(ci[0])}–{fmt(ci[1])})"
    return fmt(value)


def _training_line(training: dict[str, Any]) -> str | None:
    regions = training.get("training_by_region")
    sources = training.get("source")
    if isinstance(regions, dict) and regions:
        total = sum(int(v.get("images", 0)) for v in regions.values() if isinstance(v, dict))
        hand = (
            regions.get("hand", {}).get("images") if isinstance(regions.get("hand"), dict) else None
        )
        names = ", ".join(map(str, sources)) if isinstance(sources, list) else str(sources or "")
        names = html.escape(printable(names, limit=120))
        extra = f" ({hand} hand/wrist)" if isinstance(hand, int) else ""
        return f"Trained on {total} radiographs{extra}{' from ' + names if names else ''}"
    parts = [
        html.escape(printable(f"{k}: {v}", limit=120))
        for k, v in training.items()
        if isinstance(v, str | int | float)
    ]
    return "Training data: " + ("; ".join(parts[:4]) if parts else "see model card")


def _control_line(metrics: dict[str, Any]) -> str | None:
    """The pixel-free control's AUROC with the paired DeLong p against the model."""
    control = metrics.get("control")
    if not isinstance(control, dict):
        return None
    c_auc = _value_ci(control.get("auroc"))
    diff = control.get("model_minus_control", {})
    p = diff.get("p_value") if isinstance(diff, dict) else None
    p_text = f", paired DeLong p = {p:.3g}" if isinstance(p, int | float) else ""
    return f"Pixel-free control (file size, shape, view flags): {c_auc}{p_text}" if c_auc else None


def _operating_point_line(card: ModelCard, metrics: dict[str, Any]) -> str | None:
    """Sensitivity and specificity at the Youden threshold: the test figures when the card
    has them, else the tuning ones, labelled so."""
    youden = None
    for op in card.operating_points:
        if op.name == "youden":
            youden = op
    if youden is None:
        return None
    at_test = metrics.get("youden") if isinstance(metrics.get("youden"), dict) else None
    if at_test:
        sens = _value_ci(at_test.get("sensitivity"), percent=True) or "n/a"
        spec = _value_ci(at_test.get("specificity"), percent=True) or "n/a"
        return (
            f"At threshold {youden.threshold:.3f} (chosen on the tuning set), test: "
            f"sensitivity {sens}, specificity {spec}"
        )
    sens = "n/a" if youden.sensitivity is None else f"{100 * youden.sensitivity:.0f}%"
    spec = "n/a" if youden.specificity is None else f"{100 * youden.specificity:.0f}%"
    return (
        f"At threshold {youden.threshold:.3f}: tuning-set sensitivity {sens}, "
        f"specificity {spec} (no test figures in the card)"
    )


def card_summary(card: ModelCard) -> str:
    """One paragraph (HTML) from a ModelCard, as the card says it: name, input size, training
    data, the **test** AUROC with its CI beside the pixel-free control, the **test**
    sensitivity and specificity at the operating threshold (tuning figures only when no test
    figures exist, and labelled so), where the heatmap points, and the data caveats. Every
    text from the card is shown clean (no control or bidi characters) and HTML-escaped."""
    name, version = html.escape(printable(card.name)), html.escape(printable(card.version))
    arch = html.escape(model_label(card.arch))
    lines = [f"<b>{name}</b> ({arch}, v{version})"]
    recipe = card.recipe
    how = "aspect kept, padded" if recipe.resize == "pad" else "stretched"
    lines.append(f"Input {recipe.input_width}×{recipe.input_height} px ({how})")
    training = card.training_data or {}
    if training:
        line = _training_line(training)
        if line:
            lines.append(line)
    metrics = card.metrics or {}
    test_split = training.get("test")
    test: dict[str, Any] = test_split if isinstance(test_split, dict) else {}
    n_test = f" on {test['images']} test images" if test.get("images") else ""
    auroc = _value_ci(metrics.get("auroc"))
    lines.append(f"Test AUROC {auroc}{n_test}" if auroc else "AUROC: not reported")
    lines.extend(
        line for line in (_control_line(metrics), _operating_point_line(card, metrics)) if line
    )
    pointing = metrics.get("pointing_game")
    if isinstance(pointing, dict) and pointing.get("n"):
        lines.append(
            f"Heatmap peak on the marked fracture: {pointing.get('hits')}/{pointing['n']} "
            "test fractures"
        )
    caveats = training.get("caveats")
    if isinstance(caveats, str) and caveats:
        lines.append(f"<i>{html.escape(printable(caveats, limit=600))}</i>")
    if card.untrained:
        lines.append(
            "<span style='color:#c62828'><b>Untrained (random weights): for testing only.</b></span>"
        )
    return "<br>".join(lines)
