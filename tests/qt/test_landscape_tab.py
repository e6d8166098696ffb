"""The Landscape tab: a stored run's slice computed in the background, drawn level by level,
stored, shown again at once, exported as the CLI's CSV."""

import numpy as np

from resnet_studio.app.landscape import LandscapeRequest, compute_landscapes, landscape_csv
from resnet_studio.core.training.store import RunStore
from resnet_studio.qt.kit.settings import Settings
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.landscape import LandscapeTab


def _record(store_path, run_dir, name, model, run_id):
    with RunStore(store_path) as store:
        store.create_run(run_id=run_id, name=name, model=model, spec={}, config={},
                         run_dir=str(run_dir))
        store.update(run_id, checkpoint=str(run_dir / "checkpoint.json"), status="finished")


def test_tab_computes_draws_levels_and_reopens_stored(qtbot, trained_pair, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    _record(store, trained_pair["resnet20"], "residual", "resnet20", "aaaa1111")
    _record(store, trained_pair["plain20"], "plain", "plain_resnet20", "bbbb2222")
    tab = LandscapeTab(TabContext(Settings(remember=False), store_path=store))
    qtbot.addWidget(tab)
    # the newest residual run first, its plain twin beside it
    assert tab.form.runs() == ("aaaa1111", "bbbb2222")
    tab.form.set_value({"grid": 9, "batches": 1, "seed": 3})
    levels = []
    tab.levelReady.connect(lambda i, ls: levels.append((i, int(np.isfinite(ls.surface).sum()))))
    greyed = []  # what the veil over the figure said as each level was drawn
    tab.levelReady.connect(lambda *_: greyed.append(tab.stale.label_text()))
    assert tab.compute()
    assert tab.stale.is_shown() and tab.stale.label_text() == "measuring…"
    assert tab.job.wait(120_000)
    assert greyed and set(greyed) == {"refining… (a coarser grid so far)"}
    assert not tab.stale.is_shown()  # the finished surfaces are not greyed
    assert tab.result is not None and len(tab.result.landscapes) == 2
    assert levels[:2] == [(0, 25), (0, 81)]  # every 2nd point first (5×5), then all
    expected = compute_landscapes(LandscapeRequest(("aaaa1111", "bbbb2222"),
                                                   tab.form.settings(), store))
    assert all(ls.cached for ls in expected.landscapes)  # stored by the tab's job
    csv = tmp_path / "grid.csv"
    tab.export_csv(csv)
    assert csv.read_text() == landscape_csv(expected)
    png = tab.export_figure(tmp_path / "figure.png")
    assert png.read_bytes()[:4] == b"\x89PNG"

    again = LandscapeTab(TabContext(Settings(remember=False), store_path=store))
    qtbot.addWidget(again)
    again.form.run_combo.setCurrentIndex(again.form.run_combo.findData("aaaa1111"))
    again.form.set_value({"grid": 9, "batches": 1, "seed": 3})
    assert again.result is not None and not again.job.is_running()  # shown without computing
    assert again.export_csv_button.isEnabled()


def test_without_any_run_the_shipped_trained_pair_is_offered(qtbot, tmp_path):
    tab = LandscapeTab(TabContext(store_path=str(tmp_path / "empty.sqlite")))
    qtbot.addWidget(tab)
    assert tab.form.runs() == ("shipped:resnet20", "shipped:plain20")
    assert tab.form.run_combo.currentText() == ("ResNet-20 (shipped, trained on the built-in "
                                                "data)")
    assert tab.compute_button.isEnabled()
    assert tab.message.text().startswith("Press Compute")


def test_use_in_opens_a_shipped_pair(qtbot, tmp_path):
    """"Use in… → Landscape" on the shipped ResNet-56 chooses it and its plain twin."""
    from resnet_studio.qt.main_window import MainWindow

    w = MainWindow(remember=False)
    qtbot.addWidget(w)
    assert w.use_trained_model("shipped:resnet56", "landscape")
    assert w.tabs.current_key() == "landscape"
    assert w.tabs.tab("landscape").form.runs() == ("shipped:resnet56", "shipped:plain56")
    w.close()
