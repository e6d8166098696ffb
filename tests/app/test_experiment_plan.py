"""One plan for the Depth Lab and `sweep`: the grid and schedule rules, the name, storing it, and
the results as text, CSV and JSON."""

import csv
import io
import json

import pytest

from resnet_studio.app.experiments import (
    ExperimentPlan,
    GridRequest,
    default_name,
    describe_experiment,
    results_json,
    results_text,
    schedule_for_steps,
    write_results_csv,
)
from resnet_studio.core.experiments import (
    EXPERIMENT_PRESETS,
    Cell,
    Experiment,
    ExperimentError,
    ExperimentStore,
    RunSeries,
    compute_results,
)
from resnet_studio.core.training.config import TrainConfig

QUICK = EXPERIMENT_PRESETS["quick"]
FIG6 = EXPERIMENT_PRESETS["he2015_fig6"]


def test_defaults_are_the_quick_demo():
    plan = ExperimentPlan.from_grid()
    assert plan.cells == QUICK.cells and plan.config == QUICK.config
    assert plan.preset == "quick"
    assert plan.name == "plain vs ResNet (A) · depths 20, 56"


def test_steps_cut_below_the_preset_keep_a_handful_of_test_points():
    # the quick demo validates every 100 and logs every 10 of its 1,000 steps
    assert (QUICK.config.eval_every, QUICK.config.log_every) == (100, 10)
    cut = ExperimentPlan.from_grid(steps=60).config
    assert (cut.steps, cut.eval_every, cut.log_every) == (60, 15, 1)
    tiny = ExperimentPlan.from_grid(steps=12).config
    assert (tiny.steps, tiny.eval_every, tiny.log_every) == (12, 3, 1)
    mid = ExperimentPlan.from_grid(steps=200).config
    assert (mid.eval_every, mid.log_every) == (50, 5)
    longer = ExperimentPlan.from_grid(steps=800).config  # longer than the preset: as it is
    assert (longer.steps, longer.eval_every, longer.log_every) == (800, 100, 10)
    explicit = ExperimentPlan.from_grid(steps=60, eval_every=30).config
    assert (explicit.eval_every, explicit.log_every) == (30, 1)
    fig6 = schedule_for_steps(FIG6.config, 8_000)  # eval 2000, log 50 of 64k
    assert (fig6.eval_every, fig6.log_every) == (2000, 50)
    assert schedule_for_steps(FIG6.config, 4_000).eval_every == 1000
    # a config that validates only at the end keeps doing so
    assert schedule_for_steps(QUICK.config.replace(eval_every=0), 60).eval_every == 0


def test_grid_order_counts_and_the_presets_own_runs():
    plan = ExperimentPlan.from_grid(depths=(56, 20, 20), variants=("residual", "plain"),
                                    seeds=2)
    assert plan.cells[:3] == ((20, "plain", 0), (20, "plain", 1), (56, "plain", 0))
    assert len(plan.cells) == 8
    assert ExperimentPlan.from_grid(seeds=(7, 5)).cells[:2] == ((20, "plain", 5),
                                                                (20, "plain", 7))
    fig6 = ExperimentPlan.from_grid(preset="fig6", seeds=1)
    assert fig6.cells == FIG6.cells and (110, "plain", 0) not in fig6.cells
    assert fig6.preset == "he2015_fig6" and fig6.config.steps == 64_000
    assert len(ExperimentPlan.from_grid(preset="he2015_fig6", seeds=2).cells) == 20
    custom = ExperimentPlan.from_grid(preset=None, depths=(8,), variants=("plain",))
    assert custom.preset == "" and custom.config == QUICK.config
    with pytest.raises(ExperimentError, match="6n\\+2"):
        ExperimentPlan.from_grid(depths=(21,))
    with pytest.raises(ExperimentError, match="at least one"):
        ExperimentPlan.from_grid(variants=())
    with pytest.raises(KeyError, match="unknown experiment preset"):
        ExperimentPlan.from_grid(preset="nope")
    with pytest.raises(ValueError, match="lr"):
        ExperimentPlan.from_grid(lr=-1.0)


def test_names_and_overrides():
    plan = ExperimentPlan.from_grid(depths=(8, 14), variants=("plain", "preact"),
                                    dataset=" cifar10 ", batch_size=32, lr=0.2, device="cpu",
                                    checkpoint_every=50, name="  ")
    assert plan.name == default_name(plan.cells) == "plain vs pre-act ResNet · depths 8, 14"
    c = plan.config
    assert (c.dataset, c.batch_size, c.lr, c.device, c.checkpoint_every) == (
        "cifar10", 32, 0.2, "cpu", 50)
    assert ExperimentPlan.from_grid(name=" mine ").name == "mine"


def test_grid_request_gives_the_same_plan_and_round_trips_a_stored_experiment(tmp_path):
    request = GridRequest(preset="quick", depths=(8, 14), variants=("plain", "residual"),
                          seeds=2, dataset="synthetic:size=8", steps=60)
    plan = request.plan()
    assert plan == ExperimentPlan.from_grid(preset="quick", depths=[8, 14],
                                            variants=["plain", "residual"], seeds=[0, 1],
                                            dataset="synthetic:size=8", steps=60)
    with ExperimentStore(tmp_path / "runs.sqlite") as store:
        exp = plan.create(store)
        assert (exp.name, exp.preset, exp.config) == (plan.name, "quick", plan.config)
        assert tuple(c.key for c in exp.cells) == plan.cells
        again = GridRequest.of(exp)
        assert again.preset == "quick" and again.seeds == 2
        assert again.plan().cells == plan.cells and again.plan().config == plan.config
        assert describe_experiment(exp) == (
            f"{plan.name} · plain,residual × 8,14 · 2 seeds · synthetic:size=8, 60 steps · "
            "0/8 done · created")


def _results():
    cells, series = [], {}
    errors = {(20, "plain"): 0.10, (56, "plain"): 0.30, (20, "residual"): 0.08}
    for i, ((d, v), e) in enumerate(errors.items()):
        cells.append(Cell(index=i, depth=d, variant=v, seed=0, run_id=f"r{i}",
                          status="finished", seconds=75.0, total_steps=100))
        steps = list(range(10, 101, 10))
        series[i] = RunSeries(steps=steps, error=[e] * 10, loss=[1.0] * 10,
                              val_steps=[100], val_error=[e + 0.05])
    exp = Experiment(id="exp-x", name="x", config=TrainConfig(steps=100), cells=tuple(cells),
                     status="finished", created=0, updated=0)
    return compute_results(exp, series)


def test_results_text_csv_and_json(tmp_path):
    res = _results()
    text = results_text(res)
    lines = text.splitlines()
    assert lines[0] == ("x · plain,residual × 20,56 · 1 seed · synthetic, 100 steps · 3/3 done"
                        " · finished")
    assert lines[2].split() == ["plain-20", "seed", "0", "finished", "10.00%", "15.00%",
                                "0.270M", "1:15"]  # 0.27M: Table 6
    assert lines[-1] == ("degradation  plain: plain-56 − plain-20 training error = +20.0 points "
                         "(30.0% vs 10.0%, 1 seed) → the deeper net trains WORSE: degradation")
    assert "Table 6" not in text  # one seed each: no table of seed means
    path = write_results_csv(res, tmp_path / "out" / "t.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["model"] for r in rows] == ["plain-20", "plain-56", "ResNet-20"]
    assert rows[2]["paper_table6_test_error_pct"] == "8.75"
    data = json.loads(results_json(res))
    assert data["runs"][1]["train_error"] == pytest.approx(0.30)
    assert data["degradation"][0]["degrades"] is True
