"""Strict JSON for every document the command line writes (``info``, ``predict``, ``models``,
``audit`` with ``--json``).

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which no strict JSON parser
reads. Here non-finite floats become ``null`` and ``allow_nan=False`` guards the rest; numpy
scalars and arrays become plain numbers and lists; paths become strings.

File names that are not valid UTF-8 arrive as ``os.fsdecode`` strings, their undecodable bytes
as lone surrogates U+DC80..U+DCFF (Python's "surrogateescape"). The output is ASCII with
``\\uXXXX`` escapes, so such a name is written as ``\\udcff`` and nothing is lost:
``os.fsencode(json.loads(text)["path"])`` gives back the original bytes.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any


def strict(value: Any) -> Any:
    """``value`` with non-finite floats as None and numpy/path objects as plain JSON types."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [strict(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fsdecode(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return strict(value.tolist())
    return value


def dumps(doc: Any, indent: int | None = 2) -> str:
    """``doc`` as strict, ASCII-only JSON text (see the module docstring)."""
    return json.dumps(strict(doc), indent=indent, allow_nan=False, ensure_ascii=True)
