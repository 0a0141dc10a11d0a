"""The Inno Setup script: per-user install, .dcm association in HKCU, shortcuts."""

from __future__ import annotations

import re

from tests.installer.helpers import INSTALLER, REPO, bs

ISS = INSTALLER / "windows" / "wristviewer.iss"


def _sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in ISS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if re.fullmatch(r"\[\w+\]", line):
            current = line[1:-1]
            sections[current] = []
        elif current:
            sections[current].append(line)
    return sections


def test_installs_per_user_without_admin() -> None:
    setup = _sections()["Setup"]
    assert "PrivilegesRequired=lowest" in setup
    assert "DefaultDirName={autopf}\\{#AppName}" in setup  # %LOCALAPPDATA%\Programs when lowest
    assert "ChangesAssociations=yes" in setup
    registry = _sections()["Registry"]
    assert registry and all(line.startswith("Root: HKCU;") for line in registry)


def test_dcm_opens_with_the_windowed_executable() -> None:
    text = ISS.read_text(encoding="utf-8")
    assert f'#define AppExe "{bs.GUI_EXE}.exe"' in text
    registry = "\n".join(_sections()["Registry"])
    assert (
        'Subkey: "Software\\Classes\\.dcm"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"'
        in registry
    )
    assert '"""{app}\\{#AppExe}"" ""%1"""' in registry  # quoted path and argument
    assert "application/dicom" in registry


def test_start_menu_and_optional_desktop_shortcut() -> None:
    icons = _sections()["Icons"]
    assert any(line.startswith('Name: "{autoprograms}\\{#AppName}"') for line in icons)
    desktop = [line for line in icons if "{autodesktop}" in line]
    assert desktop and desktop[0].endswith("Tasks: desktopicon")
    tasks = "\n".join(_sections()["Tasks"])
    assert 'Name: "desktopicon"' in tasks and "Flags: unchecked" in tasks


def test_packs_the_folder_pyinstaller_builds() -> None:
    text = ISS.read_text(encoding="utf-8")
    dist = re.search(r'#define DistDir "(.+)"', text)
    assert dist is not None
    assert (
        ISS.parent / dist.group(1).replace("\\", "/")
    ).resolve() == REPO / "build" / "dist" / bs.APP_NAME
    assert (ISS.parent / "../../resources/icons/wristviewer.ico").resolve().is_file()
