"""Fuzzing the bundle reader: seeded mutants of a real DenseNet-161 bundle.

Every mutant must come back from :func:`inspect_bundle` and :func:`load_bundle` either as a
valid bundle (with finite numbers everywhere) or as a :class:`BundleError` naming the file —
never another exception, never a hang. The mutants: header byte flips, length-field changes,
JSON field type swaps (tensor entries, metadata, card fields with the card checksum
recomputed so the card checks are reached), deep nesting, truncation, random headers,
non-finite card values and NaN/inf weights (with a matching weights checksum).

The tensor bytes (about 115 MB) are written once: each header mutant is written in place
into the header room of one working copy (the header is padded with spaces, which
safetensors allows), so the data section is the real one; mutants that cannot fit there
(deep nesting, truncation) are sparse files of their own.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

from wristviewer.ai.bundle import (
    CARD_KEY,
    CARD_SHA_KEY,
    BundleError,
    inspect_bundle,
    load_bundle,
    weights_sha256,
)

SEED = 20_13
#: seconds one inspect + load of one mutant may take (generous: the CPUs may be shared)
CALL_LIMIT_S = 30.0
ROOM = 64 * 1024  # extra header room of the working copy (bytes)

#: values swapped into JSON fields: every JSON type, and the awkward values of each
SWAPS: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    2**70,
    -(2**63),
    "",
    "x",
    "F32",
    [],
    [0],
    [1, 2, 3],
    [[0, 8]],
    ["0", "8"],
    [-8, 0],
    [0.0, 8.0],
    {},
    {"a": 1},
)


@dataclass
class Mutant:
    """One hostile file: ``header`` (the JSON bytes) with ``length`` (None: the room) written
    in place into the working copy, plus ``data`` patches (offset in the data section, bytes);
    or, when ``whole`` is set, a file of its own: those bytes, sparse-extended to ``size``."""

    label: str
    header: bytes = b""
    length: int | None = None
    data: list[tuple[int, bytes]] = field(default_factory=list)
    whole: bytes | None = None
    size: int = 0


@dataclass
class Base:
    work: Path
    folder: Path
    header: dict[str, Any]
    text: bytes  # the original header JSON
    room: int  # header bytes in the working copy
    data_size: int


@pytest.fixture(scope="module")
def base(densenet_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Base:
    folder = tmp_path_factory.mktemp("fuzz")
    raw = densenet_path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    room = n + ROOM
    work = folder / "work.safetensors"
    work.write_bytes(room.to_bytes(8, "little") + raw[8 : 8 + n].ljust(room, b" ") + raw[8 + n :])
    header = json.loads(raw[8 : 8 + n])
    return Base(work, folder, header, raw[8 : 8 + n], room, len(raw) - 8 - n)


def _card(header: dict[str, Any]) -> dict[str, Any]:
    return json.loads(header["__metadata__"][CARD_KEY])


def _with_card_text(header: dict[str, Any], text: str) -> bytes:
    import hashlib

    h = json.loads(json.dumps(header))
    h["__metadata__"][CARD_KEY] = text
    h["__metadata__"][CARD_SHA_KEY] = hashlib.sha256(text.encode()).hexdigest()
    return json.dumps(h).encode()


def _tensor_names(header: dict[str, Any]) -> list[str]:
    return sorted(k for k in header if k != "__metadata__")


def _byte_flips(rng: random.Random, b: Base, count: int) -> list[Mutant]:
    out = []
    for i in range(count):
        text = bytearray(b.text)
        for _ in range(rng.choice((1, 1, 2, 8))):
            pos = rng.randrange(len(text))
            text[pos] ^= rng.randrange(1, 256)
        out.append(Mutant(f"flip-{i}", bytes(text)))
    return out


def _length_fields(rng: random.Random, b: Base) -> list[Mutant]:
    total = 8 + b.room + b.data_size
    values = [0, 1, 2, 7, b.room - 1, b.room + 1, b.room + 8, total, total - 8, 2**63, 2**64 - 1]
    values += [rng.randrange(2, total) for _ in range(4)]
    return [Mutant(f"length-{v}", b.text, length=v) for v in values]


def _type_swaps(rng: random.Random, b: Base, count: int) -> list[Mutant]:
    names = _tensor_names(b.header)
    card_fields = sorted(_card(b.header))
    out = []
    for i in range(count):
        h = json.loads(b.text)
        value = rng.choice(SWAPS)
        where = rng.choice(("tensor", "tensor", "metadata", "card", "card", "recipe", "point"))
        if where == "tensor":
            name, key = rng.choice(names), rng.choice(("dtype", "shape", "data_offsets", "entry"))
            if key == "entry":
                h[name] = value
            else:
                h[name][key] = value
            out.append(Mutant(f"swap-{i}-{name}.{key}", json.dumps(h).encode()))
            continue
        if where == "metadata":
            key = rng.choice((CARD_KEY, CARD_SHA_KEY, "wristviewer.format", "__metadata__"))
            if key == "__metadata__":
                h[key] = value
            else:
                h["__metadata__"][key] = value
            out.append(Mutant(f"swap-{i}-metadata.{key}", json.dumps(h).encode()))
            continue
        card = _card(h)
        if where == "card":
            key = rng.choice(card_fields)
            card[key] = value
        elif where == "recipe":
            key = "recipe." + rng.choice(sorted(card["recipe"]))
            card["recipe"][key.split(".")[1]] = value
        else:
            key = "operating_points[0]." + rng.choice(("name", "threshold", "sensitivity", "*"))
            if key.endswith("*"):
                card["operating_points"][0] = value
            else:
                card["operating_points"][0][key.split(".")[1]] = value
        out.append(Mutant(f"swap-{i}-card.{key}", _with_card_text(h, json.dumps(card))))
    return out


def _deep(b: Base) -> list[Mutant]:
    out = []
    for depth in (33, 100, 1_000, 100_000):
        nest = "[" * depth + "]" * depth
        h = json.loads(b.text)
        h[_tensor_names(h)[0]]["shape"] = "@@"
        header = json.dumps(h).replace('"@@"', nest).encode()
        card = _card(h)
        card["metrics"] = "@@"
        card_header = _with_card_text(b.header, json.dumps(card).replace('"@@"', nest))
        for label, text in ((f"deep-shape-{depth}", header), (f"deep-card-{depth}", card_header)):
            if len(text) <= b.room:
                out.append(Mutant(label, text))
            else:
                whole = len(text).to_bytes(8, "little") + text
                out.append(Mutant(label, whole=whole, size=len(whole) + b.data_size))
    return out


def _truncations(rng: random.Random, b: Base, count: int) -> list[Mutant]:
    prefix = b.room.to_bytes(8, "little") + b.text.ljust(b.room, b" ")
    total = len(prefix) + b.data_size
    cuts = [0, 1, 7, 8, 9, len(b.text) // 2, len(prefix) - 1, len(prefix), total - 1]
    cuts += [rng.randrange(total) for _ in range(count - len(cuts))]
    return [Mutant(f"cut-{c}", whole=prefix[:c], size=c) for c in cuts]


def _random_headers(rng: random.Random, count: int) -> list[Mutant]:
    out = []
    for i in range(count):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        if i % 2:
            body = b"{" + body
        length = len(body) if i % 3 else rng.randrange(2**40)
        whole = length.to_bytes(8, "little") + body
        out.append(Mutant(f"random-{i}", whole=whole, size=len(whole) + rng.randrange(64)))
    return out


def _non_finite_cards(b: Base) -> list[Mutant]:
    spots: dict[str, Callable[[dict[str, Any]], None]] = {
        "temperature": lambda c: c.update(temperature="@@"),
        "heatmap_scale": lambda c: c.update(heatmap_scale="@@"),
        "threshold": lambda c: c["operating_points"][0].update(threshold="@@"),
        "sensitivity": lambda c: c["operating_points"][1].update(sensitivity="@@"),
        "metrics": lambda c: c.update(metrics={"auroc": {"value": 0.9, "ci95": [0.8, "@@"]}}),
        "clip": lambda c: c["recipe"].update(clahe_clip_limit="@@"),
    }
    out = []
    for name, edit in spots.items():
        for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
            card = _card(b.header)
            edit(card)
            text = json.dumps(card).replace('"@@"', literal)
            out.append(Mutant(f"card-{name}-{literal}", _with_card_text(b.header, text)))
    return out


def _non_finite_weights(
    rng: random.Random, b: Base, state_dict: dict[str, torch.Tensor]
) -> list[Mutant]:
    """NaN/inf planted in the weights, with the card's weights checksum made to match (and,
    for two of them, left stale: then the checksum refuses them first)."""
    floats = [n for n in _tensor_names(b.header) if b.header[n]["dtype"] == "F32"]
    out = []
    for i, value in enumerate((math.nan, math.inf, -math.inf, math.nan, math.inf)):
        name = rng.choice(floats)
        begin, end = b.header[name]["data_offsets"]
        index = rng.randrange((end - begin) // 4)
        patched = state_dict[name].clone()
        patched.view(-1)[index] = value
        raw = patched.view(-1)[index : index + 1].numpy().tobytes()
        header = b.text
        if i < 3:
            card = _card(b.header)
            card["weights_sha256"] = weights_sha256({**state_dict, name: patched})
            header = _with_card_text(b.header, json.dumps(card, sort_keys=True))
        out.append(Mutant(f"weights-{value}-{name}-{i}", header, data=[(begin + 4 * index, raw)]))
    return out


def _mutants(b: Base, state_dict: dict[str, torch.Tensor]) -> list[Mutant]:
    rng = random.Random(SEED)
    return [
        Mutant("control", b.text),
        *_byte_flips(rng, b, 40),
        *_length_fields(rng, b),
        *_type_swaps(rng, b, 50),
        *_deep(b),
        *_truncations(rng, b, 15),
        *_random_headers(rng, 10),
        *_non_finite_cards(b),
        *_non_finite_weights(rng, b, state_dict),
    ]


def _write(b: Base, m: Mutant, index: int) -> tuple[Path, list[tuple[int, bytes]]]:
    """The mutant's file; returns the data bytes to restore in the working copy."""
    if m.whole is not None:
        path = b.folder / f"m{index:03d}.safetensors"
        with path.open("wb") as fh:
            fh.write(m.whole)
            fh.truncate(m.size)
        return path, []
    assert len(m.header) <= b.room, m.label
    length = b.room if m.length is None else m.length
    restore = []
    with b.work.open("r+b") as fh:
        fh.write(length.to_bytes(8, "little", signed=False) + m.header.ljust(b.room, b" "))
        for offset, raw in m.data:
            fh.seek(8 + b.room + offset)
            restore.append((offset, fh.read(len(raw))))
            fh.seek(8 + b.room + offset)
            fh.write(raw)
    return b.work, restore


