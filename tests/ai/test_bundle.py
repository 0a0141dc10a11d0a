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

from tests.ai.helpers import edit_card, rewrite_header
from wristviewer.ai.bundle import (
    CARD_KEY,
    CARD_SHA_KEY,
    BundleError,
    card_metadata,
    create_untrained_bundle,
    inspect_bundle,
    load_bundle,
    read_header,
    save_bundle,
    weights_sha256,
)
from wristviewer.ai.card import ModelCard, OperatingPoint


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

    rewrite_header(densenet_path, bad, lower_threshold)
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

    rewrite_header(densenet_path, bad, drop_fields)
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


# --- hostile files: every malformed header or card is a BundleError sentence -----------------


def _header_edit(kind: str):  # noqa: ANN202
    def first_tensor(header: dict) -> dict:
        return header[sorted(k for k in header if k != "__metadata__")[0]]

    edits = {
        "offsets-not-a-pair": lambda h: first_tensor(h).update(data_offsets=[0]),
        "offsets-strings": lambda h: first_tensor(h).update(data_offsets=["0", "8"]),
        "offsets-reversed": lambda h: first_tensor(h).update(
            data_offsets=first_tensor(h)["data_offsets"][::-1]
        ),
        "shape-not-a-list": lambda h: first_tensor(h).update(shape=7),
        "shape-of-strings": lambda h: first_tensor(h).update(shape=["a"]),
        "shape-bool": lambda h: first_tensor(h).update(shape=[True]),
        "dtype-unknown": lambda h: first_tensor(h).update(dtype="Q7"),
        "dtype-list": lambda h: first_tensor(h).update(dtype=["F32"]),
        "entry-not-object": lambda h: h.update({"x": [1, 2]}),
        "entry-extra-field": lambda h: first_tensor(h).update(extra=1),
        "metadata-list": lambda h: h.update(__metadata__=["a"]),
        "metadata-value-object": lambda h: h["__metadata__"].update(
            {CARD_KEY: json.loads(h["__metadata__"][CARD_KEY])}
        ),
        "integer-weights": lambda h: h["classifier.weight"].update(
            dtype="I32", shape=h["classifier.weight"]["shape"]
        ),
    }
    return edits[kind]


@pytest.mark.parametrize(
    "kind",
    [
        "offsets-not-a-pair",
        "offsets-strings",
        "offsets-reversed",
        "shape-not-a-list",
        "shape-of-strings",
        "shape-bool",
        "dtype-unknown",
        "dtype-list",
        "entry-not-object",
        "entry-extra-field",
        "metadata-list",
        "metadata-value-object",
        "integer-weights",
    ],
)
def test_malformed_header_fields_are_a_sentence(
    tmp_path: Path, densenet_path: Path, kind: str
) -> None:
    bad = tmp_path / f"{kind}.safetensors"
    rewrite_header(densenet_path, bad, _header_edit(kind))
    for check in (read_header, inspect_bundle, load_bundle):
        if check is read_header and kind in ("metadata-value-object", "integer-weights"):
            continue
        with pytest.raises(BundleError) as info:
            check(bad)
        assert info.value.path == bad and str(bad) in str(info.value)


