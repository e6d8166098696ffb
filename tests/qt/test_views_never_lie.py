"""Views that never lie (issue 14): what is being recomputed is greyed; the run history is there
at start and follows the run that trains; the graph greys at once when the model changes; the
builder's depth says what it counts; legends match what is drawn."""

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from resnet_studio.app.summary import inspect_model
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.callbacks import TrainLog
from resnet_studio.core.training.curves import RunCurves
from resnet_studio.core.training.store import RunStore
from resnet_studio.core.zoo import get_spec
from resnet_studio.qt.kit.job import Job
from resnet_studio.qt.kit.stale import MEASURING, Stale
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.sidebar.spec_form import SpecForm
from resnet_studio.qt.tabs.architecture.tab import ArchitectureTab
from resnet_studio.qt.tabs.gradients.tab import GradientsTab
from resnet_studio.qt.tabs.train.plots import LIVE, LIVE_RAW, OVERLAY_COLOURS
from resnet_studio.qt.tabs.train.tab import TrainTab

TINY = ArchSpec(name="tiny", block="basic", layers=(1, 1), widths=(8, 16), stem="cifar",
                shortcut="A", num_classes=4)
SMALL = ArchSpec(name="small", block="basic", layers=(2, 2), widths=(8, 16), stem="cifar",
                 shortcut="A", num_classes=4)


# -- the kit piece -------------------------------------------------------------------------------
def _slow(progress, seconds=0.3):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        progress(0, 1, "working")
        time.sleep(0.01)
    return "done"


def test_stale_greys_a_view_while_its_job_runs(qtbot):
    view = QLabel("old numbers")
    qtbot.addWidget(view)
    view.resize(300, 200)
    view.show()
    stale = Stale(view)
    job = Job(view)
    stale.follow(job)
    assert not stale.is_shown()
    job.start(_slow)
    assert stale.is_shown() and stale.label_text() == MEASURING == "measuring…"
    assert stale._veil.isVisible() and stale._veil.geometry() == view.rect()
    view.resize(500, 260)  # the veil follows the view
    assert stale._veil.geometry() == view.rect()
    assert job.wait()
    assert not stale.is_shown() and not stale._veil.isVisible()
    stale.show("Inspecting resnet1202…")
    assert stale.label_text() == "Inspecting resnet1202…"
    stale.hide()
    assert not stale._veil.isVisible()


# -- Gradients: the old model's curves are greyed while the new one is measured ------------------
def test_gradient_plots_are_greyed_while_a_new_model_is_measured(qtbot, tmp_path):
    tab = GradientsTab(TabContext(store_path=str(tmp_path / "runs.sqlite")))
    qtbot.addWidget(tab)
    view = tab.init_view
    view.batch_spin.setValue(8)
    tab.set_spec(TINY)
    tab.picker.choose_current()
    tab.resize(1000, 700)
    tab.show()
    view.measure()
    assert view.stale is not None and view.stale.is_shown()  # at init: measuring, greyed
    assert view.stale.label_text() == "measuring…"
    qtbot.waitUntil(lambda: tab.state.report is not None, timeout=60_000)
    qtbot.waitUntil(lambda: not view.job.is_running(), timeout=10_000)
    assert not view.stale.is_shown()
    tiny_points = view.depth_plots.point_counts()[("weight", "residual")]

    tab.set_spec(SMALL)  # another model: its curves are on their way
    view.recompute()
    assert view.job.is_running() and view.stale.is_shown()
    assert view.depth_plots.point_counts()[("weight", "residual")] == tiny_points  # old, greyed
    qtbot.waitUntil(lambda: tab.state.report.net.model == "small", timeout=60_000)
    qtbot.waitUntil(lambda: not view.job.is_running(), timeout=10_000)
    assert not view.stale.is_shown()
    assert view.depth_plots.point_counts()[("weight", "residual")] == 9  # stem + 4 blocks x 2
    assert tab.shutdown(30_000)


