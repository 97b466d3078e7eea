"""The pages of the window, in workflow order.

:data:`PAGES` is the one list the window builds its navigation from: a page is added or
replaced by editing its entry (the module is imported when the window is built). Each page
class takes the :class:`~etd_desktop.workspace.Workspace` and derives from
:class:`~etd_desktop.pages.base.Page`. Ctrl+1 .. Ctrl+9 follow this order.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class PageEntry:
    key: str  # used by --page and in tests
    title: str  # shown in the navigation list
    module: str
    class_name: str
    tip: str = ""

    def load(self) -> type:
        return getattr(importlib.import_module(self.module), self.class_name)


PAGES: list[PageEntry] = [
    PageEntry(
        "data",
        "Data",
        "etd_desktop.pages.data",
        "DataPage",
        "Open a data file, the demo data or a project; see what was read",
    ),
    PageEntry(
        "explore",
        "Explore",
        "etd_desktop.pages.explore",
        "ExplorePage",
        "Class means, weekly and yearly rhythm, correlations, decomposition",
    ),
    PageEntry(
        "clean",
        "Clean",
        "etd_desktop.pages.clean",
        "CleanPage",
        "Missing-data filter, imputation and outliers, step by step",
    ),
    PageEntry(
        "balance",
        "Balance",
        "etd_desktop.pages.balance",
        "BalancePage",
        "How training grows the thieves: method, counts, synthetic curves",
    ),
    PageEntry(
        "train", "Train", "etd_desktop.pages.train", "TrainPage", "Train and compare the models"
    ),
    PageEntry(
        "evaluate",
        "Evaluate",
        "etd_desktop.pages.evaluate",
        "EvaluatePage",
        "Metrics, curves and the honest-versus-paper comparison",
    ),
    PageEntry(
        "customers",
        "Customers",
        "etd_desktop.pages.customers",
        "CustomersPage",
        "Ranked customers to inspect, and inspection outcomes",
    ),
]


def page_keys() -> list[str]:
    return [entry.key for entry in PAGES]