def _raw_bundle(path: Path, header_text: bytes, data: bytes = b"") -> Path:
    path.write_bytes(len(header_text).to_bytes(8, "little") + header_text + data)
    return path


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested more than"),
        (b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested more than"),
        (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {}}', "twice"),
        (b'{"a": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}', "not a number"),
        (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', "bytes where"),
        (
            b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
            b' "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}',
            "overlaps",
        ),
        (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', "gap"),
        (b'{"a": {"dtype": "F32", "shape": [1e400], "data_offsets": [0, 4]}}', "shape"),
        (b'{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', "negative"),
        (b'{"__metadata__": {"x": 1}}', "strings"),
        (b'"just a string"', "not in safetensors format"),
    ],
    ids=[
        "100k-deep",
        "5k-deep-inside",
        "duplicate-key",
        "nan-literal",
        "size-mismatch",
        "overlap",
        "gap",
        "float-dimension",
        "negative-dimension",
        "metadata-number",
        "not-an-object",
    ],
)
def test_hostile_headers_are_refused_with_a_sentence(
    tmp_path: Path, header: bytes, reason: str
) -> None:
    bad = _raw_bundle(tmp_path / "hostile.safetensors", header, bytes(8))
    with pytest.raises(BundleError, match=reason) as info:
        inspect_bundle(bad)
    assert info.value.path == bad


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda c: c.update(temperature="1.0"), "temperature must be a number"),
        (lambda c: c.update(untrained="yes"), "untrained must be true or false"),
        (lambda c: c.update(operating_points={"youden": 0.5}), "operating_points must be a list"),
        (lambda c: c.update(operating_points=[0.5]), "operating_points must be a list"),
        (lambda c: c["operating_points"][0].update(threshold=None), "needs a threshold"),
        (lambda c: c["operating_points"][0].update(sensitivity="high"), "sensitivity must be"),
        (lambda c: c.update(recipe=[1, 2]), "recipe must be an object"),
        (lambda c: c["recipe"].update(clahe_tile_grid=8), "clahe_tile_grid must be two integers"),
        (lambda c: c["recipe"].update(mean="0.5"), "recipe.mean must be a list of numbers"),
        (lambda c: c.update(name=5), "name must be a string"),
        (lambda c: c.update(metrics=[1]), "metrics must be an object"),
        (lambda c: c.update(heatmap_scale=True), "heatmap_scale must be a number"),
    ],
    ids=[
        "temperature-string",
        "untrained-string",
        "operating-points-object",
        "operating-points-numbers",
        "threshold-null",
        "sensitivity-string",
        "recipe-list",
        "tile-grid-int",
        "mean-string",
        "name-number",
        "metrics-list",
        "scale-bool",
    ],
)
def test_card_fields_of_the_wrong_type_are_refused(
    tmp_path: Path, densenet_path: Path, edit, reason: str
) -> None:
    bad = tmp_path / "typed.safetensors"
    edit_card(densenet_path, bad, edit)
    with pytest.raises(BundleError, match=reason) as info:
        inspect_bundle(bad)
    assert info.value.path == bad


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda c: json.dumps({**c, "temperature": float("nan")}), "not a number JSON allows"),
        (
            lambda c: json.dumps({**c, "temperature": 12345.5}).replace("12345.5", "1e400"),
            "non-finite",
        ),
        (
            lambda c: json.dumps({**c, "heatmap_scale": 12345.5}).replace("12345.5", "-1e400"),
            "non-finite",
        ),
        (lambda c: c["operating_points"][0].update(threshold=float("inf")), "not a number"),
        (
            lambda c: json.dumps(
                {**c, "metrics": {"auroc": {"value": 0.9, "ci95": [0.5, 77.5]}}}
            ).replace("77.5", "1e999"),
            r"non-finite numbers \(metrics.auroc.ci95\[1\] = inf\)",
        ),
        (lambda c: c.update(metrics={"auroc": float("-inf")}), "not a number JSON allows"),
        (lambda c: c["operating_points"][0].update(specificity=1.5), "specificity 1.5 outside"),
    ],
    ids=[
        "temperature-nan",
        "temperature-inf",
        "scale-minus-inf",
        "threshold-inf",
        "metrics-nested-inf",
        "metrics-inf-literal",
        "specificity-out-of-range",
    ],
)
def test_non_finite_card_values_are_refused(
    tmp_path: Path, densenet_path: Path, edit, reason: str
) -> None:
    bad = tmp_path / "nonfinite.safetensors"
    edit_card(densenet_path, bad, edit)
    with pytest.raises(BundleError, match=reason) as info:
        load_bundle(bad)
    assert info.value.path == bad


def test_deeply_nested_card_is_refused(tmp_path: Path, densenet_path: Path) -> None:
    bad = tmp_path / "deep-card.safetensors"
    edit_card(
        densenet_path,
        bad,
        lambda c: json.dumps(c)[:-1] + ', "metrics2": ' + "[" * 100_000 + "]" * 100_000 + "}",
    )
    with pytest.raises(BundleError, match="the model card is nested more than") as info:
        inspect_bundle(bad)
    assert info.value.path == bad


def test_non_finite_weights_are_refused_at_load_and_save(tmp_path: Path, densenet_bundle) -> None:
    for value in (float("nan"), float("inf")):
        weights = dict(densenet_bundle.state_dict)
        poisoned = weights["classifier.weight"].clone()
        poisoned[0, 3] = value
        weights["classifier.weight"] = poisoned
        card = dataclasses.replace(densenet_bundle.card, weights_sha256=weights_sha256(weights))
        bad = _write_raw(tmp_path / "nan-weights.safetensors", weights, card)
        assert inspect_bundle(bad) == card  # the header alone is fine
        with pytest.raises(BundleError, match="NaN or infinite.*classifier.weight") as info:
            load_bundle(bad)
        assert info.value.path == bad
        with pytest.raises(BundleError, match="NaN or infinite"):
            save_bundle(tmp_path / "never.safetensors", weights, densenet_bundle.card)
    assert not (tmp_path / "never.safetensors").exists()


def test_save_refuses_non_finite_card_values(tmp_path: Path, densenet_bundle) -> None:
    card = dataclasses.replace(
        densenet_bundle.card,
        heatmap_scale=float("inf"),
        metrics={"auroc": {"value": float("nan")}},
    )
    with pytest.raises(BundleError) as info:
        save_bundle(tmp_path / "bad.safetensors", densenet_bundle.state_dict, card)
    assert "heatmap_scale" in str(info.value) and "metrics.auroc.value" in str(info.value)


def test_special_files_are_refused_without_being_opened(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)  # opening it for reading would block forever
    with pytest.raises(BundleError, match="not a regular file"):
        load_bundle(fifo)
    folder = tmp_path / "folder.safetensors"
    folder.mkdir()
    with pytest.raises(BundleError, match="not a regular file"):
        inspect_bundle(folder)
