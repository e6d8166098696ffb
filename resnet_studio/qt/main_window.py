"""The main window: sidebar, tabs, status bar, menus; settings remembered between sessions."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QWidget,
)

from resnet_studio import __version__
from resnet_studio.core.common.formatting import compact
from resnet_studio.core.spec import ArchSpec
from resnet_studio.qt.jobs_panel import JobsPanel
from resnet_studio.qt.kit.garbage import freeze_long_lived_objects
from resnet_studio.qt.kit.job import Job, LatestJob, job_registry, wait_for_background_work
from resnet_studio.qt.kit.settings import Settings
from resnet_studio.qt.kit.tab import Tab, TabContext
from resnet_studio.qt.kit.theme import Theme, add_colours_menu
from resnet_studio.qt.run_menu import RunMenu
from resnet_studio.qt.sidebar.model_sidebar import ModelSidebar
from resnet_studio.qt.tab_pages import TabPages

MAX_RECENT = 8


def _summarize(spec, shape, progress):
    from resnet_studio.app.summary import inspect_model

    return inspect_model(spec, shape, progress=progress)


def _load_runtime(progress):
    from resnet_studio.qt.loading import load_runtime

    return load_runtime()


def _preset_param_counts(progress):
    from resnet_studio.qt.loading import preset_param_counts

    return preset_param_counts()


class MainWindow(QMainWindow):
    runtimeReady = Signal(object)  # RuntimeInfo
    summaryShown = Signal(object)  # ModelSummary
    presetCountsShown = Signal()

    def __init__(self, initial_model: str | None = None, initial_tab: str | None = None,
                 remember: bool = True):
        """remember=False (screenshots) neither reads nor writes the user's saved settings:
        the window and every tab share one Settings object that honours it."""
        super().__init__()
        self.remember = remember
        self.setWindowTitle("ResNet Studio")
        self.setAcceptDrops(True)
        self.runtime = None
        self.settings = Settings(remember)
        self.theme = Theme.of(QApplication.instance(), self.settings)
        self.theme.use_settings(self.settings)
        self.context = TabContext(settings=self.settings)

        self.sidebar = ModelSidebar()
        dock = QDockWidget("Model", self, objectName="modelDock")
        dock.setWidget(self.sidebar)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.summary = None  # the model shown, handed to each tab when it is built
        self._selected_block: str | None = None  # clicked in the graph; the Images tab shows it
        self.tabs = TabPages(self.context)
        self.tabs.tabBuilt.connect(self._tab_built)
        self.setCentralWidget(self.tabs)
        self.architecture.graph.nodeClicked.connect(self._block_clicked)

        self.summaries = LatestJob(self, title="Inspecting the model")
        self.summaries.succeeded.connect(self._show_summary)
        self.summaries.failed.connect(self._summary_failed)
        self.summaries.runningChanged.connect(self._set_busy)
        self.runtime_job = Job(self, title="Loading PyTorch")
        self.runtime_job.succeeded.connect(self._runtime_loaded)
        self.runtime_job.failed.connect(self._runtime_failed)
        self.counts_job = Job(self, title="Counting the presets' parameters")
        self.counts_job.succeeded.connect(self._show_param_counts)
        self.sidebar.specChanged.connect(self._request_summary)
        self.sidebar.inputError.connect(lambda m: self.statusBar().showMessage(m, 5000))

        self._build_status_bar()
        self._build_jobs_panel()
        self._build_menus()
        self._restore_settings(initial_model, initial_tab)

    # -- tabs (each built on first use) --------------------------------------------------------
    architecture = property(lambda self: self.tabs.tab("architecture"))
    train = property(lambda self: self.tabs.tab("train"))
    depth_lab = property(lambda self: self.tabs.tab("depth_lab"))
    gradients = property(lambda self: self.tabs.tab("gradients"))
    images = property(lambda self: self.tabs.tab("images"))
    attributions = property(lambda self: self.tabs.tab("attributions"))

    def show_tab(self, key: str) -> Tab:
        return self.tabs.show_tab(key)

    def current_tab(self) -> QWidget:
        return self.tabs.tab(self.tabs.current_key())

    def _tab_built(self, key: str, tab: Tab) -> None:
        freeze_long_lived_objects()  # the tab and what it imported live as long as the window
        tab.statusMessage.connect(lambda m: self.statusBar().showMessage(m, 8000))
        tab.useRequested.connect(self.use_trained_model)
        if self.summary is not None:
            tab.model_changed(self.summary)
        if key == "images" and self._selected_block:
            tab.select_layer(self._selected_block)

    def use_trained_model(self, ref: str, target: str) -> bool:
        """"Use in…": open the trained model `ref` (a run id, "shipped:resnet20") and its plain
        twin in `target` (a key of app.trained_models.USE_TARGETS) and show that tab; False,
        with a line in the status bar, if it cannot be."""
        from resnet_studio.app.errors import describe_error
        from resnet_studio.app.trained_models import USE_TARGETS, resolve_trained_model

        try:
            model = resolve_trained_model(ref, self.context.store_path)
        except (KeyError, ValueError, OSError) as e:
            self.statusBar().showMessage(f"Cannot use {ref}: {describe_error(e)}", 8000)
            return False
        tab_key = {"lesion": "gradients", "training": "gradients"}.get(target, target)
        if target == "training" and model.run_id is None:
            self.statusBar().showMessage(
                f"{model.label} was not trained here, so it has no gradients recorded during "
                "training: train a model on the Train tab to follow them, or use this one in "
                f"{USE_TARGETS['lesion']}", 10_000)
            return False
        tab = self.show_tab(tab_key)
        if target == "training":
            tab.use_run(model.run_id, model.twin_run_id)
        elif target == "landscape":  # a run, or a shipped net ("shipped:resnet56")
            tab.use_run(model.key, model.twin_key)
        else:
            tab.use_checkpoint(model.checkpoint, model.twin)
        self.statusBar().showMessage(f"{USE_TARGETS[target]}: {model.describe()}", 8000)
        return True

    def _block_clicked(self, node_id: str) -> None:
        self._selected_block = node_id
        if self.tabs.is_built("images"):
            self.images.select_layer(node_id)

    # -- chrome -----------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.device_label = QLabel("Loading PyTorch…")
        self.model_label = QLabel("")
        self.job_label = QLabel("")
        self.progress = QProgressBar(maximumWidth=140, textVisible=False)
        self.progress.setRange(0, 0)
        bar.addPermanentWidget(self.model_label)
        bar.addPermanentWidget(self.job_label)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.device_label)

    def _build_jobs_panel(self) -> None:
        """The status bar's "2 jobs running" button opens the jobs dock; starting heavy work
        beside other heavy work says so in the status bar."""
        registry = job_registry()
        self.jobs_panel = JobsPanel(registry)
        self.jobs_dock = QDockWidget("Jobs", self, objectName="jobsDock")
        self.jobs_dock.setWidget(self.jobs_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.jobs_dock)
        self.jobs_dock.hide()
        self.statusBar().insertPermanentWidget(0, self.jobs_panel.button)
        self.jobs_panel.button.clicked.connect(
            lambda: self.jobs_dock.setVisible(not self.jobs_dock.isVisible()))
        registry.notice.connect(self._say_jobs_notice)  # a method: disconnected with the window

    def _say_jobs_notice(self, text: str) -> None:
        self.statusBar().showMessage(text, 10_000)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open Spec…", self.open_spec_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._action(file_menu, "&Save Spec As…", self.save_spec_dialog, QKeySequence.StandardKey.Save)
        file_menu.addSeparator()
        export = file_menu.addMenu("&Export")
        self._action(export, "Block Graph as &PNG…", lambda: self.export_dialog("png"))
        self._action(export, "Block Graph as &SVG…", lambda: self.export_dialog("svg"))
        self._action(export, "Layer Table as &CSV…", lambda: self.export_dialog("csv"))
        self._action(export, "Summary as &JSON…", lambda: self.export_dialog("json"))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        view = self.menuBar().addMenu("&View")
        arch = self.architecture
        self._action(view, "&Fit Graph", arch.graph.fit, "Ctrl+0")
        self._action(view, "Zoom &In", arch.graph.zoom_in, QKeySequence.StandardKey.ZoomIn)
        self._action(view, "Zoom &Out", arch.graph.zoom_out, QKeySequence.StandardKey.ZoomOut)
        view.addSeparator()
        self._action(view, "&Collapse All Stages", lambda: arch.set_all_stages(True))
        self._action(view, "&Expand All Stages", lambda: arch.set_all_stages(False))
        view.addSeparator()
        view.addAction(self.findChild(QDockWidget, "modelDock").toggleViewAction())
        view.addAction(self.jobs_dock.toggleViewAction())
        self.colour_actions = add_colours_menu(view, self.theme)
        self.run_menu = RunMenu(self, self.menuBar().addMenu("&Run"))

        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Tour of the 2015 Paper…", self.show_tour)
        help_menu.addSeparator()
        self._action(help_menu, "&About ResNet Studio", self._about)
        self._refresh_recent_menu()

    def show_tour(self) -> None:
        """Help > Tour: a small panel beside the window that sets the app up step by step."""
        from resnet_studio.qt.tour import TourPanel

        if getattr(self, "tour", None) is None:
            self.tour = TourPanel(self)
            corner = self.geometry().topRight()  # over the tab's right edge, clear of the sidebar
            self.tour.move(corner.x() - self.tour.width() - 24, corner.y() + 80)
        self.tour.show()
        self.tour.raise_()

    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        return action

    def _about(self) -> None:
        runtime = f"PyTorch {self.runtime.torch_version}, {self.runtime.device}" \
            if self.runtime else "PyTorch still loading"
        QMessageBox.about(self, "About ResNet Studio",
                          f"<b>ResNet Studio {__version__}</b><p>See why residual networks work: "
                          "build, inspect and compare ResNets and their plain twins.</p>"
                          f"<p>{runtime}</p>")

    # -- loading ----------------------------------------------------------------------------
    def start_loading(self) -> None:
        """Import torch in the background; the window is already visible (and shows the model:
        the inspector needs no torch)."""
        self.runtime_job.start(_load_runtime)
        self.counts_job.start(_preset_param_counts)

    def _runtime_loaded(self, info) -> None:
        freeze_long_lived_objects()  # PyTorch's 200,000 objects: never again in a GC pass
        self.runtime = info
        self.device_label.setText(info.device)
        self.device_label.setToolTip(f"PyTorch {info.torch_version}")
        self.job_label.setText("")
        self.runtimeReady.emit(info)

    def _show_param_counts(self, counts: dict[str, int]) -> None:
        self.sidebar.set_param_counts(counts)
        self.presetCountsShown.emit()

    def _runtime_failed(self, error: str) -> None:
        self.device_label.setText("PyTorch unavailable")
        self.architecture.set_message(f"PyTorch could not be loaded: {error}")
        QMessageBox.critical(self, "PyTorch could not be loaded",
                             f"{error}\n\nReinstall with `make clean run`.")

    # -- model summaries --------------------------------------------------------------------
    def _request_summary(self, spec: ArchSpec, shape) -> None:
        # The worker adapts the model to the input's channels, as `resnet-studio summary` does.
        self.model_label.setText(spec.name)
        self.job_label.setText(f"Inspecting {spec.name}…")
        self._model_pending(spec)
        self.summaries.start(_summarize, spec, shape)

    def _model_pending(self, spec: ArchSpec) -> None:
        # the graph greys at once: the last model must not pass for the one just picked
        self.architecture.model_pending(spec.name)

    def _show_summary(self, summary) -> None:
        self.summary = summary
        for tab in self.tabs.built():
            tab.model_changed(summary)
        self.model_label.setText(f"{summary.spec.name} · {compact(summary.total_params)} params")
        self.settings.set_value("model/spec", summary.spec.to_json(indent=None))
        self.summaryShown.emit(summary)

    def _summary_failed(self, error: str) -> None:
        self.architecture.set_message(f"Cannot show this model: {error}")
        self.statusBar().showMessage(error, 8000)

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        if not busy:
            self.job_label.setText("")

    # -- files ------------------------------------------------------------------------------
    def open_spec_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open architecture spec",
                                              self._last_dir(), "Spec JSON (*.json)")
        if path:
            self.open_spec(path)

    def open_spec(self, path: str | Path) -> bool:
        try:
            spec = ArchSpec.load(path)
            spec.validate()
        except (OSError, ValueError) as e:
            QMessageBox.warning(self, "Cannot open spec", f"{path}\n\n{e}")
            self._forget_recent(str(path))
            return False
        self.sidebar.set_spec(spec)
        self._remember_recent(str(path))
        return True

    def save_spec_dialog(self) -> None:
        spec = self.sidebar.spec()
        default = str(Path(self._last_dir()) / f"{spec.name}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save architecture spec", default,
                                              "Spec JSON (*.json)")
        if not path:
            return
        try:
            spec.save(path)
        except OSError as e:
            QMessageBox.warning(self, "Cannot save spec", f"{path}\n\n{e}")
            return
        self._remember_recent(path)
        self.statusBar().showMessage(f"Saved {path}", 4000)

    def export_dialog(self, kind: str) -> None:
        if self.architecture.summary is None:
            return
        name = self.architecture.summary.spec.name
        suffix = {"png": "graph.png", "svg": "graph.svg", "csv": "layers.csv",
                  "json": "summary.json"}[kind]
        path, _ = QFileDialog.getSaveFileName(self, f"Export {kind.upper()}",
                                              str(Path(self._last_dir()) / f"{name}-{suffix}"),
                                              f"{kind.upper()} (*.{kind})")
        if path:
            self.export(kind, path)

    def export(self, kind: str, path: str) -> bool:
        arch = self.architecture
        try:
            {"png": arch.graph.export_png, "svg": arch.graph.export_svg,
             "csv": arch.table.export_csv, "json": arch.table.export_json}[kind](path)
        except OSError as e:
            QMessageBox.warning(self, "Export failed", f"{path}\n\n{e}")
            return False
        self.settings.set_value("files/lastDir", str(Path(path).parent))
        self.statusBar().showMessage(f"Exported {path}", 4000)
        return True

    def _last_dir(self) -> str:
        return self.settings.text("files/lastDir", str(Path.home()))

    def recent_files(self) -> list[str]:
        return self.settings.string_list("files/recent")

    def _remember_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.settings.set_value("files/recent", recent[:MAX_RECENT])
        self.settings.set_value("files/lastDir", str(Path(path).parent))
        self._refresh_recent_menu()

    def _forget_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        self.settings.set_value("files/recent", [p for p in self.recent_files() if p != path])
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_spec(p))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent", self._clear_recent)
        self.recent_menu.setEnabled(bool(recent))

    def _clear_recent(self) -> None:
        self.settings.set_value("files/recent", [])
        self._refresh_recent_menu()

    # -- drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """Spec .json files open in the sidebar; everything else (images, folders, also files
        that turn out not to be images) goes to the Images tab, which says why it skips any."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        specs = [p for p in paths if p.lower().endswith(".json")]
        others = [p for p in paths if p not in specs]
        if specs:
            self.open_spec(specs[0])
        if others:
            from resnet_studio.core.images import IMAGE_EXTENSIONS

            self.show_tab("images").add_paths(others)
            # The first image file, ready to explain in the Attributions tab.
            self.attributions.add_paths([p for p in others if Path(p).is_file()
                                         and Path(p).suffix.lower() in IMAGE_EXTENSIONS])
        if paths:
            event.acceptProposedAction()

    # -- settings ---------------------------------------------------------------------------
    def _restore_settings(self, initial_model: str | None, initial_tab: str | None) -> None:
        saved = self.settings.value

        if not self.restoreGeometry(saved("window/geometry", b"")):
            self.resize(self._first_size())
        if not self.restoreState(saved("window/state", b"")):
            self.resizeDocks([self.findChild(QDockWidget, "modelDock")], [330],
                             Qt.Orientation.Horizontal)
        for key, splitter in (("window/archSplitter", self.architecture.splitter),
                              ("window/sidebarSplitter", self.sidebar.splitter)):
            if saved(key):
                splitter.restoreState(saved(key))
        self.sidebar.set_input_text(str(saved("model/input", "")))
        shown = False
        if initial_model:
            shown = self.sidebar.select_model(initial_model)
            if not shown:
                QTimer.singleShot(0, lambda: self.statusBar().showMessage(
                    f"Unknown model '{initial_model}'", 8000))
        if not shown and saved("model/spec"):
            try:
                self.sidebar.set_spec(ArchSpec.from_json(str(saved("model/spec"))))
                shown = True
            except ValueError:
                pass
        if not shown:
            self.sidebar.select_model("resnet56")
        self.tabs.select_title(str(initial_tab or saved("window/tab", "")))

    def _first_size(self) -> QSize:
        """1400x860, or nine tenths of a smaller screen (a 1280x720 laptop)."""
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is None:
            return QSize(1400, 860)
        return QSize(min(1400, int(screen.width() * 0.9)), min(860, int(screen.height() * 0.9)))

    def save_settings(self) -> None:
        s = self.settings
        s.set_value("window/geometry", self.saveGeometry())
        s.set_value("window/state", self.saveState())
        s.set_value("window/archSplitter", self.architecture.splitter.saveState())
        s.set_value("window/sidebarSplitter", self.sidebar.splitter.saveState())
        s.set_value("window/tab", self.tabs.tabText(self.tabs.currentIndex()))
        s.set_value("model/input", self.sidebar.input_edit.text())
        s.sync()

    def closeEvent(self, event) -> None:
        if not all(tab.confirm_close(self) for tab in self.tabs.built()):
            event.ignore()
            return
        self.save_settings()
        for tab in self.tabs.built():  # training stops with a checkpoint; no thread left running
            tab.shutdown()
        wait_for_background_work(30_000)
        super().closeEvent(event)
