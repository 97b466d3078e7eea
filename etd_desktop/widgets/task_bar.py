"""The status-bar corner that shows the running task, its progress and a Stop button."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from etd_desktop.workers import Task, TaskRunner


class TaskBar(QWidget):
    """Follows the most recently started task of a :class:`TaskRunner`; hidden when idle."""

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.task: Task | None = None
        self.label = QLabel()
        self.label.setMinimumWidth(220)
        self.label.setMaximumWidth(460)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(160)
        self.bar.setTextVisible(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the running task (Esc)")
        self.stop_button.clicked.connect(self.stop)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.stop_button)
        runner.task_started.connect(self._follow)
        runner.task_ended.connect(self._ended)
        self.setVisible(False)

    def stop(self) -> None:
        if self.task is not None:
            self.task.stop()
            self.label.setText(f"{self.task.name}: stopping...")

    def _follow(self, task: Task) -> None:
        self.task = task
        self.label.setText(task.name)
        self.label.setToolTip(task.name)
        self.bar.setValue(0)
        self.bar.setFormat("%p%")
        self.stop_button.setEnabled(True)
        task.progress.connect(lambda f, t=task: self._progress(t, f))
        task.status.connect(lambda s, t=task: self._status(t, s))
        self.setVisible(True)

    def _progress(self, task: Task, fraction: float) -> None:
        if task is self.task:
            self.bar.setValue(round(fraction * 1000))

    def _status(self, task: Task, text: str) -> None:
        if task is self.task:
            self.label.setText(f"{task.name}: {text}" if text else task.name)
            self.label.setToolTip(self.label.text())

    def _ended(self, task: Task) -> None:
        if task is not self.task:
            return
        running = self.runner.running
        if running:
            self._follow(running[-1])
        else:
            self.task = None
            self.setVisible(False)
