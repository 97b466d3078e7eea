"""Colours and plot styling that follow the desktop palette (light or dark).

Plots take their background and axis colours from the application palette, so a dark desktop
theme gives dark plots. The class colours were picked to stay apart on both backgrounds and for
the common red-green colour blindness: normal customers blue, thieves orange-red, synthetic
thieves purple.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

NORMAL_COLOUR = "#3a86d4"
THEFT_COLOUR = "#e8613c"
SYNTHETIC_COLOUR = "#9c5fd0"
CUSTOMER_COLOUR = "#2fa37a"
FENCE_COLOUR = "#c9a227"
IMPUTED_COLOUR = "#2fa37a"
CAPPED_COLOUR = "#d43a8b"
RAW_COLOUR = "#9a9a9a"  # readings as imported, under the cleaned ones

CLASS_COLOURS = {"normal": NORMAL_COLOUR, "theft": THEFT_COLOUR, "customer": CUSTOMER_COLOUR}


def palette() -> QPalette:
    app = QApplication.instance()
    return app.palette() if app is not None else QPalette()


def is_dark() -> bool:
    return palette().color(QPalette.ColorRole.Window).lightness() < 128


def plot_background() -> QColor:
    return palette().color(QPalette.ColorRole.Base)


def plot_foreground() -> QColor:
    return palette().color(QPalette.ColorRole.Text)


def muted_text() -> QColor:
    colour = palette().color(QPalette.ColorRole.PlaceholderText)
    return colour if colour.isValid() else palette().color(QPalette.ColorRole.Mid)


def missing_cell_background() -> QColor:
    """A background for empty readings that is visible on light and dark tables alike."""
    return QColor(110, 110, 110, 90) if is_dark() else QColor(200, 200, 200, 140)


def zero_cell_foreground() -> QColor:
    return muted_text()


def band_colour(hex_colour: str, alpha: int = 60) -> QColor:
    colour = QColor(hex_colour)
    colour.setAlpha(alpha)
    return colour


def apply_plot_defaults() -> None:
    """Point pyqtgraph's defaults at the current palette; call after the palette is set."""
    import pyqtgraph as pg

    pg.setConfigOptions(
        antialias=True,
        background=plot_background(),
        foreground=plot_foreground(),
        imageAxisOrder="row-major",
    )


def dark_palette() -> QPalette:
    """A plain dark palette (Fusion style), used by ``--theme dark`` and the dark-theme tests."""
    p = QPalette()
    window, base, text = QColor(45, 47, 51), QColor(30, 31, 34), QColor(225, 226, 228)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor(38, 40, 44))
    p.setColor(QPalette.ColorRole.ToolTipBase, window)
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(150, 152, 156))
    p.setColor(QPalette.ColorRole.Button, QColor(55, 58, 63))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 90, 90))
    p.setColor(QPalette.ColorRole.Highlight, QColor(58, 134, 212))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, QColor(110, 170, 240))
    p.setColor(QPalette.ColorRole.Mid, QColor(80, 82, 88))
    p.setColor(QPalette.ColorRole.Dark, QColor(20, 21, 23))
    p.setColor(QPalette.ColorRole.Light, QColor(70, 72, 78))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 122, 126))
    return p


def apply_theme(app: QApplication, theme: str = "system") -> None:
    """``"system"`` keeps the desktop's palette; ``"dark"``/``"light"`` force one (Fusion)."""
    if theme == "dark":
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    elif theme == "light":
        app.setStyle("Fusion")
        app.setPalette(app.style().standardPalette())
    import sys

    # pyqtgraph takes most of a second to import: the first chart module loads it (and calls
    # apply_plot_defaults), so the window can show before.
    if "pyqtgraph" in sys.modules:
        apply_plot_defaults()
