"""Experiments: the grid, the store, the queue runner (cancel, add, crash, resume) and the
results (table, Table 6 column, degradation readout). Tiny nets on tiny synthetic sets."""

import os
import time

import pytest

from resnet_studio.core.data import SyntheticOptions
from resnet_studio.core.experiments import (
    EXPERIMENT_PRESETS,
    TABLE6,
    Cell,
    Experiment,
    ExperimentError,
    ExperimentListener,
    ExperimentRunner,
    ExperimentStore,
    RunSeries,
    aggregate,
    compute_results,
    get_experiment_preset,
    grid_cells,
    make_spec,
    model_label,
    normalize_variant,
)
from resnet_studio.core.training.callbacks import Callback
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.zoo import get_spec
from tests.helpers import SMALL_DATA as DATA


def tiny_config(**kw) -> TrainConfig:
    base = dict(dataset=DATA, steps=12, batch_size=32, log_every=3, eval_every=6,
                checkpoint_every=0, schedule="cosine", device="cpu")
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture
def store(tmp_path):
    s = ExperimentStore(tmp_path / "runs.sqlite")
    yield s
    s.close()


class Recorder(ExperimentListener):
    def __init__(self):
        self.started: list[tuple[int, bool]] = []
        self.ended: list[tuple[int, str | None]] = []
        self.logs = 0

    def on_run_start(self, cell, run_id, resumed):
        self.started.append((cell.index, resumed))

    def on_log(self, cell, log):
        self.logs += 1

    def on_run_end(self, cell, result, message):
        self.ended.append((cell.index, result.status if result else None))


# -- the grid -------------------------------------------------------------------------------------


def test_specs_match_the_zoo_and_the_paper_names():
    assert make_spec(20, "residual") == get_spec("resnet20")
    assert make_spec(56, "plain") == get_spec("resnet56", plain=True)
    assert make_spec(110, "residual").depth == 110
    b = make_spec(32, "residual_b")
    assert b.shortcut == "B" and not b.preact
    pre = make_spec(20, "preact")
    assert pre.preact and pre.layers == (3, 3, 3)
    assert make_spec(14, "plain").layers == (2, 2, 2)  # any 6n+2
    assert [model_label(56, v) for v in ("plain", "residual")] == ["plain-56", "ResNet-56"]
    assert normalize_variant("ResNet-B") == "residual_b"
    with pytest.raises(ExperimentError, match="6n\\+2"):
        make_spec(21, "plain")
    with pytest.raises(ExperimentError, match="unknown variant"):
        normalize_variant("dense")


def test_grid_and_presets():
    cells = grid_cells((56, 20, 20), ("plain", "residual"), (0, 1))
    assert cells[:4] == [(20, "plain", 0), (20, "plain", 1), (56, "plain", 0), (56, "plain", 1)]
    assert len(cells) == 8
    quick = get_experiment_preset("quick")
    assert set(quick.cells) == {(20, "plain", 0), (56, "plain", 0), (20, "residual", 0),
                                (56, "residual", 0)}
    assert quick.config.dataset.startswith("synthetic")
    fig6 = EXPERIMENT_PRESETS["he2015_fig6"]
    assert sorted(d for d, v, _ in fig6.cells if v == "plain") == [20, 32, 44, 56]
    assert sorted(d for d, v, _ in fig6.cells if v == "residual") == [20, 32, 44, 56, 110]
    c = fig6.config
    assert (c.dataset, c.steps, c.batch_size, c.lr, c.milestone_steps()) == (
        "cifar10", 64_000, 128, 0.1, [32_000, 48_000])
    assert TABLE6[56] == 6.97 and TABLE6[110] == 6.43


# -- the store --------------------------------------------------------------------------------------


