"""Gradients at initialisation, stored runs and the exports: one use case for the tab and the
`gradients` command, checked against the core measurement and a hand-made store."""

import json

import numpy as np
import pytest

from resnet_studio.app import gradients as app
from resnet_studio.app.gradients import InitRequest, measure_at_init
from resnet_studio.cli import main
from resnet_studio.core.analysis.gradients import analyze_gradients, without_bn
from resnet_studio.core.training.store import RunStore
from resnet_studio.core.zoo import get_spec, with_io
from tests.helpers import cifar_net

TINY = cifar_net((1, 1), (4, 8), shortcut="B", num_classes=3)
BLOCKS = ["stem", "layer1.0", "layer2.0", "head"]


def test_the_measurement_is_the_core_one_for_the_same_request():
    got = measure_at_init(InitRequest(TINY, batch_size=8, seed=4, compare_plain=True)).report
    want = analyze_gradients(TINY, compare_plain=True, batch_size=8, seed=4)
    np.testing.assert_array_equal(got.net.conv_grad_norms, want.net.conv_grad_norms)
    np.testing.assert_array_equal(got.plain.input_grad_norms, want.plain.input_grad_norms)
    assert got.verdicts == want.verdicts and got.batch_size == 8

    no_bn = measure_at_init(InitRequest(TINY, batch_norm=False, batch_size=8, seed=4)).report
    want = analyze_gradients(without_bn(TINY), batch_size=8, seed=4)
    assert no_bn.net.norm == "none" and no_bn.plain is None
    np.testing.assert_array_equal(no_bn.net.conv_grad_norms, want.net.conv_grad_norms)

    grey = measure_at_init(InitRequest(TINY, batch_size=4, input_shape=(1, 8, 8))).report
    assert grey.input_shape == (1, 8, 8) and grey.spec == with_io(TINY, in_channels=1).to_dict()
    with pytest.raises(ValueError, match="at least 1"):
        measure_at_init(InitRequest(TINY, batch_size=0))


def test_default_batch_by_input_size():
    assert app.default_batch(get_spec("resnet20")) == 128
    assert app.default_batch(get_spec("resnet18")) == 16
    assert measure_at_init(InitRequest(TINY)).report.batch_size == 128


def test_report_csv_rows_and_ratios():
    report = measure_at_init(InitRequest(TINY, batch_size=8, compare_plain=True)).report
    rows = [r.split(",") for r in app.report_csv(report).splitlines()]
    assert rows[0] == ["kind", "name", "block", "depth", "shortcut_conv", "tiny", "plain_tiny",
                       "plain_over_residual"]
    convs = [r for r in rows if r[0] == "conv_weight_grad_norm"]
    assert len(convs) == len(report.net.convs) == 6  # stem, 2 x 2 block convs, 1 projection
    stem = next(r for r in convs if r[1] == "conv1")
    res, plain = report.net.convs[0].weight_grad_norm, report.plain.convs[0].weight_grad_norm
    assert float(stem[5]) == res and float(stem[6]) == plain
    assert float(stem[7]) == pytest.approx(plain / res)
    assert sum(r[0] == "block_response_std" for r in rows) == 2


def _store_with_runs(path) -> tuple[str, str]:
    store = RunStore(path)
    logged = store.create_run(name="logged", model="tiny", spec={}, config={}, status="finished")
    store.add_metrics(logged.id, [(s, f"grad/{b}", 10.0 ** -(k + s / 10))
                                  for s in (10, 20) for k, b in enumerate(BLOCKS)], step=20)
    bare = store.create_run(name="bare", model="tiny", spec={}, config={}, status="finished")
    store.add_metrics(bare.id, [(10, "train/loss", 1.0)])
    store.close()
    return logged.id, bare.id


def test_stored_runs_listed_loaded_and_exported(tmp_path):
    path = str(tmp_path / "runs.sqlite")
    logged, bare = _store_with_runs(path)
    listing = app.list_gradient_runs(path)
    assert [(r.record.id, r.has_gradients) for r in listing] == [(bare, False), (logged, True)]
    runs = app.load_gradient_runs(path, [logged, bare])
    h = runs[0].history
    assert h.block_names == BLOCKS and h.steps.tolist() == [10, 20]
    np.testing.assert_allclose(h.blocks[1], [10.0 ** -(k + 2) for k in range(4)])
    assert len(runs[1].history) == 0

    rows = app.runs_csv(runs).splitlines()
    assert rows[0] == "run_id,run,step,block,grad_norm" and len(rows) == 1 + 2 * 4
    assert rows[1] == f"{logged},logged,10,stem,{10.0 ** -1!r}"
    data = json.loads(app.runs_json(runs))
    assert data["runs"][0]["norms"][1][3] == pytest.approx(1e-5) and data["runs"][1]["steps"] == []


def test_the_state_exports_what_each_section_shows(tmp_path):
    state = app.GradientsState()
    for section in ("init", "training", "lesion"):
        with pytest.raises(ValueError):
            state.export_text(section, as_csv=True)
        assert state.export_name(section) == "gradients"
    state.report = measure_at_init(InitRequest(TINY, batch_norm=False, batch_size=4)).report
    assert state.export_name("init") == "gradients-tiny-nobn"
    assert json.loads(state.export_text("init", as_csv=False))["net"]["norm"] == "none"
    assert not state.busy
    state.running.add("lesion")
    assert state.busy


def test_the_command_prints_the_same_exports(tmp_path, capsys):
    assert main(["gradients", "resnet20", "--compare-plain", "--batch", "8", "--csv"]) == 0
    request = InitRequest(get_spec("resnet20"), batch_size=8, compare_plain=True)
    assert capsys.readouterr().out == app.report_csv(measure_at_init(request).report)

    logged, _ = _store_with_runs(None)  # the user's own store (a temp folder in the tests)
    assert main(["gradients", "--run", logged, "--json"]) == 0
    runs = app.load_gradient_runs(None, [logged])
    assert json.loads(capsys.readouterr().out) == json.loads(app.runs_json(runs))
    assert main(["gradients", "--run", logged]) == 0
    out = capsys.readouterr().out
    assert "logged" in out and "2 records" in out and "layer2.0" in out
    assert main(["gradients"]) == 2
    assert "name a model, or give --run" in capsys.readouterr().err
