"""Random-weight bundles built once per session at a reduced input size (nothing downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

#: reduced model input for tests (W×H); the product uses 550×660
SMALL_W, SMALL_H = 96, 112


@pytest.fixture(scope="session")
def small_recipe():  # -> Recipe
    from wristviewer.ai.recipe import Recipe

    return Recipe(input_width=SMALL_W, input_height=SMALL_H)


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bundles")


@pytest.fixture(scope="session")
def densenet_path(bundle_dir: Path, small_recipe) -> Path:
    from wristviewer.ai.bundle import create_untrained_bundle

    return create_untrained_bundle(
        "densenet161", bundle_dir / "densenet.safetensors", recipe=small_recipe, seed=1
    )


@pytest.fixture(scope="session")
def resnet_path(bundle_dir: Path, small_recipe) -> Path:
    from wristviewer.ai.bundle import create_untrained_bundle

    return create_untrained_bundle(
        "resnet152", bundle_dir / "resnet.safetensors", recipe=small_recipe, seed=2
    )


@pytest.fixture(scope="session")
def densenet_bundle(densenet_path: Path):  # -> ModelBundle
    from wristviewer.ai.bundle import load_bundle

    return load_bundle(densenet_path)


@pytest.fixture(scope="session")
def resnet_bundle(resnet_path: Path):  # -> ModelBundle
    from wristviewer.ai.bundle import load_bundle

    return load_bundle(resnet_path)
