"""The window as a user meets it: loads, shows a model, switches, opens/saves specs, remembers."""

import json
import os
import subprocess
import sys

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.zoo import get_spec


def load(qtbot, w, timeout=60_000):
    """Load torch; the first model's summary once both are there (the model is shown first)."""
    w.start_loading()
    qtbot.waitUntil(lambda: w.runtime is not None and w.summary is not None, timeout=timeout)
    return w.summary


def test_window_is_up_before_torch_and_then_shows_resnet56(window, qtbot):
    w = window(initial_model="resnet56")
    assert "Loading PyTorch" in w.device_label.text()
    summary = load(qtbot, w)
    assert summary.spec.name == "resnet56"
    assert summary.total_params == 853_018
    assert w.architecture.table.row_count() == len(summary.layers) == 169
    assert w.architecture.graph.arc_kinds().count("zero_pad") == 2
    assert "CPU" in w.device_label.text() or "CUDA" in w.device_label.text()
    assert "853K" in w.model_label.text()


def test_picking_a_preset_and_the_plain_twin_updates_graph_and_table(window, qtbot):
    w = window(initial_model="resnet20")
    load(qtbot, w)
    with qtbot.waitSignal(w.summaryShown, timeout=30_000) as blocker:
        w.sidebar.select_model("resnet18")
    assert blocker.args[0].total_params == 11_689_512
    assert sorted(set(w.architecture.graph.arc_kinds())) == ["identity", "projection"]

    with qtbot.waitSignal(w.summaryShown, timeout=30_000) as blocker:
        w.sidebar.plain.setChecked(True)
    plain = blocker.args[0]
    assert plain.spec.shortcut == "none" and plain.total_params == 11_515_688
    assert w.architecture.graph.arc_kinds() == []


def test_clicking_a_block_selects_its_rows_and_table_selection_highlights_block(window, qtbot):
    w = window(initial_model="resnet20")
    summary = load(qtbot, w)
    arch = w.architecture
    arch.graph.nodeClicked.emit("layer2.0")
    assert arch.table.selected_layers() == list(summary.graph.node("layer2.0").layers)
    arch.table.layersSelected.emit(["layer3.1.conv2"])
    assert arch.graph.selected_node() == "layer3.1"


def test_builder_error_keeps_the_last_good_model(window, qtbot):
    w = window(initial_model="resnet20")
    load(qtbot, w)
    form = w.sidebar.form
    form.layers_edit.setText("3, x, 3")
    form.flush()
    assert "layers" in form.errors()
    assert w.architecture.summary.spec.name == "resnet20"


def test_input_size_adapts_channels_and_reports_bad_text(window, qtbot):
    w = window(initial_model="resnet20")
    load(qtbot, w)
    with qtbot.waitSignal(w.summaryShown, timeout=30_000) as blocker:
        w.sidebar.input_edit.setText("1, 28, 28")
        w.sidebar.input_edit.editingFinished.emit()
    assert blocker.args[0].input_shape == (1, 28, 28)
    assert blocker.args[0].total_params == 269_434
    w.sidebar.input_edit.setText("big")
    w.sidebar.input_edit.editingFinished.emit()
    assert w.sidebar.input_error.isVisibleTo(w.sidebar)


def test_too_small_input_shows_a_message_instead_of_a_graph(window, qtbot):
    w = window(initial_model="resnet18")
    load(qtbot, w)
    w.sidebar.input_edit.setText("3, 8, 8")
    w.sidebar.input_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: "too small" in w.architecture.graph.message(), timeout=30_000)


def test_open_save_recent_and_export(window, qtbot, tmp_path, monkeypatch):
    w = window(initial_model="resnet20")
    load(qtbot, w)
    spec_path = tmp_path / "mine.json"
    get_spec("resnet32").save(spec_path)
    with qtbot.waitSignal(w.summaryShown, timeout=30_000) as blocker:
        assert w.open_spec(spec_path)
    assert blocker.args[0].total_params == 464_154
    assert w.recent_files()[0] == str(spec_path.resolve())
    assert w.recent_menu.isEnabled()

    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warnings.append(a[2]))
    assert not w.open_spec(bad)
    assert "not valid JSON" in warnings[0]

    for kind in ("png", "svg", "csv", "json"):
        out = tmp_path / f"export.{kind}"
        assert w.export(kind, str(out))
        assert out.stat().st_size > 100
    assert (tmp_path / "export.csv").read_text().splitlines()[-1].startswith("TOTAL,,10,464154")
    assert json.loads((tmp_path / "export.json").read_text())["total_params"] == 464_154