# -- the Architecture tab greys at once when the model changes ---------------------------------
def test_picking_another_model_greys_the_last_one_at_once(window, qtbot):
    # the issue: ResNet-50 stayed on screen ~3 s after ResNet-1202 was picked; the same path,
    # with smaller models (their training-memory estimate is faster to wait for)
    w = window(initial_model="resnet20", remember=False)
    qtbot.waitUntil(lambda: w.summary is not None and w.summary.spec.name == "resnet20",
                    timeout=30_000)
    arch = w.architecture
    assert not arch.is_pending() and "resnet20" in arch.headline.text()
    with qtbot.waitSignal(w.summaryShown, timeout=60_000):
        assert w.sidebar.select_model("resnet110")
        # before the new summary exists, nothing presents ResNet-20 as the model picked
        assert arch.is_pending() and arch.table_stale.is_shown()
        assert arch.graph_stale.label_text() == "Inspecting resnet110…"
        assert "Inspecting resnet110…" in arch.headline.text()
        assert "greyed: resnet20, the last model" in arch.headline.text()
    assert not arch.is_pending() and not arch.table_stale.is_shown()
    assert "resnet110" in arch.headline.text() and "110 weighted layers" in arch.headline.text()


# -- the builder's depth and the legends -----------------------------------------------------------
def test_the_builder_says_what_its_depth_counts(qtbot):
    form = SpecForm()
    qtbot.addWidget(form)
    form.set_spec(get_spec("resnet56"))
    assert form.depth_label.text() == "Depth: 56 weighted layers"
    assert form.depth_detail.text().startswith("= 1 stem conv + 54 convs in 27 blocks + 1 fc.")
    assert "Not counted: shortcuts" in form.depth_detail.text()
    form.set_spec(get_spec("resnet50"))  # bottleneck: three convs a block; projections not counted
    assert form.depth_detail.text().startswith("= 1 stem conv + 48 convs in 16 blocks + 1 fc.")


def test_the_footer_counts_the_same_depth_and_a_collapsed_legend_keeps_zero_pad(qtbot):
    arch = ArchitectureTab()
    qtbot.addWidget(arch)
    arch.set_summary(inspect_model(get_spec("resnet56")))
    assert arch.table.footer_text().startswith("169 modules (56 weighted layers) · ")
    arch.set_all_stages(False)
    assert arch.graph.graph_layout.legend_kinds() == ["identity", "zero_pad"]
    arch.set_all_stages(True)  # one identity arc per stage; the boxes say "+ 1 zero-pad"
    assert arch.graph.arc_kinds() == ["identity"] * 3
    assert arch.graph.graph_layout.legend_kinds() == ["identity", "zero_pad"]
    assert arch.shutdown()


# -- the run history: at start, and live while a run trains ------------------------------------
def _stored_run(store: RunStore, run_id: str, *, status="finished", step=400, val=(0.3, 0.25)):
    store.create_run(run_id=run_id, name=f"run {run_id}", model="tiny", spec={},
                     config={"steps": 400, "lr": 0.1}, dataset="synthetic", total_steps=400)
    rows = [(s, "train/loss", 2.0 - s / 400) for s in range(10, step + 1, 10)]
    rows += [(s, "train/error", 0.8 - s / 1000) for s in range(10, step + 1, 10)]
    rows += [(200 * (i + 1), "val/error", e) for i, e in enumerate(val)]
    rows += [(200 * (i + 1), "val/loss", 1.5 - i / 10) for i in range(len(val))]
    store.add_metrics(run_id, rows, step=step)
    store.update(run_id, status=status, step=step)


@pytest.fixture
def store_path(tmp_path):
    path = str(tmp_path / "runs.sqlite")
    with RunStore(path) as store:
        for run_id in ("aaaa", "bbbb", "cccc"):
            _stored_run(store, run_id)
    return path


@pytest.fixture
def make_train_tab(qtbot):
    made = []

    def make(store_path, size=(1280, 720)):
        tab = TrainTab(TabContext(store_path=store_path))
        qtbot.addWidget(tab)
        tab.resize(*size)
        made.append(tab)
        return tab

    yield make
    for tab in made:
        assert tab.shutdown()


