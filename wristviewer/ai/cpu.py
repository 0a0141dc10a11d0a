"""What this CPU can do fast: its model name and the instruction-set flags that decide precision.

bf16 arithmetic is fast only where the CPU has it natively (AVX-512 BF16 on current AMD EPYC
/ Ryzen and Intel Xeon, AMX on newer Xeons); elsewhere (AVX2 only) torch emulates it and bf16
is several times *slower* than fp32. So the choice is made from the flags the CPU reports,
never from its vendor. Standard library only (no torch): the viewer and training both ask.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path

#: flags that give native bf16 matrix arithmetic
BF16_FLAGS: tuple[str, ...] = ("avx512_bf16", "amx_bf16")
#: flags worth reporting with every timing
REPORTED_FLAGS: tuple[str, ...] = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


@dataclass(frozen=True)
class CpuInfo:
    """``model``: the CPU's marketing name (``"unknown"`` when the OS does not say);
    ``flags``: the instruction-set flags as Linux spells them (empty when unknown)."""

    model: str
    flags: frozenset[str]

    @property
    def native_bf16(self) -> bool:
        """True when bf16 runs natively (see :data:`BF16_FLAGS`)."""
        return any(f in self.flags for f in BF16_FLAGS)

    @property
    def reported_flags(self) -> list[str]:
        """The flags of :data:`REPORTED_FLAGS` this CPU has, in that order."""
        return [f for f in REPORTED_FLAGS if f in self.flags]

    def bf16_reason(self) -> str:
        """One sentence: why bf16 is or is not used on this CPU."""
        if self.native_bf16:
            have = ", ".join(f for f in BF16_FLAGS if f in self.flags)
            return f"bf16: the CPU has native bf16 ({have})"
        if not self.flags:
            return "fp32: the CPU's instruction-set flags are unknown, so bf16 is not assumed"
        return "fp32: the CPU has no native bf16 (no avx512_bf16 or amx_bf16), where bf16 is slower"

    def describe(self) -> str:
        """``"<model> (flags: avx2, avx512_bf16, ...)"`` for logs and benchmark reports."""
        return f"{self.model} (flags: {', '.join(self.reported_flags) or 'none of note'})"

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "flags": self.reported_flags,
            "native_bf16": self.native_bf16,
        }


def parse_cpuinfo(text: str) -> CpuInfo:
    """A :class:`CpuInfo` from the text of Linux's ``/proc/cpuinfo`` (first processor)."""
    model = "unknown"
    flags: frozenset[str] = frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "model name" and model == "unknown":
            model = value.strip() or "unknown"
        elif key in ("flags", "features") and not flags:
            flags = frozenset(value.split())
    return CpuInfo(model, flags)


@functools.cache
def cpu_info() -> CpuInfo:
    """This machine's CPU (cached). Linux: ``/proc/cpuinfo``; elsewhere the model from
    :func:`platform.processor` and no flags (so bf16 is not assumed)."""
    path = Path("/proc/cpuinfo")
    try:
        return parse_cpuinfo(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return CpuInfo(platform.processor() or "unknown", frozenset())
