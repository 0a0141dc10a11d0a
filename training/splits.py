"""Train / tuning / test splits that keep each patient on one side.

- Grouping: records with a ``patient_id`` are grouped by patient; records without one are
  grouped by ``study_id`` when they have it (images of one examination stay together), else
  each image is its own group. Without patient IDs a patient can still appear on two sides:
  the split then carries a warning (written into the split files and shown in reports). This
  is the case for FracAtlas.
- ``split_by_patient``: seeded, stratified by label (a group is "fracture" when any of its
  images is), test and tuning fractions counted in images.
- ``split_by_date``: the paper's time-based split: test = examinations on or after a cut-off
  date, training before it; a patient with images on both sides goes wholly to the test side
  so the training part stays strictly before the cut-off; then a tuning part is drawn by
  patient from the training part.
- ``Split.save(folder)`` writes ``split.csv`` (manifest columns + ``split``) and
  ``split.json`` (method, seed, parameters, counts, warnings); ``load_split`` reads them back.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.data import MANIFEST_COLUMNS, DataError, Record, read_manifest, summarize

SPLIT_NAMES = ("train", "tuning", "test")

LEAK_WARNING = (
    "{n} of {total} images have no patient ID: they were grouped by study or image, so one "
    "patient may appear in more than one split and the test metrics may be optimistic."
)


def group_key(r: Record) -> str:
    """The unit a split never divides: patient, else study, else the image itself."""
    if r.patient_id is not None:
        return f"patient:{r.patient_id}"
    if r.study_id is not None:
        return f"study:{r.study_id}"
    return f"image:{r.path}"


@dataclass
class Split:
    """Records assigned to train, tuning and test, with how they were drawn."""

    train: list[Record]
    tuning: list[Record]
    test: list[Record]
    method: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def parts(self) -> dict[str, list[Record]]:
        return {"train": self.train, "tuning": self.tuning, "test": self.test}

    @property
    def may_leak(self) -> bool:
        """True when some records had no patient ID (a patient may sit on two sides)."""
        return any(r.patient_id is None for part in self.parts().values() for r in part)

    def summary(self) -> dict[str, Any]:
        return {
            name: summarize(recs) if recs else {"images": 0} for name, recs in self.parts().items()
        }

    def overlapping_groups(self) -> set[str]:
        """Group keys present in more than one part (empty for a valid split)."""
        seen: dict[str, str] = {}
        clash = set()
        for name, recs in self.parts().items():
            for r in recs:
                k = group_key(r)
                if seen.setdefault(k, name) != name:
                    clash.add(k)
        return clash

    def save(self, folder: str | Path) -> Path:
        """Write ``split.csv`` and ``split.json`` into ``folder`` (atomic); returns the CSV path."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        csv_path = folder / "split.csv"
        base = folder.resolve()
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".csv.tmp")
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=(*MANIFEST_COLUMNS, "split"))
            w.writeheader()
            for name, recs in self.parts().items():
                for r in recs:
                    w.writerow({**r.to_row(base), "split": name})
        os.replace(tmp, csv_path)
        meta = {
            "method": self.method,
            "seed": self.seed,
            "params": self.params,
            "warnings": self.warnings,
            "may_leak": self.may_leak,
            "counts": self.summary(),
        }
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".json.tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=2)
        os.replace(tmp, folder / "split.json")
        return csv_path


def load_split(path: str | Path) -> Split:
    """Read a split written by :meth:`Split.save` (the folder or its ``split.csv``)."""
    path = Path(path)
    csv_path = path / "split.csv" if path.is_dir() else path
    records = read_manifest(csv_path)
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        names = [row.get("split", "") for row in csv.DictReader(fh)]
    parts: dict[str, list[Record]] = {n: [] for n in SPLIT_NAMES}
    for i, (r, n) in enumerate(zip(records, names, strict=True), start=2):
        if n not in parts:
            raise DataError(
                f"{csv_path}:{i}", f"split {n!r} is not one of {', '.join(SPLIT_NAMES)}"
            )
        parts[n].append(r)
    meta: dict[str, Any] = {}
    meta_path = csv_path.with_suffix(".json")
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(meta_path, f"cannot read split metadata ({exc})") from exc
    return Split(
        parts["train"],
        parts["tuning"],
        parts["test"],
        method=str(meta.get("method", "loaded")),
        seed=int(meta.get("seed", 0)),
        params=dict(meta.get("params", {})),
        warnings=list(meta.get("warnings", [])),
    )


def _groups(records: Sequence[Record]) -> dict[str, list[Record]]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        groups[group_key(r)].append(r)
    return dict(groups)


