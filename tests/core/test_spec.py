"""ArchSpec: JSON round-trip and the builder form's inline errors."""

import dataclasses

import pytest

from resnet_studio.core.spec import ArchSpec, SpecError
from resnet_studio.core.zoo import PRESETS, get_spec


@pytest.mark.parametrize("name", list(PRESETS))
def test_json_round_trip_is_exact(name, tmp_path):
    spec = PRESETS[name].spec
    assert ArchSpec.from_json(spec.to_json()) == spec
    path = tmp_path / "spec.json"
    spec.save(path)
    assert ArchSpec.load(path) == spec


def test_depth_counts_weighted_layers_like_the_papers():
    assert get_spec("resnet18").depth == 18
    assert get_spec("resnet50").depth == 50
    assert get_spec("resnet1202").depth == 1202
    assert get_spec("preact_resnet164").depth == 164


@pytest.mark.parametrize("changes,field", [
    ({"groups": 32}, "groups"),
    ({"layers": (2, 0, 2, 2)}, "layers"),
    ({"widths": (64, 128)}, "widths"),
    ({"shortcut": "none", "zero_init_residual": True}, "zero_init_residual"),
    ({"shortcut": "A", "widths": (64, 32, 256, 512)}, "shortcut"),
    ({"block": "dense"}, "block"),
    ({"num_classes": 0}, "num_classes"),
])
def test_impossible_combinations_name_the_field(changes, field):
    spec = dataclasses.replace(get_spec("resnet18"), **changes)
    assert field in [e.field for e in spec.errors()]
    with pytest.raises(SpecError):
        spec.validate()


def test_bad_json_is_a_clear_error():
    with pytest.raises(SpecError, match="not valid JSON"):
        ArchSpec.from_json("{nope")
    with pytest.raises(SpecError, match="unknown field"):
        ArchSpec.from_json('{"block": "basic", "colour": "red"}')
