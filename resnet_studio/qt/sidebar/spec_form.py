"""The sidebar's builder form: edits an `ArchSpec` live, with inline errors next to each field.

Imports no torch: `ArchSpec` and its validation are plain Python."""

from __future__ import annotations

import re
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.core.spec import ArchSpec
from resnet_studio.qt.kit.palette import muted_style

DEBOUNCE_MS = 250

BLOCK_LABELS = {"basic": "Basic (3×3, 3×3)", "bottleneck": "Bottleneck (1×1, 3×3, 1×1)"}
STEM_LABELS = {"imagenet": "ImageNet (7×7/2 + max-pool)", "cifar": "CIFAR (3×3, no pool)"}
SHORTCUT_LABELS = {
    "A": "A · identity + zero-pad",
    "B": "B · projection where shape changes",
    "C": "C · projection everywhere",
    "none": "none · plain network",
}

def depth_counts(spec: ArchSpec) -> str:
    """What the builder's depth counts, in the graph's and the table's terms."""
    blocks = sum(spec.layers)
    per_block = 2 if spec.block == "basic" else 3
    return (f"= 1 stem conv + {per_block * blocks:,} convs in {blocks:,} blocks + 1 fc. "
            "Not counted: shortcuts (the graph's arcs, projections too), BatchNorm, ReLU and "
            "pooling (rows of the layer table).")


# Spec field -> the label the user sees (also used for errors on unknown fields).
FIELD_LABELS = {
    "block": "Block",
    "layers": "Blocks per stage",
    "widths": "Widths",
    "groups": "Groups",
    "width_per_group": "Width per group",
    "stem": "Stem",
    "shortcut": "Shortcut",
    "shortcut_scale": "Shortcut α",
    "preact": "Pre-activation",
    "norm": "BatchNorm",
    "in_channels": "Input channels",
    "num_classes": "Classes",
    "zero_init_residual": "Zero-init residual",
}

_TIPS = {
    "block": "Basic: two 3×3 convs per block (ResNet-18/34, CIFAR nets).\n"
             "Bottleneck: 1×1 reduce, 3×3, 1×1 expand ×4 (ResNet-50 and deeper).",
    "layers": "Residual blocks in each stage, comma-separated; one number per stage (1–6 stages)",
    "widths": "Base channel width of each stage, comma-separated; one per stage.\n"
              "Bottleneck stages output 4× this width.",
    "groups": "Grouped 3×3 convolution (ResNeXt cardinality); bottleneck blocks only",
    "width_per_group": "Channels per group in the 3×3 conv at width 64 (64 = standard ResNet,\n"
                       "128 = Wide ResNet-50-2, 4 with 32 groups = ResNeXt-50 32×4d)",
    "stem": "ImageNet: 7×7 stride-2 conv + 3×3 max-pool (224 px inputs).\n"
            "CIFAR: one 3×3 conv, no pooling (32 px inputs).",
    "shortcut": "How a block's input is added to its output (He et al. 2015, §4.1):\n"
                "A: identity, zero-padded channels where the shape changes (no parameters)\n"
                "B: identity, 1×1 projection where the shape changes\n"
                "C: 1×1 projection on every block\n"
                "none: no shortcut at all, the 'plain' network",
    "shortcut_scale": "Shortcut strength α: each block computes y = F(x) + α·shortcut(x).\n"
                      "1: the residual network; 0: the plain twin's gradients (the shortcut\n"
                      "still runs, adding nothing); in between, a dial from plain to residual",
    "preact": "BN → ReLU → conv ordering inside each block (He et al. 2016)",
    "norm": "BatchNorm after each conv; off removes every normalisation layer",
    "in_channels": "Channels of the input image (3 for RGB, 1 for grayscale)",
    "num_classes": "Outputs of the final fully-connected layer",
    "zero_init_residual": "Start each block's last BatchNorm at zero so every block begins as "
                          "the identity (Goyal et al. 2017)",
}

_SPLIT = re.compile(r"[,\s;]+")


def parse_int_list(text: str) -> tuple[tuple[int, ...] | None, str]:
    """"3, 4, 6, 3" -> ((3, 4, 6, 3), ""); "3, x" -> (None, "'x' is not a whole number")."""
    parts = [p for p in _SPLIT.split(text.strip()) if p]
    if not parts:
        return None, "enter one number per stage, e.g. 3, 4, 6, 3"
    out = []
    for p in parts:
        try:
            out.append(int(p))
        except ValueError:
            return None, f"'{p}' is not a whole number (separate numbers with commas)"
    return tuple(out), ""