def _draw_groups(
    groups: dict[str, list[Record]], fraction: float, rng: np.random.Generator, stratify: bool
) -> set[str]:
    """Group keys holding about ``fraction`` of the images, per label stratum when ``stratify``."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must lie in [0, 1), got {fraction}")
    keys = sorted(groups)
    strata: dict[int, list[str]] = defaultdict(list)
    for k in keys:
        strata[max(r.label for r in groups[k]) if stratify else 0].append(k)
    chosen: set[str] = set()
    for label in sorted(strata):
        ks = strata[label]
        order = rng.permutation(len(ks))
        total = sum(len(groups[k]) for k in ks)
        target = fraction * total
        taken = 0
        for i in order:
            k = ks[i]
            size = len(groups[k])
            # Take the group if it brings the count closer to the target.
            if abs(taken + size - target) < abs(taken - target):
                chosen.add(k)
                taken += size
    return chosen


def _leak_warnings(records: Sequence[Record]) -> list[str]:
    n = sum(r.patient_id is None for r in records)
    return [LEAK_WARNING.format(n=n, total=len(records))] if n else []


def _finish(
    train_pool: list[Record],
    tuning_fraction: float,
    rng: np.random.Generator,
    stratify: bool,
) -> tuple[list[Record], list[Record]]:
    groups = _groups(train_pool)
    tuning_keys = _draw_groups(groups, tuning_fraction, rng, stratify)
    train = [r for r in train_pool if group_key(r) not in tuning_keys]
    tuning = [r for r in train_pool if group_key(r) in tuning_keys]
    return train, tuning


def split_by_patient(
    records: Sequence[Record],
    test_fraction: float = 0.1,
    tuning_fraction: float = 0.1,
    seed: int = 0,
    stratify: bool = True,
) -> Split:
    """Random split by patient: ``test_fraction`` of all images to test, then
    ``tuning_fraction`` of the rest to tuning (the paper's 10% tuning part)."""
    rng = np.random.default_rng(seed)
    groups = _groups(records)
    test_keys = _draw_groups(groups, test_fraction, rng, stratify)
    test = [r for r in records if group_key(r) in test_keys]
    pool = [r for r in records if group_key(r) not in test_keys]
    train, tuning = _finish(pool, tuning_fraction, rng, stratify)
    params = {
        "test_fraction": test_fraction,
        "tuning_fraction": tuning_fraction,
        "stratify": stratify,
    }
    return Split(train, tuning, test, "patient", seed, params, _leak_warnings(records))


def split_by_date(
    records: Sequence[Record],
    cutoff: str | dt.date,
    tuning_fraction: float = 0.1,
    seed: int = 0,
    stratify: bool = True,
) -> Split:
    """The paper's split: training before ``cutoff`` (ISO date), test on or after it.

    Records without a date cannot be placed and raise DataError. A patient with images on both
    sides goes wholly to test (noted in the warnings).
    """
    cut = dt.date.fromisoformat(str(cutoff)).isoformat()
    undated = [r for r in records if r.date is None]
    if undated:
        raise DataError(
            undated[0].path,
            f"no date ({len(undated)} record(s) undated): a time-based split needs dates",
        )
    late_groups = {group_key(r) for r in records if r.date is not None and r.date >= cut}
    test = [r for r in records if group_key(r) in late_groups]
    pool = [r for r in records if group_key(r) not in late_groups]
    warnings = _leak_warnings(records)
    moved = sum(1 for r in test if r.date is not None and r.date < cut)
    if moved:
        warnings.append(
            f"{moved} image(s) dated before {cut} went to test with their patient's later images."
        )
    if not test or not pool:
        warnings.append(f"cut-off {cut} leaves {'no test' if not test else 'no training'} images.")
    rng = np.random.default_rng(seed)
    train, tuning = _finish(pool, tuning_fraction, rng, stratify)
    params = {"cutoff": cut, "tuning_fraction": tuning_fraction, "stratify": stratify}
    return Split(train, tuning, test, "date", seed, params, warnings)


def add_training_only(split: Split, extra: Sequence[Record], name: str = "extra") -> Split:
    """``split`` with ``extra`` records added to its training part only (never tuned or
    tested on). An extra record whose group (patient, study or identical file bytes) already
    sits in the tuning or test part is left out, so no image is on two sides; the count is
    noted in the warnings."""
    held_out = {group_key(r) for r in (*split.tuning, *split.test)}
    have = {r.path.resolve() for part in split.parts().values() for r in part}
    kept = [r for r in extra if group_key(r) not in held_out and r.path.resolve() not in have]
    dropped = sum(group_key(r) in held_out for r in extra)
    warnings = [*split.warnings, *_leak_warnings(kept)]
    if dropped:
        warnings.append(
            f"{dropped} {name} image(s) left out of training: the same file is in tuning or test."
        )
    params = {**split.params, f"{name}_images": len(kept), f"{name}_left_out": dropped}
    return Split(
        [*split.train, *kept], split.tuning, split.test, split.method, split.seed, params, warnings
    )