def test_dropping_a_spec_file_opens_it(window, qtbot, tmp_path):
    w = window(initial_model="resnet20")
    load(qtbot, w)
    path = tmp_path / "dropped.json"
    get_spec("resnet44").save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(w.summaryShown, timeout=30_000) as blocker:
        w.dropEvent(event)
    assert blocker.args[0].total_params == 658_586


def test_last_model_and_layout_are_remembered(window, qtbot):
    w = window(initial_model="resnet110")
    load(qtbot, w)
    w.sidebar.input_edit.setText("3, 64, 64")
    w.close()
    again = window()
    summary = load(qtbot, again)
    assert summary.spec == get_spec("resnet110")
    assert summary.input_shape == (3, 64, 64)
    assert ArchSpec.from_json(str(again.settings.value("model/spec"))).name == "resnet110"


def test_dropping_images_on_the_window_classifies_them_and_lists_bad_files(window, qtbot,
                                                                          tmp_path):
    from PIL import Image

    w = window(initial_model="resnet18")
    load(qtbot, w)
    w.images.set_weights("random")
    good = []
    for i, colour in enumerate(["red", "green", "blue"]):
        path = tmp_path / f"photo{i}.png"
        Image.new("RGB", (64, 48), colour).save(path)
        good.append(path)
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in [*good, corrupt, text]])
    event = QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    w.dropEvent(event)
    assert w.current_tab() is w.images
    qtbot.waitUntil(lambda: len(w.images.predictions()) == 3 and not w.images.is_busy(),
                    timeout=120_000)
    skipped = " ".join(w.images.skipped_texts())
    assert "broken.jpg" in skipped and "notes.png" in skipped
    assert all(len(p.labels) == 5 for p in w.images.predictions())


def test_the_model_is_shown_before_torch_is_loaded():
    # The inspector needs no torch: ResNet-1202's graph and table appear while it still loads.

    code = """
import sys
from PySide6.QtCore import QTimer
from resnet_studio.qt.app import make_app
from resnet_studio.qt.main_window import MainWindow
app = make_app()
w = MainWindow(initial_model="resnet1202", remember=False)
def shown(s):  # a table this long is filled on the next turn of the event loop
    QTimer.singleShot(50, lambda: (print(s.total_params, w.architecture.table.row_count(),
                                         "torch" in sys.modules), app.quit()))
w.summaryShown.connect(shown)
QTimer.singleShot(60_000, app.quit)
w.show()
app.exec()
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    # 600 blocks of 6 calls (conv, BN, ReLU, conv, BN, ReLU), the stem's 3, two zero-pads, the head's 2
    assert out.stdout.split() == ["19421274", "3607", "False"], out.stderr


def test_an_error_escaping_a_slot_goes_through_the_error_boundary(window, monkeypatch):
    import sys

    from PySide6.QtWidgets import QMessageBox

    from resnet_studio.core.common.paths import data_dir
    from resnet_studio.qt.app import _install_excepthook

    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append((box.windowTitle(),
                                                                       box.text())))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    _install_excepthook(window(remember=False))
    try:
        raise ValueError("that spec has no stages")
    except ValueError as e:
        sys.excepthook(type(e), e, e.__traceback__)
    try:
        raise ZeroDivisionError("division by zero")  # a bug, not the user's doing
    except ZeroDivisionError as e:
        sys.excepthook(type(e), e, e.__traceback__)
    assert shown[0] == ("Could not do that", "that spec has no stages")
    title, text = shown[1]
    [log] = (data_dir() / "logs").glob("crash-*.log")
    assert title == "Unexpected error" and text.startswith("internal error: ZeroDivisionError")
    assert str(log) in text and "ZeroDivisionError: division by zero" in log.read_text()
