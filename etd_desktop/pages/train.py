"""The Train page: choose models, settings and protocol; train them one after another, live.

A run is one task on the TensorFlow lane (:mod:`etd_desktop.runs`): every model of the run
trains inside one :func:`~etd_desktop.runs.train_run`, on the process's one TensorFlow thread.
"Skip to next model" ends the current model within one batch (its best weights are kept and
evaluated) and the run goes on with the next model on the same prepared customers; "End the
run" does the same to the current model and trains no further one.

Measured here: TensorFlow's import and its first training in a process stall the GUI thread for
a few hundred milliseconds; after that the per-batch work on the GUI thread is an append to an
array, and the curves repaint ten times a second with plain one-pixel lines.
"""

from __future__ import annotations

import logging
import math
import time

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from etd_desktop.pages.base import EmptyState, StatefulPage
from etd_desktop.runs import MODEL_LABELS, RunControl, train_run
from etd_desktop.widgets.model_settings import ModelSettings
from etd_desktop.widgets.training_curves import TrainingCurves
from etd_desktop.workers import Task
from etd_desktop.workspace import Workspace

log = logging.getLogger(__name__)

MODEL_ORDER = ("mlp", "cnn_lstm", "conv_lstm", "gbm")
BALANCE_NAMES = {
    "borderline_smote": "Borderline-SMOTE",
    "smote": "SMOTE",
    "adasyn": "ADASYN",
    "random_over": "random oversampling",
    "random_under": "random undersampling",
    "none": "no oversampling",
}


# the page ------------------------------------------------------------------------------------
class _CloseGuard(QObject):
    """Asks before the window closes during training, then stops the run cleanly."""

    def __init__(self, page: TrainPage):
        super().__init__(page)
        self.page = page

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Close and self.page.is_busy():
            if not self.page.ask_close():
                event.ignore()
                return True
            self.page.request_stop_and_wait()
        return False


