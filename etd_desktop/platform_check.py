"""Before Qt starts on Linux: is there a screen, and can the xcb platform plugin load?

Qt's xcb plugin (``libqxcb.so``) needs a dozen X11 helper libraries that a fresh desktop
install may lack (``libxcb-cursor0`` is the usual one since Qt 6.5). Without them Qt prints
"could not load the Qt platform plugin" and aborts with a core dump, which tells an inspector
nothing. :func:`check_platform` looks for those libraries first, with the same loader Qt would
use, and returns a sentence naming the package to install instead.

The list below is what ``ldd`` shows for ``PySide6/Qt/plugins/platforms/libqxcb.so`` and
``libQt6XcbQpa.so.6`` of PySide6 6.11, less the C and C++ runtime every Linux has. The packaged
build carries some of them itself (PyInstaller copies what it finds on the build machine, but
never ``libxcb.so.1`` nor the GL libraries); a library in the build's own folder counts as
present.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

# shared library the xcb plugin links -> Debian/Ubuntu package that provides it
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}

NO_DISPLAY_MESSAGE = (
    "etd-desktop cannot open a window: no display was found (neither DISPLAY nor "
    "WAYLAND_DISPLAY is set). Start it from a desktop session, or check the installation "
    "without a window with: etd-desktop --self-test. To render without a screen, set "
    "QT_QPA_PLATFORM=offscreen (for example with --screenshot)."
)


def missing_library_message(library: str) -> str:
    package = XCB_LIBRARIES.get(library, library)
    return (
        f"etd-desktop cannot open a window: the system library {library} is missing. "
        f"Install it with: sudo apt install {package} (Debian/Ubuntu) or the matching package "
        "of your distribution."
    )


def _can_load(library: str) -> bool:
    """True when the dynamic loader finds ``library`` (system paths or the build's folder)."""
    try:
        ctypes.CDLL(library)
        return True
    except OSError:
        pass
    bundle = getattr(sys, "_MEIPASS", None)
    return bundle is not None and (Path(bundle) / library).exists()


def platform_is_xcb(environ: Mapping[str, str]) -> bool:
    """Whether Qt will pick the xcb plugin with this environment (Linux only)."""
    chosen = environ.get("QT_QPA_PLATFORM", "").strip().lower()
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    # With nothing chosen, Qt 6 prefers Wayland in a Wayland session and uses xcb otherwise.
    wayland = environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland"
    return bool(environ.get("DISPLAY")) and not wayland


def check_platform(
    environ: Mapping[str, str] | None = None,
    *,
    platform: str | None = None,
    can_load: Callable[[str], bool] = _can_load,
) -> str | None:
    """A message saying why no window can open, or None when Qt should start fine.

    Only Linux is checked; elsewhere Qt ships everything its platform plugin needs.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None

    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if not chosen and not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        return NO_DISPLAY_MESSAGE
    if not platform_is_xcb(environ):
        return None
    if not environ.get("DISPLAY"):
        return NO_DISPLAY_MESSAGE

    for library in XCB_LIBRARIES:
        if not can_load(library):
            log.error("xcb platform plugin: %s not found", library)
            return missing_library_message(library)
    return None


def exit_if_no_window() -> None:
    """Print the reason and exit 1 when no window can open; return otherwise."""
    message = check_platform()
    if message is not None:
        print(message, file=sys.stderr)
        raise SystemExit(1)