def format_int_list(values: tuple[int, ...]) -> str:
    return ", ".join(map(str, values))


class _ElidingCombo(QComboBox):
    """A combo box that ends a label too long for a narrow sidebar with "…" instead of
    clipping it mid-letter; the popup still lists the whole labels."""

    def paintEvent(self, event) -> None:
        p = QStylePainter(self)
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        p.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, opt)
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        opt.currentText = self.fontMetrics().elidedText(
            opt.currentText, Qt.TextElideMode.ElideRight, max(field.width() - 4, 0))
        p.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, opt)


class _FieldFrame(QFrame):
    """A 1-px margin around one input that turns into a red border while it is invalid."""

    def __init__(self, widget: QWidget, parent=None):
        super().__init__(parent)
        self.setObjectName("specField")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(1, 1, 1, 1)
        lay.addWidget(widget)
        self.widget = widget
        self._invalid = False

    def set_invalid(self, invalid: bool, color: str) -> None:
        self._invalid = invalid
        self.setStyleSheet(
            f"#specField {{ border: 1px solid {color}; border-radius: 3px; }}" if invalid else "")

    def is_invalid(self) -> bool:
        return self._invalid


class SpecForm(QWidget):
    """Edits an `ArchSpec`. Emits `specChanged(ArchSpec)` for every valid edit (text fields
    after a 250 ms pause or on Enter / leaving the field; combos and checkboxes at once).
    While a combination is impossible, each error shows under its field and nothing is
    emitted; `validityChanged(bool)` tells when the form turns invalid or valid again."""

    specChanged = Signal(object)  # ArchSpec
    validityChanged = Signal(bool)

    def __init__(self, spec: ArchSpec | None = None, parent=None):
        super().__init__(parent)
        self._base = spec if spec is not None else ArchSpec()  # what set_spec loaded
        self._spec = self._base  # the last valid spec
        self._valid = True
        self._filling = False
        self._errors: dict[str, str] = {}

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._apply)

        # -- inputs ------------------------------------------------------------------------
        self.block_combo = self._combo(BLOCK_LABELS)
        self.layers_edit = QLineEdit()
        self.layers_edit.setPlaceholderText("3, 4, 6, 3")
        self.widths_edit = QLineEdit()
        self.widths_edit.setPlaceholderText("64, 128, 256, 512")
        self.groups_spin = self._spin(1, 4096)
        self.width_per_group_spin = self._spin(1, 8192)
        self.stem_combo = self._combo(STEM_LABELS)
        self.shortcut_combo = self._combo(SHORTCUT_LABELS)
        self.shortcut_scale_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05,
                                                  decimals=2)
        self.preact_check = QCheckBox(FIELD_LABELS["preact"])
        self.norm_check = QCheckBox(FIELD_LABELS["norm"])
        self.in_channels_spin = self._spin(1, 1024)
        self.num_classes_spin = self._spin(1, 1_000_000)
        self.zero_init_check = QCheckBox(FIELD_LABELS["zero_init_residual"])

        self.inputs: dict[str, QWidget] = {
            "block": self.block_combo,
            "layers": self.layers_edit,
            "widths": self.widths_edit,
            "groups": self.groups_spin,
            "width_per_group": self.width_per_group_spin,
            "stem": self.stem_combo,
            "shortcut": self.shortcut_combo,
            "shortcut_scale": self.shortcut_scale_spin,
            "preact": self.preact_check,
            "norm": self.norm_check,
            "in_channels": self.in_channels_spin,
            "num_classes": self.num_classes_spin,
            "zero_init_residual": self.zero_init_check,
        }
        for name, w in self.inputs.items():
            w.setToolTip(_TIPS[name])
            w.setObjectName(f"spec_{name}")

        self.depth_label = QLabel()
        self.depth_label.setObjectName("spec_depth")
        self.depth_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.depth_label.setToolTip("Weighted layers as the papers count them: "
                                    "stem conv + convs in the blocks + fc")
        f = self.depth_label.font()
        f.setBold(True)
        self.depth_label.setFont(f)
        # what the number counts, beside a graph of boxes and a table of every module
        self.depth_detail = QLabel(wordWrap=True, objectName="spec_depth_detail")
        self.depth_detail.setStyleSheet(muted_style())
        self.depth_detail.setContentsMargins(0, 0, 0, 6)

        # -- layout: label | input, and under each input its (hidden) error ------------------
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(1, 1)
        self._frames: dict[str, _FieldFrame] = {}
        self._error_labels: dict[str, QLabel] = {}
        row = 0
        grid.addWidget(self.depth_label, row, 0, 1, 2)
        grid.addWidget(self.depth_detail, row + 1, 0, 1, 2)
        row += 2
        for name, w in self.inputs.items():
            frame = _FieldFrame(w)
            self._frames[name] = frame
            if isinstance(w, QCheckBox):
                grid.addWidget(frame, row, 0, 1, 2)
            else:
                label = QLabel(FIELD_LABELS[name])
                label.setBuddy(w)
                label.setToolTip(_TIPS[name])
                grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignVCenter)
                grid.addWidget(frame, row, 1)
            row += 1
            grid.addWidget(self._make_error_label(name), row, 0, 1, 2)
            row += 1
        grid.addWidget(self._make_error_label("spec"), row, 0, 1, 2)  # errors of no one field
        grid.setRowStretch(row + 1, 1)

        # -- signals ------------------------------------------------------------------------
        for edit in (self.layers_edit, self.widths_edit):
            edit.textChanged.connect(self._schedule)
            edit.editingFinished.connect(self._apply_pending)
        for spin in (self.groups_spin, self.width_per_group_spin, self.in_channels_spin,
                     self.num_classes_spin, self.shortcut_scale_spin):
            spin.valueChanged.connect(self._schedule)
            spin.editingFinished.connect(self._apply_pending)
        for combo in (self.block_combo, self.stem_combo, self.shortcut_combo):
            combo.currentIndexChanged.connect(self._apply_now)
        for check in (self.preact_check, self.norm_check, self.zero_init_check):
            check.toggled.connect(self._apply_now)

        self.set_spec(self._base)

    # -- construction helpers ---------------------------------------------------------------
    @staticmethod
    def _combo(labels: dict[str, str]) -> QComboBox:
        c = _ElidingCombo()
        for value, label in labels.items():
            c.addItem(label, value)
        # let the sidebar stay narrow; the popup still shows the whole label
        c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        c.setMinimumContentsLength(10)
        c.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return c

    @staticmethod
    def _spin(lo: int, hi: int) -> QSpinBox:
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setAccelerated(True)
        s.setGroupSeparatorShown(True)
        return s

    def _make_error_label(self, name: str) -> QLabel:
        lab = QLabel()
        lab.setObjectName(f"error_{name}")
        lab.setWordWrap(True)
        lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lab.setContentsMargins(2, 0, 2, 4)
        lab.hide()
        self._error_labels[name] = lab
        return lab

    # -- public API -------------------------------------------------------------------------
    def set_spec(self, spec: ArchSpec) -> None:
        """Fills the form from `spec` without emitting `specChanged`."""
        self._timer.stop()
        self._base = spec
        self._filling = True
        try:
            self._select(self.block_combo, spec.block)
            self.layers_edit.setText(format_int_list(spec.layers))
            self.widths_edit.setText(format_int_list(spec.widths))
            self.groups_spin.setValue(spec.groups)
            self.width_per_group_spin.setValue(spec.width_per_group)
            self._select(self.stem_combo, spec.stem)
            self._select(self.shortcut_combo, spec.shortcut)
            self.shortcut_scale_spin.setValue(spec.shortcut_scale)
            self.preact_check.setChecked(spec.preact)
            self.norm_check.setChecked(spec.norm != "none")
            self.in_channels_spin.setValue(spec.in_channels)
            self.num_classes_spin.setValue(spec.num_classes)
            self.zero_init_check.setChecked(spec.zero_init_residual)
        finally:
            self._filling = False
        self._spec = spec
        errors = {}
        for e in spec.errors():
            errors.setdefault(e.field, []).append(e.message)
        self._show_errors({k: "\n".join(v) for k, v in errors.items()})
        self._update_depth(spec)
        self._set_valid(not errors)

    def spec(self) -> ArchSpec:
        """The last valid spec (the one shown by set_spec, or the last one emitted)."""
        return self._spec

    def is_valid(self) -> bool:
        return self._valid

    def errors(self) -> dict[str, str]:
        """The inline errors now shown: spec field -> message ("spec" for general ones)."""
        return dict(self._errors)

    def input_widget(self, field_name: str) -> QWidget:
        """The input editing `field_name` ("layers", "shortcut", ...), e.g. to focus it."""
        return self.inputs[field_name]

    def flush(self) -> None:
        """Applies a pending (debounced) text edit now."""
        self._apply_pending()

    # -- editing ----------------------------------------------------------------------------
    def _schedule(self, *_):
        if not self._filling:
            self._timer.start()

    def _apply_pending(self, *_):
        if self._timer.isActive():
            self._timer.stop()
            self._apply()

    def _apply_now(self, *_):
        if not self._filling:
            self._timer.stop()
            self._apply()

    def _read(self) -> tuple[ArchSpec, dict[str, str]]:
        """The spec the inputs describe, and the list fields that do not parse."""
        parse_errors: dict[str, str] = {}
        changes = {
            "block": self.block_combo.currentData(),
            "groups": self.groups_spin.value(),
            "width_per_group": self.width_per_group_spin.value(),
            "stem": self.stem_combo.currentData(),
            "shortcut": self.shortcut_combo.currentData(),
            "shortcut_scale": self._shortcut_scale(),
            "preact": self.preact_check.isChecked(),
            "norm": "batch" if self.norm_check.isChecked() else "none",
            "in_channels": self.in_channels_spin.value(),
            "num_classes": self.num_classes_spin.value(),
            "zero_init_residual": self.zero_init_check.isChecked(),
        }
        for name, edit in (("layers", self.layers_edit), ("widths", self.widths_edit)):
            values, err = parse_int_list(edit.text())
            if err:
                parse_errors[name] = err
            else:
                changes[name] = values
        return replace(self._base, **changes), parse_errors

    def _shortcut_scale(self) -> float:
        scale = round(self.shortcut_scale_spin.value(), 2)
        loaded = self._base.shortcut_scale
        return loaded if scale == round(loaded, 2) else scale  # a loaded 1/3 stays 1/3

    def _apply(self) -> None:
        if self._filling:
            return
        candidate, parse_errors = self._read()
        errors: dict[str, list[str]] = {k: [v] for k, v in parse_errors.items()}
        for e in candidate.errors():
            if e.field in parse_errors:
                continue  # the field's own text is the problem; its old value proves nothing
            if (e.field == "widths" and "layers" in parse_errors
                    and e.message.startswith("needs one width per stage")):
                continue  # counted against a stage list that is itself unreadable
            errors.setdefault(e.field, []).append(e.message)
        self._show_errors({k: "\n".join(v) for k, v in errors.items()})
        if "layers" not in parse_errors:
            self._update_depth(candidate)
        if errors:
            self._set_valid(False)
            return
        base = self._base
        if replace(candidate, name=base.name) == base:
            new = base  # edited back to what was loaded: keep its name and notes
        else:
            new = replace(candidate, name="custom", notes="")
        self._set_valid(True)
        if new != self._spec or new.notes != self._spec.notes:
            self._spec = new
            self.specChanged.emit(new)

    # -- display ----------------------------------------------------------------------------
    def _set_valid(self, valid: bool) -> None:
        if valid != self._valid:
            self._valid = valid
            self.validityChanged.emit(valid)

    def _error_color(self) -> str:
        dark = self.palette().window().color().lightnessF() < 0.5
        return "#ff6b6b" if dark else "#c62828"

    def _show_errors(self, errors: dict[str, str]) -> None:
        general = {k: v for k, v in errors.items() if k not in self.inputs}
        shown = {k: v for k, v in errors.items() if k in self.inputs}
        if general:
            shown["spec"] = "\n".join(f"{FIELD_LABELS.get(k, k)}: {v}"
                                      for k, v in general.items())
        color = self._error_color()
        for name, lab in self._error_labels.items():
            msg = shown.get(name, "")
            if msg:
                lab.setStyleSheet(f"color: {color};")
                lab.setText(msg)
            lab.setVisible(bool(msg))
            if name in self._frames:
                self._frames[name].set_invalid(bool(msg), color)
        self._errors = shown

    def _update_depth(self, spec: ArchSpec) -> None:
        self.depth_label.setText(f"Depth: {spec.depth:,} weighted layers")
        self.depth_detail.setText(depth_counts(spec))

    @staticmethod
    def _select(combo: QComboBox, value: str) -> None:
        i = combo.findData(value)
        if i < 0:  # an unknown value (e.g. from a hand-edited file): show it as-is
            combo.addItem(value, value)
            i = combo.count() - 1
        combo.setCurrentIndex(i)


__all__ = ["BLOCK_LABELS", "SHORTCUT_LABELS", "STEM_LABELS", "SpecForm", "depth_counts",
           "format_int_list", "parse_int_list"]
