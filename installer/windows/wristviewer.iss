; Inno Setup 6 script: a per-user installer (no administrator rights) for the one-folder
; app that `make installer` (PyInstaller) builds on Windows in build\dist\WristViewer.
;
;   iscc /DAppVersion=0.1.0 installer\windows\wristviewer.iss
;
; Installs into %LOCALAPPDATA%\Programs\WristViewer, adds a Start-menu shortcut (and a
; desktop one when ticked), and associates .dcm files with WristViewer through HKCU
; (HKEY_CURRENT_USER\Software\Classes): double-clicking a .dcm opens it in the viewer, or
; in the running window (single instance). The uninstaller removes all of it; the user's
; settings, logs and installed models (%LOCALAPPDATA%\WristViewer) are kept.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "WristViewer"
#define AppExe "wristviewer-gui.exe"
#define ProgId "WristViewer.dicom"
#define DistDir "..\..\build\dist\WristViewer"

[Setup]
AppId={{6B1F2C44-8E0B-4A55-9B6E-2F7D0C9A3E51}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=WristViewer engineers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; per user: {autopf} is %LOCALAPPDATA%\Programs, registry writes go to HKCU, no UAC prompt
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\build\installer
OutputBaseFilename=WristViewer-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\wristviewer.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/fast
SolidCompression=no
ChangesAssociations=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "Create a &desktop shortcut"; GroupDescription: "Shortcuts:"; Flags: unchecked
Name: "assocdcm"; Description: "Open &DICOM files (.dcm) with WristViewer"; GroupDescription: "File association:"

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Wrist radiographs and a fracture second opinion"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; .dcm -> ProgId, listed under "Open with" too; all under HKCU\Software\Classes (per user)
Root: HKCU; Subkey: "Software\Classes\.dcm"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"; Flags: uninsdeletevalue; Tasks: assocdcm
Root: HKCU; Subkey: "Software\Classes\.dcm"; ValueType: string; ValueName: "Content Type"; ValueData: "application/dicom"; Flags: uninsdeletevalue; Tasks: assocdcm
Root: HKCU; Subkey: "Software\Classes\.dcm\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: assocdcm
Root: HKCU; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "DICOM image"; Flags: uninsdeletekey; Tasks: assocdcm
Root: HKCU; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: assocdcm
Root: HKCU; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: assocdcm
; "Open with" for PNG and JPEG without taking them over
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".dcm"; ValueData: ""; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".png"; ValueData: ""
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".jpg"; ValueData: ""
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".jpeg"; ValueData: ""
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExe}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""

[Run]
Filename: "{app}\{#AppExe}"; Description: "Start WristViewer"; Flags: nowait postinstall skipifsilent