class TrainPage(StatefulPage):
    title = "Train"
    run_finished = Signal(object)  # train_run's summary dict

    def __init__(self, workspace: Workspace, parent=None):
        empty = EmptyState(
            "Open a labelled data set to train",
            "Training needs customers with known labels (theft or normal). Open a data file "
            "with a FLAG column, a project, or the demo data on the Data page.",
            "Go to the Data page",
        )
        super().__init__(workspace, empty, parent, goes_to="data")
        self.book = workspace.runs
        self.task: Task | None = None
        self.control: RunControl | None = None
        self.run_id: int | None = None
        self.curves: dict[str, TrainingCurves] = {}
        self.current_model: str | None = None
        self.last_summary: dict | None = None
        self._model_training = False
        self.ask_close = self._ask_close
        self._guard = _CloseGuard(self)
        self._guarded = None
        self._build()
        workspace.data_changed.connect(self._data_changed)
        workspace.cleaned_changed.connect(self._data_changed)
        workspace.balance_changed.connect(self._data_changed)
        self._data_changed()

    # building ------------------------------------------------------------------------------
    def _build(self) -> None:
        settings = QWidget()
        column = QVBoxLayout(settings)
        self.model_boxes = {
            name: ModelSettings(name, checked=name in ("mlp", "gbm")) for name in MODEL_ORDER
        }
        heading = QLabel("<b>Models</b> (trained one after another, in this order)")
        column.addWidget(heading)
        for box in self.model_boxes.values():
            column.addWidget(box)

        protocol_box = QGroupBox("Protocol")
        protocol = QVBoxLayout(protocol_box)
        self.honest_button = QRadioButton("Honest: split customers first (recommended)")
        self.honest_button.setToolTip(
            "Customers are split before anything is learned; the cleaning and the oversampler "
            "are fitted on training customers only; validation and test stay real customers."
        )
        self.paper_button = QRadioButton("Reproduce the paper (leaks)")
        self.paper_button.setToolTip(
            "The 2021 study's order: oversample everybody, then split. Only for comparison."
        )
        self.honest_button.setChecked(True)
        self._protocol_group = QButtonGroup(self)
        self._protocol_group.addButton(self.honest_button)
        self._protocol_group.addButton(self.paper_button)
        self.leak_warning = QLabel(
            "<b>Leaks:</b> the study oversampled before splitting, so synthetic thieves made "
            "from test thieves sit in training and synthetic thieves sit in the test set. Its "
            "figures are inflated; the run is marked as leaking everywhere."
        )
        self.leak_warning.setWordWrap(True)
        self.leak_warning.setStyleSheet(
            "QLabel { background: #fde2dc; color: #7a1f0c; border: 1px solid #e8613c;"
            " border-radius: 4px; padding: 6px; }"
        )
        self.leak_warning.setVisible(False)
        self.paper_button.toggled.connect(self.leak_warning.setVisible)
        protocol.addWidget(self.honest_button)
        protocol.addWidget(self.paper_button)
        protocol.addWidget(self.leak_warning)
        column.addWidget(protocol_box)

        split_box = QGroupBox("Split, seed and stopping")
        form = QFormLayout(split_box)
        self.train_share = _percent_spin(64, "Share of customers the models learn from")
        self.val_share = _percent_spin(16, "Share used for early stopping and the threshold")
        self.test_label = QLabel()
        self.train_share.valueChanged.connect(self._update_test_share)
        self.val_share.valueChanged.connect(self._update_test_share)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Same seed, same split and same training: runs can be repeated")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 10_000)
        self.epochs.setValue(400)
        self.epochs.setToolTip("Most epochs per model (the study: 400); early stopping ends sooner")
        self.patience = QSpinBox()
        self.patience.setRange(1, 10_000)
        self.patience.setValue(50)
        self.patience.setToolTip(
            "Epochs without a better validation loss before training stops "
            "(the study: 50); the best epoch's weights are kept"
        )
        form.addRow("training %", self.train_share)
        form.addRow("validation %", self.val_share)
        form.addRow("test %", self.test_label)
        form.addRow("seed", self.seed)
        form.addRow("maximum epochs", self.epochs)
        form.addRow("patience", self.patience)
        column.addWidget(split_box)
        self.balance_label = QLabel()
        self.balance_label.setWordWrap(True)
        self.recipe_label = QLabel()
        self.recipe_label.setWordWrap(True)
        column.addWidget(self.recipe_label)
        column.addWidget(self.balance_label)
        column.addStretch(1)
        self._update_test_share()

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(settings)
        scroll.setMinimumWidth(360)

        # right: controls, progress and the curves
        right = QWidget()
        rcol = QVBoxLayout(right)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        self.skip_button = QPushButton("Skip to next model")
        self.skip_button.setToolTip("End this model now (its best weights are kept) and go on")
        self.end_button = QPushButton("End the run")
        self.end_button.setToolTip(
            "End this model now (its best weights are kept) and train no further model"
        )
        self.results_button = QPushButton("See the results")
        self.start_button.clicked.connect(self.start)
        self.skip_button.clicked.connect(self.skip_model)
        self.end_button.clicked.connect(self.end_run)
        self.results_button.clicked.connect(lambda: self.go_to("evaluate"))
        for button in (self.start_button, self.skip_button, self.end_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.results_button)
        rcol.addLayout(buttons)
        self.headline = QLabel("Choose the models and press Start.")
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.headline.setFont(font)
        self.timing = QLabel("")
        self.device_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        rcol.addWidget(self.headline)
        info = QHBoxLayout()
        info.addWidget(self.timing, 1)
        info.addWidget(self.device_label)
        rcol.addLayout(info)
        rcol.addWidget(self.progress)
        rcol.addWidget(self.status)
        self.curve_tabs = QTabWidget()
        rcol.addWidget(self.curve_tabs, 1)
        self.results_label = QLabel("")
        self.results_label.setWordWrap(True)
        self.results_label.setTextFormat(Qt.TextFormat.RichText)
        rcol.addWidget(self.results_label)

        splitter = QSplitter()
        splitter.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 1000])
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self._set_running(False)

    def _update_test_share(self) -> None:
        test = 100 - self.train_share.value() - self.val_share.value()
        self.test_label.setText(f"{test}" if test > 0 else "<b>none left: lower the others</b>")

    # state ---------------------------------------------------------------------------------
    def _data_changed(self) -> None:
        data = self.workspace.data
        has_labels = data is not None and data.theft_count > 0 and data.normal_count > 0
        self.show_content(has_labels)
        if data is not None and not has_labels:
            self.empty.heading.setText("This data set has no labels to learn from")
        cleaned = self.workspace.cleaned
        if cleaned is not None:
            self.recipe_label.setText(
                "<b>Cleaning:</b> the recipe chosen on the Clean page, fitted again on the "
                "training customers only."
            )
        else:
            self.recipe_label.setText(
                "<b>Cleaning:</b> the reference recipe (3% missing-data filter, KNN k=5, "
                "extreme IQR fences capped, min-max per day); change it on the Clean page."
            )
        method = self.workspace.balance.method
        self.balance_label.setText(
            f"<b>Oversampling:</b> {BALANCE_NAMES.get(method, method)} of the training "
            "customers only (change it on the Balance page)."
        )

    def is_busy(self) -> bool:
        return self.task is not None and self.task.outcome is None

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.skip_button.setEnabled(running)
        self.end_button.setEnabled(running)
        for box in self.model_boxes.values():
            box.setEnabled(not running)

    def plan(self) -> dict:
        models = [name for name, box in self.model_boxes.items() if box.isChecked()]
        train = self.train_share.value() / 100
        val = self.val_share.value() / 100
        cleaned = self.workspace.cleaned
        balance = self.workspace.balance
        return {
            "models": models,
            "protocol": "paper" if self.paper_button.isChecked() else "honest",
            "split": [train, val, round(1.0 - train - val, 6)],
            "seed": self.seed.value(),
            "epochs": self.epochs.value(),
            "patience": self.patience.value(),
            "model_params": {n: b.params() for n, b in self.model_boxes.items() if b.params()},
            "balance": balance.method,
            "balance_params": dict(balance.params),
            "recipe": dict(cleaned.recipe) if cleaned is not None else None,
            "dataset_id": self.workspace.dataset_id,
            "device": self._device(),
        }

    def _device(self) -> str:
        return str(getattr(self.window(), "device", "") or "CPU")

    # running -------------------------------------------------------------------------------
    def start(self, plan: dict | None = None) -> Task | None:
        if self.is_busy() or self.workspace.data is None:
            return None
        plan = plan or self.plan()
        if not plan["models"]:
            self.headline.setText("Choose at least one model.")
            return None
        if plan["split"][2] <= 0:
            self.headline.setText(
                "The split leaves no test customers: lower training or validation."
            )
            return None
        self.curve_tabs.clear()
        for widget in self.curves.values():
            widget.stop_timer()
            widget.deleteLater()
        self.curves = {}
        for name in plan["models"]:
            step = "boosting iteration" if name == "gbm" else "epoch"
            widget = TrainingCurves(MODEL_LABELS.get(name, name), step_name=step)
            self.curves[name] = widget
            self.curve_tabs.addTab(widget, MODEL_LABELS.get(name, name))
        self.results_label.setText("")
        self.headline.setText("Preparing the customers...")
        self.timing.setText("")
        self.device_label.setText(f"Device: {plan.get('device') or 'CPU'}")
        self.run_id = None
        self.control = RunControl()
        self._model_training = False
        self._results: list[str] = []
        self.workspace.wait_for_writes()  # the data set must be stored before the run refers to it
        plan["dataset_id"] = self.workspace.dataset_id
        self.task = self.workspace.tensorflow.run(
            "Training", train_run, self.workspace.data, plan, self.control, self.workspace.project
        )
        self.task.event.connect(self._on_event)
        self.task.progress.connect(lambda f: self.progress.setValue(int(f * 1000)))
        self.task.status.connect(self.status.setText)
        self.task.finished.connect(self._on_finished)
        self.task.failed.connect(self._on_failed)
        self.task.stopped.connect(lambda: self._on_finished({"stopped": True, "done": []}))
        self._set_running(True)
        self._guard_window(True)
        return self.task

    def skip_model(self) -> None:
        if self.control is None or not self.is_busy():
            return
        if not self._model_training:  # a skip now would end the first model at its first batch
            self.status.setText(
                "The customers are being prepared; skipping works once a model trains."
            )
            return
        self.status.setText("Ending this model after the current batch, then going on...")
        self.control.skip_current()

    def end_run(self) -> None:
        if self.is_busy():
            self.status.setText("Ending the run after the current batch...")
            self.task.stop()

    def request_stop_and_wait(self, timeout_ms: int = 30_000) -> bool:
        """Stop the run and block until its thread ended (window closing, tests)."""
        if not self.is_busy():
            return True
        self.task.stop()
        return self.task.wait(timeout_ms)

    def _ask_close(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Training is running",
            "A model is training. Stop it and close? The models finished so far are kept; the "
            "one training now keeps its best weights.",
        )
        return answer == QMessageBox.StandardButton.Yes

    def _guard_window(self, on: bool) -> None:
        window = self.window()
        if on and window is not self and self._guarded is None:
            window.installEventFilter(self._guard)
            self._guarded = window
        elif not on and self._guarded is not None:
            self._guarded.removeEventFilter(self._guard)
            self._guarded = None

    # events from the worker (GUI thread) ---------------------------------------------------
    def _on_event(self, kind: str, payload: dict) -> None:
        if kind in ("batch", "epoch"):
            self._model_training = True
        if kind == "batch":
            widget = self.curves.get(payload.get("model"))
            if widget is not None:
                widget.add_batch(payload)
        elif kind == "epoch":
            self._on_epoch(payload)
        elif kind == "run_started":
            self.run_id = self.book.take_event(kind, payload, None)
        elif kind == "model_started":
            self._show_model(payload["model"])
        elif kind == "model_done":
            self._on_model_done(payload)
        elif kind == "model_scores":
            self.book.take_event(kind, payload, self.run_id)
        elif kind == "model_skipped":
            name = payload["model"]
            self._results.append(f"{MODEL_LABELS.get(name, name)}: skipped ({payload['reason']})")
            self.results_label.setText("<br>".join(self._results))

    def _show_model(self, name: str) -> None:
        self.current_model = name
        widget = self.curves.get(name)
        if widget is not None:
            self.curve_tabs.setCurrentWidget(widget)

    def _on_epoch(self, payload: dict) -> None:
        name = payload.get("model")
        widget = self.curves.get(name)
        if widget is None:
            return
        if name != self.current_model:
            self._show_model(name)
        widget.add_epoch(payload)
        epoch, epochs = payload.get("epoch"), payload.get("epochs")
        best = payload.get("best_epoch")
        self.headline.setText(
            f"{MODEL_LABELS.get(name, name)}: epoch {epoch} of at most {epochs}"
            + (f" (best so far: {best})" if best else "")
        )
        self.timing.setText(
            f"elapsed {_duration(payload.get('elapsed'))}, at most "
            f"{_duration(payload.get('remaining'))} to go (early stopping "
            "may end sooner)"
        )
        vl, va = payload.get("val_loss"), payload.get("val_accuracy")
        if vl is not None and va is not None:
            widget.set_status(f"epoch {epoch}: validation loss {vl:.4f}, accuracy {va:.3f}")

    def _on_model_done(self, payload: dict) -> None:
        name = payload["model"]
        result = payload["result"]
        metrics = result["metrics"]
        widget = self.curves.get(name)
        if widget is not None:
            widget.best_epoch = metrics.get("best_epoch")
            widget._dirty = True
            widget.redraw_if_needed()
            widget.set_status(_result_line(metrics, result))
        if metrics.get("device") and name != "gbm":  # boosting always runs on the CPU
            self.device_label.setText(f"Device: {metrics['device']}")
        self._results.append(
            f"<b>{MODEL_LABELS.get(name, name)}</b>: " + _result_line(metrics, result)
        )
        self.results_label.setText("<br>".join(self._results))
        self.book.take_event("model_done", payload, self.run_id)

    def _on_finished(self, summary: dict) -> None:
        self.last_summary = summary
        self._set_running(False)
        self._guard_window(False)
        done = len(summary.get("done", []))
        word = "ended by the user" if summary.get("stopped") else "finished"
        self.headline.setText(
            f"Run {word}: {done} model{'s' if done != 1 else ''} stored"
            + ("" if self.workspace.project else " (in memory: save the project to keep them)")
        )
        self.progress.setValue(1000)
        skipped = {
            m: r for m, r in summary.get("skipped", {}).items() if m not in summary.get("done", [])
        }
        self.status.setText(
            "; ".join(f"{MODEL_LABELS.get(m, m)}: {r}" for m, r in skipped.items())
        )  # the engine's last status ("experiment done") says nothing the headline does not
        self.timing.setText(f"took {_duration(time.monotonic() - (self.task.started_at or 0))}")
        for widget in self.curves.values():
            widget.redraw_if_needed()
        first = next(iter(self.curves.values()), None)
        if first is not None:
            self.curve_tabs.setCurrentWidget(first)
        self.run_finished.emit(summary)

    def _on_failed(self, exc: BaseException, details: str) -> None:
        self._set_running(False)
        self._guard_window(False)
        self.headline.setText("Training failed")
        self.status.setText(str(exc))
        self.workspace.failed.emit("Training failed", exc, details)

    # screenshot ----------------------------------------------------------------------------
    def prepare_screenshot(self, step: str = "") -> None:
        """Train MLP and boosting for a few epochs so the curves show something."""
        if self.workspace.data is None:
            return
        self.ask_close = lambda: True  # the screenshot closes the window without a question
        for name, box in self.model_boxes.items():
            box.setChecked(name in ("mlp", "gbm"))
        self.epochs.setValue(12)  # the picture shows the settings the curves were trained with
        self.patience.setValue(12)
        self.model_boxes["gbm"].editors["max_iter"].setValue(60)
        self.start(self.plan())


def _percent_spin(value: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(1, 98)
    spin.setValue(value)
    spin.setSuffix(" %")
    spin.setToolTip(tip)
    return spin


def _duration(seconds) -> str:
    if seconds is None or not math.isfinite(float(seconds)):
        return "-"
    seconds = int(round(float(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _result_line(metrics: dict, result: dict) -> str:
    def fmt(key):
        value = metrics.get(key)
        return "-" if value is None else f"{value:.3f}"

    stopped = " (stopped by the user; best weights kept)" if result.get("stopped") else ""
    return (
        f"test ROC-AUC {fmt('roc_auc')}, PR-AUC {fmt('pr_auc')} (base rate "
        f"{fmt('base_rate')}), best epoch {metrics.get('best_epoch')}, "
        f"{_duration(result.get('seconds'))}{stopped}"
    )
