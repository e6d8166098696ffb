"""During training: the `grad/<block>` metrics a `GradientLogger` wrote into the run store, as
a block × step heatmap (log10) per run, two runs side by side on one colour scale, and lines
for chosen blocks; read again on a timer while a shown run is running.

Threading: listing the runs (`list_gradient_runs`, a `Job`) and loading the chosen ones
(`load_gradient_runs`, a `LatestJob`: a newer choice supersedes) run in the thread pool, each
with its own connection to the store; their signals arrive on the GUI thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.gradients import list_gradient_runs, load_gradient_runs
from resnet_studio.qt.kit.job import Job, LatestJob
from resnet_studio.qt.kit.palette import ERROR, MUTED
from resnet_studio.qt.tabs.gradients.heatmaps import GradientHeatmaps
from resnet_studio.qt.tabs.gradients.view import GradientsView

if TYPE_CHECKING:
    from resnet_studio.app.gradients import GradientsState, RunGradients, RunListing

REFRESH_MS = 2000
NO_RUNS = (f"<span style='color:{MUTED}'>No runs in the store yet. Train a model (Train tab) with "
           "gradient logging to see its per-block gradient norms here.</span>")


def _run_combo(tip: str) -> QComboBox:
    combo = QComboBox(minimumContentsLength=28, toolTip=tip)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    return combo


class TrainingView(GradientsView):
    """Two run pickers, the heatmaps and the list of blocks drawn as lines."""

    def __init__(self, store_path: str | None, state: GradientsState,
                 parent: QWidget | None = None):
        super().__init__(state, parent)
        self.store_path = store_path
        self.run_a = _run_combo("A run recorded with gradient logging")
        self.run_b = _run_combo("A second run beside the first, on the same colour scale")
        self.refresh_button = QPushButton("Refresh",
                                          toolTip="Read the run list and the chosen runs again")
        row = QHBoxLayout()
        row.addWidget(QLabel("Run:"))
        row.addWidget(self.run_a, 1)
        row.addWidget(QLabel("beside:"))
        row.addWidget(self.run_b, 1)
        row.addWidget(self.refresh_button)
        self.message = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.heatmaps = self.figure = GradientHeatmaps()
        self.block_list = QListWidget(toolTip="Blocks drawn as lines under the heatmaps")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("Lines for:"))
        side_layout.addWidget(self.block_list, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.heatmaps)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setSizes([1000, 150])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

        self.list_job = Job(self, title="Gradients: listing stored runs")
        self.list_job.succeeded.connect(self._listed)
        self.load_job = LatestJob(self, title="Gradients: reading stored gradient norms")
        self.load_job.succeeded.connect(self._loaded)
        self.jobs = (self.list_job, self.load_job)
        self._wanted: tuple[str, str | None] | None = None  # runs to show once listed
        for job in self.jobs:
            job.failed.connect(self._failed)
            job.runningChanged.connect(self._running)
        self.refresh_timer = QTimer(self, interval=REFRESH_MS)
        self.refresh_timer.timeout.connect(self.load_chosen)
        self.refresh_button.clicked.connect(self.refresh_runs)
        self.run_a.currentIndexChanged.connect(self.load_chosen)
        self.run_b.currentIndexChanged.connect(self.load_chosen)
        self.block_list.itemChanged.connect(
            lambda _item: self.heatmaps.draw_lines(self.selected_blocks()))

    # -- shown or not --------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self.refresh_runs()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().hideEvent(event)
        self.refresh_timer.stop()  # nobody is looking; showing the view reads the runs again

    def stop(self) -> None:
        self.refresh_timer.stop()
        super().stop()

    def _running(self, _on: bool) -> None:
        self._set_running("runs", self.list_job.is_running() or self.load_job.is_running())

    # -- the run list --------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """Read the run list again (in the background), then the chosen runs."""
        self.list_job.start(list_gradient_runs, self.store_path)  # (no-op while listing)

    def use_run(self, run_id: str, twin_run_id: str | None = None) -> None:
        """Show this run, and its twin's beside it ("Use in…"), once the list is read again."""
        self._wanted = (run_id, twin_run_id)
        self.refresh_runs()

    def _listed(self, listing: list[RunListing]) -> None:
        self.state.listing = listing
        keep_a, keep_b = self._wanted or (self.run_a.currentData(), self.run_b.currentData())
        self._wanted = None
        for combo in (self.run_a, self.run_b):
            combo.blockSignals(True)
            combo.clear()
        self.run_b.addItem("(none)", None)
        for row in listing:
            rec = row.record
            label = f"{rec.name} · {rec.status} · step {rec.step:,}/{rec.total_steps:,}"
            if not row.has_gradients:
                label += " · no gradients logged"
            for combo in (self.run_a, self.run_b):
                combo.addItem(label, rec.id)
        if not listing:
            self.run_a.addItem("(no runs yet)", None)
        with_grads = [row.record.id for row in listing if row.has_gradients]
        ia = self.run_a.findData(keep_a) if keep_a else -1
        if ia < 0 and with_grads:
            ia = self.run_a.findData(with_grads[0])
        self.run_a.setCurrentIndex(max(ia, 0))
        ib = self.run_b.findData(keep_b) if keep_b else -1
        self.run_b.setCurrentIndex(max(ib, 0))
        for combo in (self.run_a, self.run_b):
            combo.blockSignals(False)
        self.load_chosen()

    def chosen_run_ids(self) -> list[str]:
        out: list[str] = []
        for rid in (self.run_a.currentData(), self.run_b.currentData()):
            if rid and rid not in out:
                out.append(rid)
        return out

    # -- the chosen runs -----------------------------------------------------------------------
    def load_chosen(self) -> None:
        ids = self.chosen_run_ids()
        if ids:
            self.load_job.start(load_gradient_runs, self.store_path, ids)
            return
        self.refresh_timer.stop()
        self.state.runs_shown = []
        self.heatmaps.show_runs([], [])
        self.message.setText(NO_RUNS)

    def _failed(self, text: str) -> None:
        self.refresh_timer.stop()
        self.state.runs_error = text
        self.message.setText(f"<span style='color:{ERROR}'>Could not read the run store: "
                             f"{text}</span>")
        self.statusMessage.emit(f"Gradients: could not read the run store ({text})")

    def _loaded(self, runs: list[RunGradients]) -> None:
        self.state.runs_shown, self.state.runs_error = runs, ""
        names: list[str] = []
        for r in runs:
            names += [n for n in r.history.block_names if n not in names]
        self._fill_block_list(names)
        shown = [(f"{r.record.name} ({r.record.status})", r.history if len(r.history) else None)
                 for r in runs]
        self.heatmaps.show_runs(shown, self.selected_blocks(),
                                caption="log10 of each block's gradient norm, every record; "
                                        "both runs on one colour scale")
        notes = []
        for r in runs:
            h = r.history
            if len(h):
                notes.append(f"<b>{r.record.name}</b>: {len(h.block_names)} blocks × "
                             f"{len(h):,} records (steps {int(h.steps[0]):,}–"
                             f"{int(h.steps[-1]):,}), {r.record.status}")
            else:
                notes.append(f"<b>{r.record.name}</b>: no gradient norms recorded (it was "
                             "trained without gradient logging)")
        self.message.setText(" · ".join(notes))
        if not any(r.record.status == "running" for r in runs):
            self.refresh_timer.stop()
        elif not self.refresh_timer.isActive():
            self.refresh_timer.start()

    def _fill_block_list(self, names: list[str]) -> None:
        current = [self.block_list.item(i).text() for i in range(self.block_list.count())]
        if current == names:
            return
        checked = set(self.selected_blocks())
        if not checked & set(names):  # by default the first and the last block
            blocks = [n for n in names if n not in ("stem", "head")]
            checked = {blocks[0], blocks[-1]} if blocks else set(names[:1])
        self.block_list.blockSignals(True)
        self.block_list.clear()
        for n in names:
            item = QListWidgetItem(n)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if n in checked else Qt.CheckState.Unchecked)
            self.block_list.addItem(item)
        self.block_list.blockSignals(False)

    def selected_blocks(self) -> list[str]:
        return [self.block_list.item(i).text() for i in range(self.block_list.count())
                if self.block_list.item(i).checkState() == Qt.CheckState.Checked]
