"""The import preview: what the reader detected in a file, before anything is read in full.

The dialog runs :func:`core.io.preview` in a worker and shows the layout, the id and label
columns, the calendar, delimiter, encoding, counts and warnings. The user may pick other id and
label columns (the reader's candidates) and look again. "Import" hands the chosen options to the
window, which reads the whole file in a worker with progress.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
)

from etd_desktop.workers import Task
from etd_desktop.workspace import Workspace

log = logging.getLogger(__name__)

NO_LABEL = "(no label column)"
DROP_LABELS = "drop_labels"  # an option of the dialog, not of read_dataset
DETECTED = "(as detected)"


class ImportDialog(QDialog):
    """Preview of one file; emits ``import_requested(path, options)`` when the user commits."""

    import_requested = Signal(object, dict)
    failed = Signal(object, str)
    preview_ready = Signal(object)

    def __init__(self, workspace: Workspace, path: Path, parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self.path = Path(path)
        self.preview = None
        self.task: Task | None = None
        self.setWindowTitle(f"Import {self.path.name}")
        self.setMinimumWidth(620)

        self.heading = QLabel(f"<b>{self.path.name}</b><br>{self.path.parent}")
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel("Looking at the file...")
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, caption in [
            ("format", "Format"),
            ("layout", "Layout"),
            ("delimiter", "Delimiter"),
            ("decimal", "Decimal mark"),
            ("encoding", "Encoding"),
            ("days", "Days"),
            ("customers", "Customers"),
        ]:
            label = QLabel("-")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = label
            form.addRow(caption + ":", label)
        self.id_combo = QComboBox()
        self.label_combo = QComboBox()
        form.addRow("Customer id column:", self.id_combo)
        form.addRow("Label column:", self.label_combo)
        self.recheck_button = QPushButton("Look again with these columns")
        self.recheck_button.clicked.connect(self.recheck)
        form.addRow("", self.recheck_button)

        self.warnings = QListWidget()
        self.warnings.setWordWrap(True)
        self.warnings.setMaximumHeight(130)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.import_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.import_button.setText("Import")
        self.import_button.setEnabled(False)
        self.buttons.accepted.connect(self.commit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.status)
        layout.addLayout(form)
        layout.addWidget(QLabel("Warnings:"))
        layout.addWidget(self.warnings)
        layout.addWidget(self.buttons)
        self._run_preview()

    # preview -------------------------------------------------------------------------------
    def _run_preview(self, **options) -> None:
        from core.io import preview

        self.import_button.setEnabled(False)
        self.recheck_button.setEnabled(False)
        self.status.setText("Looking at the file...")
        self.task = self.workspace.tasks.run(
            f"Previewing {self.path.name}", _preview_call, preview, self.path, **options
        )
        self.task.finished.connect(self._show_preview)
        self.task.failed.connect(self._preview_failed)

    def recheck(self) -> None:
        self._run_preview(**self.options())

    def _preview_failed(self, exc: BaseException, details: str) -> None:
        self.status.setText(f"This file cannot be read: {exc}")
        self.status.setWordWrap(True)
        self.recheck_button.setEnabled(self.id_combo.count() > 0)
        self.failed.emit(exc, details)

    def _show_preview(self, p) -> None:
        self.preview = p
        self.status.setText("The reader found this. Correct the columns if needed, then Import.")
        self.fields["format"].setText(str(p.format))
        self.fields["layout"].setText(str(p.layout))
        self.fields["delimiter"].setText(_shown_delimiter(p.delimiter))
        self.fields["decimal"].setText(str(p.decimal or "-"))
        self.fields["encoding"].setText(str(p.encoding or "-"))
        self.fields["days"].setText(f"{p.n_days:,}   ({_day(p.first_day)} to {_day(p.last_day)})")
        self.fields["customers"].setText(_customer_count(p))

        candidates = [str(c) for c in (p.candidate_columns or [])]
        self._fill(self.id_combo, candidates, p.id_column, allow_none=False)
        self._fill(self.label_combo, candidates, p.label_column, allow_none=True)

        self.warnings.clear()
        for text in p.warnings or []:
            self.warnings.addItem(str(text))
        if not p.warnings:
            self.warnings.addItem("Nothing unusual in the first rows.")
        # no day columns: Import could only fail, so it waits until other columns are chosen
        readable = bool(p.n_days)
        if not readable:
            self.status.setText(
                "No days of readings were found, so there is nothing to import. "
                "See the notes below; pick other columns and look again, or choose another file."
            )
        self.import_button.setEnabled(readable)
        self.recheck_button.setEnabled(bool(candidates))
        self.preview_ready.emit(p)

    @staticmethod
    def _fill(combo: QComboBox, candidates: list[str], chosen, *, allow_none: bool) -> None:
        combo.blockSignals(True)
        combo.clear()
        if allow_none:
            combo.addItem(NO_LABEL, None)
        names = list(candidates)
        if chosen is not None and str(chosen) not in names:
            names.insert(0, str(chosen))
        if not names and not allow_none:
            combo.addItem(DETECTED, None)
        for name in names:
            combo.addItem(name, name)
        index = combo.findData(str(chosen)) if chosen is not None else 0
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)

    # commit --------------------------------------------------------------------------------
    def options(self) -> dict:
        """The keyword arguments for ``read_dataset`` the user chose."""
        options: dict = {}
        id_column = self.id_combo.currentData()
        if id_column is not None:
            options["id_column"] = id_column
        label = self.label_combo.currentData() if self.label_combo.count() else None
        if label is not None:
            options["label_column"] = label
        elif self.preview is not None and self.preview.label_column:
            # The reader has no "no labels" option: it would find the column again. The window
            # reads with it and then sets every customer to unlabelled.
            options[DROP_LABELS] = True
        if self.preview is not None and getattr(self.preview, "sheet", None):
            options["sheet"] = self.preview.sheet
        return options

    def commit(self) -> None:
        options = self.options()
        log.info("import of %s with %s", self.path, options)
        self.import_requested.emit(self.path, options)
        self.accept()


def _preview_call(preview, path, state=None, **options):
    # preview() takes no task state; the worker passes one, so drop it here.
    if state is not None:
        state.set_status("reading the first rows")
    return preview(path, **options)


def _shown_delimiter(delimiter) -> str:
    names = {",": "comma ( , )", ";": "semicolon ( ; )", "\t": "tab", "|": "bar ( | )"}
    return names.get(delimiter, "-" if not delimiter else repr(delimiter))


def _day(value) -> str:
    if value is None:
        return "?"
    return str(getattr(value, "date", lambda: value)())


def _customer_count(p) -> str:
    """The count as the reader knows it: a text file longer than the rows it looked at is
    estimated from its size (it can be off by a fifth), and the text says so."""
    from core.io.preview import PREVIEW_ROWS

    if p.format not in ("parquet", "xlsx", "xlsm") and p.n_customers >= PREVIEW_ROWS:
        return f"about {p.n_customers:,} (estimated from the file size; exact after Import)"
    return f"{p.n_customers:,}"
