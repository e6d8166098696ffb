"""One experiment (a queue of training runs) at a time on a QueueSession: the runner's listener
posts plain records on the session's thread and the GUI gets them at a UI tick. Cancel one run or
stop all from the GUI thread at any time: the runner's controls are thread-safe. A run added
while it runs goes through the store (`ExperimentStore.add_cell`); the runner picks it up. On a
Ray cluster the runs train as Ray tasks (joined or started on the session's thread); what they
report reaches this session the same way. The session keeps the experiment's `ExperimentClock`
(elapsed and time left of the experiment and of each run), fed before the tab hears a record,
and reports its steps to the jobs panel."""

from __future__ import annotations

from PySide6.QtCore import Signal

from resnet_studio.app.experiment_clock import ExperimentClock
from resnet_studio.qt.kit.session import QueueSession


def _posting_listener(post):
    from resnet_studio.core.experiments import ExperimentListener

    class PostingListener(ExperimentListener):
        def on_experiment_start(self, experiment):
            post("cells", experiment)

        def on_run_start(self, cell, run_id, resumed):
            post("run_start", (cell, run_id, resumed))

        def on_data_progress(self, done, total, message):
            post("data", (done, total, message))

        def on_log(self, cell, log):
            post("log", (cell.index, log))

        def on_validation_end(self, cell, result):
            post("eval", (cell.index, result))

        def on_run_end(self, cell, result, message):
            post("run_end", (cell, result, message))

        def on_cells_changed(self, experiment):
            post("cells", experiment)

    return PostingListener()


class ExperimentSession(QueueSession):
    cellsChanged = Signal(object)  # Experiment (cells added / cancelled, or at the start)
    runStarted = Signal(object, str, bool)  # Cell, run id, resumed
    logged = Signal(list)  # [(cell index, TrainLog)] since the last tick
    evaluated = Signal(list)  # [(cell index, EvalResult)]
    runFinished = Signal(object, object, str)  # Cell, TrainResult or None, message
    dataProgress = Signal(int, int, str)
    finished = Signal(object)  # Experiment as stored at the end

    SIGNALS = {"cells": "cellsChanged", "run_start": "runStarted", "log": "logged",
               "eval": "evaluated", "run_end": "runFinished", "data": "dataProgress",
               "finished": "finished"}
    BATCHED = ("log", "eval")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.experiment_id: str | None = None
        self.times = ExperimentClock()
        # connected before the tab's handlers: the clock knows a record when the tab asks
        self.cellsChanged.connect(self._cells_changed)
        self.runStarted.connect(lambda cell, *_: self.times.run_started(cell))
        self.logged.connect(self._logged)
        self.runFinished.connect(lambda cell, *_: self.times.run_finished(cell))
        self.runningChanged.connect(lambda on: on or self.times.ended())

    def _cells_changed(self, exp) -> None:
        self.title = f"Depth Lab: {exp.name}"
        self.times.cells_changed(exp)

    def _logged(self, items: list) -> None:
        self.times.logged(items)
        steps = self.times.steps()
        if steps is not None:
            done, total = steps
            runs_done, runs = self.times.experiment.progress
            self.report(done, total, f"{runs_done} / {runs} runs")

    def time_left(self) -> float | None:
        """The jobs panel's time left: the experiment's, its runs' speeds told apart."""
        return self.times.remaining()

    def start(self, experiment_id: str, *, store_path: str | None = None,
              concurrency: int | None = 1, cluster=None) -> None:
        """Run the experiment's missing cells (all of them for a new one), here or on the Ray
        cluster `cluster` (a ClusterOptions)."""
        self.experiment_id = experiment_id
        self.title = "Depth Lab: experiment"
        self.times.started()

        def build(post):
            from resnet_studio.core.experiments import ExperimentRunner, ExperimentStore
            from resnet_studio.core.experiments.backends import make_backend

            backend = make_backend(cluster)
            store = ExperimentStore(store_path)
            try:
                return ExperimentRunner(store, experiment_id, listener=_posting_listener(post),
                                        concurrency=concurrency, backend=backend)
            except BaseException:
                store.close()
                raise

        def work(runner):
            try:
                return runner.run()
            finally:
                runner.store.close()

        self._run(build, work)

    @property
    def runner(self):
        return self.target

    def cancel_run(self, index: int) -> bool:
        if self.runner is None:
            return False
        self.runner.cancel_run(index)
        return True
