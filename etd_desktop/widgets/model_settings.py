"""A model's checkbox and its hyperparameters, grouped, with the study's values as defaults.

Only the settings a user changed leave the widget (:meth:`ModelSettings.params`); the engine
fills in the rest from :func:`core.models.default_params`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from etd_desktop.runs import MODEL_LABELS

PARAM_HELP = {
    "first_units": "Neurons of the first dense layer (the study: 1034, one per day)",
    "second_units": "Neurons of the second dense layer (the study: 365)",
    "dropout": "Share of neurons switched off at random while training, against overfitting",
    "conv_dropout": "Dropout after the convolutions of each step",
    "batch_size": "Customers per weight update; larger is faster per epoch, smaller is noisier",
    "learning_rate": "Step size of the Adam optimiser",
    "steps": "The series is cut into this many steps of equal length (the study: 11 x 94 days)",
    "filters": "Convolution filters per layer",
    "kernel_size": "Days each convolution filter looks at",
    "pool_size": "Max-pooling window after the convolutions",
    "lstm_units": "Memory cells of the LSTM layer",
    "dense_units": "Neurons of the dense layer before the output",
    "plateau_factor": "Learning rate is multiplied by this when validation loss stalls",
    "plateau_patience": "Epochs without improvement before the learning rate drops",
    "min_learning_rate": "The learning rate never drops below this",
    "max_iter": "Most boosting iterations (trees); early stopping usually ends sooner",
    "max_leaf_nodes": "Most leaves per tree",
    "max_depth": "Deepest a tree may grow (0 = no limit)",
    "min_samples_leaf": "Fewest customers in a leaf",
    "l2_regularization": "Penalty on large leaf values",
    "max_bins": "Bins each reading is sorted into before boosting",
    "n_iter_no_change": "Iterations without validation improvement before boosting stops",
    "use_readings": "Feed the daily readings themselves",
    "use_statistics": "Feed per-customer statistics (mean, spread, zero share, trend...)",
}
GROUPS = {
    "architecture": (
        "first_units",
        "second_units",
        "steps",
        "filters",
        "kernel_size",
        "pool_size",
        "lstm_units",
        "dense_units",
        "max_leaf_nodes",
        "max_depth",
        "min_samples_leaf",
        "max_bins",
        "use_readings",
        "use_statistics",
    ),
    "regularisation": ("dropout", "conv_dropout", "l2_regularization"),
    "optimisation": (
        "batch_size",
        "learning_rate",
        "plateau_factor",
        "plateau_patience",
        "min_learning_rate",
        "max_iter",
        "n_iter_no_change",
    ),
}


class ModelSettings(QGroupBox):
    """A model's checkbox and its hyperparameters, grouped, defaults from the study."""

    def __init__(self, name: str, checked: bool, parent=None):
        super().__init__(MODEL_LABELS[name], parent)
        from core.models import default_params

        self.name = name
        self.defaults = default_params(name)
        self.setCheckable(True)
        self.setChecked(checked)
        self.editors: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        self.toggle = QPushButton("Settings...")
        self.toggle.setCheckable(True)
        self.toggle.setFlat(True)
        self.toggle.setToolTip("Show the hyperparameters (the reference method's by default)")
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        for group, keys in GROUPS.items():
            present = [k for k in keys if k in self.defaults]
            if not present:
                continue
            form = QFormLayout()
            title = QLabel(f"<i>{group}</i>")
            body.addWidget(title)
            for key in present:
                editor = _editor(self.defaults[key])
                editor.setToolTip(PARAM_HELP.get(key, key))
                label = QLabel(key.replace("_", " "))
                label.setToolTip(PARAM_HELP.get(key, key))
                form.addRow(label, editor)
                self.editors[key] = editor
            body.addLayout(form)
        reset = QPushButton("Reset to the study's values")
        reset.clicked.connect(self.reset)
        body.addWidget(reset, 0, Qt.AlignmentFlag.AlignLeft)
        self.body.setVisible(False)
        self.toggle.toggled.connect(self.body.setVisible)
        layout.addWidget(self.body)

    def params(self) -> dict:
        """Only the settings changed from the defaults (the engine fills in the rest)."""
        out = {}
        for key, editor in self.editors.items():
            value = _value(editor, self.defaults[key])
            if value != self.defaults[key]:
                out[key] = value
        return out

    def reset(self) -> None:
        for key, editor in self.editors.items():
            _set_value(editor, self.defaults[key])


def _editor(default) -> QWidget:
    if isinstance(default, bool):
        box = QCheckBox()
        box.setChecked(default)
        return box
    if isinstance(default, int) or default is None:
        spin = QSpinBox()
        spin.setRange(0, 100_000)
        spin.setValue(int(default or 0))
        if default is None:
            spin.setSpecialValueText("no limit")
        return spin
    if isinstance(default, float):
        spin = QDoubleSpinBox()
        spin.setDecimals(5 if default < 0.01 else 4)
        spin.setRange(0.0, 1_000.0)
        spin.setSingleStep(default / 2 if default else 0.1)
        spin.setValue(default)
        return spin
    return QLineEdit(str(default))


def _value(editor: QWidget, default):
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QSpinBox):
        value = editor.value()
        return None if default is None and value == 0 else value
    if isinstance(editor, QDoubleSpinBox):
        return editor.value()
    return editor.text()


def _set_value(editor: QWidget, value) -> None:
    if isinstance(editor, QCheckBox):
        editor.setChecked(bool(value))
    elif isinstance(editor, QSpinBox):
        editor.setValue(int(value or 0))
    elif isinstance(editor, QDoubleSpinBox):
        editor.setValue(float(value))
    else:
        editor.setText(str(value))