def test_the_run_history_is_there_at_start_and_follows_the_live_run(make_train_tab, store_path):
    tab = make_train_tab(store_path)
    assert tab.runs.table.rowCount() == 3  # no Refresh pressed
    with RunStore(store_path) as store:  # what a trainer writes when it starts
        store.create_run(run_id="live", name="live run", model="tiny", spec={}, config={},
                         dataset="synthetic", total_steps=400)
    tab.state.begin(400)
    tab._started("live", "", "")
    assert tab.runs.row_texts("live")["Steps"] == "0 / 400"
    assert tab.runs.row_texts("live")["Status"] == "starting"
    log = TrainLog(step=230, total_steps=400, epoch=1.0, loss=0.15, error=0.05, lr=0.1,
                   images_per_s=100.0, elapsed_s=10.0, eta_s=7.0)
    tab._logged([log])  # the store's row still says running 0 / 400
    assert tab.runs.row_texts("live")["Status"] == "running"
    assert tab.runs.row_texts("live")["Steps"] == "230 / 400"
    tab.runs.refresh()  # a refresh keeps the live numbers
    assert tab.runs.row_texts("live")["Steps"] == "230 / 400"
    tab._status("paused", "")
    assert tab.runs.row_texts("live")["Status"] == "paused"


def test_a_run_another_process_trains_is_read_again_while_it_runs(make_train_tab, tmp_path,
                                                                  qtbot):
    path = str(tmp_path / "other.sqlite")
    with RunStore(path) as store:  # the Depth Lab or `resnet-studio train` in another window
        store.create_run(run_id="other", name="other", model="tiny", spec={}, config={},
                         dataset="synthetic", total_steps=400)
    tab = make_train_tab(path)
    tab.show()
    qtbot.waitExposed(tab)
    assert tab.runs.row_texts("other")["Steps"] == "0 / 400"
    assert tab.runs.is_following_others()
    tab.runs.table.selectRow(0)
    with RunStore(path) as store:
        store.update("other", step=120)
    tab.runs._poll_store()  # what the timer does every 2 s
    assert tab.runs.row_texts("other")["Steps"] == "120 / 400"
    assert tab.runs.selected_ids() == ["other"]  # the poll keeps the selection
    with RunStore(path) as store:
        store.update("other", step=400, status="finished")
    tab.runs._poll_store()
    assert tab.runs.row_texts("other")["Status"] == "finished"
    assert not tab.runs.is_following_others()


def test_the_runs_table_shows_five_rows_and_resizes(make_train_tab, tmp_path, qtbot):
    path = str(tmp_path / "many.sqlite")
    with RunStore(path) as store:
        for i in range(8):
            _stored_run(store, f"run{i}")
    tab = make_train_tab(path)
    tab.show()
    qtbot.waitExposed(tab)
    assert tab.runs.rows_visible() >= 5
    plots, runs = tab.runs_splitter.sizes()
    tab.runs_splitter.setSizes([plots - 100, runs + 100])  # the user drags the splitter
    assert tab.runs_splitter.sizes()[1] == runs + 100


# -- overlays, legend, smoothing, comparison -----------------------------------------------------
def test_overlays_have_their_own_stable_colours_and_a_matching_legend(make_train_tab,
                                                                     store_path):
    tab = make_train_tab(store_path)
    plots = tab.plots
    assert plots.legend_entries() == []  # nothing drawn, nothing listed
    plots.draw(RunCurves(steps=[10, 20], loss=[1.0, 0.5], error=[0.5, 0.4], lr=[0.1, 0.1],
                         val_steps=[20], val_loss=[0.6], val_error=[0.4]))
    tab._overlay("aaaa", True)
    tab._overlay("bbbb", True)
    a, b = plots.colour_of("aaaa"), plots.colour_of("bbbb")
    assert a != b and {a, b} <= set(OVERLAY_COLOURS) and not {a, b} & {LIVE, LIVE_RAW}
    tab._overlay("aaaa", False)
    tab._overlay("cccc", True)  # takes the colour freed by aaaa...
    assert plots.colour_of("cccc") == a
    tab._overlay("cccc", False)
    tab._overlay("aaaa", True)  # ...which aaaa gets back: stable
    assert plots.colour_of("aaaa") == a
    entries = plots.legend_entries()
    # the live run first, then each overlay; dashed exactly where the label says validation
    assert [e[0] for e in entries] == ["training (raw)", "training", "validation", "run bbbb",
                                       "run bbbb · validation", "run aaaa",
                                       "run aaaa · validation"]
    assert all(dashed == label.endswith("validation") for label, _c, dashed in entries)
    assert entries[3][1] == entries[4][1] == b and entries[1][1] == LIVE
    # a hidden overlay leaves no legend entry behind
    tab._overlay("bbbb", False)
    assert [e[0] for e in plots.legend_entries()] == [
        "training (raw)", "training", "validation", "run aaaa", "run aaaa · validation"]
    assert len(plots.overlays["aaaa"]) == 4  # its training and validation in both plots
    # the Show box carries the run's colour
    assert not tab.runs.table.item(tab.runs._row_of("aaaa"), 0).icon().isNull()


