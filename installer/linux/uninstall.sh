#!/usr/bin/env bash
# Remove what install.sh put under $XDG_DATA_HOME (default ~/.local/share) for this user,
# and WristViewer's default for application/dicom in $XDG_CONFIG_HOME/mimeapps.list.
# Per-user settings, logs and installed models are kept (they are not part of the install).
set -euo pipefail

data_home=${XDG_DATA_HOME:-$HOME/.local/share}
config_home=${XDG_CONFIG_HOME:-$HOME/.config}
apps="$data_home/applications"
mime="$data_home/mime"
hicolor="$data_home/icons/hicolor"

rm -f "$apps/wristviewer.desktop" "$mime/packages/wristviewer.xml" \
  "$hicolor/scalable/apps/wristviewer.svg"
for size in 16 24 32 48 64 128 256 512; do
  rm -f "$hicolor/${size}x${size}/apps/wristviewer.png"
done
list="$config_home/mimeapps.list"
if [ -f "$list" ]; then
  sed -i -e '/^application\/dicom=wristviewer\.desktop;*$/d' "$list"
fi

if command -v update-mime-database >/dev/null 2>&1 && [ -d "$mime/packages" ]; then
  update-mime-database "$mime"
fi
if command -v update-desktop-database >/dev/null 2>&1 && [ -d "$apps" ]; then
  update-desktop-database -q "$apps"
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$hicolor/index.theme" ]; then
  gtk-update-icon-cache -q -t -f "$hicolor"
fi
echo "WristViewer removed from this user's desktop ($data_home)."
