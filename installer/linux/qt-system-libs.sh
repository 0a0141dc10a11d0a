#!/usr/bin/env bash
# Qt's X11 (xcb) platform plugin needs a few system libraries that minimal Debian/Ubuntu
# images lack (libxcb-icccm4, libxcb-keysyms1, ...). `make run` calls this: it installs the
# missing ones with apt-get when it may (root, Debian-like), and otherwise only names them.
# It never fails the run: a desktop machine normally has them all.
set -u
[ "$(uname -s)" = Linux ] || exit 0
command -v dpkg >/dev/null 2>&1 || exit 0
needed="libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libegl1 libgl1 libfontconfig1
libdbus-1-3 libglib2.0-0"
missing=""
for pkg in $needed; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Qt's X11 libraries:$missing"
  (apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1; }) ||
    echo "Could not install$missing; the window may fail to open (install them with your package manager)." >&2
else
  echo "Qt's X11 plugin may need:$missing (sudo apt-get install$missing)" >&2
fi
exit 0
