"""The model catalogue: the choices, their labels, the ensemble and which bundle is preferred."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from wristviewer.ai.card import ModelCard, OperatingPoint
from wristviewer.ai.recipe import Recipe
from wristviewer.ai.registry import (
    ARCHITECTURES,
    ENSEMBLE,
    MODEL_SPECS,
    BundleEntry,
    ensemble_members,
    ensemble_sha256,
    model_choices,
    model_label,
    preferred_cards,
)


def _card(
    name: str, arch: str, *, untrained: bool = False, created: str = "2026-01-01"
) -> ModelCard:
    return ModelCard(
        name=name,
        arch=arch,
        version="1",
        recipe=Recipe(),
        operating_points=[OperatingPoint("youden", 0.5)],
        created=created,
        untrained=untrained,
    )


def test_the_ensemble_runs_every_architecture_and_is_offered_only_when_all_are_there() -> None:
    assert ensemble_members(ENSEMBLE) == ARCHITECTURES
    assert ensemble_members("resnet152") == ("resnet152",)
    assert ensemble_members("some-file.safetensors") == ()
    assert model_choices(["resnet152"]) == ["resnet152"]
    assert model_choices(reversed(ARCHITECTURES)) == [*ARCHITECTURES, ENSEMBLE]
    assert set(MODEL_SPECS) >= {ENSEMBLE, *ARCHITECTURES}


def test_every_choice_has_a_label_and_an_unknown_one_is_shown_as_it_is() -> None:
    assert model_label("densenet161") == "DenseNet-161"
    assert model_label(ENSEMBLE) == "Both (DenseNet-161 + ResNet-152)"
    assert all(model_label(spec) != spec for spec in MODEL_SPECS)
    assert model_label("my-model") == "my-model"


def test_the_ensemble_identity_does_not_depend_on_member_order() -> None:
    a, b = "ab" * 32, "cd" * 32
    assert ensemble_sha256([a, b]) == ensemble_sha256([b, a])
    assert len(ensemble_sha256([a, b])) == 64 and ensemble_sha256([a, b]) != ensemble_sha256([a])


def test_the_preferred_card_is_trained_then_newest_then_user_installed() -> None:
    old = _card("old", "densenet161", created="2025-01-01")
    new = _card("new", "densenet161", created="2026-06-01")
    random = _card("random", "densenet161", untrained=True, created="2027-01-01")
    user_copy = dataclasses.replace(new, name="new-user")
    entries = [
        BundleEntry(Path("random.safetensors"), random, "bundled"),
        BundleEntry(Path("old.safetensors"), old, "user"),
        BundleEntry(Path("new.safetensors"), new, "bundled"),
        BundleEntry(Path("broken.safetensors"), None, "user", "damaged"),
        BundleEntry(Path("new-user.safetensors"), user_copy, "user"),
        BundleEntry(Path("rn.safetensors"), _card("rn", "resnet152", untrained=True), "bundled"),
    ]
    cards = preferred_cards(entries)
    assert cards["densenet161"].name == "new-user"
    assert cards["resnet152"].name == "rn"
    assert preferred_cards(entries[:1])["densenet161"].name == "random"
