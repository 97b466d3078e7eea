"""The Evaluate page compares runs honestly, turns an inspection budget into numbers and
writes a report."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from core.demo import make_demo
from etd_desktop.pages.evaluate import EvaluatePage, budget_figures, make_screenshot_run
from etd_desktop.workspace import Workspace

# ten customers, best score first: thief, normal, thief, normal, normal, thief, normal x4
SMALL_GBM = {"gbm": {"max_iter": 30}}
LABELS = np.array([0, 1, 0, 1, 0, 0, 1, 0, 0, 0])
SCORES = np.array([0.40, 0.95, 0.10, 0.70, 0.80, 0.30, 0.60, 0.20, 0.05, 0.15])


def test_budget_of_three_visits_finds_two_of_three_thieves():
    figures = budget_figures(LABELS, SCORES, visits=3)  # top three: 0.95 T, 0.80 N, 0.70 T
    assert figures["visits"] == 3
    assert figures["hits"] == 2
    assert figures["precision"] == pytest.approx(2 / 3)
    assert figures["recall"] == pytest.approx(2 / 3)
    assert figures["base_rate"] == pytest.approx(0.3)
    assert figures["random_hits"] == pytest.approx(0.9)
    assert figures["confusion"] == [[6, 1], [1, 2]]


def test_budget_by_threshold_flags_scores_at_or_above_it():
    figures = budget_figures(LABELS, SCORES, threshold=0.6)  # 0.95 T, 0.80 N, 0.70 T, 0.60 T
    assert figures["visits"] == 4
    assert figures["precision"] == pytest.approx(3 / 4)
    assert figures["recall"] == pytest.approx(1.0)
    assert figures["confusion"] == [[6, 1], [0, 3]]


def test_budget_with_no_visit_has_undefined_precision():
    figures = budget_figures(LABELS, SCORES, visits=0)
    assert figures["precision"] is None
    assert figures["recall"] == 0.0


@pytest.fixture(scope="module")
def demo():
    return make_demo(n_customers=200, n_days=120, seed=0, missing_rate=0.002, zero_rate=0.002)


@pytest.fixture(scope="module")
def trained(qapp, demo):
    """A workspace with an honest and a paper run of the boosting model (no TensorFlow)."""
    workspace = Workspace()
    workspace.set_data(demo, "demo")
    make_screenshot_run(
        workspace, protocols=("honest", "paper"), models=("gbm",), model_params=SMALL_GBM
    )
    return workspace


@pytest.fixture
def page(qtbot, trained):
    page = EvaluatePage(trained)
    qtbot.addWidget(page)
    page.resize(1400, 900)
    page.show()
    page.refresh()
    return page


def test_budget_control_updates_the_numbers_live(page):
    budget = page.budget
    budget.set_labels_and_scores(LABELS, SCORES)
    budget.visits_button.setChecked(True)
    budget.visits.setValue(3)
    assert "<b>2</b> thieves found in <b>3</b> visits" in budget.figures.text()
    assert "precision <b>66.7%</b>" in budget.figures.text()
    assert budget.matrix.item(1, 1).text() == "2"  # thieves found
    budget.visits.setValue(7)  # top seven hold all three thieves
    assert "recall <b>100.0%</b>" in budget.figures.text()
    assert budget.matrix.item(0, 1).text() == "4"  # false alarms
    budget.threshold_button.setChecked(True)
    budget.threshold.setValue(0.6)
    assert "<b>3</b> thieves found in <b>4</b> visits" in budget.figures.text()


def test_honest_and_paper_runs_sit_side_by_side_and_paper_rows_say_leaking(page):
    rows = page.table_rows()
    assert len(rows) == 2
    protocols = [row[1] for row in rows]
    assert protocols[0].endswith("honest")
    assert protocols[1].endswith("PAPER, LEAKING")
    assert page.leak_note.isVisibleTo(page)
    roc_column = 2 + [c[0] for c in page_columns()].index("ROC-AUC")
    for row, entry in zip(rows, page.entries, strict=True):
        assert row[roc_column] == f"{entry.metrics['roc_auc']:.3f}"


def page_columns():
    from etd_desktop.pages.evaluate import COLUMNS

    return COLUMNS


def test_report_is_written_as_html_and_pdf_with_the_metrics(page, tmp_path):
    html_path = page.export_report(tmp_path / "report.html")
    text = html_path.read_text(encoding="utf-8")
    honest = page.entries[0]
    assert "ROC-AUC" in text and "base rate" in text
    assert f"{honest.metrics['roc_auc']:.3f}" in text
    assert "data:image/png;base64," in text
    assert "paper protocol" in text
    pdf = page.export_report(tmp_path / "report.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 10_000


def test_report_describes_the_cleaning_in_words_and_keeps_tables_readable(page, demo, tmp_path):
    from core.recipe import Recipe
    from etd_desktop.workspace import CleaningResult

    recipe = Recipe(imputation="linear", threshold=0.0)  # drops many: a long per-customer list
    cleaned = CleaningResult.from_fit(recipe, *recipe.fit_transform(demo))
    dropped = [c for c in demo.customer_ids if c not in set(cleaned.data.customer_ids)]
    assert len(dropped) > 20
    page.workspace.set_cleaned(cleaned)
    try:
        text = page.export_report(tmp_path / "report.html").read_text(encoding="utf-8")
    finally:
        page.workspace.set_cleaned(None)
    assert recipe.describe()[0] in text
    assert f"{len(dropped):,} customers (listed in the project, not here)" in text
    assert dropped[0] not in text
    results = text.split("<h2>Test results</h2>")[1].split("<h2>")[0]
    tables = results.split("<table>")[1:]
    assert len(tables) == 2
    for table in tables:
        header = table.split("</tr>")[0]
        assert header.count("<th>") <= 13 and "base rate" in header
