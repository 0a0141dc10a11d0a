#!/usr/bin/env bash
# Install WristViewer into the current user's desktop (no root): the .desktop entry, the
# icon in the hicolor theme, and a MIME package so that double-clicking a .dcm file
# (application/dicom) opens it in WristViewer. Everything goes under $XDG_DATA_HOME
# (default ~/.local/share); remove it with uninstall.sh.
#
#   install.sh                   pick the app: the frozen folder this script sits in
#                                (APP/linux/install.sh), else the checkout's .venv
#   install.sh --frozen [APP]    the PyInstaller folder (default: this script's parent)
#   install.sh --venv [EXE]      a checkout's .venv/bin/wristviewer-gui (or EXE)
#   --no-default                 do not make WristViewer the default for application/dicom
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." 2>/dev/null && pwd || true)
mode=auto
target=""
set_default=1

die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --frozen|--venv)
      mode=${1#--}
      if [ $# -gt 1 ] && [ "${2#--}" = "$2" ]; then target=$2; shift; fi ;;
    --no-default) set_default=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

if [ "$mode" = auto ]; then
  if [ -x "$here/../wristviewer-gui" ]; then mode=frozen
  elif [ -n "$repo" ] && [ -x "$repo/.venv/bin/wristviewer-gui" ]; then mode=venv
  else die "no WristViewer found next to this script: pass --frozen APP_DIR or --venv EXE"
  fi
fi

if [ "$mode" = frozen ]; then
  app=$(cd "${target:-$here/..}" 2>/dev/null && pwd) || die "no folder '${target:-$here/..}'"
  exe="$app/wristviewer-gui"
  icons="$app/_internal/resources/icons"
else
  exe=${target:-$repo/.venv/bin/wristviewer-gui}
  case "$exe" in /*) ;; *) exe="$PWD/$exe" ;; esac
  icons="$repo/resources/icons"
  [ -d "$icons" ] || icons="$here/../../resources/icons"
fi
[ -x "$exe" ] || die "'$exe' is not an executable WristViewer ($mode mode); build it first (make installer) or create the venv (make run)"
[ -f "$icons/wristviewer-48.png" ] || die "no icons in '$icons'"
# Qt's X11 plugin needs system libraries a minimal desktop may lack: the viewer names any
# that are missing and the command that installs them (a warning: the install goes on)
"$exe" --check-qt-libs || echo "install.sh: the window will not open until those libraries are installed" >&2

data_home=${XDG_DATA_HOME:-$HOME/.local/share}
apps="$data_home/applications"
mime="$data_home/mime"
hicolor="$data_home/icons/hicolor"
mkdir -p "$apps" "$mime/packages" "$hicolor/scalable/apps"

# Exec= quoting (Desktop Entry spec): inside double quotes, escape " ` $ and \ with a
# backslash; the file format then needs every backslash doubled.
quoted=$(printf '%s' "$exe" | sed -e 's/[\\"`$]/\\&/g' -e 's/\\/\\\\/g')
desktop="$apps/wristviewer.desktop"
sed -e "s|^Exec=.*|Exec=\"${quoted//|/\\|}\" %F|" "$here/wristviewer.desktop" > "$desktop.tmp"
mv "$desktop.tmp" "$desktop"
chmod 0644 "$desktop"

for size in 16 24 32 48 64 128 256 512; do
  png="$icons/wristviewer-$size.png"
  [ -f "$png" ] || continue
  mkdir -p "$hicolor/${size}x${size}/apps"
  cp "$png" "$hicolor/${size}x${size}/apps/wristviewer.png"
done
[ -f "$icons/wristviewer.svg" ] && cp "$icons/wristviewer.svg" "$hicolor/scalable/apps/wristviewer.svg"
cp "$here/wristviewer-mime.xml" "$mime/packages/wristviewer.xml"

ran=""
if command -v update-mime-database >/dev/null 2>&1; then
  update-mime-database "$mime" && ran="$ran update-mime-database"
fi
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q "$apps" && ran="$ran update-desktop-database"
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$hicolor/index.theme" ]; then
  gtk-update-icon-cache -q -t -f "$hicolor" && ran="$ran gtk-update-icon-cache"
fi
if [ "$set_default" = 1 ] && command -v xdg-mime >/dev/null 2>&1; then
  xdg-mime default wristviewer.desktop application/dicom && ran="$ran xdg-mime"
fi

echo "WristViewer installed for $(id -un 2>/dev/null || echo this user) ($mode): $desktop -> $exe"
echo "  ran:${ran:- nothing (no update-mime-database/update-desktop-database/xdg-mime found)}"