def test_store_round_trip(store):
    cfg = tiny_config()
    exp = store.create("round trip", grid_cells((8, 14), ("plain",), (0, 1)), cfg)
    again = store.get(exp.id[:12])
    assert again.config == cfg and again.name == "round trip" and again.status == "created"
    assert [c.key for c in again.cells] == [(8, "plain", 0), (8, "plain", 1), (14, "plain", 0),
                                            (14, "plain", 1)]
    assert all(c.status == "pending" for c in again.cells)
    assert store.resolve("last") == exp.id
    added = store.add_cell(exp.id, 20, "residual", 3)
    assert added.index == 4 and store.get(exp.id).depths == [8, 14, 20]
    assert store.add_cell(exp.id, 20, "residual", 3).index == 4  # no duplicate
    store.set_cancelled(exp.id, 1)
    cells = store.get(exp.id).cells
    assert cells[1].status == "cancelled" and len(store.get(exp.id).missing()) == 4
    store.add_cell(exp.id, 8, "plain", 1)  # brings the cancelled cell back
    assert store.get(exp.id).cell(1).status == "pending"
    with pytest.raises(ExperimentError, match="twice"):
        store.create("dup", [(8, "plain", 0), (8, "plain", 0)], cfg)
    assert [e.id for e in store.list()] == [exp.id]
    store.delete(exp.id)
    assert store.list() == []


# -- results (no training) -----------------------------------------------------------------------


def _series(errors, total=100, val=0.5):
    steps = list(range(10, total + 1, 10))
    return RunSeries(steps=steps, error=[errors] * len(steps),
                     loss=[1.0] * len(steps), val_steps=[total], val_error=[val])


def test_results_table_and_degradation_readout():
    cells = []
    series = {}
    errs = {(20, "plain"): (0.10, 0.12), (56, "plain"): (0.30, 0.36),
            (20, "residual"): (0.08, 0.10), (56, "residual"): (0.07, 0.09)}
    for i, ((d, v), pair) in enumerate(errs.items()):
        for seed, e in enumerate(pair):
            idx = 2 * i + seed
            cells.append(Cell(index=idx, depth=d, variant=v, seed=seed, run_id=f"r{idx}",
                              status="finished", seconds=10.0 + idx, total_steps=100))
            series[idx] = _series(e)
    exp = Experiment(id="exp-x", name="x", config=tiny_config(steps=100), cells=tuple(cells),
                     status="finished", created=0, updated=0)
    res = compute_results(exp, series)
    by = {(s.depth, s.variant): s for s in res.summary}
    assert by[(20, "plain")].train_error == pytest.approx(11.0)
    assert by[(20, "plain")].train_error_std == pytest.approx(1.41421, rel=1e-4)
    assert by[(20, "residual")].paper_error == 8.75 and by[(56, "residual")].paper_error == 6.97
    assert by[(56, "plain")].paper_error is None  # plain nets: no table value
    assert by[(56, "plain")].params > by[(20, "plain")].params > 0
    assert by[(20, "residual")].params == by[(20, "plain")].params  # option A: no parameters
    deg = {d.variant: d for d in res.degradation}
    assert deg["plain"].delta == pytest.approx(22.0) and deg["plain"].std == pytest.approx(
        2.8284, rel=1e-4)
    assert deg["plain"].degrades and not deg["residual"].degrades
    assert deg["residual"].delta == pytest.approx(-1.0)
    assert "plain-56 − plain-20" in deg["plain"].line() and "WORSE" in deg["plain"].line()
    csv_text = res.to_csv()
    assert csv_text.splitlines()[0].startswith("model,depth,variant")
    assert "ResNet-56,56,residual,2,8.000" in csv_text and csv_text.count("\n") == 5
    band = res.curves("plain", 56, "train")
    assert band.mean[0] == pytest.approx(33.0) and band.std[0] > 0
    # an unfinished run has no final number
    assert _series(0.2).final_train_error(200) is None


def test_aggregate_uses_what_each_run_has():
    band = aggregate([([1, 2, 3], [10.0, 20.0, 30.0]), ([1, 2], [12.0, 22.0])])
    assert band.steps == [1.0, 2.0, 3.0]
    assert band.mean == [11.0, 21.0, 30.0] and band.std[2] == 0.0


# -- running ------------------------------------------------------------------------------------


