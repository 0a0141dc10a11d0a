"""The cached Dataset: the viewer's preprocessing, a cache keyed by content + recipe, skipped files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training import data
from training.data import PreprocessCache, RadiographDataset, Record
from wristviewer.ai.recipe import Recipe


@pytest.fixture
def recipe() -> Recipe:
    return Recipe(input_width=32, input_height=40)


def test_dataset_returns_exactly_the_viewer_preprocessing(
    png_dataset: Path, tmp_path: Path, recipe: Recipe
) -> None:
    from wristviewer.ai.recipe import preprocess
    from wristviewer.imaging import read

    recs = data.load_records(png_dataset)
    cache = PreprocessCache(tmp_path / "cache", recipe, dtype="float32")
    ds = RadiographDataset(recs, cache)
    image, label = ds[0]
    assert image.shape == (3, 40, 32) and image.dtype == np.float32
    assert label == recs[0].label
    np.testing.assert_array_equal(image, preprocess(read(recs[0].path), recipe))


def test_cache_key_is_content_and_recipe(png_dataset: Path, tmp_path: Path, recipe: Recipe) -> None:
    rec = data.load_records(png_dataset)[0]
    cache = PreprocessCache(tmp_path / "cache", recipe)
    first = cache.get(rec.path)
    entry = cache.folder / f"{data.file_sha256(rec.path)}.npy"
    assert entry.is_file() and np.load(entry).dtype == np.float16
    # A second read comes from the cache: tamper with the entry and see it returned.
    np.save(entry, np.zeros_like(np.load(entry)))
    assert np.all(PreprocessCache(tmp_path / "cache", recipe).get(rec.path) == 0)
    # The same bytes under another name share the entry; another recipe gets its own folder.
    copy = tmp_path / "copy.png"
    copy.write_bytes(rec.path.read_bytes())
    assert np.all(cache.get(copy) == 0)
    other = PreprocessCache(
        tmp_path / "cache", Recipe(input_width=32, input_height=40, clahe_tile_grid=(2, 2))
    )
    assert other.folder != cache.folder
    assert np.abs(other.get(rec.path) - first).max() > 0
    assert np.abs(first).max() > 0.5  # float16 kept the values


def test_unreadable_files_are_skipped_with_a_reason(
    png_dataset: Path, tmp_path: Path, recipe: Recipe
) -> None:
    broken = png_dataset / "normal" / "broken.png"
    broken.write_bytes(b"not an image at all")
    empty = png_dataset / "fracture" / "empty.png"
    empty.write_bytes(b"")
    recs = data.load_records(png_dataset)
    good, skipped = data.warm_cache(recs, PreprocessCache(tmp_path / "c", recipe))
    assert len(good) == len(recs) - 2
    assert sorted(s.path.name for s in skipped) == ["broken.png", "empty.png"]
    assert all(s.path.name in s.reason for s in skipped)


def test_zoomed_samples(png_dataset: Path, tmp_path: Path, recipe: Recipe) -> None:
    rec = data.load_records(png_dataset)[0]
    cache = PreprocessCache(tmp_path / "c", recipe, dtype="float32")
    plain, zoomed = RadiographDataset([data.Sample(rec), data.Sample(rec, zoomed=True)], cache)
    np.testing.assert_allclose(zoomed[0], data.zoom_in(plain[0], 1.1))
    assert not np.allclose(zoomed[0], plain[0])


def test_records_without_a_file_are_skipped(tmp_path: Path, recipe: Recipe) -> None:
    good, skipped = data.warm_cache(
        [Record(tmp_path / "missing.png", 1)], PreprocessCache(tmp_path / "c", recipe)
    )
    assert good == [] and len(skipped) == 1 and "missing.png" in skipped[0].reason
