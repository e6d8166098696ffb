"""The trained models on this machine: stored runs with a checkpoint and their trained plain
twins (a Depth Lab net's from its own experiment), the shipped pair, what the lesion study
starts from, and the lesion study on the shipped pair (residual vs plain)."""

import json

import pytest

from resnet_studio.app.trained_models import (
    default_pair,
    resolve_trained_model,
    shipped_models,
    stored_models,
    trained_models,
)
from resnet_studio.app.trained_nets import TRAINED_DIR
from resnet_studio.cli import main
from resnet_studio.core.experiments import ExperimentStore
from resnet_studio.core.experiments.plan import make_spec
from resnet_studio.core.training.config import TrainConfig


def _run(store, tmp_path, run_id, name, depth, variant, *, experiment=None, checkpoint=True,
         status="finished", dataset="synthetic"):
    spec = make_spec(depth, variant)
    store.runs.create_run(run_id=run_id, name=name, model=spec.name, spec=spec.to_dict(),
                          config={}, dataset=dataset, status=status, experiment_id=experiment)
    if checkpoint:
        path = tmp_path / run_id / "checkpoint.json"
        path.parent.mkdir()
        path.write_text("{}")
        store.runs.update(run_id, checkpoint=str(path))
    return tmp_path / run_id / "checkpoint.json"


@pytest.fixture
def store_path(tmp_path):
    """Oldest first: a Depth Lab experiment (ResNet-20 and plain-20, seeds 0 and 1), then Train
    tab runs: plain_resnet20, resnet20, a run without a checkpoint."""
    path = tmp_path / "runs.sqlite"
    with ExperimentStore(path) as store:
        exp = store.create("Quick demo", [(20, "residual", 0), (20, "plain", 0),
                                          (20, "residual", 1), (20, "plain", 1)],
                           TrainConfig(steps=10))
        for cell, run_id in zip(exp.cells, ["dl-res0", "dl-plain0", "dl-res1", "dl-plain1"]):
            _run(store, tmp_path, run_id, cell.label, cell.depth, cell.variant,
                 experiment=exp.id)
            store.set_cell_run(exp.id, cell.index, run_id)
        _run(store, tmp_path, "tt-plain", "plain run", 20, "plain")
        _run(store, tmp_path, "tt-res", "my resnet", 20, "residual")
        _run(store, tmp_path, "tt-none", "crashed", 20, "residual", checkpoint=False,
             status="failed")
    return str(path)


def test_stored_runs_with_their_trained_twins(store_path, tmp_path):
    models = stored_models(store_path)
    assert [m.key for m in models] == ["tt-res", "tt-plain", "dl-plain1", "dl-res1",
                                       "dl-plain0", "dl-res0"]  # newest first; no checkpoint: out
    mine = models[0]
    assert mine.label == "my resnet (resnet20)" and not mine.plain
    assert mine.checkpoint == tmp_path / "tt-res" / "checkpoint.json"
    assert (mine.twin_key, mine.twin) == ("tt-plain", tmp_path / "tt-plain" / "checkpoint.json")
    # a Depth Lab net's twin: the plain net of the same depth and seed in its experiment,
    # although a newer plain_resnet20 exists
    by_key = {m.key: m for m in models}
    assert by_key["dl-res1"].twin_key == "dl-plain1" and by_key["dl-res0"].twin_key == "dl-plain0"
    assert by_key["dl-res0"].label == "ResNet-20 seed 0 · Quick demo"
    assert by_key["dl-res0"].twin_label == "plain-20 seed 0 · Quick demo"
    assert by_key["dl-res0"].experiment_id.startswith("exp-")
    assert all(m.twin is None for m in models if m.plain)


def test_the_shipped_pair_and_resolving_a_reference(store_path):
    shipped = {m.key: m for m in shipped_models()}
    assert list(shipped) == ["shipped:resnet20", "shipped:plain20", "shipped:resnet56",
                             "shipped:plain56"]
    r20 = shipped["shipped:resnet20"]
    assert (r20.checkpoint, r20.twin) == (TRAINED_DIR / "resnet20.safetensors",
                                          TRAINED_DIR / "plain20.safetensors")
    assert r20.twin_label == "plain-20 (shipped)" and r20.run_id is None
    assert shipped["shipped:plain56"].twin is None

    assert resolve_trained_model("tt-r", store_path).key == "tt-res"  # a unique prefix
    assert resolve_trained_model("resnet56", store_path).key == "shipped:resnet56"
    with pytest.raises(ValueError, match="tt-none .*has no checkpoint on disk"):
        resolve_trained_model("last", store_path)  # the newest run: it wrote none
    with pytest.raises(KeyError, match="ambiguous"):
        resolve_trained_model("dl-", store_path)
    with pytest.raises(KeyError, match="no shipped net 'resnet99'"):
        resolve_trained_model("shipped:resnet99", store_path)


def test_the_lesion_default_is_the_newest_trained_pair_else_the_shipped_one(store_path, tmp_path):
    assert default_pair(trained_models(store_path)).key == "tt-res"
    models = [m for m in trained_models(store_path) if m.key != "tt-res"]
    assert default_pair(models).key == "dl-res1"
    assert default_pair(trained_models(tmp_path / "empty.sqlite")).key == "shipped:resnet20"


def test_the_command_lists_them(store_path, monkeypatch, capsys):
    from resnet_studio.core.training import store as run_store

    monkeypatch.setattr(run_store, "default_store_path", lambda: store_path)
    assert main(["runs", "trained", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["key"] for r in rows][:2] == ["tt-res", "tt-plain"]
    assert rows[0]["twin_key"] == "tt-plain" and rows[-1]["key"] == "shipped:plain56"
    assert main(["runs", "trained"]) == 0
    assert "plain twin: " + str(TRAINED_DIR / "plain20.safetensors") in capsys.readouterr().out


def test_lesion_on_the_shipped_pair_residual_drops_less_than_half_the_plain(capsys):
    # Veit et al. 2016 on the shipped ResNet-20 and plain-20 (the numbers depend on those
    # files): deleting a block costs the residual net ~10 points, the plain net ~70
    assert main(["lesion", "--run", "shipped:resnet20", "--val", "300", "--json"]) == 0
    out = capsys.readouterr()
    residual, plain = json.loads(out.out)["reports"]
    assert "lesioning ResNet-20 (shipped" in out.err
    assert (residual["model"], plain["model"]) == ("resnet20", "plain_resnet20")
    assert residual["samples"] == plain["samples"] == 300
    assert residual["intact_accuracy"] > 0.9 and plain["intact_accuracy"] > 0.9
    print(f"mean drop: residual {residual['mean_drop']:.4f}, plain {plain['mean_drop']:.4f}")
    assert residual["mean_drop"] < 0.5 * plain["mean_drop"]