def test_runner_trains_the_grid_and_records_normal_runs(store):
    exp = store.create("tiny", grid_cells((8, 14), ("plain", "residual"), (0,)), tiny_config())
    rec = Recorder()
    final = ExperimentRunner(store, exp.id, listener=rec).run()
    assert final.status == "finished"
    assert [c.status for c in final.cells] == ["finished"] * 4
    assert sorted(i for i, _ in rec.started) == [0, 1, 2, 3] and rec.logs == 16
    runs = store.runs.list_runs(experiment_id=exp.id)
    assert sorted(r.id for r in runs) == sorted(c.run_id for c in final.cells)
    assert all(r.status == "finished" and r.step == 12 for r in runs)
    for c in final.cells:
        assert c.seconds and c.seconds > 0
        cfg = store.runs.get(c.run_id).config
        assert cfg["seed"] == c.seed and cfg["steps"] == 12
    res = store.results(exp.id)
    assert all(r.train_error is not None and r.val_error is not None for r in res.runs)
    assert {d.variant for d in res.degradation} == {"plain", "residual"}
    # nothing left to do: a second run() trains nothing
    rec2 = Recorder()
    assert ExperimentRunner(store, exp.id, listener=rec2).run().status == "finished"
    assert rec2.started == []


def test_cancel_one_run_and_add_one_while_running(store):
    exp = store.create("cancel", grid_cells((8,), ("plain", "residual", "residual_b"), (0,)),
                       tiny_config(steps=30))

    class Controls(Recorder):
        def on_log(self, cell, log):
            super().on_log(cell, log)
            if cell.index == 0 and log.step == 6:
                runner.cancel_run(0)  # the running one
                runner.cancel_run(2)  # a pending one
                runner.add_run(14, "plain", 0)

    rec = Controls()
    runner = ExperimentRunner(store, exp.id, listener=rec)
    final = runner.run()
    by = {c.key: c for c in final.cells}
    assert by[(8, "plain", 0)].status == "cancelled"
    assert store.runs.get(by[(8, "plain", 0)].run_id).status == "stopped"
    assert by[(8, "plain", 0)].step < 30
    assert by[(8, "residual", 0)].status == "finished"
    assert by[(8, "residual_b", 0)].status == "cancelled" and by[(8, "residual_b", 0)].run_id \
        is None
    assert by[(14, "plain", 0)].status == "finished"  # added while running
    assert final.status == "finished" and final.missing() == []
    assert 2 not in [i for i, _ in rec.started]


class Crash(BaseException):
    """Stands in for the process dying (not an ordinary error the runner would record)."""


def test_crash_mid_experiment_keeps_finished_runs_and_resumes_only_missing(store):
    exp = store.create("crash", grid_cells((8,), ("plain", "residual"), (0, 1)),
                       tiny_config(steps=12, checkpoint_every=6))

    class Bomb(Callback):
        def on_log(self, trainer, log):
            if trainer.run_name.endswith("ResNet-8 seed 0") and log.step == 9:
                raise Crash()

    with pytest.raises(Crash):
        ExperimentRunner(store, exp.id, callbacks=[Bomb()]).run()
    mid = store.get(exp.id)
    assert mid.status == "interrupted"
    assert [c.status for c in mid.cells[:2]] == ["finished", "finished"]
    finished_ids = [c.run_id for c in mid.cells[:2]]
    metrics_before = [store.runs.metrics(r) for r in finished_ids]
    assert mid.cells[2].status == "failed" and mid.cells[2].run_id
    assert mid.cells[3].status == "pending"

    rec = Recorder()
    final = ExperimentRunner(store, exp.id, listener=rec).run()
    assert final.status == "finished"
    assert [c.status for c in final.cells] == ["finished"] * 4
    # only the missing ones ran; the crashed one continued from its step-6 checkpoint
    assert rec.started == [(2, True), (3, False)]
    assert final.cells[2].run_id == mid.cells[2].run_id
    assert [c.run_id for c in final.cells[:2]] == finished_ids
    assert [store.runs.metrics(r) for r in finished_ids] == metrics_before
    steps = [s for s, _ in store.runs.metrics(final.cells[2].run_id)["train/error"]]
    assert steps == [3, 6, 9, 12]  # no duplicate points from the crashed session


def test_resumed_run_equals_an_uninterrupted_one(store):
    cfg = tiny_config(steps=12, checkpoint_every=6)
    straight = store.create("straight", [(8, "residual", 0)], cfg)
    ExperimentRunner(store, straight.id).run()

    exp = store.create("stopped", [(8, "residual", 0)], cfg)

    class StopAt7(ExperimentListener):
        def on_log(self, cell, log):
            if log.step == 6:
                runner.stop()

    runner = ExperimentRunner(store, exp.id, listener=StopAt7())
    assert runner.run().status == "stopped"
    assert store.get(exp.id).cells[0].status == "stopped"
    final = ExperimentRunner(store, exp.id).run()
    assert final.status == "finished"
    a = store.runs.metrics(store.get(straight.id).cells[0].run_id)["train/loss"]
    b = store.runs.metrics(final.cells[0].run_id)["train/loss"]
    assert [s for s, _ in a] == [s for s, _ in b] == [3, 6, 9, 12]
    assert [v for _, v in a] == pytest.approx([v for _, v in b], rel=1e-5)


