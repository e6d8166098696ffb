"""`resnet-studio summary --memory`: the training memory, the largest batch for a budget, the
receptive field columns, their CSV/JSON exports, and one line for each bad request."""

import csv
import io
import json

import pytest

from resnet_studio.cli import main


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_memory_text_names_the_parts_and_the_largest_batch(capsys):
    code, out, _ = _run(capsys, ["summary", "resnet20", "--memory", "--batch-size", "128",
                                 "--budget", "500MB"])
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split() == ["layer", "type", "output", "params", "MACs", "RF", "stride",
                                "saved"]
    assert lines[-4] == ("training memory at batch 128, float32, SGD with momentum: peak about "
                         "203.0 MB")
    assert lines[-3] == ("  parameters 1.1 MB · gradients 1.1 MB · optimizer state 1.1 MB · "
                         "saved activations 194.6 MB")
    assert lines[-1] == "largest batch in 500.0 MB: batch 317"


def test_memory_json_and_csv_carry_the_new_columns(capsys, tmp_path):
    code, out, _ = _run(capsys, ["summary", "resnet50", "--memory", "--batch-size", "16",
                                 "--amp", "--optimizer", "adamw", "--json"])
    data = json.loads(out)
    memory = data["memory"]
    assert (code, memory["precision"], memory["optimizer"]) == (0, "bf16", "adamw")
    assert memory["optimizer_state"] == 2 * 25_557_032 * 4
    assert len(memory["layers"]) == len(data["layers"])
    assert sum(r["activations"] for r in memory["layers"]) <= memory["activations"]
    assert set(memory["by_stage"]) == {"stem", "layer1", "layer2", "layer3", "layer4", "head"}
    last = [r for r in data["layers"] if r["rf"] is not None][-1]
    assert (last["name"], last["rf"], last["jump"]) == ("layer4.2.relu", 427, 32)
    path = tmp_path / "layers.csv"
    assert main(["summary", "resnet20", "--memory", "--batch-size", "128", "--csv",
                 str(path)]) == 0
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert (rows[0]["name"], rows[0]["rf"], rows[0]["jump"], rows[0]["saved_bytes"]) == \
        ("conv1", "3", "1", str(128 * 3 * 32 * 32 * 4))
    assert rows[-1]["name"] == "TOTAL" and rows[-1]["saved_bytes"] == "194555268"


def test_plain_summary_keeps_its_columns_and_adds_the_field(capsys):
    code, out, _ = _run(capsys, ["summary", "resnet18", "--csv", "-"])
    header = out.splitlines()[0].split(",")
    assert header[-2:] == ["rf", "jump"] and "saved_bytes" not in header


@pytest.mark.parametrize("argv,message", [
    (["--memory", "--batch-size", "0"],
     "batch size must be a whole number from 1 to 1,000,000,000, got 0"),
    (["--memory", "--batch-size", "5000000000"], "batch size must be a whole number"),
    (["--memory", "--budget", "lots"],
     "memory budget 'lots' is not a size such as 8GiB, 16GB or 500MB"),
    (["--memory", "--budget", "0GB"], "memory budget '0GB' must be between 1 byte and 1 EiB"),
    (["--memory", "--optimizer", "lamb"], "argument --optimizer: invalid choice: 'lamb'"),
    (["--batch-size", "8", "--amp"], "--batch-size, --amp go with --memory"),
])
def test_bad_memory_requests_get_one_line_and_exit_2(capsys, argv, message):
    try:
        code = main(["summary", "resnet20", *argv])
    except SystemExit as e:  # argparse's own refusal (an unknown choice)
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and f"resnet-studio summary: error: {message}" in err
