"""One experiment (a queue of training runs) at a time on a QueueSession: the runner's listener
posts plain records on the session's thread and the GUI gets them at a UI tick. Cancel one run or
stop all from the GUI thread at any time: the runner's controls are thread-safe. A run added
while it runs goes through the store (`ExperimentStore.add_cell`); the runner picks it up. On a
Ray cluster the runs train as Ray tasks (joined or started on the session's thread); what they
report reaches this session the same way."""

from __future__ import annotations

from PySide6.QtCore import Signal

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

    def start(self, experiment_id: str, *, store_path: str | None = None,
              concurrency: int | None = 1, cluster=None) -> None:
        """Run the experiment's missing cells (all of them for a new one), here or on the Ray
        cluster `cluster` (a ClusterOptions)."""
        self.experiment_id = experiment_id

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
