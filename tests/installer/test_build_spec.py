"""The PyInstaller spec and what it packs, checked without running PyInstaller."""

from __future__ import annotations

import plistlib
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.installer.helpers import INSTALLER, REPO, bs

SPEC = INSTALLER / "wristviewer.spec"


def _dests(datas: list[tuple[str, str]]) -> dict[str, str]:
    """relative source path -> folder inside the app"""
    return {Path(src).relative_to(REPO).as_posix(): dest for src, dest in datas}


def test_datas_hold_the_icons_and_the_sample_study_under_resources() -> None:
    dests = _dests(bs.collect_datas())
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert dests[f"resources/icons/wristviewer-{size}.png"] == "resources/icons"
    assert dests["resources/icons/wristviewer.svg"] == "resources/icons"
    assert dests["resources/sample/wrist_PA.jpg"] == "resources/sample"
    assert dests["resources/sample/dicom/wrist_PA.dcm"] == "resources/sample/dicom"
    assert dests["resources/sample/ATTRIBUTION.md"] == "resources/sample"  # CC BY needs it
    assert not any(
        name.endswith("make_icons.py") or name.endswith("make_sample.py") for name in dests
    )
    for src, _ in bs.collect_datas():
        assert Path(src).is_file()


def _fake_resources(tmp_path: Path) -> Path:
    root = tmp_path / "resources"
    shutil.copytree(REPO / "resources" / "icons", root / "icons")
    shutil.copytree(REPO / "resources" / "sample", root / "sample")
    (root / "models").mkdir()
    return root


def test_every_bundle_is_verified_and_packed(tmp_path: Path) -> None:
    root = _fake_resources(tmp_path)
    for name in ("b.safetensors", "a.safetensors", ".partial.safetensors", "notes.txt"):
        (root / "models" / name).write_bytes(b"x")
    checked: list[str] = []
    datas = bs.collect_datas(root, verify=lambda p: checked.append(p.name))
    assert checked == ["a.safetensors", "b.safetensors"]
    models = [(Path(s).name, d) for s, d in datas if d == "resources/models"]
    assert models == [("a.safetensors", "resources/models"), ("b.safetensors", "resources/models")]


def test_a_bad_bundle_stops_the_build_with_a_sentence(tmp_path: Path) -> None:
    root = _fake_resources(tmp_path)
    bad = root / "models" / "broken.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json")
    with pytest.raises(bs.BuildError) as err:
        bs.collect_datas(root)  # the real check: wristviewer.ai.bundle.load_bundle
    message = str(err.value)
    assert message.startswith("Build stopped: the model bundle ")
    assert str(bad) in message and message.endswith("then build again.")


def test_no_models_folder_builds_an_app_without_a_model(tmp_path: Path) -> None:
    root = _fake_resources(tmp_path)
    shutil.rmtree(root / "models")
    assert all(d != "resources/models" for _, d in bs.collect_datas(root))


def test_missing_icons_stop_the_build(tmp_path: Path) -> None:
    root = _fake_resources(tmp_path)
    for png in (root / "icons").glob("*.png"):
        png.unlink()
    with pytest.raises(bs.BuildError, match="make_icons.py"):
        bs.collect_datas(root)


@pytest.mark.slow
def test_a_real_bundle_passes_verification(tmp_path: Path) -> None:
    from wristviewer.ai.bundle import create_untrained_bundle
    from wristviewer.ai.recipe import Recipe

    root = _fake_resources(tmp_path)
    create_untrained_bundle(
        "resnet152",
        root / "models" / "r.safetensors",
        recipe=Recipe(input_width=96, input_height=112),
    )
    assert "resources/models" in {d for _, d in bs.collect_datas(root)}


# the spec itself, run with stand-ins for PyInstaller's classes ----------------------------
class _Recorder:
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).calls.append((type(self).__name__, args, kwargs))
        self.args, self.kwargs = args, kwargs
        self.pure, self.scripts, self.binaries, self.datas = [], [], [], kwargs.get("datas", [])


def _exec_spec(tmp_path: Path, platform: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    _Recorder.calls = []
    names = ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")
    fakes = {n: type(n, (_Recorder,), {}) for n in names}
    monkeypatch.setattr(sys, "platform", platform)
    namespace = {"SPECPATH": str(INSTALLER), "DISTPATH": str(tmp_path / "dist"), **fakes}
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    calls: dict[str, Any] = {}
    for name, _args, kwargs in _Recorder.calls:
        calls.setdefault(name, []).append(kwargs)
    return calls


def test_spec_builds_a_windowed_one_folder_app_with_the_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _exec_spec(tmp_path, "linux", monkeypatch)
    (analysis,) = calls["Analysis"]
    assert analysis["datas"] == bs.collect_datas()
    ops = [(Path(src).name, dest) for src, dest in analysis["binaries"]]
    assert ("_C_stable.so" if sys.platform != "win32" else "_C_stable.pyd", "torchvision") in ops
    assert "triton" in analysis["excludes"] and "training" in analysis["excludes"]
    assert "wristviewer.cli.gui" in analysis["hiddenimports"]
    gui, cli = calls["EXE"]
    assert (gui["name"], gui["console"], cli["name"], cli["console"]) == (
        "wristviewer-gui",
        False,
        "wristviewer",
        True,
    )
    assert all(e["exclude_binaries"] for e in calls["EXE"])  # one folder, not one file
    assert calls["COLLECT"][0]["name"] == "WristViewer"
    assert "BUNDLE" not in calls
    for _, relative in bs.desktop_files():
        assert (tmp_path / "dist" / "WristViewer" / relative).is_file()
    assert (tmp_path / "dist" / "WristViewer" / "linux" / "install.sh").stat().st_mode & 0o111


def test_spec_makes_a_mac_app_with_dicom_document_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _exec_spec(tmp_path, "darwin", monkeypatch)
    (bundle,) = calls["BUNDLE"]
    assert bundle["name"] == "WristViewer.app" and bundle["icon"].endswith("wristviewer.icns")
    plist = bundle["info_plist"]
    plistlib.dumps(plist)  # serialisable as an Info.plist
    content_types = [t for d in plist["CFBundleDocumentTypes"] for t in d["LSItemContentTypes"]]
    assert content_types == ["org.nema.dicom", "public.png", "public.jpeg"]
    (dicom,) = plist["UTImportedTypeDeclarations"]
    assert dicom["UTTypeIdentifier"] == "org.nema.dicom"
    assert "dcm" in dicom["UTTypeTagSpecification"]["public.filename-extension"]


def test_a_bad_bundle_makes_the_spec_exit_with_the_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _fake_resources(tmp_path)
    (root / "models" / "broken.safetensors").write_bytes(b"junk")
    monkeypatch.setattr(bs, "RESOURCES", root)
    with pytest.raises(SystemExit) as stop:
        _exec_spec(tmp_path, "linux", monkeypatch)
    assert str(stop.value).startswith("Build stopped: the model bundle")


def test_icons_exist_for_every_platform() -> None:
    for system in ("Windows", "Darwin"):
        icon = bs.icon_file(system)
        assert icon is not None and Path(icon).stat().st_size > 1000
    assert Path(bs.icon_file("Windows")).read_bytes()[:4] == b"\x00\x00\x01\x00"  # ICO header
    assert Path(bs.icon_file("Darwin")).read_bytes()[:4] == b"icns"
    assert bs.version() == __import__("wristviewer").__version__
