"""The Data page: what was read (cards, import notes) and the customers x days table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from etd_desktop import theme
from etd_desktop.pages.base import Page
from etd_desktop.widgets.cards import CardRow
from etd_desktop.widgets.consumption_table import NORMAL, THEFT, UNKNOWN, ConsumptionTableModel
from etd_desktop.widgets.welcome import WelcomePanel
from etd_desktop.workspace import Workspace, summary_of

DEMO_SIZE = 2000
_CLASS_FILTERS = [
    ("All customers", None),
    ("Thieves", THEFT),
    ("Normal", NORMAL),
    ("Unlabelled", UNKNOWN),
]


class DataPage(Page):
    title = "Data"

    def __init__(self, workspace: Workspace, parent=None):
        super().__init__(workspace, parent)
        self.welcome = WelcomePanel(DEMO_SIZE)
        self.overview = QWidget()
        self._build_overview()
        self._stack = QStackedWidget()
        self._stack.addWidget(self.welcome)
        self._stack.addWidget(self.overview)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)
        workspace.data_changed.connect(self.refresh)
        workspace.cleaned_changed.connect(self._update_version_choice)
        self.refresh()

    def _build_overview(self) -> None:
        self.heading = QLabel()
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.heading.setFont(font)
        self.source_label = QLabel()
        self.source_label.setWordWrap(True)
        self.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open another file...")
        self.clean_button = QPushButton("Clean this data  \u2192")
        self.clean_button.clicked.connect(lambda: self.go_to("clean"))
        top = QHBoxLayout()
        titles = QVBoxLayout()
        titles.addWidget(self.heading)
        titles.addWidget(self.source_label)
        top.addLayout(titles, 1)
        top.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.clean_button, 0, Qt.AlignmentFlag.AlignTop)

        self.cards = CardRow(
            {
                "customers": "customers",
                "days": "days",
                "theft": "thieves",
                "normal": "normal",
                "unknown": "unlabelled",
                "missing": "readings missing",
                "zero": "readings zero",
            }
        )

        self.notes = QListWidget()
        self.notes.setWordWrap(True)
        self.notes.setAlternatingRowColors(True)
        notes_box = QWidget()
        notes_layout = QVBoxLayout(notes_box)
        notes_layout.setContentsMargins(0, 0, 0, 0)
        notes_layout.addWidget(QLabel("<b>What the import did and noticed</b>"))
        notes_layout.addWidget(self.notes)

        self.model = ConsumptionTableModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(False)
        self.table.setWordWrap(False)
        self.table.setCornerButtonEnabled(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        hh.setDefaultSectionSize(84)
        vh = self.table.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)

        self.class_filter = QComboBox()
        for text, _ in _CLASS_FILTERS:
            self.class_filter.addItem(text)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find a customer id...")
        self.search.setClearButtonEnabled(True)
        self.version = QComboBox()
        self.version.addItem("Readings as imported", "raw")
        self.version.addItem("Cleaned readings (kept customers)", "cleaned")
        self.row_count = QLabel()
        self.class_filter.currentIndexChanged.connect(self._apply_filter)
        self.search.textChanged.connect(self._apply_filter)
        self.version.currentIndexChanged.connect(self._show_version)
        table_tools = QHBoxLayout()
        table_tools.addWidget(QLabel("<b>Customers</b>"))
        table_tools.addWidget(self.version)
        table_tools.addWidget(self.class_filter)
        table_tools.addWidget(self.search, 1)
        table_tools.addWidget(self.row_count)
        legend = QLabel(f"{chr(0x2014)} no reading   grey: zero")
        legend.setEnabled(False)
        table_tools.addWidget(legend)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addLayout(table_tools)
        table_layout.addWidget(self.table)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(notes_box)
        splitter.addWidget(table_box)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([150, 600])

        layout = QVBoxLayout(self.overview)
        layout.addLayout(top)
        layout.addWidget(self.cards)
        layout.addWidget(splitter, 1)

    # content -------------------------------------------------------------------------------
    def refresh(self) -> None:
        data = self.workspace.data
        if data is None:
            self._stack.setCurrentWidget(self.welcome)
            self.model.set_data(None)
            return
        self._stack.setCurrentWidget(self.overview)
        self.heading.setText(self.workspace.data_name)
        self.source_label.setText(_source_text(data.source))

        s = summary_of(data)
        self.cards["customers"].set_value(f"{s['customers']:,}")
        span = f"{s['first_day']} to {s['last_day']}" if s["first_day"] else "no days"
        self.cards["days"].set_value(f"{s['days']:,}", f"days, {span}")
        self.cards["theft"].set_value(
            f"{s['theft']:,}", _share("thieves", s["theft"], data), theme.THEFT_COLOUR
        )
        self.cards["normal"].set_value(
            f"{s['normal']:,}", _share("normal", s["normal"], data), theme.NORMAL_COLOUR
        )
        self.cards["unknown"].set_value(f"{s['unlabelled']:,}")
        self.cards["missing"].set_value(f"{100 * s['missing_fraction']:.1f}%")
        self.cards["zero"].set_value(f"{100 * s['zero_fraction']:.1f}%")

        self.notes.clear()
        for note in data.notes:
            text = note.message
            if note.examples:
                text += "  (e.g. " + ", ".join(note.examples[:5]) + ")"
            self.notes.addItem(text)
        if not data.notes:
            self.notes.addItem("Nothing to report: every cell was a number or empty.")
        self.version.setCurrentIndex(0)
        self._update_version_choice()
        self._show_version()

    def _update_version_choice(self) -> None:
        has_cleaned = self.workspace.cleaned is not None
        item = self.version.model().item(1)
        item.setEnabled(has_cleaned)
        if not has_cleaned and self.version.currentIndex() == 1:
            self.version.setCurrentIndex(0)

    def _show_version(self) -> None:
        ws = self.workspace
        if self.version.currentData() == "cleaned" and ws.cleaned is not None:
            self.model.set_data(ws.cleaned.data)
        else:
            self.model.set_data(ws.data)
        self._apply_filter()

    def _apply_filter(self) -> None:
        label = _CLASS_FILTERS[self.class_filter.currentIndex()][1]
        shown = self.model.filter(label, self.search.text())
        total = self.model.dataset.n_customers if self.model.dataset is not None else 0
        self.row_count.setText(f"{shown:,} of {total:,} shown")


def _share(word: str, count: int, data) -> str:
    if not data.n_customers:
        return word
    return f"{word} ({100 * count / data.n_customers:.1f}%)"


def _source_text(source: dict) -> str:
    if source.get("format") == "demo":
        return "Synthetic demo data made by the workbench (not real customers)."
    parts = [str(source.get("path") or source.get("name") or "")]
    details = [
        f"{key}: {source[key]!s}"
        for key in ("format", "layout", "delimiter", "decimal", "encoding")
        if source.get(key) not in (None, "")
    ]
    if details:
        parts.append(", ".join(details).replace("delimiter: \t", "delimiter: tab"))
    return "   ".join(p for p in parts if p)
