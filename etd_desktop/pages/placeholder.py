"""Pages of the later workflow steps, until their real pages replace these in ``PAGES``."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from etd_desktop.pages.base import EmptyState, Page
from etd_desktop.workspace import Workspace


class _Placeholder(Page):
    heading = ""
    text = ""

    def __init__(self, workspace: Workspace, parent=None):
        super().__init__(workspace, parent)
        self.empty = EmptyState(self.heading, self.text)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)


class TrainPlaceholder(_Placeholder):
    title = "Train"
    heading = "Train a model after cleaning"
    text = (
        "Here you will train the MLP, CNN-LSTM, ConvLSTM and gradient-boosting models on the "
        "cleaned customers, with the honest protocol (split first, oversample training "
        "customers only) or the paper's order for comparison, and follow each epoch live."
    )


class EvaluatePlaceholder(_Placeholder):
    title = "Evaluate"
    heading = "Evaluate trained models"
    text = (
        "Here you will compare the trained models on held-out customers: precision and recall "
        "at the number of inspections you can make, ROC and precision-recall curves, the "
        "confusion matrix and the training histories, always next to the base rate."
    )


class CustomersPlaceholder(_Placeholder):
    title = "Customers"
    heading = "Rank customers for inspection"
    text = (
        "Here you will see customers ranked by theft score, look at why a customer ranks high, "
        "record what an inspection found and export the list of visits."
    )
