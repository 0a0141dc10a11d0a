"""Names from files shown without control or bidirectional-override characters."""

from __future__ import annotations

import pytest

from wristviewer.text import printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("dn161", "dn161"),
        ("\x1b[31mred\x1b[0m", "[31mred[0m"),
        ("model\u202egnp.exe", "modelgnp.exe"),
        ("\u2066isolate\u2069 \u202aembed\u202c \u200bzero-width", "isolate embed zero-width"),
        ("two\nlines\tand\r\nreturns\u2028sep", "two lines and returns sep"),
        ("  spaced   out\u00a0 ", "spaced out"),
        ("Zürich — 骨折", "Zürich — 骨折"),
        ("\ud800lone surrogate", "lone surrogate"),
    ],
)
def test_printable_strips_what_a_terminal_or_label_would_obey(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_printable_limits_the_length() -> None:
    assert printable("abcdefghij", limit=5) == "abcd…"
    assert printable(12.5) == "12.5"
