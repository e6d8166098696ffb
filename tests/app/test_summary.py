"""app.summary: the one inspection path of the window and `resnet-studio summary`."""

import csv
import io
import json

import pytest

from resnet_studio.app.summary import (
    fit_spec_to_input,
    inspect_model,
    layers_csv,
    parse_input,
    row_label,
    share,
    share_text,
    summary_json,
    totals_text,
    write_layers_csv,
)
from resnet_studio.core.common.progress import Cancelled, Progress
from resnet_studio.core.summary import InputTooSmall
from resnet_studio.core.zoo import get_spec


@pytest.fixture(scope="module")
def r20():
    return inspect_model(get_spec("resnet20"))


@pytest.mark.parametrize("text,shape", [
    ("3,32,32", (3, 32, 32)), ("3x32x32", (3, 32, 32)), ("1, 28, 28", (1, 28, 28)),
    ("1 × 28 × 28", (1, 28, 28)), (" 3 64 64 ", (3, 64, 64)), ("", None), ("  ", None),
    (None, None),
])
def test_parse_input_accepts_what_users_type(text, shape):
    assert parse_input(text) == shape


@pytest.mark.parametrize("text,message", [
    ("three", "not three whole numbers C,H,W"), ("3,32", "three positive numbers"),
    ("0,32,32", "three positive numbers"), ("3,32,32,1", "three positive numbers"),
])
def test_parse_input_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_input(text)


def test_a_one_channel_input_adapts_the_first_conv():
    spec = get_spec("resnet20")
    assert fit_spec_to_input(spec, None) is spec
    assert fit_spec_to_input(spec, (3, 28, 28)) is spec
    gray = fit_spec_to_input(spec, (1, 28, 28))
    assert gray.in_channels == 1 and gray.name == "resnet20" and gray.layers == spec.layers


def test_inspect_model_takes_typed_text_or_a_shape_alike():
    spec = get_spec("resnet20")
    typed = inspect_model(spec, "1, 28, 28")
    given = inspect_model(spec, (1, 28, 28))
    assert typed == given
    # the stem conv loses 2 of its 3 input channels: 16 x 2 x 3 x 3 = 288 parameters
    assert typed.total_params == 269_722 - 288 == 269_434
    assert typed.input_shape == (1, 28, 28) and typed.spec.in_channels == 1
    assert typed.layers[0].params == 144 and typed.layers[0].output_shape == (16, 28, 28)


def test_inspect_model_defaults_to_the_models_own_input(r20):
    assert r20.input_shape == (3, 32, 32)
    assert r20.total_params == 269_722 and r20.total_macs == 40_551_040
    big = inspect_model(get_spec("resnet18"))
    assert big.input_shape == (3, 224, 224) and big.total_params == 11_689_512


def test_inspect_model_errors_are_one_line_value_errors():
    with pytest.raises(InputTooSmall, match="at least 32x32"):
        inspect_model(get_spec("resnet18"), "3,16,16")
    with pytest.raises(ValueError, match="C,H,W"):
        inspect_model(get_spec("resnet18"), "big")


def test_inspect_model_reports_progress_and_can_be_cancelled():
    reports = []
    inspect_model(get_spec("resnet20"), progress=Progress(lambda *r: reports.append(r)))
    assert reports == [(0, 1, "Inspecting resnet20…"), (1, 1, "Inspected resnet20")]
    stopped = Progress()
    stopped.cancel()
    with pytest.raises(Cancelled):
        inspect_model(get_spec("resnet20"), progress=stopped)


def test_table_texts(r20):
    second = next(r for r in r20.layers if r.call == 2)
    assert row_label(second) == f"{second.name} (2)"
    assert row_label(r20.layers[0]) == "conv1"
    assert share(432, 269_722) == pytest.approx(0.16016, abs=1e-5)
    assert share(5, 0) == 0.0
    assert [share_text(p) for p in (0, 0.004, 0.16016, 3.4249, 12.53)] == [
        "0%", "<0.01%", "0.16%", "3.42%", "12.5%"]
    assert totals_text(r20) == ("61 modules (20 weighted layers) · 0.27M params (269,722) · 40.6M MACs · "
                                "input 3×32×32 → output 10")
    convs = [r for r in r20.layers if r.type == "Conv2d"]
    assert totals_text(r20, convs).endswith(
        "\nshowing 19 rows: 99.2% of params, 100.0% of MACs")


def test_layers_csv_has_every_layer_its_share_and_the_totals(r20, tmp_path):
    rows = list(csv.reader(io.StringIO(layers_csv(r20))))
    assert rows[0][:5] == ["name", "type", "output_shape", "params", "macs"]
    assert rows[1] == ["conv1", "Conv2d", "16x32x32", "432", "442368", "0.1602", "1.0909",
                       "3x3, 3→16, stride 1", "", "", "3", "1"]  # receptive field, jump
    assert len(rows) == 1 + 61 + 1
    assert rows[-2][-2:] == ["", ""]  # the fc after global pooling sees the whole input
    assert rows[-1] == ["TOTAL", "", "10", "269722", "40551040", "100", "100", "", "", "", "",
                        ""]
    assert any(r[0].endswith("#2") for r in rows)  # second calls of a block's ReLU
    path = tmp_path / "new" / "layers.csv"
    write_layers_csv(r20, path)
    assert path.read_text(encoding="utf-8") == layers_csv(r20)


def test_summary_json_is_the_whole_summary(r20):
    data = json.loads(summary_json(r20))
    assert data == json.loads(json.dumps(r20.to_dict()))
    assert data["total_macs"] == 40_551_040 and len(data["layers"]) == 61
    assert len(data["graph"]["nodes"]) == 13
