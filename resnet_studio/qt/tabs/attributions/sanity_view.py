"""The sanity check's table: the rank correlation of the map with the original after each
randomisation step, and the verdict (Adebayo et al. 2018)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from resnet_studio.core.analysis.attribution_names import method_label
from resnet_studio.qt.kit.palette import ERROR, OK


def sanity_html(report) -> str:
    """`report`: a core.analysis.attribution_sanity.SanityReport."""
    rows = "".join(f"<tr><td>{html.escape(st.randomized)}</td>"
                   f"<td align='right'>{st.spearman_abs:+.2f}</td></tr>" for st in report.steps)
    verdict = (f"<b style='color:{ERROR}'>flagged</b>: the map barely changes when the weights "
               "are random" if report.flagged else
               f"<b style='color:{OK}'>passed</b>: the map depends on the weights")
    return (f"<b>Sanity check, {html.escape(method_label(report.method))}</b> (Spearman of |map| "
            f"with the original, randomised from the head down)<table>{rows}</table>{verdict}")


class SanityView(QLabel):
    def __init__(self, parent=None):
        super().__init__("", parent, wordWrap=True, textFormat=Qt.TextFormat.RichText)

    def show_report(self, report) -> None:
        self.setText(sanity_html(report) if report is not None else "")
