"""What the user has open: the project file, the data set, its cleaned version, the choices.

Pages read from and write to one :class:`Workspace`; its signals tell every page when
something changed, so pages never talk to each other.

Without a project the work stays in memory and the status bar says so ("unsaved: use
Project > Save as"): opening a CSV to have a look should not leave files behind. As soon as a
project is created, opened or saved-as, what the user does is written to it: the data set
(``Project.add_dataset``) and each cleaning result (``Project.add_cleaned``). Saving-as with
work in memory creates the project and stores what is in memory.

The workspace also holds the runs of the session (:attr:`Workspace.runs`, a
:class:`~etd_desktop.runs.RunBook`; ``runs_changed`` tells when one was added) and the lane
TensorFlow tasks go through (:attr:`Workspace.tensorflow`).

Project reads and writes run in workers (a full-size data set is 175 MB of readings), one after
the other, so a cleaning result is stored after the data set it belongs to.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from core.tasks import TaskState, ensure_state
from etd_desktop.runs import RunBook, TensorFlowLane
from etd_desktop.workers import Task, TaskRunner

if TYPE_CHECKING:  # pandas loads with it; the window shows first
    from core.dataset import ConsumptionData

log = logging.getLogger(__name__)

PROJECT_SUFFIX = ".etdproj"


_SUMMARIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def summary_of(data: ConsumptionData) -> dict:
    """``data.summary()``, remembered. Counting the missing and zero cells of a full-size set
    takes over 0.1 s, so workers call this once before handing the data to the GUI thread."""
    summary = _SUMMARIES.get(data)
    if summary is None:
        summary = _SUMMARIES[data] = data.summary()
    return summary


def make_demo_data(n_customers: int, state: TaskState | None = None) -> ConsumptionData:
    """The demo data set, with its summary counted in the worker."""
    from core.demo import make_demo

    data = make_demo(n_customers=n_customers, state=state)
    summary_of(data)
    return data


@dataclass
class CleaningResult:
    """A cleaning of the current data set: the recipe, its report and the cleaned customers.

    ``prepared`` and ``fitted`` (core.recipe's Prepared and FittedRecipe) exist only for a
    cleaning run in this session; one read back from a project has the data and report only.
    """

    recipe: dict
    report: dict
    data: ConsumptionData  # kept customers, cleaned kWh before scaling
    prepared: Any = None
    fitted: Any = None
    cleaned_id: int | None = None

    @classmethod
    def from_fit(cls, recipe, fitted, prepared) -> CleaningResult:
        """From ``Recipe.fit_transform``'s output."""
        return cls(
            recipe=recipe.to_dict(),
            report=dict(prepared.report),
            data=prepared.data,
            prepared=prepared,
            fitted=fitted,
        )


@dataclass
class BalanceChoice:
    """The oversampling chosen in the Balance wizard; training applies it to its training split."""

    method: str = "borderline_smote"
    params: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Opened:
    project: Any
    path: Path
    data: ConsumptionData | None = None
    name: str = ""
    dataset_id: int | None = None
    cleaned: CleaningResult | None = None


class Workspace(QObject):
    project_changed = Signal()
    data_changed = Signal()
    cleaned_changed = Signal()
    balance_changed = Signal()
    runs_changed = Signal()  # a run or a model result was added to :attr:`runs`
    saved = Signal()  # a project write finished
    failed = Signal(str, object, str)  # title, exception, details

    def __init__(self, tasks: TaskRunner | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.tasks = tasks if tasks is not None else TaskRunner(self)
        self.project = None  # core.project.Project
        self.project_path: Path | None = None
        self.data: ConsumptionData | None = None
        self.data_name: str = ""
        self.dataset_id: int | None = None
        self.cleaned: CleaningResult | None = None
        self.balance = BalanceChoice()
        self._writes: list[tuple[str, Callable]] = []
        self._writing: Task | None = None
        self.runs = RunBook(self)
        self.runs.changed.connect(self.runs_changed)
        self.tensorflow = TensorFlowLane(self.tasks, self)

    # what is open --------------------------------------------------------------------------
    @property
    def has_data(self) -> bool:
        return self.data is not None

    @property
    def unsaved(self) -> bool:
        """True when there is work in memory that no project file holds."""
        return self.project is None and self.data is not None

    @property
    def saving(self) -> bool:
        return self._writing is not None or bool(self._writes)

    # data ----------------------------------------------------------------------------------
    def set_data(self, data: ConsumptionData, name: str = "") -> None:
        """Make ``data`` the current data set; it replaces any cleaning done before."""
        self.data = data
        self.data_name = name or str(data.source.get("name", "")) or "data set"
        self.dataset_id = None
        self.cleaned = None
        log.info("data set %r: %r", self.data_name, data)
        if self.project is not None:
            self._store_dataset()
        self.data_changed.emit()
        self.cleaned_changed.emit()

    def set_cleaned(self, result: CleaningResult) -> None:
        self.cleaned = result
        if self.project is not None:
            self._store_cleaned(result)
        self.cleaned_changed.emit()

    def set_balance(self, choice: BalanceChoice) -> None:
        self.balance = choice
        self.balance_changed.emit()

    # project writes, one at a time ---------------------------------------------------------
    def _queue_write(self, name: str, make_call: Callable[[], tuple]) -> None:
        """``make_call()`` runs in the GUI thread when the write's turn comes and returns
        ``(function, args, on_done)``; ``function(*args, state=)`` runs in a worker."""
        self._writes.append((name, make_call))
        if self._writing is None:
            self._next_write()

    def _next_write(self) -> None:
        self._writing = None
        if not self._writes:
            self.saved.emit()
            return
        name, make_call = self._writes.pop(0)
        fn, args, on_done = make_call()
        task = self.tasks.run(name, fn, *args)
        task.finished.connect(on_done)
        task.failed.connect(lambda exc, details: self.failed.emit(name, exc, details))
        task.ended.connect(self._next_write)
        self._writing = task

    def _store_dataset(self) -> None:
        data, name, project = self.data, self.data_name, self.project

        def done(dataset_id: int) -> None:
            if self.data is data:
                self.dataset_id = int(dataset_id)

        self._queue_write(
            "Saving the data set to the project",
            lambda: (_add_dataset, (project, data, name), done),
        )

    def _store_cleaned(self, result: CleaningResult) -> None:
        project = self.project

        def call():
            return (_add_cleaned, (project, self.dataset_id, result), _cleaned_done)

        def _cleaned_done(cleaned_id: int) -> None:
            result.cleaned_id = int(cleaned_id)

        self._queue_write("Saving the cleaned data to the project", call)

    def wait_for_writes(self, timeout_ms: int = 30_000) -> None:
        """Block until queued project writes are done (closing, tests)."""
        from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop

        deadline = QDeadlineTimer(timeout_ms)
        while self.saving and not deadline.hasExpired():
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    # project -------------------------------------------------------------------------------
    def new_project(self, path: str | Path) -> Task:
        """Create an empty project at ``path``; what is in memory is dropped."""
        return self._run_project_task("Creating the project", _create_project, Path(path))

    def open_project(self, path: str | Path) -> Task:
        """Open a project and load its latest data set and the latest cleaning of it."""
        return self._run_project_task("Opening the project", _open_project, Path(path))

    def save_project_as(self, path: str | Path) -> Task:
        """Write the work to a new project file and go on working in it."""
        path = Path(path)
        if self.project is not None:
            task = self.tasks.run("Saving the project as", _copy_project, self.project, path)
            task.finished.connect(lambda _: self._switched_to(path))
            return task
        memory_runs = self.runs.memory_runs()
        task = self.tasks.run(
            "Saving the project",
            _create_with,
            path,
            self.data,
            self.data_name,
            self.cleaned,
            memory_runs,
        )
        task.finished.connect(lambda opened: self._adopt_with_runs(opened, memory_runs))
        return task

    def _adopt_with_runs(self, opened: _Opened, written: list[dict]) -> None:
        """Adopt the new project; the memory runs it now holds are dropped from memory so the
        Evaluate and Customers pages list each run once."""
        self.runs.forget_memory_runs([run["id"] for run in written])
        self._adopt(opened)

    def _run_project_task(self, name: str, fn: Callable, path: Path) -> Task:
        task = self.tasks.run(name, fn, path)
        task.finished.connect(self._adopt)
        return task

    def _adopt(self, opened: _Opened) -> None:
        if self.project is not None and self.project is not opened.project:
            self.project.close()
        self.project, self.project_path = opened.project, opened.path
        self.data, self.data_name = opened.data, opened.name
        self.dataset_id, self.cleaned = opened.dataset_id, opened.cleaned
        log.info("project %s: data %r", opened.path, opened.data)
        self._emit_all()

    def _switched_to(self, path: Path) -> None:
        self.project_path = path
        self.project_changed.emit()

    def close_project(self) -> None:
        self.wait_for_writes()
        had_work = self.project is not None or self.data is not None
        if self.project is not None:
            self.project.close()
        self.project, self.project_path = None, None
        self.data, self.data_name, self.dataset_id, self.cleaned = None, "", None, None
        self.balance = BalanceChoice()
        if had_work:
            self._emit_all()

    def _emit_all(self) -> None:
        self.project_changed.emit()
        self.data_changed.emit()
        self.cleaned_changed.emit()
        self.balance_changed.emit()


# worker functions (no Qt in here) -----------------------------------------------------------
def _add_dataset(project, data: ConsumptionData, name: str, state: TaskState | None = None):
    return project.add_dataset(data, name=name, state=state)


def _add_cleaned(project, dataset_id: int | None, result: CleaningResult, state=None):
    if dataset_id is None:
        raise RuntimeError("the data set is not stored, so its cleaning cannot be")
    return project.add_cleaned(dataset_id, result.recipe, result.report, result.data, state=state)


def _create_project(path: Path, state: TaskState | None = None) -> _Opened:
    from core.project import Project

    ensure_state(state).set_status(f"creating {path.name}")
    return _Opened(project=Project.create(path), path=path)


def _open_project(path: Path, state: TaskState | None = None) -> _Opened:
    from core.project import Project

    state = ensure_state(state)
    project = Project.open(path)
    opened = _Opened(project=project, path=path)
    datasets = project.list_datasets()
    if not datasets:
        return opened
    latest = datasets[-1]
    opened.dataset_id = int(latest["id"])
    opened.name = str(latest.get("name") or "data set")
    opened.data = project.load_dataset(opened.dataset_id, state=state.child(0, 0.6))
    summary_of(opened.data)
    cleaned = project.list_cleaned(opened.dataset_id)
    if cleaned:
        version = project.load_cleaned(int(cleaned[-1]["id"]), state=state.child(0.6, 1.0))
        opened.cleaned = CleaningResult(
            recipe=dict(version.recipe),
            report=dict(version.report),
            data=version.data,
            cleaned_id=int(version.id),
        )
    return opened


def _copy_project(project, path: Path, state: TaskState | None = None) -> Path:
    ensure_state(state).set_status(f"copying to {path.name}")
    return project.save_as(path)


def _create_with(
    path: Path, data, name: str, cleaned, memory_runs=(), state: TaskState | None = None
):
    """A new project holding what was in memory: the data set, its cleaning, and the runs
    trained before any project was open (their models, metrics and scores)."""
    from core.project import Project

    state = ensure_state(state)
    project = Project.create(path)
    opened = _Opened(project=project, path=path, data=data, name=name, cleaned=cleaned)
    if data is not None:
        opened.dataset_id = project.add_dataset(data, name=name, state=state.child(0, 0.6))
    if cleaned is not None and opened.dataset_id is not None:
        cleaned.cleaned_id = project.add_cleaned(
            opened.dataset_id,
            cleaned.recipe,
            cleaned.report,
            cleaned.data,
            state=state.child(0.6, 0.8),
        )
    for i, run in enumerate(memory_runs):
        state.check()
        state.set_status(f"storing training run {i + 1} of {len(memory_runs)}")
        _store_memory_run(project, run, opened.dataset_id)
        state.set_progress(0.8 + 0.2 * (i + 1) / len(memory_runs))
    return opened


def _store_memory_run(project, run: dict, dataset_id: int | None) -> int:
    record = dict(run.get("record") or {})
    record["dataset_id"] = dataset_id
    run_id = project.add_run(record)
    for model, result in run["results"].items():
        project.add_model_result(
            run_id,
            model,
            **result,
            artifact_dir=run["artifacts"].get(model),
            scores=run["scores"].get(model),
        )
    project.finish_run(run_id)
    return run_id
