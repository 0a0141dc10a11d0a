"""Splits: no patient on two sides, reproducible with the seed, proportions, dates, round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training import splits
from training.data import DataError, Record


def _cohort(n_patients: int = 200, seed: int = 0, dated: bool = False) -> list[Record]:
    rng = np.random.default_rng(seed)
    recs = []
    for p in range(n_patients):
        label = int(rng.random() < 0.35)
        year = 2018 + p % 3  # patients spread over 2018-2020
        for k in range(int(rng.integers(1, 6))):
            date = f"{year}-0{1 + k % 9}-15" if dated else None
            recs.append(
                Record(
                    Path(f"/data/p{p}/img{k}.png"),
                    label,
                    patient_id=f"P{p:04d}",
                    study_id=f"P{p}-s",
                    date=date,
                )
            )
    return recs


def _patients(recs: list[Record]) -> set[str | None]:
    return {r.patient_id for r in recs}


def test_no_patient_on_two_sides_and_proportions() -> None:
    recs = _cohort()
    s = splits.split_by_patient(recs, test_fraction=0.1, tuning_fraction=0.1, seed=3)
    assert not s.overlapping_groups()
    assert not (_patients(s.train) & _patients(s.test) or _patients(s.train) & _patients(s.tuning))
    assert not _patients(s.tuning) & _patients(s.test)
    assert len(s.train) + len(s.tuning) + len(s.test) == len(recs)
    n = len(recs)
    assert abs(len(s.test) - 0.1 * n) <= 6
    assert abs(len(s.tuning) - 0.1 * (n - len(s.test))) <= 6
    # Stratified: each part has close to the overall fracture rate.
    rate = np.mean([r.label for r in recs])
    for part in (s.train, s.tuning, s.test):
        assert abs(np.mean([r.label for r in part]) - rate) < 0.08
    assert not s.may_leak and s.warnings == []


def test_seed_reproducibility() -> None:
    recs = _cohort()
    a = splits.split_by_patient(recs, seed=7)
    b = splits.split_by_patient(list(recs), seed=7)
    c = splits.split_by_patient(recs, seed=8)
    assert [r.path for r in a.test] == [r.path for r in b.test]
    assert [r.path for r in a.tuning] == [r.path for r in b.tuning]
    assert [r.path for r in a.test] != [r.path for r in c.test]


def test_missing_patient_ids_warn_and_are_written(tmp_path: Path) -> None:
    recs = [Record(Path(f"/x/{i}.png"), i % 3 == 0) for i in range(50)]
    s = splits.split_by_patient(recs, seed=0)
    assert s.may_leak
    assert any("no patient ID" in w for w in s.warnings)
    s.save(tmp_path)
    assert "no patient ID" in (tmp_path / "split.json").read_text()
    back = splits.load_split(tmp_path)
    assert back.warnings == s.warnings and back.may_leak


def test_round_trip(tmp_path: Path) -> None:
    recs = _cohort(60)
    s = splits.split_by_patient(recs, seed=1)
    csv_path = s.save(tmp_path / "run")
    back = splits.load_split(csv_path)
    for name in splits.SPLIT_NAMES:
        assert [(r.path, r.label, r.patient_id) for r in back.parts()[name]] == [
            (r.path, r.label, r.patient_id) for r in s.parts()[name]
        ]
    assert back.method == "patient" and back.seed == 1 and back.params == s.params


def test_cwd_relative_paths_survive_a_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records read with paths relative to the working directory (``--data ../shared/...``)
    must still point at the images when the split is loaded from its own folder."""
    data = tmp_path / "data"
    data.mkdir()
    recs = []
    for i in range(20):
        (data / f"img{i}.png").write_bytes(b"x")
        recs.append(Record(path=Path("data") / f"img{i}.png", label=i % 2, patient_id=f"p{i}"))
    monkeypatch.chdir(tmp_path)
    s = splits.split_by_patient(recs, seed=0)
    csv_path = s.save(tmp_path / "run" / "split")
    monkeypatch.chdir(tmp_path / "run")  # a later `evaluate` runs from elsewhere
    back = splits.load_split(csv_path)
    paths = [r.path for part in back.parts().values() for r in part]
    assert len(paths) == 20 and all(p.is_file() for p in paths)


def test_time_based_split_like_the_paper() -> None:
    recs = _cohort(120, dated=True)
    # Make one patient straddle the cut-off.
    recs.append(
        Record(Path("/data/p0/late.png"), recs[0].label, patient_id="P0000", date="2020-02-01")
    )
    s = splits.split_by_date(recs, "2020-01-01", tuning_fraction=0.1, seed=0)
    assert not s.overlapping_groups()
    assert all(r.date < "2020-01-01" for r in s.train + s.tuning)
    assert all(r.patient_id == "P0000" or r.date >= "2020-01-01" for r in s.test)
    assert "P0000" in _patients(s.test) and "P0000" not in _patients(s.train)
    assert any("went to test with their patient" in w for w in s.warnings)
    assert 0.05 < len(s.tuning) / (len(s.train) + len(s.tuning)) < 0.15


def test_time_split_needs_dates() -> None:
    with pytest.raises(DataError, match="needs dates"):
        splits.split_by_date(_cohort(10), "2020-01-01")


def test_real_fracatlas_split_warns(fracatlas: Path) -> None:
    from training.data import load_records

    s = splits.split_by_patient(load_records(fracatlas), seed=0)
    assert s.may_leak and s.warnings
    assert abs(len(s.test) - 98.5) <= 2
    assert abs(sum(r.label for r in s.test) / len(s.test) - 289 / 985) < 0.02


def test_extra_data_goes_to_training_only_and_never_beside_its_twin() -> None:
    """add_training_only: an extra image whose group (here: the same file bytes, as
    read_fracatlas_* writes study_id) is already in tuning or test is left out; the rest
    join the training part, never tuning or test."""
    hand = [
        Record(Path(f"/hand/{i}.png"), i % 3 == 0, study_id=f"sha256:h{i}", region="hand")
        for i in range(60)
    ]
    s = splits.split_by_patient(hand, test_fraction=0.2, tuning_fraction=0.2, seed=4)
    twin_test, twin_tuning, twin_train = s.test[0], s.tuning[0], s.train[0]
    extra = [
        Record(Path(f"/other/{i}.png"), i % 2, study_id=f"sha256:o{i}", region="leg")
        for i in range(10)
    ]
    extra += [
        Record(Path("/other/copy-of-test.png"), 1, study_id=twin_test.study_id, region="leg"),
        Record(Path("/other/copy-of-tuning.png"), 0, study_id=twin_tuning.study_id, region="hip"),
        Record(Path("/other/copy-of-train.png"), 0, study_id=twin_train.study_id, region="hip"),
        twin_train,  # the very same image again: not added twice
    ]
    out = splits.add_training_only(s, extra)
    assert out.tuning == s.tuning and out.test == s.test
    added = out.train[len(s.train) :]
    assert out.train[: len(s.train)] == s.train
    assert [r.path.name for r in added] == [*(f"{i}.png" for i in range(10)), "copy-of-train.png"]
    assert not out.overlapping_groups()
    assert out.params["extra_images"] == 11 and out.params["extra_left_out"] == 2
    assert any("2 extra image(s) left out of training" in w for w in out.warnings)
    assert out.method == s.method and out.seed == s.seed
    clean = splits.add_training_only(s, extra[:10], name="other")
    assert clean.params["other_left_out"] == 0 and not any("left out" in w for w in clean.warnings)
