"""The sanity check (Adebayo et al. 2018) in the main area: the cascade as maps (the original,
then the map after each randomisation step from the head down, each with its rank correlation
with the original), a compact table of the numbers and the verdict."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from resnet_studio.app.attribution_export import Display, render_map
from resnet_studio.core.analysis.attribution_names import method_label
from resnet_studio.qt.kit.palette import ERROR, OK
from resnet_studio.qt.tabs.attributions.grid import pixels

MAP, MIN_MAP = 200, 96  # shown size of one map of the cascade: at most, at least
PLACEHOLDER = ("Sanity check: press Sanity check to randomise the model from the head down "
               "and see whether the first ticked method's map changes.")


def sanity_html(report) -> tuple[str, str]:
    """`report`: a core.analysis.attribution_sanity.SanityReport: the verdict, and a table
    two rows high (the step, the rank correlation) whatever the number of steps."""
    cells = "".join(f"<td align='right'>&nbsp;{html.escape(st.randomized)}</td>"
                    for st in report.steps)
    values = "".join(f"<td align='right'>&nbsp;{st.spearman_abs:+.2f}</td>" for st in report.steps)
    verdict = (f"<b style='color:{ERROR}'>flagged</b>: the map barely changes when the weights "
               "are random" if report.flagged else
               f"<b style='color:{OK}'>passed</b>: the map depends on the weights")
    return (f"{verdict} (Spearman ρ of |map| with the original's; flagged above "
            f"{report.threshold:.1f} once half the net is random)",
            f"<table cellspacing='0'><tr><td>randomised down to</td>{cells}</tr>"
            f"<tr><td>ρ</td>{values}</tr></table>")


def step_captions(report) -> list[str]:
    """The caption above each map of the cascade: the original, then each step."""
    return ["original"] + [f"down to {st.randomized}<br>ρ = {st.spearman_abs:+.2f}"
                           for st in report.steps]


class SanityView(QScrollArea):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        host = QWidget()
        self.title = QLabel(PLACEHOLDER, wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.maps_host = QWidget()
        self._maps = QGridLayout(self.maps_host)
        self._maps.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.verdict = QLabel("", wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.table = QLabel("", textFormat=Qt.TextFormat.RichText)
        layout = QVBoxLayout(host)
        for w in (self.title, self.verdict, self.table):
            layout.addWidget(w)
        layout.addWidget(self.maps_host)
        layout.addStretch(1)
        self.setWidget(host)
        self.pictures: list[QLabel] = []
        self.captions: list[QLabel] = []
        self._cascade = None
        self._display = Display()

    def show_cascade(self, cascade, display: Display | None = None) -> None:
        """`cascade`: an app.attribution.SanityCascade, or None to clear."""
        for w in self.pictures + self.captions:
            self._maps.removeWidget(w)
            w.deleteLater()
        self.pictures, self.captions = [], []
        self._cascade = cascade
        if cascade is None:
            self.title.setText(PLACEHOLDER)
            self.verdict.setText("")
            self.table.setText("")
            return
        r = cascade.report
        self.title.setText(f"<b>{html.escape(cascade.title)}</b> · class {r.target} "
                           f"({html.escape(cascade.target_label)}) · "
                           f"{html.escape(method_label(r.method, r.noise_tunnel))}")
        verdict, table = sanity_html(r)
        self.verdict.setText(verdict)
        self.table.setText(table)
        for text in step_captions(r)[:len(r.maps)]:
            self.captions.append(QLabel(text, textFormat=Qt.TextFormat.RichText))
            self.pictures.append(QLabel())
        self._place()
        self.redraw(display or Display())

    def _place(self) -> None:
        """The maps in as few rows as the width allows (at most two where they fit at
        MIN_MAP), each as large as that leaves room for, up to MAP."""
        n = len(self.pictures)
        if not n:
            return
        width = self.viewport().width() - 24
        columns = max(1, min(n, width // (MIN_MAP + 8)))
        columns = max(columns, min(n, -(-n // 2))) if width // (MIN_MAP + 8) >= -(-n // 2) \
            else columns
        side = max(MIN_MAP, min(MAP, width // columns - 8))
        for i, (caption, picture) in enumerate(zip(self.captions, self.pictures)):
            picture.setFixedSize(side, side)
            self._maps.addWidget(caption, 2 * (i // columns), i % columns)
            self._maps.addWidget(picture, 2 * (i // columns) + 1, i % columns)
        self._side = side

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.pictures:
            self._place()
            self.redraw(self._display)

    def redraw(self, display: Display) -> None:
        self._display = display
        if self._cascade is None:
            return
        for picture, amap in zip(self.pictures, self._cascade.report.maps):
            picture.setPixmap(pixels(render_map(amap, self._cascade.image, display),
                                     picture.width()))

    def caption_texts(self) -> list[str]:
        return [c.text() for c in self.captions]
