#!/bin/sh
# Install the one-folder build (dist/etd-desktop) for the current user, or system-wide:
#
#   build_scripts/linux/install.sh              -> ~/.local (no root needed)
#   sudo build_scripts/linux/install.sh /usr/local
#
# Copies the folder to PREFIX/lib/etd-desktop, links PREFIX/bin/etd-desktop to the executable,
# and registers the desktop entry and the icon so the menu shows "ETD workbench".
set -eu

PREFIX=${1:-"$HOME/.local"}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD="$ROOT/dist/etd-desktop"

if [ ! -x "$BUILD/etd-desktop" ]; then
    echo "no build at $BUILD: run build_scripts/build.py first" >&2
    exit 1
fi

mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$PREFIX/share/applications" \
    "$PREFIX/share/icons/hicolor/256x256/apps" "$PREFIX/share/icons/hicolor/scalable/apps"
rm -rf "$PREFIX/lib/etd-desktop"
cp -a "$BUILD" "$PREFIX/lib/etd-desktop"
ln -sf "$PREFIX/lib/etd-desktop/etd-desktop" "$PREFIX/bin/etd-desktop"
cp "$ROOT/resources/icon.png" "$PREFIX/share/icons/hicolor/256x256/apps/etd-desktop.png"
cp "$ROOT/resources/icon.svg" "$PREFIX/share/icons/hicolor/scalable/apps/etd-desktop.svg"
# The menu starts the program by its full path: PREFIX/bin may not be on a desktop's PATH.
sed -e "s|^Exec=etd-desktop|Exec=$PREFIX/bin/etd-desktop|" \
    -e "s|^TryExec=etd-desktop|TryExec=$PREFIX/bin/etd-desktop|" \
    "$HERE/etd-desktop.desktop" > "$PREFIX/share/applications/etd-desktop.desktop"
command -v update-desktop-database >/dev/null && \
    update-desktop-database "$PREFIX/share/applications" || true
command -v gtk-update-icon-cache >/dev/null && \
    gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" || true

echo "installed to $PREFIX/lib/etd-desktop; run: $PREFIX/bin/etd-desktop --self-test"
