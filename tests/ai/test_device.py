"""Device selection: one rule, lenient for the viewer and strict for training."""

from __future__ import annotations

import pytest
import torch

from wristviewer.ai.device import DeviceUnavailable, select_device


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.usefixtures("no_gpu")
@pytest.mark.parametrize("requested", ["cuda", "cuda:1", "mps"])
def test_strict_mode_refuses_a_missing_device_instead_of_falling_back(requested: str) -> None:
    with pytest.raises(DeviceUnavailable, match=f"device '{requested}'"):
        select_device(requested, strict=True)
    with pytest.warns(RuntimeWarning, match="using the CPU"):
        assert select_device(requested).type == "cpu"


@pytest.mark.usefixtures("no_gpu")
def test_auto_and_cpu_never_raise() -> None:
    assert select_device("auto", strict=True).type == "cpu"
    assert select_device("cpu", strict=True).type == "cpu"


def test_a_numbered_gpu_is_kept_when_cuda_is_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("cuda:1", strict=True) == torch.device("cuda", 1)


@pytest.mark.parametrize("requested", ["tpu", "cuda:x", "cpu:0", "mps:1", ""])
def test_unknown_names_are_refused_in_both_modes(requested: str) -> None:
    for strict in (False, True):
        with pytest.raises(ValueError, match="unknown device"):
            select_device(requested, strict=strict)
