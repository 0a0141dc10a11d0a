"""Which torch device runs a model: one rule for the viewer and for training.

``"auto"`` picks CUDA, then Apple MPS, then the CPU. An explicit device this machine lacks
is handled two ways:

- the viewer (default): **the CPU with a RuntimeWarning** — the result is the same, only
  slower, and a saved setting must not make the viewer unusable on another machine;
- training (``strict=True``): :class:`DeviceUnavailable` — a run meant for a GPU must not
  silently take days on the CPU.
"""

from __future__ import annotations

import warnings

import torch

#: the device choices offered; ``"cuda:N"`` picks one GPU of several
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


class DeviceUnavailable(RuntimeError):
    """An explicitly requested device that this machine does not have (strict mode)."""


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def _missing(kind: str) -> str | None:
    """Why ``kind`` cannot run here, or None when it can."""
    if kind == "cuda" and not torch.cuda.is_available():
        return "CUDA was requested but no CUDA GPU is available"
    if kind == "mps" and not _mps_available():
        return "Apple MPS was requested but is not available"
    return None


def select_device(requested: str = "auto", *, strict: bool = False) -> torch.device:
    """The device for ``requested``: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.

    Raises ``ValueError`` for any other name. A missing CUDA or MPS: the CPU with a
    RuntimeWarning, or :class:`DeviceUnavailable` when ``strict`` (module docstring).
    """
    kind, _, index = requested.partition(":")
    if kind not in DEVICES or (index and not (kind == "cuda" and index.isdigit())):
        raise ValueError(
            f"unknown device {requested!r}; choose one of {', '.join(DEVICES)} (or cuda:N)"
        )
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    reason = _missing(kind)
    if reason is None:
        return torch.device(requested)
    if strict:
        raise DeviceUnavailable(f"device {requested!r}: {reason}")
    warnings.warn(f"{reason}: using the CPU", RuntimeWarning, stacklevel=2)
    return torch.device("cpu")


def device_description(device: torch.device) -> str:
    """Human-readable device name: the GPU's name, ``"Apple MPS"`` or ``"CPU"``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return "CPU"
