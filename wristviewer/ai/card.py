"""The model card: what a bundle is, how to feed it, and how to read its output.

torch-free (a contract in pyproject.toml keeps it so) and light to import (the standard
library only; the recipe loads when a card is read): the workflow and the window use
:class:`ModelCard` and :class:`OperatingPoint` by type without loading torch. The bundle file
that carries a card is :mod:`wristviewer.ai.bundle`'s business; which models exist and which
is used, :mod:`wristviewer.ai.registry`'s (the catalogue, which takes the architectures from
here: they are the words a card may use).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - the recipe loads OpenCV; types only
    from wristviewer.ai.recipe import Recipe

#: the networks this version knows (Kim et al. 2021), in the order they are offered; the
#: catalogue (:mod:`wristviewer.ai.registry`) is where the rest of the viewer asks for them
ARCHITECTURES: tuple[str, ...] = ("densenet161", "resnet152")
AGGREGATIONS: tuple[str, ...] = ("max", "mean", "noisy_or")
OPERATING_POINT_NAMES: tuple[str, ...] = ("youden", "high_sensitivity", "high_specificity")


def non_finite_numbers(value: Any, where: str = "") -> list[str]:
    """Dotted paths of the non-finite floats (NaN, ±inf) anywhere inside a JSON value
    (a card may hold none: it could never yield a verdict)."""
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            found.append(f"{at or 'value'} = {item}")
        elif isinstance(item, Mapping):
            stack.extend((v, f"{at}.{k}" if at else str(k)) for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(item))
    return sorted(found)


@dataclass
class OperatingPoint:
    """A decision threshold on the calibrated probability, with its measured performance.

    ``name``: ``"youden"``, ``"high_sensitivity"`` or ``"high_specificity"``. ``sensitivity``
    and ``specificity`` (0..1) were measured on the tuning set; ``None`` when unknown
    (untrained bundles).
    """

    name: str
    threshold: float
    sensitivity: float | None = None
    specificity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OperatingPoint:
        def opt(key: str) -> float | None:
            value = d.get(key)
            return None if value is None else float(value)

        return cls(str(d["name"]), float(d["threshold"]), opt("sensitivity"), opt("specificity"))


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class ModelCard:
    """What a bundle is, how to feed it, and how to read its output.

    Every threshold (the operating points) applies to the **calibrated probability**
    ``sigmoid(platt_slope * logit / temperature + platt_offset)``, never to the raw logit or the uncalibrated sigmoid.

    - ``name``: unique name in the registry (also the installed file name);
      ``arch``: one of :data:`ARCHITECTURES`; ``version``: free text.
    - ``recipe``: the preprocessing (:class:`~wristviewer.ai.recipe.Recipe`).
    - ``operating_points``: at least ``"youden"`` (the default operating threshold), usually
      also ``"high_sensitivity"`` and ``"high_specificity"``, each with the sensitivity and
      specificity measured on the tuning set.
    - ``temperature``: calibration temperature (> 0; 1.0 = uncalibrated).
    - ``platt_slope``, ``platt_offset``: Platt scaling fitted on the tuning set; the
      calibrated probability is ``sigmoid(platt_slope * logit / temperature + platt_offset)``
      (1 and 0 = temperature scaling alone; cards written before Platt scaling lack them).
    - ``heatmap_scale``: the CAM value (:func:`~wristviewer.ai.gradcam.linear_head_cam`) that
      maps to 1.0 on the heatmap, a fixed scale for every image (> 0).
    - ``aggregation``: per-study rule over the views' probabilities: ``"max"``, ``"mean"`` or
      ``"noisy_or"`` (1 - prod(1 - p)).
    - ``training_data``: summary of the data (source, counts, splits); free-form JSON.
    - ``metrics``: evaluation metrics with confidence intervals, free-form JSON, e.g.
      ``{"auroc": {"value": 0.96, "ci95": [0.94, 0.98]}}``.
    - ``created``: ISO 8601 timestamp; ``untrained``: True for random-weight bundles (results
      are meaningless); ``weights_sha256``: canonical weights checksum (module docstring),
      filled in by :func:`save_bundle`.
    """

    name: str
    arch: str
    version: str
    recipe: Recipe
    operating_points: list[OperatingPoint]
    temperature: float = 1.0
    heatmap_scale: float = 1.0
    aggregation: str = "max"
    training_data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=_now_iso)
    untrained: bool = False
    weights_sha256: str = ""
    platt_slope: float = 1.0
    platt_offset: float = 0.0

    @property
    def threshold(self) -> float:
        """The operating threshold: the Youden point, on the calibrated probability."""
        return self.operating_point("youden").threshold

    def operating_point(self, name: str) -> OperatingPoint:
        """The operating point called ``name``; ``KeyError`` if the card has none."""
        for point in self.operating_points:
            if point.name == name:
                return point
        raise KeyError(f"model card {self.name!r} has no {name!r} operating point")

    def problems(self) -> list[str]:
        """Sentences describing what is invalid in this card (empty when valid)."""
        out: list[str] = []
        if not self.name.strip():
            out.append("the card has an empty name")
        if self.arch not in ARCHITECTURES:
            out.append(
                f"unknown architecture {self.arch!r} (this version knows {', '.join(ARCHITECTURES)})"
            )
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            out.append(f"temperature must be a finite positive number, got {self.temperature}")
        if not (math.isfinite(self.platt_slope) and self.platt_slope > 0):
            out.append(f"platt_slope must be a finite positive number, got {self.platt_slope}")
        if not math.isfinite(self.platt_offset):
            out.append(f"platt_offset must be a finite number, got {self.platt_offset}")
        if not (math.isfinite(self.heatmap_scale) and self.heatmap_scale > 0):
            out.append(f"heatmap_scale must be a finite positive number, got {self.heatmap_scale}")
        recipe = self.recipe
        recipe_numbers = (recipe.clahe_clip_limit, *recipe.mean, *recipe.std)
        if not all(math.isfinite(v) for v in recipe_numbers):
            out.append("the preprocessing recipe has non-finite numbers")
        for where, value in (("training_data", self.training_data), ("metrics", self.metrics)):
            bad = non_finite_numbers(value, where)
            if bad:
                out.append(f"the card has non-finite numbers ({', '.join(bad[:3])})")
        if self.aggregation not in AGGREGATIONS:
            out.append(
                f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {self.aggregation!r}"
            )
        names = [p.name for p in self.operating_points]
        if "youden" not in names:
            out.append("the card has no 'youden' operating point")
        for point in self.operating_points:
            if point.name not in OPERATING_POINT_NAMES:
                out.append(f"unknown operating point {point.name!r}")
            if not 0.0 <= point.threshold <= 1.0:
                out.append(
                    f"operating point {point.name!r} has threshold {point.threshold} outside 0..1"
                )
            for key in ("sensitivity", "specificity"):
                value = getattr(point, key)
                if value is not None and not 0.0 <= value <= 1.0:
                    out.append(f"operating point {point.name!r} has {key} {value} outside 0..1")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "name": self.name,
            "arch": self.arch,
            "version": self.version,
            "recipe": self.recipe.to_dict(),
            "operating_points": [p.to_dict() for p in self.operating_points],
            "temperature": self.temperature,
            "heatmap_scale": self.heatmap_scale,
            "aggregation": self.aggregation,
            "training_data": self.training_data,
            "metrics": self.metrics,
            "created": self.created,
            "untrained": self.untrained,
            "weights_sha256": self.weights_sha256,
            "platt_slope": self.platt_slope,
            "platt_offset": self.platt_offset,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelCard:
        """Inverse of :meth:`to_dict`. Every field is required: ``KeyError`` names the missing
        ones; ``ValueError``/``TypeError`` for malformed values."""
        missing = [
            f.name for f in dataclasses.fields(cls) if f.name not in d and f.name not in _OPTIONAL
        ]
        if missing:
            raise KeyError(f"the model card lacks {', '.join(missing)}")
        from wristviewer.ai.recipe import Recipe

        return cls(
            name=str(d["name"]),
            arch=str(d["arch"]),
            version=str(d["version"]),
            recipe=Recipe.from_dict(d["recipe"]),
            operating_points=[OperatingPoint.from_dict(p) for p in d["operating_points"]],
            temperature=float(d["temperature"]),
            heatmap_scale=float(d["heatmap_scale"]),
            aggregation=str(d["aggregation"]),
            training_data=dict(d["training_data"]),
            metrics=dict(d["metrics"]),
            created=str(d["created"]),
            untrained=bool(d["untrained"]),
            weights_sha256=str(d["weights_sha256"]),
            platt_slope=float(d.get("platt_slope", 1.0)),
            platt_offset=float(d.get("platt_offset", 0.0)),
        )


#: card fields added after format 1 was first written: absent in older bundles, defaulted
_OPTIONAL = frozenset({"platt_slope", "platt_offset"})
