"""Linux desktop integration: the .desktop entry, the DICOM MIME package, install/uninstall."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.installer.helpers import LINUX, REPO, require_tool

MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _desktop_keys(path: Path) -> dict[str, str]:
    keys: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            keys[key.strip()] = value.strip()
    return keys


def test_desktop_entry_passes_desktop_file_validate() -> None:
    tool = require_tool("desktop-file-validate", "desktop-file-utils")
    result = subprocess.run(
        [tool, str(LINUX / "wristviewer.desktop")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", f"warnings or hints: {result.stdout}"


def test_desktop_entry_opens_dicom_and_takes_files() -> None:
    keys = _desktop_keys(LINUX / "wristviewer.desktop")
    assert "application/dicom" in keys["MimeType"].split(";")
    assert keys["Exec"].endswith(" %F")  # several files or folders at once
    assert keys["Icon"] == "wristviewer" and keys["Terminal"] == "false"


def test_mime_package_declares_dicom_by_magic_and_glob() -> None:
    root = ET.parse(LINUX / "wristviewer-mime.xml").getroot()
    assert root.tag == f"{MIME_NS}mime-info"
    (mime_type,) = root.findall(f"{MIME_NS}mime-type")
    assert mime_type.get("type") == "application/dicom"
    globs = {g.get("pattern") for g in mime_type.findall(f"{MIME_NS}glob")}
    assert "*.dcm" in globs
    (match,) = mime_type.findall(f"{MIME_NS}magic/{MIME_NS}match")
    assert (match.get("type"), match.get("value"), match.get("offset")) == ("string", "DICM", "128")


def test_update_mime_database_compiles_the_package(tmp_path: Path) -> None:
    tool = require_tool("update-mime-database", "shared-mime-info")
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(LINUX / "wristviewer-mime.xml", packages / "wristviewer.xml")
    result = subprocess.run([tool, str(tmp_path / "mime")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "application/dicom:*.dcm" in (tmp_path / "mime" / "globs2").read_text()
    magic = (tmp_path / "mime" / "magic").read_bytes()
    assert b"[60:application/dicom]" in magic and b"DICM" in magic
    assert (tmp_path / "mime" / "application" / "dicom.xml").is_file()


def _run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(LINUX / script), *args], env=env, capture_output=True, text=True, timeout=120
    )


def _installed(data: Path) -> list[Path]:
    return [
        data / "applications" / "wristviewer.desktop",
        data / "mime" / "packages" / "wristviewer.xml",
        data / "icons" / "hicolor" / "scalable" / "apps" / "wristviewer.svg",
        *(data / "icons" / "hicolor" / f"{s}x{s}" / "apps" / "wristviewer.png" for s in ICON_SIZES),
    ]


def test_install_for_a_checkout_then_uninstall(xdg: dict[str, str], tmp_path: Path) -> None:
    validate = require_tool("desktop-file-validate", "desktop-file-utils")
    require_tool("update-mime-database", "shared-mime-info")
    exe = tmp_path / "my venv" / "bin" / "wristviewer-gui"  # a space: Exec quoting
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    result = _run("install.sh", "--venv", str(exe), env=xdg)
    assert result.returncode == 0, result.stderr
    data = Path(xdg["XDG_DATA_HOME"])
    for path in _installed(data):
        assert path.is_file(), f"{path} not installed"
    desktop = data / "applications" / "wristviewer.desktop"
    assert _desktop_keys(desktop)["Exec"] == f'"{exe}" %F'
    check = subprocess.run([validate, str(desktop)], capture_output=True, text=True)
    assert check.returncode == 0 and not check.stdout.strip(), check.stdout
    assert "application/dicom:*.dcm" in (data / "mime" / "globs2").read_text()
    assert not (Path(xdg["HOME"]) / ".local").exists()  # XDG_DATA_HOME honoured

    removed = _run("uninstall.sh", env=xdg)
    assert removed.returncode == 0, removed.stderr
    assert [p for p in _installed(data) if p.exists()] == []
    assert "dicom" not in (data / "mime" / "globs2").read_text()


def test_install_from_the_frozen_folder_by_default(xdg: dict[str, str], tmp_path: Path) -> None:
    require_tool("update-mime-database", "shared-mime-info")
    app = tmp_path / "WristViewer"  # the layout the spec builds
    shutil.copytree(LINUX, app / "linux")
    shutil.copytree(REPO / "resources" / "icons", app / "_internal" / "resources" / "icons")
    (app / "wristviewer-gui").write_text("#!/bin/sh\n")
    (app / "wristviewer-gui").chmod(0o755)
    result = subprocess.run(
        ["bash", str(app / "linux" / "install.sh"), "--no-default"],
        env=xdg,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    desktop = Path(xdg["XDG_DATA_HOME"]) / "applications" / "wristviewer.desktop"
    assert _desktop_keys(desktop)["Exec"] == f'"{app / "wristviewer-gui"}" %F'
    assert "(frozen)" in result.stdout


def test_install_without_an_app_says_what_to_do(xdg: dict[str, str], tmp_path: Path) -> None:
    result = _run("install.sh", "--frozen", str(tmp_path), env=xdg)
    assert result.returncode == 1
    assert "make installer" in result.stderr and str(tmp_path) in result.stderr
    assert not (Path(xdg["XDG_DATA_HOME"]) / "applications" / "wristviewer.desktop").exists()


@pytest.mark.parametrize("script", ["install.sh", "uninstall.sh"])
def test_scripts_are_executable_bash(script: str) -> None:
    path = LINUX / script
    assert path.stat().st_mode & 0o111
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
