"""Fig. 7 (layer response std, eval-mode BN) of a stored run and of a Depth Lab experiment, and
`resnet-studio sweep --show ID --fig7`."""

import json

import torch

from resnet_studio.app.responses import (
    experiment_responses,
    responses_csv,
    run_responses,
)
from resnet_studio.cli import main
from resnet_studio.core.analysis.gradients import build_seeded
from resnet_studio.core.analysis.responses import measure_responses, response_layers
from resnet_studio.core.experiments.plan import make_spec
from tests.helpers import SMALL_DATA as DATA


def test_layers_are_the_stem_and_every_branch_bn_in_forward_order():
    model = build_seeded(make_spec(20, "residual"), 0)
    names = [n for n, _, _ in response_layers(model)]
    assert names[:3] == ["bn1", "layer1.0.bn1", "layer1.0.bn2"] and len(names) == 19
    # eval-mode BN at init (running mean 0, var 1) passes the conv outputs through: not all 1
    prof = measure_responses(model, torch.randn(8, 3, 16, 16))
    assert model.training and len(prof.stds) == 19 and prof.model == "resnet20"


def test_experiment_and_run_profiles_and_the_cli(capsys, tmp_path):
    from resnet_studio.core.experiments import ExperimentStore

    assert main(["sweep", "--depths", "8,14", "--variants", "plain,residual", "--dataset", DATA,
                 "--steps", "4", "--seeds", "1", "--device", "cpu", "-q", "--json"]) == 0
    capsys.readouterr()
    with ExperimentStore() as store:
        [exp] = store.list()
        profiles = experiment_responses(exp.id, store=store)
        run_id = exp.cells[0].run_id
    assert [p.label for p in profiles] == ["plain-8", "plain-14", "ResNet-8", "ResNet-14"]
    assert [len(p.stds) for p in profiles] == [7, 13, 7, 13]
    run = run_responses(run_id)
    assert run.stds == profiles[0].stds  # the same net on the same images
    assert responses_csv(profiles).splitlines()[0] == "net,layer_index,layer,std,rank,ranked_std"

    assert main(["sweep", "--show", exp.id, "--fig7", str(tmp_path / "f.csv")]) == 0
    out, err = capsys.readouterr()
    assert "plain-14" in out and "mean std" in out and "wrote" in err
    assert len((tmp_path / "f.csv").read_text().splitlines()) == 1 + 7 + 13 + 7 + 13
    assert main(["sweep", "--show", exp.id, "--fig7", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [n["label"] for n in doc["nets"]][0] == "plain-8"
    assert main(["runs", "fig7", run_id]) == 0
    out = capsys.readouterr().out
    assert "plain-8 seed 0" in out and f"{profiles[0].mean:10.3f}" in out
    assert main(["sweep", "--fig7"]) == 2
    assert "--show ID" in capsys.readouterr().err
