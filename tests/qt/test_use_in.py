""""Use in…": a stored run's trained model (and its trained plain twin) opened in Images,
Attributions and the lesion study from the Train tab's run history, and a Depth Lab net from its
results table -- routed by the window, so no tab imports another."""


from resnet_studio.app import lesion
from resnet_studio.app.trained_models import USE_TARGETS
from resnet_studio.core.experiments import ExperimentStore
from resnet_studio.core.experiments.plan import make_spec
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.store import default_store_path
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.attributions.tab import AttributionsTab
from resnet_studio.qt.tabs.depth_lab.tab import DepthLabTab
from resnet_studio.qt.tabs.gradients import lesion_view
from resnet_studio.qt.tabs.images.tab import ImagesTab


def _record(store, tmp_path, run_id, name, variant, experiment=None):
    spec = make_spec(20, variant)
    store.runs.create_run(run_id=run_id, name=name, model=spec.name, spec=spec.to_dict(),
                          config={}, dataset="synthetic", status="finished",
                          experiment_id=experiment)
    path = tmp_path / run_id / "checkpoint.json"
    path.parent.mkdir()
    path.write_text("{}")  # only listed and handed on here: never loaded
    store.runs.update(run_id, checkpoint=str(path))
    return path


def _menu_action(button, text):
    return next(a for a in button.menu().actions() if a.text() == text)


def test_a_train_tab_run_opens_in_images_attributions_and_the_lesion_study(
        window, qtbot, tmp_path, monkeypatch):
    with ExperimentStore(default_store_path()) as store:  # the user's store (a temp folder)
        twin = _record(store, tmp_path, "run-plain", "plain run", "plain")
        checkpoint = _record(store, tmp_path, "run-res", "my resnet", "residual")
    used = []  # the Images and Attributions tabs' side of the contract, stubbed here
    for tab in (ImagesTab, AttributionsTab):
        monkeypatch.setattr(tab, "use_checkpoint", lambda self, path, twin=None, tab=tab:
                            used.append((tab.__name__, path, twin)), raising=False)
    studied = []
    monkeypatch.setattr(lesion_view, "run_lesion", lambda request, progress=None: (
        studied.append(request), lesion.LesionResult(reports=[], summary=[]))[1])

    w = window(initial_model="resnet20", initial_tab="Train", remember=False)
    runs = w.train.runs
    runs.refresh()
    button = runs.buttons["use"]
    assert not button.isEnabled()  # nothing selected
    assert [a.text() for a in button.menu().actions()] == list(USE_TARGETS.values())
    runs.select_run("run-res")
    assert button.isEnabled()

    _menu_action(button, "Images").trigger()
    assert w.tabs.current_key() == "images"
    _menu_action(button, "Attributions").trigger()
    assert w.tabs.current_key() == "attributions"
    assert used == [("ImagesTab", checkpoint, twin), ("AttributionsTab", checkpoint, twin)]

    _menu_action(button, "Gradients: lesion study").trigger()
    gradients = w.gradients
    view = gradients.lesion_view
    assert w.tabs.current_key() == "gradients" and gradients.sections.currentWidget() is view
    assert "my resnet (resnet20)" in w.statusBar().currentMessage()
    expected = lesion.LesionRequest(checkpoints=(str(checkpoint), str(twin)))
    assert view.form.value(None, 0) == expected
    # the list of trained nets arrives later: the run chosen stays, now under its name
    qtbot.waitUntil(lambda: view.form.model_combo.count() > 2
                    and not view.list_job.is_running(), timeout=30_000)
    assert view.form.model_combo.currentText() == "my resnet (resnet20) vs plain run " \
                                                  "(plain_resnet20)"
    assert view.start()
    qtbot.waitUntil(lambda: not view.running(), timeout=10_000)
    assert studied == [expected]


def test_a_shipped_net_has_no_training_record_and_the_status_line_says_what_to_do(window):
    w = window(initial_model="resnet20", initial_tab="Train", remember=False)
    assert not w.use_trained_model("shipped:resnet56", "training")
    assert w.tabs.current_key() == "train"
    assert w.statusBar().currentMessage() == (
        "ResNet-56 (shipped, trained on the built-in data) was not trained here, so it has no "
        "gradients recorded during training: train a model on the Train tab to follow them, or "
        "use this one in Gradients: lesion study")


def test_a_depth_lab_net_is_used_with_its_twin_from_the_same_experiment(qtbot, tmp_path):
    path = tmp_path / "runs.sqlite"
    with ExperimentStore(path) as store:
        exp = store.create("Quick demo", [(20, "residual", 0), (20, "plain", 0)],
                           TrainConfig(steps=10))
        for cell, run_id in zip(exp.cells, ["dl-res", "dl-plain"]):
            _record(store, tmp_path, run_id, cell.label, cell.variant, experiment=exp.id)
            store.set_cell_run(exp.id, cell.index, run_id)
        _record(store, tmp_path, "newer-plain", "a newer plain-20", "plain")
    tab = DepthLabTab(TabContext(store_path=str(path)))
    qtbot.addWidget(tab)
    tab.state.open(exp.id)
    panel = tab.view
    panel.redraw()
    asked = []
    tab.useRequested.connect(lambda run_id, target: asked.append((run_id, target)))
    assert not panel.use_in_button.isEnabled()
    rows = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())]
    panel.table.selectRow(rows.index("ResNet-20"))
    assert panel.use_in_button.isEnabled() and panel.selected_run() == "dl-res"
    _menu_action(panel.use_in_button, "Landscape").trigger()
    assert asked == [("dl-res", "landscape")]
    panel.table.clearSelection()
    panel.queue.table.selectRow(1)  # the run queue: one row per run
    assert panel.selected_run() == "dl-plain"
    tab.shutdown()
