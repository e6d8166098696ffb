"""Strict JSON for specs and training configs: types, finite numbers, ranges, unknown fields,
nesting depth; every problem tied to its field, all of them at once."""

import json
import os

import pytest

from resnet_studio.core.common import schema
from resnet_studio.core.spec import ArchSpec, SpecError
from resnet_studio.core.training.config import ConfigError, TrainConfig
from tests.fifo_guard import call_refusing_fifo
from tests.helpers import TINY


def _spec_error(**changes) -> SpecError:
    with pytest.raises(SpecError) as e:
        ArchSpec.from_dict({**TINY.to_dict(), **changes})
    return e.value


def test_the_string_false_is_not_false():
    e = _spec_error(preact="false")
    assert e.field == "preact"
    assert e.message == 'expected true or false, got the string "false"'
    assert str(e) == 'spec field \'preact\': expected true or false, got the string "false"'


def test_true_is_not_a_width():
    e = _spec_error(widths=[True, True, True])
    assert e.field == "widths"
    assert str(e) == "spec field 'widths': item 1 of the list: expected a whole number, got true"


def test_null_and_strings_where_numbers_belong():
    assert _spec_error(num_classes=None).message == "expected a whole number, got null"
    assert _spec_error(groups="2").message == 'expected a whole number, got the string "2"'
    assert _spec_error(in_channels=2.5).message == "expected a whole number, got the number 2.5"
    assert _spec_error(block=3).message == "expected a string, got the number 3"


def test_integral_floats_are_whole_numbers():
    spec = ArchSpec.from_dict({**TINY.to_dict(), "layers": [1.0, 2.0, 3.0], "num_classes": 10.0})
    assert spec.layers == (1, 2, 3) and spec.num_classes == 10
    assert all(type(v) is int for v in (*spec.layers, spec.num_classes))


def test_1e400_is_infinity_and_refused():
    with pytest.raises(ConfigError) as e:
        TrainConfig.from_json('{"lr": 1e400}')
    assert e.value.field == "lr"
    assert str(e.value) == ("config field 'lr': expected a finite number, got an infinite "
                            "number (too large for a float, like 1e400)")
    with pytest.raises(ConfigError, match="got NaN"):
        TrainConfig.from_json('{"momentum": NaN}')
    with pytest.raises(SpecError, match="expected a whole number, got an infinite number"):
        ArchSpec.from_json('{"layers": [1e400]}')


def test_every_field_error_at_once():
    with pytest.raises(ConfigError) as e:
        TrainConfig.from_dict({"batch_size": True, "lr": "0.1", "nesterov": "yes", "steps": 8})
    assert [(err.field, err.message) for err in e.value.errors] == [
        ("batch_size", "expected a whole number, got true"),
        ("lr", 'expected a finite number, got the string "0.1"'),
        ("nesterov", 'expected true or false, got the string "yes"')]
    assert str(e.value).count("config field") == 3


def test_unknown_fields_name_the_known_ones():
    e = _spec_error(prect=True)
    assert e.field == "spec"
    assert "unknown field 'prect' (did you mean 'preact'?)" in str(e)
    with pytest.raises(ConfigError) as e:
        TrainConfig.from_dict({"learning_rate": 0.1})
    assert str(e.value).startswith("config: unknown field 'learning_rate'; the known fields "
                                   "are dataset, steps, batch_size, optimizer, lr,")


def test_deep_nesting_is_a_clear_error_not_a_recursion_error():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(SpecError) as e:
        ArchSpec.from_json('{"layers": ' + deep + "}")
    assert str(e.value) == "spec: nested 100001 levels deep; at most 32 are allowed"
    with pytest.raises(ConfigError, match="nested 50001 levels"):
        TrainConfig.from_json("{" + '"a": {' * 50_000 + "}" * 50_001)
    # brackets inside strings are text, not nesting
    assert schema.json_depth(json.dumps({"name": "[[[[" * 100, "x": [[1]]})) == 3


def test_json_that_is_not_an_object_or_not_json():
    with pytest.raises(SpecError, match=r"^spec: expected a JSON object, got a list of 3$"):
        ArchSpec.from_json("[1, 2, 3]")
    with pytest.raises(ConfigError, match="a number of more than 4,300 digits"):
        TrainConfig.from_json('{"steps": ' + "9" * 5000 + "}")
    with pytest.raises(ConfigError, match=r"^format: .* this is not a config file$"):
        TrainConfig.from_json(TINY.to_json())
    with pytest.raises(SpecError, match=r"^version: expected a whole number, got the string"):
        ArchSpec.from_dict({"version": "1"})


@pytest.mark.parametrize("changes, field, message", [
    ({"layers": (10**18, 1, 1)}, "layers", "each must be at most 1,000"),
    ({"widths": (8, 16, 10**6)}, "widths", "each must be at most 16,384"),
    ({"num_classes": 10**7}, "num_classes", "must be at most 1,000,000"),
])
def test_spec_ranges(changes, field, message):
    spec = ArchSpec.from_dict({**TINY.to_dict(), **{k: list(v) if isinstance(v, tuple) else v
                                                     for k, v in changes.items()}})
    assert (field, message) in [(e.field, e.message) for e in spec.errors()]


@pytest.mark.parametrize("changes, field, message", [
    ({"lr": float("inf")}, "lr", "must be a finite number"),
    ({"batch_size": 10**6}, "batch_size", "must be at most 65,536"),
    ({"seed": -1}, "seed", "must not be negative"),
    ({"seed": 2**70}, "seed", f"must be at most {2**63 - 1:,}"),
    ({"steps": 0}, "steps", "must be at least 1"),
])
def test_config_ranges(changes, field, message):
    cfg = TrainConfig().replace(**changes)
    assert (field, message) in [(e.field, e.message) for e in cfg.errors()]


def test_load_checks_types_and_ranges_together(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({**TINY.to_dict(), "layers": [0, 1, 1]}))
    with pytest.raises(SpecError, match=r"^layers: every stage needs at least one block$"):
        ArchSpec.load(path)
    path.write_bytes(b'{"name": "\xff"}')
    with pytest.raises(SpecError, match="not UTF-8 text"):
        ArchSpec.load(path)


def test_special_files_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "spec.json"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer
    with pytest.raises(schema.NotRegularFileError) as e:
        call_refusing_fifo(lambda: ArchSpec.load(fifo), fifo)
    assert str(e.value) == f"the spec file {fifo} is not a regular file (it is a FIFO)"
    folder = tmp_path / "config.json"
    folder.mkdir()
    with pytest.raises(OSError, match=r"is not a regular file \(it is a folder\)$"):
        TrainConfig.load(folder)
    with pytest.raises(OSError, match=r"^cannot read the spec file .*nope.json: No such file"):
        ArchSpec.load(tmp_path / "nope.json")
