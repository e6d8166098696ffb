"""What the Depth Lab shows, without Qt: a tiny experiment fed to the state record by record as
the session would deliver them, then compared with what re-opening it from the store shows."""

import pytest

from resnet_studio.app.experiment_state import ExperimentProgress, ExperimentState
from resnet_studio.app.experiments import ExperimentPlan
from resnet_studio.core.experiments import ExperimentListener, ExperimentRunner, ExperimentStore
from tests.helpers import SMALL_DATA as DATA


@pytest.fixture
def state(tmp_path):
    s = ExperimentState(str(tmp_path / "runs.sqlite"))
    yield s
    s.close()


def tiny_plan(**kw):
    return ExperimentPlan.from_grid(preset=None, depths=(8,), variants=("plain", "residual"),
                                    dataset=DATA, steps=12, device="cpu", **kw)


class Feed(ExperimentListener):
    """Hands the runner's records to the state, as the ExperimentSession does at its tick (the
    runner runs on this thread here, so this is the state's one thread)."""

    def __init__(self, state):
        self.state = state
        self.seen: list[tuple] = []
        self.live: dict[int, tuple] = {}

    def on_run_start(self, cell, run_id, resumed):
        self.state.run_started(cell, run_id, resumed)

    def on_log(self, cell, log):
        self.state.logged([(cell.index, log)])
        if cell.index == 0 and log.step == 3:
            self.seen.append((self.state.steps[0], self.state.progress()))

    def on_validation_end(self, cell, result):
        self.state.evaluated([(cell.index, result)])

    def on_run_end(self, cell, result, message):
        s = self.state.series[cell.index]
        self.live[cell.index] = (list(s.steps), list(s.error), list(s.val_error))
        self.state.run_finished(cell)


def test_live_records_show_what_the_store_shows_afterwards(state):
    plan = tiny_plan()
    assert (plan.config.eval_every, plan.config.log_every) == (3, 1)  # cut from 400 steps
    exp = state.create(plan)
    assert state.experiment.id == exp.id and state.results.runs[0].status == "pending"
    assert state.progress() == ExperimentProgress(steps=0, total_steps=24, runs=0, total_runs=2)

    feed = Feed(state)
    with ExperimentStore(state.store_path) as runner_store:  # the runner's own connection
        final = ExperimentRunner(runner_store, exp.id, listener=feed).run()
    state.finished(final)
    assert final.status == "finished"
    # after step 3 of the first run: its step, and 3 of 24 steps over the two runs
    assert feed.seen == [((3, 12), ExperimentProgress(steps=3, total_steps=24, runs=0,
                                                      total_runs=2))]
    assert state.progress() == ExperimentProgress(steps=24, total_steps=24, runs=2,
                                                  total_runs=2)
    stored = state.store.series(final)
    assert sorted(feed.live) == [0, 1]
    for index, (steps, train, val) in feed.live.items():
        assert steps == stored[index].steps == list(range(1, 13))
        assert train == pytest.approx(stored[index].error)
        assert val == pytest.approx(stored[index].val_error) and len(val) == 4

    other = ExperimentState(state.store_path)
    try:
        other.open("last")
        assert other.results.to_dict() == state.results.to_dict()
        assert [r.train_error for r in other.results.runs] == [
            r.train_error for r in state.results.runs]
    finally:
        other.close()


def test_cancel_add_and_delete(state):
    exp = state.create(tiny_plan(seeds=2))
    state.cancel_run(1)
    assert [c.status for c in state.experiment.cells] == ["pending", "cancelled", "pending",
                                                         "pending"]
    assert state.progress().total_steps == 36  # three runs left of 12 steps
    cell = state.add_run(14, "residual", 0)
    assert cell.index == 4 and state.results.runs[-1].model == "ResNet-14"
    assert state.step_of(state.results.runs[-1]) == (0, 12)
    assert state.is_shown(exp.id[:10])
    state.delete(exp.id)
    assert state.experiment is None and state.results is None and state.experiments() == []
    with pytest.raises(ValueError, match="Open or run"):
        state.add_run(8, "plain")