def test_concurrent_runs_match_sequential_ones(store):
    cells = grid_cells((8,), ("plain", "residual"), (0,))
    seq = ExperimentRunner(store, store.create("seq", cells, tiny_config()).id).run()
    par = ExperimentRunner(store, store.create("par", cells, tiny_config()).id,
                           concurrency=2).run()
    assert par.status == "finished"
    for a, b in zip(seq.cells, par.cells):
        ma = store.runs.metrics(a.run_id)["train/loss"]
        mb = store.runs.metrics(b.run_id)["train/loss"]
        assert [v for _, v in ma] == pytest.approx([v for _, v in mb], rel=1e-4)


def test_runs_at_once_start_with_the_deepest_so_the_sweep_does_not_end_on_a_long_one(store):
    cells = grid_cells((8, 14), ("plain", "residual"), (0,))  # plain-8, plain-14, ResNet-8, -14
    rec = Recorder()
    final = ExperimentRunner(store, store.create("lpt", cells, tiny_config()).id, listener=rec,
                             concurrency=2).run()
    assert final.status == "finished"
    assert {i for i, _ in rec.started[:2]} == {1, 3}  # both 14-layer nets first, then the 8s
    assert sorted(i for i, _ in rec.started) == [0, 1, 2, 3]
    one_at_a_time = Recorder()
    ExperimentRunner(store, store.create("seq", cells, tiny_config()).id,
                     listener=one_at_a_time).run()
    assert [i for i, _ in one_at_a_time.started] == [0, 1, 2, 3]  # alone: the plan's order


def test_a_run_that_cannot_start_leaves_the_experiment_incomplete(store):
    exp = store.create("bad", [(8, "plain", 0)], tiny_config(dataset="synthetic:size=8,"
                                                             "train=16,val=8", batch_size=32))
    rec = Recorder()
    final = ExperimentRunner(store, exp.id, listener=rec).run()
    assert final.status == "incomplete" and "plain-8" in final.message
    assert rec.ended == [(0, None)]


# -- the quick preset shows the phenomenon (minutes: RESNET_STUDIO_SLOW=1 / make bench) ------------


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RESNET_STUDIO_SLOW"),
                    reason="trains four nets for minutes; set RESNET_STUDIO_SLOW=1")
@pytest.mark.timeout(900)
def test_quick_preset_shows_degradation(store, monkeypatch):
    """He et al. 2015 Fig. 6's shape: plain-56 learns (final training error at most half of
    chance) but ends at least 3 points above plain-20; ResNet-56 ends within a point of
    ResNet-20 or below it. Run as the app runs it (CPU settings measured, every core), not with
    the suite's one thread."""
    import torch

    monkeypatch.setenv("RESNET_STUDIO_AUTOTUNE", "1")
    torch.set_num_threads(os.cpu_count() or 1)
    preset = get_experiment_preset("quick")
    exp = store.create_from_preset(preset, device="cpu", seed=0)
    t = time.perf_counter()
    final = ExperimentRunner(store, exp.id).run()
    wall = time.perf_counter() - t
    res = store.results(final)
    err = {(r.depth, r.variant): 100 * r.train_error for r in res.runs}
    print(f"\nquick preset ({preset.config.dataset}): {wall:.0f} s wall for {len(err)} nets x "
          f"{preset.config.steps} steps; final training error %: "
          + ", ".join(f"{model_label(d, v)} {e:.2f}" for (d, v), e in sorted(err.items())))
    assert final.status == "finished"
    classes = SyntheticOptions.parse(preset.config.dataset.partition(":")[2]).classes
    chance = 100 * (1 - 1 / classes)
    assert err[(56, "plain")] <= 0.5 * chance
    assert err[(56, "plain")] >= err[(20, "plain")] + 3.0
    assert err[(56, "residual")] <= err[(20, "residual")] + 1.0
