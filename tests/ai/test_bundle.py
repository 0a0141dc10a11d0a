"""Model bundles: round trip, canonical checksum, and every refusal naming the file."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from wristviewer.ai.bundle import (
    CARD_KEY,
    CARD_SHA_KEY,
    BundleError,
    ModelCard,
    OperatingPoint,
    card_metadata,
    create_untrained_bundle,
    inspect_bundle,
    load_bundle,
    read_header,
    save_bundle,
    weights_sha256,
)


def _rewrite_header(src: Path, dst: Path, edit) -> None:  # noqa: ANN001 - edit(header) -> None
    """Copy a safetensors file with its JSON header edited in place (data bytes unchanged)."""
    raw = src.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    edit(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    dst.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + n :])


def _write_raw(path: Path, tensors: dict[str, torch.Tensor], card: ModelCard) -> Path:
    save_file(
        {k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=card_metadata(card)
    )
    return path


def test_round_trip(densenet_path: Path, densenet_bundle, small_recipe) -> None:
    bundle = densenet_bundle
    card = bundle.card
    assert bundle.path == densenet_path
    assert card.arch == "densenet161" and card.untrained is True
    assert card.recipe == small_recipe
    assert card.threshold == card.operating_point("youden").threshold
    assert {p.name for p in card.operating_points} == {
        "youden",
        "high_sensitivity",
        "high_specificity",
    }
    assert card.heatmap_scale > 0 and card.temperature == 1.0 and card.aggregation == "max"
    assert card.weights_sha256 == weights_sha256(bundle.state_dict)
    assert ModelCard.from_dict(json.loads(json.dumps(card.to_dict()))) == card
    model = bundle.build_model()
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, bundle.state_dict[name])
    assert inspect_bundle(densenet_path) == card


def test_checksum_is_canonical() -> None:
    """Independent of insertion order and file layout; sensitive to names, dtypes, shapes, bytes."""
    a = {"x": torch.arange(6, dtype=torch.float32).reshape(2, 3), "n": torch.tensor(3)}
    b = {"n": torch.tensor(3), "x": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    assert weights_sha256(a) == weights_sha256(b)
    assert weights_sha256(a) != weights_sha256({**a, "x": a["x"].reshape(3, 2)})
    assert weights_sha256(a) != weights_sha256({**a, "x": a["x"].double()})
    assert weights_sha256(a) != weights_sha256({"y": a["x"], "n": a["n"]})
    assert weights_sha256(a) != weights_sha256({**a, "x": a["x"] + 1e-3})
    assert weights_sha256({"t": a["x"].t()}) == weights_sha256({"t": a["x"].t().contiguous()})


def test_save_is_atomic_and_leaves_no_temp(tmp_path: Path, densenet_bundle) -> None:
    out = save_bundle(
        tmp_path / "copy.safetensors", densenet_bundle.state_dict, densenet_bundle.card
    )
    assert [p.name for p in tmp_path.iterdir()] == ["copy.safetensors"]
    assert load_bundle(out).card.weights_sha256 == densenet_bundle.card.weights_sha256


def test_flipped_bytes_fail_the_checksum(tmp_path: Path, densenet_path: Path) -> None:
    bad = tmp_path / "flipped.safetensors"
    shutil.copyfile(densenet_path, bad)
    header, _ = read_header(bad)
    n = int.from_bytes(bad.read_bytes()[:8], "little")
    start = 8 + n + header["classifier.weight"]["data_offsets"][0]
    with bad.open("r+b") as fh:
        fh.seek(start + 5)
        byte = fh.read(1)
        fh.seek(start + 5)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(BundleError, match="checksum") as info:
        load_bundle(bad)
    assert str(bad) in str(info.value)


def test_edited_card_is_refused(tmp_path: Path, densenet_path: Path) -> None:
    bad = tmp_path / "edited.safetensors"

    def lower_threshold(header: dict) -> None:
        card = json.loads(header["__metadata__"][CARD_KEY])
        card["operating_points"][0]["threshold"] = 0.01
        header["__metadata__"][CARD_KEY] = json.dumps(card, sort_keys=True)

    _rewrite_header(densenet_path, bad, lower_threshold)
    with pytest.raises(BundleError, match="changed after") as info:
        load_bundle(bad)
    assert info.value.path == bad


def test_edited_weights_checksum_in_card_is_refused(tmp_path: Path, densenet_bundle) -> None:
    card = dataclasses.replace(densenet_bundle.card, weights_sha256="0" * 64)
    bad = _write_raw(tmp_path / "sha.safetensors", densenet_bundle.state_dict, card)
    with pytest.raises(BundleError, match="checksum"):
        load_bundle(bad)


def test_card_with_missing_fields_is_refused(tmp_path: Path, densenet_path: Path) -> None:
    bad = tmp_path / "missing-field.safetensors"

    def drop_fields(header: dict) -> None:
        card = json.loads(header["__metadata__"][CARD_KEY])
        del card["temperature"], card["heatmap_scale"]
        text = json.dumps(card, sort_keys=True)
        header["__metadata__"][CARD_KEY] = text
        header["__metadata__"][CARD_SHA_KEY] = hashlib.sha256(text.encode()).hexdigest()

    _rewrite_header(densenet_path, bad, drop_fields)
    with pytest.raises(BundleError, match="lacks temperature, heatmap_scale"):
        load_bundle(bad)


def test_wrong_architecture_is_refused(tmp_path: Path, densenet_bundle) -> None:
    card = dataclasses.replace(densenet_bundle.card, arch="resnet152")
    bad = _write_raw(tmp_path / "wrong-arch.safetensors", densenet_bundle.state_dict, card)
    with pytest.raises(BundleError, match="missing") as info:
        load_bundle(bad)
    assert str(bad) in str(info.value)


def test_unknown_architecture_is_refused(tmp_path: Path, densenet_bundle) -> None:
    card = dataclasses.replace(densenet_bundle.card, arch="vgg16")
    bad = _write_raw(tmp_path / "vgg.safetensors", densenet_bundle.state_dict, card)
    with pytest.raises(BundleError, match="unknown architecture 'vgg16'"):
        load_bundle(bad)


def test_missing_tensor_is_refused(tmp_path: Path, densenet_bundle) -> None:
    sd = dict(densenet_bundle.state_dict)
    del sd["classifier.bias"]
    bad = _write_raw(tmp_path / "missing.safetensors", sd, densenet_bundle.card)
    with pytest.raises(BundleError, match="missing, e.g. classifier.bias"):
        load_bundle(bad)


def test_unexpected_tensor_is_refused(tmp_path: Path, densenet_bundle) -> None:
    sd = {**densenet_bundle.state_dict, "extra.weight": torch.zeros(3)}
    bad = _write_raw(tmp_path / "extra.safetensors", sd, densenet_bundle.card)
    with pytest.raises(BundleError, match="unexpected tensor.*extra.weight"):
        load_bundle(bad)


def test_wrong_shape_is_refused(tmp_path: Path, densenet_bundle) -> None:
    sd = {**densenet_bundle.state_dict, "classifier.weight": torch.zeros(2, 2208)}
    bad = _write_raw(tmp_path / "shape.safetensors", sd, densenet_bundle.card)
    with pytest.raises(BundleError, match=r"classifier.weight has shape \(2, 2208\)"):
        load_bundle(bad)
    with pytest.raises(BundleError, match="needs"):
        save_bundle(tmp_path / "never.safetensors", sd, densenet_bundle.card)
    assert not (tmp_path / "never.safetensors").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"hello, this is a text file\n",
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        (10).to_bytes(8, "little") + b"{not json}",
    ],
    ids=["empty", "text", "png", "bad-json"],
)
def test_not_a_safetensors_file_is_refused(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(content)
    with pytest.raises(BundleError, match="not a model bundle") as info:
        load_bundle(bad)
    assert str(bad) in str(info.value)


def test_safetensors_without_card_and_truncated_file(tmp_path: Path, densenet_path: Path) -> None:
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(BundleError, match="without a WristViewer model card"):
        load_bundle(plain)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(densenet_path.read_bytes()[:-100])
    with pytest.raises(BundleError, match="truncated"):
        load_bundle(cut)


def test_invalid_card_values_are_refused(tmp_path: Path, densenet_bundle) -> None:
    card = dataclasses.replace(
        densenet_bundle.card,
        temperature=0.0,
        aggregation="median",
        operating_points=[OperatingPoint("high_sensitivity", 0.2)],
    )
    with pytest.raises(BundleError) as info:
        save_bundle(tmp_path / "bad.safetensors", densenet_bundle.state_dict, card)
    message = str(info.value)
    assert "temperature" in message and "aggregation" in message and "youden" in message


def test_untrained_bundle_is_deterministic_and_leaves_rng_alone(
    tmp_path: Path, densenet_bundle, small_recipe
) -> None:
    """Same seed, same weights (the session bundle used seed=1); the global RNG is untouched."""
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    again = create_untrained_bundle(
        "densenet161", tmp_path / "again.safetensors", recipe=small_recipe, seed=1, name="demo"
    )
    assert torch.equal(torch.rand(1), expected_next)
    card = inspect_bundle(again)
    assert card.name == "demo" and card.untrained
    assert card.weights_sha256 == densenet_bundle.card.weights_sha256
    assert card.heatmap_scale == pytest.approx(densenet_bundle.card.heatmap_scale)
