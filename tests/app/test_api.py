"""The notebook API (`resnet_studio.api`): the same numbers as the command line for the same
inputs, plain results with a figure, and the README's example running as written."""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from resnet_studio import api
from resnet_studio.cli import main
from tests.helpers import TINY, TINY_DATA

README = Path(__file__).resolve().parents[2] / "README.md"


def cli_json(capsys, *args):
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_summary_equals_the_command(capsys):
    s = api.summary("resnet20", plain=True, input="1,28,28")
    doc = cli_json(capsys, "summary", "resnet20", "--plain", "--input", "1,28,28")
    assert (s.model, s.params, s.macs) == ("plain_resnet20", 269_434, doc["total_macs"])
    assert s.params == doc["total_params"] and s.layers == doc["layers"]
    assert s.input_shape == (1, 28, 28) and s.output_shape == (10,)


def test_gradients_at_init_equal_the_command(capsys):
    g = api.gradients_at_init("resnet20", compare_plain=True, batch_size=4, seed=3)
    doc = cli_json(capsys, "gradients", "resnet20", "--compare-plain", "--batch", "4",
                   "--seed", "3")
    assert [b["input_grad_norm"] for b in g.blocks] == \
        [b["input_grad_norm"] for b in doc["net"]["blocks"]]
    assert g.plain_blocks == doc["plain"]["blocks"] and len(g.blocks) == 9
    assert g.first_to_last == doc["net"]["first_to_last"] and g.verdicts == doc["verdicts"]


def test_lesion_equals_the_command(capsys):
    les = api.lesion("resnet20", task="templates", steps=3, seed=1, train=64, val=32)
    doc = cli_json(capsys, "lesion", "resnet20", "--data", "templates", "--steps", "3",
                   "--seed", "1", "--train", "64", "--val", "32")
    assert les.reports == doc["reports"]
    [r] = les.reports
    assert r["samples"] == 32 and len(r["blocks"]) == 7
    assert les.summary[0].startswith("resnet20: intact ")


def test_train_gives_the_commands_final_loss_and_a_history(tmp_path, capsys):
    spec_file = tmp_path / "tiny.json"
    TINY.save(spec_file)
    flags = dict(dataset=TINY_DATA, steps=12, batch_size=32, seed=5, device="cpu", log_every=4,
                 eval_every=6)
    run = api.train(TINY, record=False, **flags)
    args = [f"--{k.replace('_', '-')}={v}" for k, v in flags.items()]
    doc = cli_json(capsys, "train", str(spec_file), "--no-store", "--quiet", *args)
    assert run.status == doc["status"] == "finished"
    assert run.final_loss == doc["train_loss"] and run.result["val_error"] == doc["val_error"]
    assert run.history.steps == [4, 8, 12] and run.history.val_steps == [6, 12]
    assert run.history.loss[-1] == run.final_loss


def test_train_names_an_unknown_setting():
    with pytest.raises(ValueError, match="unknown training setting 'eval_evry'; the settings "
                                         "are amp, augment, batch_size"):
        api.train(TINY, eval_evry=5)


def test_a_recorded_run_is_in_the_history(capsys):
    run = api.train(TINY, dataset=TINY_DATA, steps=4, batch_size=32, log_every=2, name="nb")
    rows = cli_json(capsys, "runs")
    assert [(r["id"], r["name"], r["status"]) for r in rows] == [(run.id, "nb", "finished")]


def test_build_is_the_model_with_its_weights():
    import torch

    net = api.build("resnet20", plain=True)
    assert isinstance(net, torch.nn.Module) and not net.training
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert params == api.summary("plain-20").params
    with pytest.raises(KeyError, match="unknown model 'resnet9'"):
        api.build("resnet9")


def test_results_plot_figures_and_say_which_extra_is_missing(monkeypatch):
    s = api.summary("resnet20")
    fig = s.plot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue().startswith(b"\x89PNG")
    assert fig.axes[0].get_title().startswith(f"resnet20: {s.params:,} parameters")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # not installed
    with pytest.raises(ImportError, match=re.escape("pip install 'resnet-studio[notebook]'")):
        s.plot()


def test_attribute_names_an_unknown_method():
    with pytest.raises(ValueError, match="unknown attribution method 'gradcam'; choose from "
                                         "integrated_gradients"):
        api.attribute("cat.jpg", "resnet20", method="gradcam")


def test_importing_the_api_imports_no_torch():
    code = ("import sys, resnet_studio.api; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'captum') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use from Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readme_example_runs_as_written(tmp_path, monkeypatch, capsys):
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    pixels = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype("uint8")
    Image.fromarray(pixels).save("cat.jpg")
    exec(compile(readme_example(), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("853018 125485696\n")
    assert "deeper net trains" in out and "(1, 32, 32)" in out
    assert (tmp_path / "run.png").read_bytes().startswith(b"\x89PNG")
