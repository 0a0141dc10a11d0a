"""Every JSON document the command line writes is strict JSON, through one helper."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np

from tests.helpers.hostile import strict_loads
from wristviewer.cli import jsonout

CLI = Path(jsonout.__file__).parent


def test_non_finite_numbers_become_null_everywhere() -> None:
    doc = {
        "a": math.inf,
        "b": [-math.inf, math.nan, 1.5, np.float32(np.nan), np.float64(2.0)],
        "c": {"d": (np.int64(3), np.array([0.5, np.inf]))},
        "e": True,
        "f": None,
        "g": Path("/x/y"),
    }
    back = strict_loads(jsonout.dumps(doc))
    assert back == {
        "a": None,
        "b": [None, None, 1.5, None, 2.0],
        "c": {"d": [3, [0.5, None]]},
        "e": True,
        "f": None,
        "g": "/x/y",
    }


def test_names_that_are_not_utf8_round_trip_as_escapes() -> None:
    raw = b"/data/wrist_\xff\xfe.png"
    text = jsonout.dumps({"path": os.fsdecode(raw)})
    assert text.isascii() and "\\udcff\\udcfe" in text
    assert os.fsencode(json.loads(text)["path"]) == raw


def test_the_cli_writes_json_only_through_the_helper() -> None:
    """``info``, ``predict``, ``models`` and ``audit``: no json.dump(s) of their own."""
    for module in CLI.glob("*.py"):
        if module.name == "jsonout.py":
            continue
        source = module.read_text(encoding="utf-8")
        assert not re.search(r"\bjson\.dumps?\(", source), module.name
    for name in ("info", "predict", "models", "audit"):
        assert "jsonout.dumps(" in (CLI / f"{name}.py").read_text(encoding="utf-8"), name
