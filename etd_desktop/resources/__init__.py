"""Files shipped with the desktop application (the window icon)."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def icon_path() -> Path:
    """The PNG icon when it was rendered, else the SVG it is made from."""
    png = FOLDER / "icon.png"
    return png if png.exists() else FOLDER / "icon.svg"
