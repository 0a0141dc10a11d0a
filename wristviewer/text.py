"""Text from files (model card names, notes, file names) made safe to show a person.

A bundle or a case set is written by someone else: its names may carry terminal escape
sequences (category Cc) or bidirectional overrides and other invisible format characters
(category Cf, e.g. U+202A–U+202E, U+2066–U+2069) that make one name look like another or
reorder the rest of a line. Standard library only, so every layer may use it.
"""

from __future__ import annotations

import unicodedata

#: Unicode categories never shown: control (Cc), format (Cf, the bidi controls among them),
#: line and paragraph separators (Zl, Zp), unassigned (Cn), surrogates (Cs), private use (Co)
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cn", "Cs", "Co"})


def printable(text: object, limit: int | None = None) -> str:
    """``text`` without control, format (bidi) and other invisible characters; whitespace runs
    become one space. ``limit`` cuts the result to that many characters (with ``…``)."""
    kept = []
    for ch in str(text):
        category = unicodedata.category(ch)
        if category in _HIDDEN:
            if ch in "\t\n\r\v\f" or category in ("Zl", "Zp"):
                kept.append(" ")
            continue
        kept.append(" " if category == "Zs" else ch)
    out = " ".join("".join(kept).split())
    if limit is not None and len(out) > limit:
        out = out[: max(limit - 1, 0)] + "…"
    return out