def test_smoothing_slider_redraws_every_run_with_the_debiased_ema(make_train_tab, store_path):
    tab = make_train_tab(store_path)
    plots = tab.plots
    assert plots.smoothing() == 0.6 and plots.smoothing_label.text() == "0.60"
    curves = RunCurves(steps=[10, 20, 30, 40], loss=[1.0, 1.0, 0.0, 0.0],
                       error=[0.5, 0.5, 0.5, 0.5], lr=[0.1] * 4)
    plots.draw(curves)
    tab._overlay("aaaa", True)
    _, y = plots.loss_smooth.getData()
    assert list(y) == pytest.approx([1.0, 1.0, 0.384 / 0.784, 0.2304 / 0.8704])
    plots.smoothing_slider.setValue(0)  # raw
    _, y = plots.loss_smooth.getData()
    assert list(y) == [1.0, 1.0, 0.0, 0.0]
    _, overlay = plots.overlays["aaaa"][0].getData()
    assert overlay[:3] == pytest.approx([1.975, 1.95, 1.925])  # the stored raw loss
    assert tab.context.settings.value("train/smoothing") == 0.0


def test_overlays_are_kept_when_a_new_run_starts_and_the_tab_says_so(make_train_tab,
                                                                     store_path, qtbot):
    tab = make_train_tab(store_path)
    tab.set_spec(TINY)
    tab.runs.table.item(tab.runs._row_of("aaaa"), 0).setCheckState(Qt.CheckState.Checked)
    assert tab.plots.overlay_ids() == ["aaaa"]
    tab.state.begin(10)
    tab.session.start = lambda request: None  # the display side of starting, no training
    tab._begin(None)
    assert tab.plots.overlay_ids() == ["aaaa"]
    assert tab.message.text() == ("Kept 1 overlaid run beside the new one for comparison "
                                  "(Hide overlays removes them).")
    assert tab.runs.buttons["hide"].isEnabled()
    tab.runs.buttons["hide"].click()
    assert tab.plots.overlay_ids() == [] and tab.runs.shown_ids() == []


def test_compare_the_selected_runs_side_by_side(make_train_tab, store_path, qtbot):
    with RunStore(store_path) as store:
        _stored_run(store, "dddd", val=(0.4, 0.45))
    tab = make_train_tab(store_path)
    tab.runs.refresh()
    assert not tab.runs.buttons["compare"].isEnabled()
    tab.runs.table.selectRow(tab.runs._row_of("aaaa"))
    assert not tab.runs.buttons["compare"].isEnabled()  # one run: nothing to compare
    tab.runs.table.selectionModel().select(
        tab.runs.table.model().index(tab.runs._row_of("dddd"), 0),
        tab.runs.table.selectionModel().SelectionFlag.Select
        | tab.runs.table.selectionModel().SelectionFlag.Rows)
    assert tab.runs.buttons["compare"].isEnabled()
    tab.runs.buttons["compare"].click()
    dialog = tab.compare_dialog
    assert dialog is not None and dialog.isVisible()
    names = [dialog.table.horizontalHeaderItem(c).text()
             for c in range(1, dialog.table.columnCount())]
    assert sorted(names) == ["run aaaa", "run dddd"]
    values = dict(zip(names, dialog.row_values("best validation error")))
    assert values == {"run aaaa": "25.00% (step 400)", "run dddd": "40.00% (step 200)"}
    dialog.only_differences.setChecked(True)
    with pytest.raises(KeyError):
        dialog.row_values("lr")  # the same for both: hidden
    dialog.close()
