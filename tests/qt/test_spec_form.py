"""SpecForm: fills from a preset silently, emits valid edits, shows impossible ones inline."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.zoo import get_spec
from resnet_studio.qt.sidebar.spec_form import SpecForm, parse_int_list


@pytest.fixture
def form(qtbot) -> SpecForm:
    f = SpecForm()
    qtbot.addWidget(f)
    f.resize(320, 700)
    return f


def _choose(combo, value) -> None:
    combo.setCurrentIndex(combo.findData(value))


def test_parse_int_list():
    assert parse_int_list("3, 4, 6, 3") == ((3, 4, 6, 3), "")
    assert parse_int_list("3 4;6") == ((3, 4, 6), "")
    values, err = parse_int_list("3, x")
    assert values is None and "'x'" in err
    assert parse_int_list("  ")[0] is None


def test_set_spec_fills_fields_silently(form, qtbot):
    spec = get_spec("resnet56")
    with qtbot.assertNotEmitted(form.specChanged):
        form.set_spec(spec)
        qtbot.wait(300)  # nor later, once a debounce would have fired
    assert form.layers_edit.text() == "9, 9, 9"
    assert form.widths_edit.text() == "16, 32, 64"
    assert form.block_combo.currentData() == "basic"
    assert form.stem_combo.currentData() == "cifar"
    assert form.stem_combo.currentText() == "CIFAR (3×3, no pool)"
    assert form.shortcut_combo.currentText() == "A · identity + zero-pad"
    assert form.num_classes_spin.value() == 10
    assert form.norm_check.isChecked() and not form.preact_check.isChecked()
    assert form.depth_label.text() == "Depth: 56 weighted layers"
    assert form.spec() == spec and form.is_valid() and form.errors() == {}


def test_shortcut_change_emits_at_once(form, qtbot):
    form.set_spec(get_spec("resnet56"))
    with qtbot.waitSignal(form.specChanged, timeout=100) as sig:
        _choose(form.shortcut_combo, "none")
    new = sig.args[0]
    assert isinstance(new, ArchSpec) and new.shortcut == "none"
    assert new.name == "custom" and new.layers == (9, 9, 9)
    assert form.spec() == new
    # back to the loaded value: the preset's name returns
    with qtbot.waitSignal(form.specChanged, timeout=100) as sig:
        _choose(form.shortcut_combo, "A")
    assert sig.args[0] == get_spec("resnet56") and sig.args[0].name == "resnet56"


def test_batchnorm_checkbox_maps_to_norm(form, qtbot):
    form.set_spec(get_spec("resnet20"))
    with qtbot.waitSignal(form.specChanged, timeout=100) as sig:
        form.norm_check.setChecked(False)
    assert sig.args[0].norm == "none"


def test_unparseable_blocks_show_inline_and_emit_nothing(form, qtbot):
    form.set_spec(get_spec("resnet56"))
    form.show()
    with qtbot.assertNotEmitted(form.specChanged):
        form.layers_edit.setText("3, x")
        qtbot.waitUntil(lambda: "layers" in form.errors(), timeout=1000)
        qtbot.wait(50)
    label = form.findChild(type(form.depth_label), "error_layers")
    assert label.isVisible() and "'x'" in label.text()
    assert form._frames["layers"].is_invalid()
    assert not form.is_valid()
    assert form.spec() == get_spec("resnet56")  # the last valid spec stays
    # fixing it clears the error and emits the fixed spec
    with qtbot.waitSignal(form.specChanged, timeout=1000) as sig:
        form.layers_edit.setText("3, 3, 3")
    assert sig.args[0].layers == (3, 3, 3) and sig.args[0].depth == 20
    assert form.errors() == {} and not label.isVisible() and form.is_valid()
    assert form.depth_label.text() == "Depth: 20 weighted layers"


def test_groups_on_basic_block_shows_spec_error(form, qtbot):
    form.set_spec(get_spec("resnext50_32x4d"))
    assert form.groups_spin.value() == 32
    with qtbot.assertNotEmitted(form.specChanged):
        _choose(form.block_combo, "basic")
    expected = next(e.message for e in
                    ArchSpec(block="basic", groups=32, width_per_group=4).errors()
                    if e.field == "groups")
    assert form.errors()["groups"] == expected
    assert form.findChild(type(form.depth_label), "error_groups").text() == expected
    assert not form.is_valid()
    # the error stays while an unrelated edit happens, and goes once fixed
    with qtbot.assertNotEmitted(form.specChanged):
        form.preact_check.setChecked(True)
    assert "groups" in form.errors()
    with qtbot.waitSignal(form.specChanged, timeout=100):
        _choose(form.block_combo, "bottleneck")
    assert "groups" not in form.errors()


def test_zero_init_without_shortcut_is_an_error(form, qtbot):
    form.set_spec(get_spec("resnet50"))
    with qtbot.waitSignal(form.specChanged, timeout=100):
        form.zero_init_check.setChecked(True)
    validity = []
    form.validityChanged.connect(validity.append)
    with qtbot.assertNotEmitted(form.specChanged):
        _choose(form.shortcut_combo, "none")
    assert "zero_init_residual" in form.errors()
    assert "constant" in form.errors()["zero_init_residual"]
    assert validity == [False]
    assert form.spec().shortcut == "B"


def test_widths_must_match_stages(form, qtbot):
    form.set_spec(get_spec("resnet18"))
    with qtbot.assertNotEmitted(form.specChanged):
        form.layers_edit.setText("2, 2, 2")
        form.flush()
    assert "one width per stage (3), got 4" in form.errors()["widths"]


def test_debounced_text_edit_emits_once(form, qtbot):
    form.set_spec(get_spec("resnet20"))
    form.show()
    qtbot.waitExposed(form)
    seen = []
    form.specChanged.connect(seen.append)
    form.layers_edit.setFocus()
    form.layers_edit.selectAll()
    with qtbot.waitSignal(form.specChanged, timeout=2000) as sig:
        qtbot.keyClicks(form.layers_edit, "5, 5, 5")
        assert seen == []  # nothing while typing
    qtbot.wait(350)
    assert len(seen) == 1 and sig.args[0].layers == (5, 5, 5)
    assert form.depth_label.text() == "Depth: 32 weighted layers"


def test_enter_applies_without_waiting(form, qtbot):
    form.set_spec(get_spec("resnet20"))
    form.show()
    qtbot.waitExposed(form)
    form.widths_edit.setFocus()
    form.widths_edit.setText("32, 64, 128")
    with qtbot.waitSignal(form.specChanged, timeout=50) as sig:
        qtbot.keyClick(form.widths_edit, Qt.Key.Key_Return)
    assert sig.args[0].widths == (32, 64, 128)


def test_set_invalid_spec_shows_its_errors(form, qtbot):
    bad = ArchSpec(block="basic", groups=32)
    with qtbot.assertNotEmitted(form.specChanged):
        form.set_spec(bad)
    assert "groups" in form.errors() and not form.is_valid()
    form.set_spec(get_spec("resnet18"))
    assert form.errors() == {} and form.is_valid()
