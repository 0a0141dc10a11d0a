"""Model bundles: one ``.safetensors`` file holding the weights and the model card.

A clinician copies or drags one file; nothing in it is ever unpickled. The file is a plain
safetensors file whose header metadata carries:

- ``wristviewer.format``: ``"wristviewer-bundle/1"``;
- ``wristviewer.card``: the :class:`ModelCard` as JSON (sorted keys);
- ``wristviewer.card_sha256``: SHA-256 (hex) of those exact card JSON bytes, so an edited
  card is refused.

**Weights checksum** (``ModelCard.weights_sha256``) is canonical, independent of how the file
lays tensors out: SHA-256 over the tensors in sorted name order, each contributing the UTF-8
bytes of ``f"{name}\\n{dtype}\\n{shape}\\n{nbytes}\\n"`` (dtype as torch spells it without
``torch.``, e.g. ``float32``; shape as comma-separated integers, empty for a scalar) followed
by its raw little-endian C-order bytes. See :func:`weights_sha256`.

:func:`load_bundle` refuses, with a :class:`BundleError` naming the file: a file that is not
safetensors, a missing or edited card, a card with missing or invalid fields, an unknown
architecture, missing / unexpected / mis-shaped tensors, and a weights checksum mismatch.

Bundles come from elsewhere, so every byte of the header is distrusted: a special file (FIFO,
device) is refused without being opened; every header field is type-checked and the tensors
must tile the data section exactly; JSON deeper than :data:`MAX_JSON_DEPTH`, duplicate keys
and NaN/Infinity literals are refused before or while parsing; the card's fields are
type-checked; and **no non-finite number is ever used**: a NaN or infinite temperature,
heatmap scale, threshold, recipe value or metric, or a NaN/inf weight, makes the bundle
unusable (at :func:`load_bundle`, hence also at install), so it can never yield a verdict.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from wristviewer.ai.architectures import build_model, expected_shapes
from wristviewer.ai.card import ARCHITECTURES, ModelCard, OperatingPoint, non_finite_numbers
from wristviewer.ai.recipe import Recipe

FORMAT = "wristviewer-bundle/1"
FORMAT_KEY = "wristviewer.format"
CARD_KEY = "wristviewer.card"
CARD_SHA_KEY = "wristviewer.card_sha256"


_MAX_HEADER_BYTES = 64 * 1024 * 1024
#: deepest nesting of JSON arrays/objects accepted in a header or a card (a real card needs 4)
MAX_JSON_DEPTH = 32
#: safetensors dtypes and their sizes in bytes
_DTYPE_SIZES: dict[str, int] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
#: what the architectures' parameters and buffers may be stored as
_FLOAT_DTYPES = frozenset({"F16", "BF16", "F32", "F64"})
_INT_DTYPES = frozenset({"I64", "I32"})
_TENSOR_FIELDS = frozenset({"dtype", "shape", "data_offsets"})
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


class BundleError(Exception):
    """A model bundle that cannot be used. ``str(err)`` is ``"<path>: <reason>"``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def weights_sha256(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Canonical SHA-256 (hex) of a state dict; see the module docstring for the definition."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach()
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
        flat = tensor.contiguous().reshape(-1)
        raw = flat.view(torch.uint8)
        shape = ",".join(str(int(s)) for s in tensor.shape)
        nbytes = flat.numel() * flat.element_size()
        digest.update(f"{name}\n{_dtype_name(tensor.dtype)}\n{shape}\n{nbytes}\n".encode())
        if nbytes:
            digest.update(raw.numpy().tobytes())
    return digest.hexdigest()


@dataclass
class ModelBundle:
    """A verified bundle in memory: its file, its card and its weights (CPU tensors)."""

    path: Path
    card: ModelCard
    state_dict: dict[str, torch.Tensor]

    @property
    def sha256(self) -> str:
        return self.card.weights_sha256

    def build_model(self, *, share_memory: bool = False) -> nn.Module:
        """The network with these weights, in eval mode, on the CPU.

        ``share_memory=True`` makes the parameters use the bundle's tensors (no copy, in the
        dtype they are stored in; the predictor does this and casts to its precision); by
        default they are float32 copies, safe to train.
        """
        with torch.device("meta"):
            model = build_model(self.card.arch)
        tensors = (
            self.state_dict
            if share_memory
            else {
                k: v.float() if v.is_floating_point() else v.clone()
                for k, v in self.state_dict.items()
            }
        )
        model.load_state_dict(tensors, strict=True, assign=True)
        return model.eval()


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _card_json(card: ModelCard) -> str:
    return json.dumps(card.to_dict(), sort_keys=True, ensure_ascii=False)


def card_metadata(card: ModelCard) -> dict[str, str]:
    """The safetensors header metadata that carries ``card`` (format, card JSON, card SHA-256)."""
    card_text = _card_json(card)
    return {FORMAT_KEY: FORMAT, CARD_KEY: card_text, CARD_SHA_KEY: _sha256_text(card_text)}


def _json_depth(text: str) -> int:
    """Deepest nesting of arrays/objects in JSON ``text`` (strings ignored), without parsing
    it, so a hostile header cannot exhaust the parser's recursion."""
    skeleton = _JSON_STRING.sub('""', text).encode("utf-8", "replace")
    b = np.frombuffer(skeleton, dtype=np.uint8)
    opens = (b == ord("[")) | (b == ord("{"))
    closes = (b == ord("]")) | (b == ord("}"))
    return int(np.cumsum(opens.astype(np.int64) - closes, dtype=np.int64).max(initial=0))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice")
        out[key] = value
    return out


def _loads_bounded(path: Path, text: str, what: str) -> Any:
    """``json.loads`` for untrusted ``text``: bounded depth, no duplicate keys, no NaN or
    Infinity literals. Raises :class:`BundleError` saying ``what`` is malformed."""
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise BundleError(path, f"{what} is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BundleError(path, f"{what} is not valid JSON ({exc.msg})") from exc
    except ValueError as exc:
        raise BundleError(path, f"{what} is malformed ({exc})") from exc
    except RecursionError as exc:  # the depth check above should make this unreachable
        raise BundleError(path, f"{what} is nested too deeply") from exc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _tensor_entry_problem(name: str, info: Any) -> str | None:
    """Why one safetensors header entry is malformed, or None."""
    if not isinstance(info, dict) or set(info) != _TENSOR_FIELDS:
        return f"tensor entry {name!r} must have exactly dtype, shape and data_offsets"
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _DTYPE_SIZES:
        return f"tensor {name!r} has an unknown dtype {dtype!r}"
    if not isinstance(shape, list) or len(shape) > 8 or not all(_is_int(s) for s in shape):
        return f"tensor {name!r} has a shape that is not a list of at most 8 integers"
    if any(s < 0 for s in shape):
        return f"tensor {name!r} has a negative dimension"
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets):
        return f"tensor {name!r} has data_offsets that are not a pair of integers"
    begin, end = offsets
    if not 0 <= begin <= end:
        return f"tensor {name!r} has data_offsets {offsets} out of order"
    if math.prod(shape) * _DTYPE_SIZES[dtype] != end - begin:
        return f"tensor {name!r} has {end - begin} bytes where its dtype and shape need {math.prod(shape) * _DTYPE_SIZES[dtype]}"
    return None


def read_header(path: str | Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The safetensors header: ({tensor name: {dtype, shape, data_offsets}}, metadata).

    Reads only the header bytes, and only from a regular file (a FIFO or a device is refused
    unopened). Every field is type-checked, and the tensors must tile the data section exactly,
    as safetensors itself requires. Raises :class:`BundleError` for anything else.
    """
    p = Path(path)
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            raise BundleError(p, "not a model bundle: not a regular file")
        size = st.st_size
        with p.open("rb") as fh:
            prefix = fh.read(8)
            if len(prefix) < 8:
                raise BundleError(p, "not a model bundle: the file is too short to be safetensors")
            n = int.from_bytes(prefix, "little")
            if n < 2 or n > min(size - 8, _MAX_HEADER_BYTES):
                raise BundleError(p, "not a model bundle: the file is not in safetensors format")
            raw = fh.read(n)
    except OSError as exc:
        raise BundleError(p, f"cannot read the file ({exc.strerror or exc})") from exc
    if len(raw) != n:
        raise BundleError(p, "the file is truncated: it ends inside its header")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(p, "not a model bundle: the file is not in safetensors format") from exc
    if not text.lstrip().startswith("{"):
        raise BundleError(p, "not a model bundle: the file is not in safetensors format")
    header = _loads_bounded(p, text, "not a model bundle: the safetensors header")
    if not isinstance(header, dict):
        raise BundleError(p, "not a model bundle: the file is not in safetensors format")
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise BundleError(
            p, "not a model bundle: the safetensors metadata is not a map of strings to strings"
        )
    spans: list[tuple[int, int, str]] = []
    for name, info in header.items():
        problem = _tensor_entry_problem(name, info)
        if problem is not None:
            raise BundleError(p, f"not a model bundle: malformed safetensors header: {problem}")
        spans.append((info["data_offsets"][0], info["data_offsets"][1], name))
    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            raise BundleError(
                p,
                "not a model bundle: malformed safetensors header: tensor "
                f"{name!r} {'overlaps another' if begin < end else 'leaves a gap before it'}",
            )
        end = stop
    if 8 + n + end != size:
        raise BundleError(
            p, f"the file is truncated or padded: {size} bytes where {8 + n + end} were expected"
        )
    return header, dict(metadata)


def _card_type_problems(d: Mapping[str, Any]) -> list[str]:
    """Fields of a card's JSON whose type is wrong (the fields present; missing ones are
    :meth:`ModelCard.from_dict`'s to report)."""
    kinds: dict[str, tuple[str, Any]] = {
        "name": ("a string", lambda v: isinstance(v, str)),
        "arch": ("a string", lambda v: isinstance(v, str)),
        "version": ("a string", lambda v: isinstance(v, str)),
        "aggregation": ("a string", lambda v: isinstance(v, str)),
        "created": ("a string", lambda v: isinstance(v, str)),
        "weights_sha256": ("a string", lambda v: isinstance(v, str)),
        "temperature": ("a number", _is_number),
        "heatmap_scale": ("a number", _is_number),
        "untrained": ("true or false", lambda v: isinstance(v, bool)),
        "training_data": ("an object", lambda v: isinstance(v, dict)),
        "metrics": ("an object", lambda v: isinstance(v, dict)),
        "recipe": ("an object", lambda v: isinstance(v, dict)),
        "operating_points": (
            "a list of objects",
            lambda v: isinstance(v, list) and all(isinstance(p, dict) for p in v),
        ),
    }
    out = [
        f"{key} must be {kind}" for key, (kind, ok) in kinds.items() if key in d and not ok(d[key])
    ]
    for point in d.get("operating_points") or []:
        if not isinstance(point, dict):
            continue
        if not isinstance(point.get("name"), str):
            out.append("every operating point needs a name (a string)")
        if not _is_number(point.get("threshold")):
            out.append("every operating point needs a threshold (a number)")
        for key in ("sensitivity", "specificity"):
            if point.get(key) is not None and not _is_number(point[key]):
                out.append(f"an operating point's {key} must be a number or null")
    recipe = d.get("recipe")
    if isinstance(recipe, dict):
        for key in ("clahe_clip_limit",):
            if key in recipe and not _is_number(recipe[key]):
                out.append(f"recipe.{key} must be a number")
        for key in ("input_width", "input_height", "channels"):
            if key in recipe and not _is_int(recipe[key]):
                out.append(f"recipe.{key} must be an integer")
        grid = recipe.get("clahe_tile_grid")
        if "clahe_tile_grid" in recipe and not (
            isinstance(grid, list) and len(grid) == 2 and all(_is_int(v) for v in grid)
        ):
            out.append("recipe.clahe_tile_grid must be two integers")
        for key in ("mean", "std"):
            value = recipe.get(key)
            if key in recipe and not (
                isinstance(value, list) and all(_is_number(v) for v in value)
            ):
                out.append(f"recipe.{key} must be a list of numbers")
    return list(dict.fromkeys(out))


def _card_from_metadata(path: Path, metadata: Mapping[str, str]) -> ModelCard:
    if metadata.get(FORMAT_KEY) is None or CARD_KEY not in metadata:
        raise BundleError(
            path, "a safetensors file without a WristViewer model card (not a model bundle)"
        )
    if metadata[FORMAT_KEY] != FORMAT:
        raise BundleError(
            path,
            f"bundle format {metadata[FORMAT_KEY]!r} is not supported (this version reads {FORMAT})",
        )
    card_text = metadata[CARD_KEY]
    if metadata.get(CARD_SHA_KEY) != _sha256_text(card_text):
        raise BundleError(
            path, "the model card was changed after the bundle was written (card checksum mismatch)"
        )
    card_dict = _loads_bounded(path, card_text, "the model card")
    if not isinstance(card_dict, dict):
        raise BundleError(path, "the model card is not a JSON object")
    problems = _card_type_problems(card_dict)
    non_finite = non_finite_numbers(card_dict)
    if non_finite:
        problems.append(f"the model card has non-finite numbers ({', '.join(non_finite[:3])})")
    if problems:
        raise BundleError(path, "; ".join(problems))
    try:
        card = ModelCard.from_dict(card_dict)
    except KeyError as exc:
        raise BundleError(
            path, str(exc.args[0]) if exc.args else "the model card is incomplete"
        ) from exc
    except (TypeError, ValueError, IndexError, AttributeError) as exc:
        raise BundleError(path, f"the model card has an invalid value ({exc})") from exc
    problems = card.problems()
    if problems:
        raise BundleError(path, "; ".join(problems))
    return card


def _check_tensor_names(path: Path, arch: str, shapes: Mapping[str, tuple[int, ...]]) -> None:
    expected = expected_shapes(arch)
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    if missing:
        raise BundleError(
            path, f"{len(missing)} tensor(s) of {arch} are missing, e.g. {', '.join(missing[:3])}"
        )
    if unexpected:
        raise BundleError(
            path,
            f"{len(unexpected)} unexpected tensor(s) for {arch}, e.g. {', '.join(unexpected[:3])}",
        )
    for name, shape in expected.items():
        if tuple(shapes[name]) != shape:
            raise BundleError(
                path, f"tensor {name} has shape {tuple(shapes[name])}, {arch} needs {shape}"
            )


def inspect_bundle(path: str | Path) -> ModelCard:
    """The card of a bundle, checked without loading the weights: the format, the card, the
    architecture and every tensor name and shape. The weights checksum is *not* verified
    (:func:`load_bundle` does). Raises :class:`BundleError`."""
    p = Path(path)
    header, metadata = read_header(p)
    card = _card_from_metadata(p, metadata)
    shapes = {name: tuple(info["shape"]) for name, info in header.items()}
    _check_tensor_names(p, card.arch, shapes)
    for name, info in header.items():
        wanted = _INT_DTYPES if name.endswith("num_batches_tracked") else _FLOAT_DTYPES
        if info["dtype"] not in wanted:
            raise BundleError(
                p,
                f"tensor {name} is stored as {info['dtype']}, {card.arch} needs a "
                f"{'n integer' if wanted is _INT_DTYPES else ' floating-point'} type",
            )
    return card


def _non_finite_tensor(state_dict: Mapping[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor holding NaN or ±inf, or None."""
    for name in sorted(state_dict):
        tensor = state_dict[name]
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


def load_bundle(path: str | Path) -> ModelBundle:
    """Read and fully verify a bundle (no unpickling). Raises :class:`BundleError`."""
    p = Path(path)
    card = inspect_bundle(p)
    state_dict: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(p), framework="pt", device="cpu") as fh:
            for name in fh.keys():  # noqa: SIM118 (safe_open is not a mapping)
                state_dict[name] = fh.get_tensor(name)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise BundleError(p, f"the weights cannot be read ({exc})") from exc
    actual = weights_sha256(state_dict)
    if actual != card.weights_sha256:
        raise BundleError(
            p,
            "the weights do not match the checksum in the model card "
            f"(card {card.weights_sha256[:12] or 'empty'}…, file {actual[:12]}…): "
            "the file is damaged or was altered",
        )
    bad = _non_finite_tensor(state_dict)
    if bad is not None:
        raise BundleError(
            p,
            f"the weights contain NaN or infinite values (tensor {bad}), so the model could "
            "give no meaningful probability",
        )
    return ModelBundle(path=p, card=card, state_dict=state_dict)


def save_bundle(path: str | Path, state_dict: Mapping[str, torch.Tensor], card: ModelCard) -> Path:
    """Write a bundle atomically (temporary file in the target folder, then ``os.replace``).

    The tensors must be exactly those of ``card.arch`` (names and shapes); the card is
    validated and its ``weights_sha256`` filled in. Returns the path written.
    Raises :class:`BundleError` for an invalid card or weights, ``OSError`` for I/O.
    """
    p = Path(path)
    problems = card.problems()
    if problems:
        raise BundleError(p, "; ".join(problems))
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    _check_tensor_names(p, card.arch, {k: tuple(v.shape) for k, v in tensors.items()})
    bad = _non_finite_tensor(tensors)
    if bad is not None:
        raise BundleError(p, f"the weights contain NaN or infinite values (tensor {bad})")
    card = dataclasses.replace(card, weights_sha256=weights_sha256(tensors))
    metadata = card_metadata(card)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp_name, metadata=metadata)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return p


def _untrained_heatmap_scale(
    model: nn.Module, arch: str, recipe: Recipe, generator: torch.Generator
) -> float:
    """An arbitrary but visible scale: the 99th percentile of the CAM on two noise images."""
    from wristviewer.ai.architectures import cam_layer_name, head_weight
    from wristviewer.ai.gradcam import forward_with_cam

    x = torch.randn(
        (2, recipe.channels, recipe.input_height, recipe.input_width), generator=generator
    )
    layer = model.get_submodule(cam_layer_name(arch))
    with torch.inference_mode():
        _, cam = forward_with_cam(model, layer, head_weight(model, arch), x)
    positive = cam[cam > 0]
    if positive.numel() == 0:
        return 1.0
    scale = float(torch.quantile(positive.flatten()[:1_000_000], 0.99))
    return scale if scale > 0 and scale == scale and scale != float("inf") else 1.0


def create_untrained_bundle(
    arch: str,
    path: str | Path,
    *,
    recipe: Recipe = Recipe(),  # noqa: B008 (frozen dataclass, immutable default)
    seed: int = 0,
    name: str | None = None,
) -> Path:
    """Write a random-weight bundle (``untrained=True``): for tests, demos and benchmarks.

    Its outputs are meaningless. Weights come from torchvision's initialisation with
    ``seed`` (ResNet: the last BatchNorm of every residual branch zeroed, torchvision's
    ``zero_init_residual``, so random activations stay finite in fp16). The operating points
    (0.25 / 0.5 / 0.75) are arbitrary and ``heatmap_scale`` is arbitrary too: the 99th
    percentile of the CAM over two noise images at the recipe's input size, chosen only so
    that the maps are visible. The global torch RNG state is left untouched.
    """
    if arch not in ARCHITECTURES:
        raise BundleError(
            path, f"unknown architecture {arch!r} (this version knows {', '.join(ARCHITECTURES)})"
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(arch)
    if arch == "resnet152":
        for module in model.modules():
            bn3 = getattr(module, "bn3", None)
            if isinstance(bn3, nn.BatchNorm2d):
                nn.init.zeros_(bn3.weight)
    generator = torch.Generator().manual_seed(seed + 1)
    scale = _untrained_heatmap_scale(model, arch, recipe, generator)
    card = ModelCard(
        name=name or f"{arch}-untrained",
        arch=arch,
        version="0.0.0+untrained",
        recipe=recipe,
        operating_points=[
            OperatingPoint("youden", 0.5),
            OperatingPoint("high_sensitivity", 0.25),
            OperatingPoint("high_specificity", 0.75),
        ],
        temperature=1.0,
        heatmap_scale=scale,
        aggregation="max",
        training_data={"description": "none: random weights, never trained", "seed": seed},
        metrics={},
        untrained=True,
    )
    return save_bundle(path, model.state_dict(), card)
