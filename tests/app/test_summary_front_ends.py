"""GUI = CLI: the same model and typed input give the same summary and the same exports."""

import json

from resnet_studio.cli import main


def test_window_and_summary_command_give_identical_results(qtbot, tmp_path, capsys):
    from resnet_studio.qt.main_window import _summarize
    from resnet_studio.qt.sidebar.model_sidebar import ModelSidebar
    from resnet_studio.qt.tabs.architecture.layer_table import LayerTable

    # the command line: a plain twin fed 1-channel 28x28 images
    cli_csv = tmp_path / "cli.csv"
    assert main(["summary", "resnet20", "--plain", "--input", "1x28x28", "--json",
                 "--csv", str(cli_csv)]) == 0
    cli = json.loads(capsys.readouterr().out)

    # the window: the same choices in the sidebar, inspected as MainWindow does
    sidebar = ModelSidebar()
    qtbot.addWidget(sidebar)
    with qtbot.waitSignal(sidebar.specChanged) as picked:
        sidebar.select_model("resnet20", plain=True)
    sidebar.set_input_text("1, 28, 28")
    spec, shape = picked.args[0], sidebar.input_shape()
    summary = _summarize(spec, shape, progress=None)
    table = LayerTable()
    qtbot.addWidget(table)
    table.set_summary(summary)
    gui_csv, gui_json = tmp_path / "gui.csv", tmp_path / "gui.json"
    table.export_csv(gui_csv)
    table.export_json(gui_json)

    assert json.loads(gui_json.read_text(encoding="utf-8")) == cli
    assert gui_csv.read_text(encoding="utf-8") == cli_csv.read_text(encoding="utf-8")
    assert cli["total_params"] == 269_434 and cli["spec"]["shortcut"] == "none"
    assert cli["spec"]["in_channels"] == 1 and cli["input_shape"] == [1, 28, 28]
