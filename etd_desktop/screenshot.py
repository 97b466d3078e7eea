"""``etd-desktop --screenshot OUT.png --page NAME [--project FILE | --demo]``.

Renders the real window on one page and exits. With ``--demo`` a small demo data set is made
synchronously (:data:`DEMO_CUSTOMERS` customers; the pages that show trained models get
:data:`TRAINING_DEMO_CUSTOMERS`, since the 3% missing-data filter keeps under a third of the
demo's customers and a fifth of those are tested, and a smaller set gives jumpy curves and a
short ranked list) and, for the pages that show cleaned data, the
reference cleaning runs first, so every page has something to show. ``--page clean:outliers``
opens a step of a wizard (each page's ``prepare_screenshot`` knows its steps).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

DEMO_CUSTOMERS = 600
TRAINING_DEMO_CUSTOMERS = 4000  # about 1,200 kept, 240 of them test customers; 20 s a page
TRAINING_PAGES = {"train", "evaluate", "customers"}
# Pages whose picture needs the cleaned data.
NEEDS_CLEANING = {"balance", "explore", "train", "evaluate", "customers"}


def clean_with_reference_recipe(data, state=None):
    """Run the default recipe on ``data``; returns the workspace's cleaning result."""
    from core.recipe import Recipe
    from etd_desktop.workspace import CleaningResult

    recipe = Recipe()
    fitted, prepared = recipe.fit_transform(data, state=state)
    return CleaningResult.from_fit(recipe, fitted, prepared)


def render_screenshot(
    out: Path,
    *,
    page: str = "data",
    project: Path | None = None,
    demo: bool = False,
    size: str = "1400x900",
) -> int:
    from PySide6.QtWidgets import QApplication

    from etd_desktop.main_window import MainWindow

    app = QApplication.instance()
    key, _, step = page.partition(":")
    window = MainWindow()
    width, height = (int(v) for v in size.lower().split("x"))
    window.resize(width, height)
    window.show()
    _settle(app, window, 0.2)

    ws = window.workspace
    if project is not None:
        task = ws.open_project(project)
        _settle(app, window, 0.1)
        if task.outcome != "finished":
            log.error("cannot open %s for the screenshot: %s", project, task.error)
            print(f"cannot open {project}: {task.error}", file=sys.stderr)
            return 1
    elif demo:
        from core.demo import make_demo

        customers = TRAINING_DEMO_CUSTOMERS if key in TRAINING_PAGES else DEMO_CUSTOMERS
        ws.set_data(make_demo(n_customers=customers, seed=0), "demo")
    if key in NEEDS_CLEANING and ws.data is not None and ws.cleaned is None:
        try:
            ws.set_cleaned(clean_with_reference_recipe(ws.data))
        except ImportError as exc:  # the cleaning engine is not installed in this build
            log.warning("screenshot without cleaning: %s", exc)

    target = window.show_page(key)
    _settle(app, window, 0.3)
    target.prepare_screenshot(step)
    _settle(app, window, 1.0)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(out), "PNG", 0)  # 0: the strongest PNG compression
    log.info("screenshot of %s saved to %s: %s", page, out, ok)
    # Under X11 a close() from code can arrive as a spontaneous close event, which the window
    # questions ("discard the unsaved work?"); nobody is there to answer a screenshot's.
    window._asked = True
    window.close()
    return 0 if ok else 1


def _settle(app, window, seconds: float) -> None:
    """Process events until the running tasks are done and ``seconds`` have passed."""
    end = time.monotonic() + seconds
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        app.processEvents()
        if time.monotonic() >= end and not window.tasks.running:
            break
        time.sleep(0.01)
    app.processEvents()
