"""Balanced epochs and augmented samples of the from-scratch recipe, on real FracAtlas images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.augment import AugmentConfig, AugmentedDataset, box_mask, epoch_plan
from training.data import EnhancedCache, Record, parse_boxes
from wristviewer.ai.recipe import Recipe

RECIPE = Recipe(input_width=64, input_height=80, resize="pad")
#: only a horizontal flip can happen (no rotation, zoom, shift, gamma or contrast)
FLIP_ONLY = AugmentConfig(
    rotate_degrees=0.0,
    scale_range=(1.0, 1.0),
    shift_fraction=0.0,
    gamma_range=(1.0, 1.0),
    contrast_jitter=0.0,
)
NO_AUGMENT = AugmentConfig(enabled=False)


def _cohort() -> tuple[list[Record], set[str]]:
    """40 primary (hand) images, 10 fractured; 60 extra: 45 leg and 15 hip, all normal."""
    hand = [Record(Path(f"/hand/{i}.png"), int(i < 10), region="hand") for i in range(40)]
    leg = [Record(Path(f"/leg/{i}.png"), 0, region="leg") for i in range(45)]
    hip = [Record(Path(f"/hip/{i}.png"), 0, region="hip") for i in range(15)]
    return [*hand, *leg, *hip], {str(r.path) for r in hand}


def test_epoch_plan_is_determined_by_seed_and_epoch() -> None:
    recs, primary = _cohort()
    a = epoch_plan(recs, primary, 200, seed=1, epoch=3)
    assert np.array_equal(a, epoch_plan(list(recs), set(primary), 200, seed=1, epoch=3))
    assert not np.array_equal(a, epoch_plan(recs, primary, 200, seed=1, epoch=4))
    assert not np.array_equal(a, epoch_plan(recs, primary, 200, seed=2, epoch=3))
    assert len(a) == 200 and a.min() >= 0 and a.max() < len(recs)
    once = epoch_plan(recs, primary, None, seed=1, epoch=0)
    assert sorted(once) == list(range(len(recs)))
    assert not np.array_equal(once, epoch_plan(recs, primary, None, seed=1, epoch=1))


@pytest.mark.parametrize("share", [0.5, 0.8])
def test_epoch_plan_balances_primary_region_and_fractures(share: float) -> None:
    recs, primary = _cohort()
    draws = np.concatenate(
        [epoch_plan(recs, primary, 5000, seed=0, epoch=e, primary_share=share) for e in range(4)]
    )
    chosen = [recs[i] for i in draws]
    from_primary = np.array([str(r.path) in primary for r in chosen])
    assert from_primary.mean() == pytest.approx(share, abs=0.015)
    # within the primary part a fracture is twice as likely: 10*2 / (10*2 + 30) = 0.4
    fractured = np.array([r.label for r in chosen])
    assert fractured[from_primary].mean() == pytest.approx(0.4, abs=0.02)
    # extra regions weighted by 1/sqrt(size): leg sqrt(45) : hip sqrt(15)
    extra = [r.region for r, p in zip(chosen, from_primary, strict=True) if not p]
    leg_share = np.mean([reg == "leg" for reg in extra])
    assert leg_share == pytest.approx(np.sqrt(45) / (np.sqrt(45) + np.sqrt(15)), abs=0.02)


def test_epoch_plan_without_extra_data_weights_fractures_only() -> None:
    recs, primary = _cohort()
    hand = recs[:40]
    draws = epoch_plan(hand, primary, 20000, seed=3, epoch=0, fracture_weight=3.0)
    assert np.mean([hand[i].label for i in draws]) == pytest.approx(30 / 60, abs=0.015)


# --------------------------------------------------------------------------- samples


@pytest.fixture(scope="module")
def real(fracatlas: Path) -> list[Record]:
    """IMG0000155: portrait 2304x2880, one box left of centre; IMG0000025: landscape 2880x2304
    (padded above and below at 64x80); IMG0000016: normal."""
    rows = {
        "IMG0000155.jpg": (1, "0.2396 0.3837 0.0524 0.0427"),
        "IMG0000025.jpg": (1, "0.5362 0.9059 0.0539 0.0666"),
        "IMG0000016.jpg": (0, None),
    }
    return [
        Record(fracatlas / "images" / name, label, boxes=boxes, region="hand")
        for name, (label, boxes) in rows.items()
    ]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> EnhancedCache:
    return EnhancedCache(tmp_path_factory.mktemp("enhanced"), RECIPE)


def _dataset(recs, cache, augment=FLIP_ONLY, n=8, seed=0) -> AugmentedDataset:  # noqa: ANN001
    return AugmentedDataset(
        recs,
        cache,
        primary={str(r.path) for r in recs},
        seed=seed,
        augment=augment,
        epoch_samples=n,
    )


def test_item_k_of_epoch_e_is_the_same_in_a_fresh_dataset(
    real: list[Record], cache: EnhancedCache, tmp_path: Path
) -> None:
    """What a resumed run sees: a new dataset (new cache object, read back from disk) set to
    epoch 2 gives exactly the items of one that went through epochs 0, 1, 2."""
    full = AugmentConfig()  # every transform on
    first = _dataset(real, cache, full, n=6, seed=7)
    for e in range(2):
        first.set_epoch(e)
        _ = [first[k] for k in range(len(first))]
    first.set_epoch(2)
    again = _dataset(real, EnhancedCache(cache.folder.parent, RECIPE), full, n=6, seed=7)
    again.set_epoch(2)
    assert np.array_equal(first.plan, again.plan)
    for k in range(len(first)):
        a, b = first[k], again[k]
        assert a[0].shape == (3, 80, 64) and a[0].dtype == np.float32
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x, y), k
    first.set_epoch(3)
    assert any(not np.array_equal(first[k][0], again[k][0]) for k in range(len(first)))


def test_box_mask_follows_a_horizontal_flip(real: list[Record], cache: EnhancedCache) -> None:
    recs = real[:1]  # IMG0000155: one box at cx = 0.24
    plain = _dataset(recs, cache, NO_AUGMENT, n=12)
    flipping = _dataset(recs, cache, FLIP_ONLY, n=12)
    image0, label, boxes0, content0 = plain[0]
    assert label == 1.0 and content0.all()  # the input's own aspect: no padding
    # the plain mask is the box placed through the content box
    (cx, cy, bw, bh) = parse_boxes(recs[0].boxes)[0]
    ys, xs = np.nonzero(boxes0)
    assert xs.mean() == pytest.approx(cx * 64 - 0.5, abs=1.0)
    assert ys.mean() == pytest.approx(cy * 80 - 0.5, abs=1.0)
    assert np.array_equal(boxes0, box_mask([(cx, cy, bw, bh)], (0, 0, 64, 80), (80, 64)))
    flipped = unflipped = 0
    for k in range(len(flipping)):
        image, _, boxes, content = flipping[k]
        if np.array_equal(boxes, boxes0):
            unflipped += 1
            np.testing.assert_allclose(image, image0, atol=1e-5)
        else:
            flipped += 1
            assert np.array_equal(boxes, boxes0[:, ::-1])
            np.testing.assert_allclose(image, image0[:, :, ::-1], atol=1e-5)
            assert np.nonzero(boxes)[1].mean() > 32  # the box moved to the right half
        assert content.all()
    assert flipped and unflipped


def test_content_mask_is_zero_on_the_padding(real: list[Record], cache: EnhancedCache) -> None:
    wide = real[1:2]  # IMG0000025, landscape: content box (0, 14, 64, 51) at 64x80
    cols, rows = 2880, 2304
    x0, y0, w, h = RECIPE.content_box(cols, rows)
    assert (x0, w) == (0, 64) and y0 > 10 and h < 60
    _, _, boxes, content = _dataset(wide, cache, NO_AUGMENT, n=1)[0]
    assert content[y0 : y0 + h].all() and not content[:y0].any() and not content[y0 + h :].any()
    assert boxes.any() and not (boxes & (1 - content)).any()
    pad_value = -np.asarray(RECIPE.mean) / np.asarray(RECIPE.std)  # 0 before normalising
    augmented = _dataset(wide, cache, AugmentConfig(), n=6, seed=3)
    for k in range(len(augmented)):
        image, _, boxes, content = augmented[k]
        off = content == 0
        assert off.any() and content.sum() > 0.3 * content.size
        for c in range(3):
            np.testing.assert_allclose(image[c][off], pad_value[c], atol=1e-5)


def test_low_resolution_epochs_give_smaller_items(real: list[Record], cache: EnhancedCache) -> None:
    ds = _dataset(real, cache, AugmentConfig(), n=3)
    ds.set_epoch(0, scale=0.5)
    assert ds.size == (32, 40)
    image, _, boxes, content = ds[0]
    assert image.shape == (3, 40, 32) and boxes.shape == content.shape == (40, 32)
    ds.set_epoch(1, scale=0.2)  # never below 32 pixels a side
    assert ds.size == (32, 32) and ds[0][0].shape == (3, 32, 32)
    ds.set_epoch(2)
    assert ds[0][0].shape == (3, 80, 64) and ds.size == RECIPE.input_size