def _restore(b: Base, restore: list[tuple[int, bytes]]) -> None:
    with b.work.open("r+b") as fh:
        for offset, raw in restore:
            fh.seek(8 + b.room + offset)
            fh.write(raw)


def _all_finite(bundle: Any) -> bool:
    card = bundle.card
    numbers = [card.temperature, card.heatmap_scale, *(p.threshold for p in card.operating_points)]
    return all(math.isfinite(v) for v in numbers) and all(
        bool(torch.isfinite(t).all()) for t in bundle.state_dict.values() if t.is_floating_point()
    )


def test_every_mutant_is_a_valid_bundle_or_a_bundle_error(
    base: Base, densenet_bundle, capsys: pytest.CaptureFixture[str]
) -> None:
    mutants = _mutants(base, densenet_bundle.state_dict)
    assert 150 <= len(mutants) <= 200
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    slowest = (0.0, "")
    t_all = time.perf_counter()
    for index, mutant in enumerate(mutants):
        path, restore = _write(base, mutant, index)
        t0 = time.perf_counter()
        try:
            inspect_bundle(path)
            bundle = load_bundle(path)
        except BundleError as exc:
            outcomes["refused"] += 1
            if exc.path != path or str(path) not in str(exc) or not exc.reason.strip():
                failures.append(f"{mutant.label}: a BundleError that does not name the file: {exc}")
        except Exception as exc:  # noqa: BLE001 - the point of the test: report, don't stop
            failures.append(f"{mutant.label}: {type(exc).__name__}: {exc}"[:300])
        else:
            outcomes["valid"] += 1
            if not _all_finite(bundle):
                failures.append(f"{mutant.label}: loaded with non-finite numbers")
            del bundle
        finally:
            _restore(base, restore)
        elapsed = time.perf_counter() - t0
        slowest = max(slowest, (elapsed, mutant.label))
        if elapsed > CALL_LIMIT_S:
            failures.append(f"{mutant.label}: took {elapsed:.1f} s")
        if mutant.whole is not None:
            path.unlink()
    with capsys.disabled():
        print(
            f"\nbundle fuzz (seed {SEED}): {len(mutants)} mutants, {outcomes['valid']} valid, "
            f"{outcomes['refused']} refused with a BundleError, {len(failures)} other; "
            f"slowest {slowest[0]:.2f} s ({slowest[1]}), all {time.perf_counter() - t_all:.1f} s"
        )
    assert not failures, "\n".join(failures)
    assert outcomes["valid"] >= 1  # the control at least
    assert load_bundle(base.work).card == densenet_bundle.card  # the working copy is restored
