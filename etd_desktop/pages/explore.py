"""The Explore page: the engine's exploration views (core.explore) as interactive charts.

Pick a view on the left, the customers it is about (thieves, normal customers, both overlaid,
or one customer by id) and the readings (as imported, or cleaned). The arrays are computed in a
worker; a new choice stops the previous computation. What the engine calls undefined (an
empty class, a constant curve) is said in words under the chart instead of being drawn.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QDate, QStringListModel, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QCompleter,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core import explore
from core.tasks import TaskState, ensure_state
from etd_desktop import theme
from etd_desktop.pages.base import EmptyState, StatefulPage
from etd_desktop.widgets import plots
from etd_desktop.workers import Task
from etd_desktop.workspace import Workspace

log = logging.getLogger(__name__)

VIEWS = [
    ("years", "Class means per year"),
    ("quarters", "Class means per quarter"),
    ("months", "Class means per month"),
    ("weekday", "Weekday profile (four weeks)"),
    ("daily", "Daily class mean, whole period"),
    ("corr_weeks", "Correlation of days (four weeks)"),
    ("corr_all", "Correlation of days (all days)"),
    ("acf", "Autocorrelation"),
    ("stl", "STL decomposition"),
    ("histogram", "Histogram of daily readings"),
]
GROUPS = [
    ("theft", "Thieves"),
    ("normal", "Normal customers"),
    ("both", "Both classes"),
    ("all", "All customers"),
    ("customer", "One customer:"),
]
BAND_PERCENTILES = (10.0, 90.0)
BAND_MAX_CUSTOMERS = 4000
_DEBOUNCE_MS = 150
CLASS_KEYS = ("theft", "normal", "all")  # result keys that are classes; others are customer ids


def colour_of(key: str) -> str:
    if key == "theft":
        return theme.THEFT_COLOUR
    if key in ("normal", "all"):
        return theme.NORMAL_COLOUR
    return theme.CUSTOMER_COLOUR


def partial_period_note(days, view: str, labels) -> str:
    """Which bars stand for a period the data cover only in part (their mean is over the days
    present): a year of 26 days must not pass for a whole year."""
    import pandas as pd

    freq = {"years": "Y", "quarters": "Q", "months": "M"}.get(view)
    if freq is None or not len(days):
        return ""
    first, last = pd.Timestamp(days[0]), pd.Timestamp(days[-1])
    head, tail = first.to_period(freq), last.to_period(freq)
    partial = []
    if first != head.start_time:
        partial.append(str(head))
    if last.normalize() != tail.end_time.normalize() and str(tail) not in partial:
        partial.append(str(tail))
    drawn = {str(x) for x in labels}
    shown = [name for name in partial if name in drawn]
    if not shown:
        return ""
    return (
        f"The data run from {first.date()} to {last.date()}: "
        f"{' and '.join(shown)} {'is' if len(shown) == 1 else 'are'} only partly covered; "
        "each bar is the mean over the days present."
    )


# the computation, in a worker ----------------------------------------------------------------
def compute_view(data, view: str, group: str, options: dict, state: TaskState | None = None):
    """The engine results for one view, as ``{group key: result}`` (plus ``"_band"``)."""
    state = ensure_state(state)
    start = options.get("start")
    if view in ("years", "quarters", "months"):
        by = {"years": "year", "quarters": "quarter", "months": "month"}[view]
        year = options.get("year") if view == "months" else None
        result = explore.period_means(data, group, by=by, year=year, state=state)
    elif view == "weekday":
        result = explore.weekday_profile(data, group, start=start, weeks=4, state=state)
    elif view == "daily":
        result = explore.daily_means(data, group, state=state.child(0, 0.6))
    elif view in ("corr_weeks", "corr_all"):
        days = 28 if view == "corr_weeks" else None
        result = explore.day_correlation(
            data,
            group,
            start=start if days else None,
            days=days,
            missing=options.get("missing", "pairwise"),
            state=state,
        )
    elif view == "acf":
        result = explore.autocorrelation(
            data, group, start=start, days=options.get("acf_days"), state=state
        )
    elif view == "stl":
        result = explore.decompose(
            data, group, period=options.get("period", 7), robust=True, state=state
        )
    elif view == "histogram":
        result = explore.consumption_histogram(
            data,
            group,
            clip_percentile=options.get("clip", 99.5),
            log_bins=options.get("log_bins", False),
            state=state,
        )
    else:
        raise ValueError(f"unknown view {view!r}")
    results = result if isinstance(result, dict) else {result.group: result}
    if view == "daily":
        results["_band"] = _percentile_bands(data, group, state.child(0.6, 1.0))
    return results


def _percentile_bands(data, group: str, state: TaskState) -> dict:
    """10th-90th percentile of each class per day, over at most BAND_MAX_CUSTOMERS customers."""
    bands = {}
    groups = explore.select_groups(data, group)
    rng = np.random.default_rng(0)
    for i, g in enumerate(groups):
        state.check()
        if g.is_customer or g.is_empty:
            continue
        rows = g.rows
        if len(rows) > BAND_MAX_CUSTOMERS:
            rows = np.sort(rng.choice(rows, BAND_MAX_CUSTOMERS, replace=False))
        with np.errstate(all="ignore"), _quiet_all_nan():
            lo, hi = np.nanpercentile(data.kwh[rows], BAND_PERCENTILES, axis=0)
        bands[g.key] = (lo, hi, len(rows), len(g.rows))
        state.set_progress((i + 1) / len(groups))
    return bands


class _quiet_all_nan:  # noqa: N801 - used like warnings.catch_warnings
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


# the page ------------------------------------------------------------------------------------
class ExplorePage(StatefulPage):
    title = "Explore"

    def __init__(self, workspace: Workspace, parent=None):
        empty = EmptyState(
            "Open data to explore it",
            "The class means per year, quarter, month and weekday, the daily curve, the "
            "correlation of days, autocorrelation, STL decomposition and histograms appear "
            "here once a data set is open.",
            "Go to Data",
        )
        super().__init__(workspace, empty, parent, goes_to="data")
        self.task: Task | None = None
        self.results: dict = {}
        self._timer = self.debounced(_DEBOUNCE_MS, self.compute)
        self._build()
        workspace.data_changed.connect(self._data_changed)
        workspace.cleaned_changed.connect(self._cleaned_changed)
        self._data_changed()

    def _build(self) -> None:
        self.view_list = QListWidget()
        for key, text in VIEWS:
            self.view_list.addItem(text)
            self.view_list.item(self.view_list.count() - 1).setData(Qt.ItemDataRole.UserRole, key)
        self.view_list.setCurrentRow(0)
        self.view_list.setMinimumHeight(240)

        self.group_buttons = QButtonGroup(self)
        group_box = QVBoxLayout()
        for i, (key, text) in enumerate(GROUPS):
            button = QRadioButton(text)
            button.setProperty("group_key", key)
            self.group_buttons.addButton(button, i)
            group_box.addWidget(button)
        self.group_buttons.button(2).setChecked(True)
        self.customer_edit = QLineEdit()
        self.customer_edit.setPlaceholderText("customer id")
        self.customer_edit.setClearButtonEnabled(True)
        self._completer_model = QStringListModel(self)
        completer = QCompleter(self._completer_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.customer_edit.setCompleter(completer)
        group_box.addWidget(self.customer_edit)

        self.version = QComboBox()
        self.version.addItem("Readings as imported", "raw")
        self.version.addItem("Cleaned readings", "cleaned")
        self.year = QComboBox()
        self.start = QDateEdit()
        self.start.setCalendarPopup(True)
        self.start.setDisplayFormat("yyyy-MM-dd")
        self.period = QSpinBox()
        self.period.setRange(2, 400)
        self.period.setValue(7)
        self.period.setSuffix(" days")
        self.missing_rule = QComboBox()
        self.missing_rule.addItem("pairwise (read on both days)", "pairwise")
        self.missing_rule.addItem("fill with the day's mean", "mean_fill")
        self.missing_rule.setToolTip("How the correlation of days treats missing readings")
        self.log_bins = QComboBox()
        self.log_bins.addItem("linear bins", False)
        self.log_bins.addItem("logarithmic bins", True)

        options = QFormLayout()
        options.addRow("Readings:", self.version)
        options.addRow("Year (months):", self.year)
        options.addRow("Window start:", self.start)
        options.addRow("STL period:", self.period)
        options.addRow("Gaps:", self.missing_rule)
        options.addRow("Histogram:", self.log_bins)
        self.status = QLabel()
        self.status.setWordWrap(True)

        side = QWidget()
        side.setMaximumWidth(330)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("<b>View</b>"))
        side_layout.addWidget(self.view_list)
        side_layout.addWidget(QLabel("<b>Customers</b>"))
        side_layout.addLayout(group_box)
        side_layout.addWidget(QLabel("<b>Options</b>"))
        side_layout.addLayout(options)
        side_layout.addWidget(self.status)
        side_layout.addStretch(1)

        self.chart = plots.ChartPanel()
        layout = QHBoxLayout(self.content)
        layout.addWidget(side)
        layout.addWidget(self.chart, 1)

        self.view_list.currentRowChanged.connect(self.schedule)
        self.group_buttons.idClicked.connect(self.schedule)
        self.customer_edit.editingFinished.connect(self._customer_entered)
        completer.activated.connect(self._customer_entered)
        for widget in (self.version, self.year, self.missing_rule, self.log_bins):
            widget.currentIndexChanged.connect(self.schedule)
        self.start.dateChanged.connect(self.schedule)
        self.period.valueChanged.connect(self.schedule)
        self.chart.clip_box.toggled.connect(self._clip_toggled)

    # state ---------------------------------------------------------------------------------
    @property
    def view(self) -> str:
        item = self.view_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else "years"

    def set_view(self, key: str) -> None:
        self.view_list.setCurrentRow([k for k, _ in VIEWS].index(key))

    def set_group(self, key: str, customer: str = "") -> None:
        index = [k for k, _ in GROUPS].index(key)
        self.group_buttons.button(index).setChecked(True)
        if customer:
            self.customer_edit.setText(customer)
        self.schedule()

    @property
    def group(self) -> str:
        key = GROUPS[max(0, self.group_buttons.checkedId())][0]
        if key == "customer":
            return self.customer_edit.text().strip()
        return key

    def current_data(self):
        ws = self.workspace
        if self.version.currentData() == "cleaned" and ws.cleaned is not None:
            return ws.cleaned.data
        return ws.data

    def _data_changed(self) -> None:
        data = self.workspace.data
        self.show_content(data is not None)
        if data is None:
            return
        self.year.blockSignals(True)
        self.year.clear()
        years = sorted(set(int(y) for y in data.days.year))
        for y in years:
            self.year.addItem(str(y), y)
        self.year.setCurrentIndex(min(1, len(years) - 1))  # 2015 for SGCC, as in the study
        self.year.blockSignals(False)
        self.start.blockSignals(True)
        first, last = data.days[0], data.days[-1]
        self.start.setDateRange(
            QDate(first.year, first.month, first.day), QDate(last.year, last.month, last.day)
        )
        self.start.setDate(QDate(first.year, first.month, first.day))
        self.start.blockSignals(False)
        self._completer_model.setStringList([str(c) for c in data.customer_ids])
        if not data.is_labelled and data.theft_count + data.normal_count == 0:
            self.group_buttons.button(3).setChecked(True)
        self._cleaned_changed()
        self.schedule()

    def _cleaned_changed(self) -> None:
        has = self.workspace.cleaned is not None
        self.version.model().item(1).setEnabled(has)
        if has and self.version.currentIndex() == 0 and self.isVisible():
            return
        if not has and self.version.currentIndex() == 1:
            self.version.setCurrentIndex(0)
        self.schedule()

    def _customer_entered(self, *_) -> None:
        if self.customer_edit.text().strip():
            self.group_buttons.button(len(GROUPS) - 1).setChecked(True)
            self.schedule()

    def _clip_toggled(self) -> None:
        if self.view == "histogram":
            self.schedule()

    def on_shown(self) -> None:
        if self.workspace.data is not None and not self.results and self.task is None:
            self.schedule()

    def prepare_screenshot(self, step: str = "") -> None:
        if self.workspace.cleaned is not None:
            self.version.setCurrentIndex(1)
        if step:
            self.set_view(step)
        self.compute()

    # computing -----------------------------------------------------------------------------
    def schedule(self, *_) -> None:
        if self.workspace.data is not None:
            self._timer.start()

    def options(self) -> dict:
        d = self.start.date()
        return {
            "year": self.year.currentData(),
            "start": f"{d.year():04d}-{d.month():02d}-{d.day():02d}",
            "period": self.period.value(),
            "missing": self.missing_rule.currentData(),
            "log_bins": bool(self.log_bins.currentData()),
            "clip": plots.CLIP_PERCENTILE if self.chart.clip_box.isChecked() else None,
        }

    def compute(self) -> Task | None:
        self._timer.stop()
        data = self.current_data()
        if data is None:
            return None
        group = self.group
        if not group:
            self.status.setText("Type a customer id, or pick a class.")
            return None
        if self.task is not None and self.task.running:
            self.task.stop()
        view = self.view
        self.status.setText("Computing...")
        task = self.workspace.tasks.run(
            f"Exploring: {dict(VIEWS)[view]}", compute_view, data, view, group, self.options()
        )
        task.finished.connect(lambda results, t=task: self._show(t, view, results))
        task.failed.connect(lambda exc, details, t=task: self._failed(t, exc))
        self.task = task
        return task

    def _failed(self, task: Task, exc: BaseException) -> None:
        if task is not self.task:
            return
        self.chart.clear()
        self.chart.set_note(str(exc))
        self.status.setText("")

    def _show(self, task: Task, view: str, results: dict) -> None:
        if task is not self.task:
            return  # a newer choice is on its way
        self.results = results
        self.status.setText("")
        self.chart.clear()
        self.chart.set_title(dict(VIEWS)[view])
        scaled = view not in ("corr_weeks", "corr_all")  # a heatmap has no y scale to clip
        self.chart.clip_box.setVisible(scaled)
        self.chart.log_box.setVisible(scaled)
        draw = {
            "years": self._draw_periods,
            "quarters": self._draw_periods,
            "months": self._draw_periods,
            "weekday": self._draw_weekday,
            "daily": self._draw_daily,
            "corr_weeks": self._draw_correlation,
            "corr_all": self._draw_correlation,
            "acf": self._draw_acf,
            "stl": self._draw_stl,
            "histogram": self._draw_histogram,
        }[view]
        series = {k: r for k, r in results.items() if not k.startswith("_")}
        notes = []
        for r in series.values():
            if not r.defined:
                notes.append(f"{r.label}: {r.reason}")
            notes.extend(f"{r.label}: {n}" for n in r.notes)
        defined = {k: r for k, r in series.items() if r.defined}
        if defined:
            draw(defined, results)
        extra = self.chart.note_label.text()
        self.chart.set_note("\n".join(dict.fromkeys(n for n in [extra, *notes] if n)))
        self.chart.finish()

    # drawing -------------------------------------------------------------------------------
    def _draw_periods(self, series: dict, _results) -> None:
        plot = self.chart.add_plot(title="mean daily kWh")
        plot.setLabel("left", "kWh per day")
        n = len(series)
        width = 0.8 / n
        labels: list[str] = []
        for i, (key, r) in enumerate(series.items()):
            labels = r.labels
            x = np.arange(len(r.labels)) - 0.4 + width * (i + 0.5)
            plots.bars(plot, x, r.mean, colour_of(key), width=width * 0.95, name=r.label)
        every = max(1, len(labels) // 14)
        plots.category_axis(plot, labels, every)
        data = self.current_data()
        if data is not None:
            self.chart.set_note(partial_period_note(data.days, self.view, labels))

    def _draw_weekday(self, series: dict, _results) -> None:
        profile = self.chart.add_plot(0, 0, "mean kWh per weekday")
        days_plot = self.chart.add_plot(1, 0, "the four weeks, day by day", dates=True)
        n = len(series)
        width = 0.8 / n
        for i, (key, r) in enumerate(series.items()):
            x = np.arange(7) - 0.4 + width * (i + 0.5)
            plots.bars(profile, x, r.mean, colour_of(key), width=width * 0.95, name=r.label)
            plots.curve(
                days_plot,
                plots.day_seconds(r.days),
                r.daily,
                colour_of(key),
                r.label,
                symbol="o",
                symbolSize=5,
                symbolBrush=colour_of(key),
            )
        plots.category_axis(profile, [w[:3] for w in explore.WEEKDAYS])
        profile.setLabel("left", "kWh per day")
        days_plot.setLabel("left", "kWh")

    def _draw_daily(self, series: dict, results: dict) -> None:
        plot = self.chart.add_plot(dates=True)
        plot.setLabel("left", "kWh")
        band_notes = []
        for key, r in series.items():
            x = plots.day_seconds(r.days)
            # Two overlapping bands hide each other: a band is drawn for one class at a time.
            b = results.get("_band", {}).get(key) if len(series) == 1 else None
            if b is not None:
                lo, hi, used, total = b
                plots.band(plot, x, lo, hi, colour_of(key))
                sampled = f", a sample of {used:,} of {total:,}" if used < total else ""
                band_notes.append(f"{r.label}: shaded 10th-90th percentile{sampled}")
            one = key not in CLASS_KEYS  # a single customer: its own readings, not a mean
            plots.curve(plot, x, r.mean, colour_of(key), r.label if one else f"{r.label} (mean)")
            if one:
                self.chart.set_title("Daily readings of one customer")
                band_notes.append(self._customer_note(key, r.mean))
        if band_notes:
            self.chart.set_note("; ".join(band_notes))
        elif len(series) > 1:
            self.chart.set_note(
                "Pick one class to see the spread of its customers "
                "(10th-90th percentile band) around the mean."
            )

    def _customer_note(self, customer: str, readings) -> str:
        """Class and reading coverage of one customer, so gaps in the curve are explained."""
        data = self.current_data()
        row = data.index_of(customer)
        label = {1: "labelled theft", 0: "labelled normal"}.get(
            int(data.labels[row]) if data.labels is not None else -1, "unlabelled"
        )
        values = np.asarray(readings, dtype=float)
        read = int(np.isfinite(values).sum())
        return (
            f"customer {customer}, {label}: {read:,} of {len(values):,} days have a reading; "
            "days without one are left blank"
        )

    def _draw_correlation(self, series: dict, _results) -> None:
        cmap = pg.colormap.get("CET-D1")
        images = []
        for col, r in enumerate(series.values()):
            plot = self.chart.add_plot(
                0, col, f"{r.label} ({r.customers:,} customers)", clip=False, legend=False
            )
            plot.showGrid(x=False, y=False)
            image = pg.ImageItem(np.nan_to_num(r.matrix, nan=0.0))
            image.setColorMap(cmap)
            image.setLevels((-1, 1))
            plot.addItem(image)
            plot.invertY(True)
            n = len(r.days)
            fmt = "%m-%d" if n <= 60 else "%Y-%m"
            left = [(i + 0.5, r.days[i].strftime(fmt)) for i in range(0, n, 7 if n <= 60 else 91)]
            bottom = [
                (i + 0.5, r.days[i].strftime(fmt)) for i in range(0, n, 7 if n <= 60 else 273)
            ]
            plot.getAxis("bottom").setTicks([bottom, []])
            plot.getAxis("left").setTicks([left, []])
            plot.setRange(xRange=(0, n), yRange=(0, n), padding=0)
            images.append(image)
        bar = pg.ColorBarItem(values=(-1, 1), colorMap=cmap, label="Pearson r", interactive=False)
        bar.setImageItem(images, insert_in=None)
        self.chart.graphics.addItem(bar, row=0, col=len(series))

    def _draw_acf(self, series: dict, _results) -> None:
        plot = self.chart.add_plot(title="autocorrelation of the curve", clip=False)
        plot.setLabel("bottom", "lag (days)")
        offset = 0.0
        for key, r in series.items():
            colour = colour_of(key)
            lags = np.asarray(r.lags, dtype=float) + offset
            plots.band(plot, lags, -r.band, r.band, colour, alpha=40)
            plots.curve(
                plot,
                lags,
                r.acf,
                colour,
                f"{r.label}",
                symbol="o",
                symbolSize=5,
                symbolBrush=colour,
            )
            offset += 0.15
        plot.addItem(pg.InfiniteLine(0, angle=0, pen=plots.pen(theme.muted_text().name(), 1)))
        self.chart.set_note(
            "Shaded: the 95% band; a lag outside it is a significant rhythm (7, 14, 21 days "
            "for a weekly one)."
        )

    def _draw_stl(self, series: dict, _results) -> None:
        parts = [
            ("observed", "curve"),
            ("trend", "trend"),
            ("seasonal", "season"),
            ("residual", "residual"),
        ]
        first = None
        for row, (attr, title) in enumerate(parts):
            plot = self.chart.add_plot(row, 0, title, dates=True, legend=row == 0)
            for key, r in series.items():
                plots.curve(
                    plot,
                    plots.day_seconds(r.days),
                    getattr(r, attr),
                    colour_of(key),
                    r.label if row == 0 else None,
                    width=1.2,
                )
            if first is None:
                first = plot
            else:
                plot.setXLink(first)

    def _draw_histogram(self, series: dict, _results) -> None:
        plot = self.chart.add_plot(title="share of readings per bin", clip=False)
        plot.setLabel("bottom", "kWh per day")
        plot.setLabel("left", "share of readings")
        log_bins = False
        for key, r in series.items():
            total = max(1, int(np.sum(r.counts)))
            share = np.asarray(r.counts, dtype=float) / total
            edges = np.asarray(r.edges, dtype=float)
            log_bins = log_bins or r.log_bins
            colour = colour_of(key)
            item = pg.PlotDataItem(
                np.log10(edges) if r.log_bins else edges,
                share,
                stepMode="center",
                fillLevel=0,
                pen=plots.pen(colour),
                brush=theme.band_colour(colour, 70),
                name=r.label,
            )
            plot.addItem(item)
        if log_bins:
            plot.setLabel("bottom", "kWh per day (log10)")
        # Readings beyond the bins (spikes, zeros on log bins) are reported by core.explore in
        # r.notes, which _show prints under the chart: saying it here too printed it twice.
