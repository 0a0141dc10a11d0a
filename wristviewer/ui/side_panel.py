"""The column beside the views: contrast (CLAHE), your read, and the AI second opinion."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QScrollArea, QStyle, QVBoxLayout, QWidget

from wristviewer.ui.enhance_panel import ClahePanel
from wristviewer.ui.read_panel import ReadPanel
from wristviewer.ui.results_panel import ResultsPanel
from wristviewer.ui.second_opinion import SecondOpinionController
from wristviewer.viewer import ViewerState


class SidePanel(QScrollArea):
    """The three side panels stacked, scrolling vertically when the window is short.

    As narrow as its panels allow (never cut on the right), so that the window fits a
    1024 px wide screen with an AI result showing."""

    def __init__(
        self,
        state: ViewerState,
        second_opinion: SecondOpinionController,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.clahe_panel = ClahePanel(state)
        self.results_panel = ResultsPanel(state)
        self.read_panel = ReadPanel(second_opinion)
        side = QWidget()
        layout = QVBoxLayout(side)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.clahe_panel)
        layout.addWidget(self.read_panel)
        layout.addWidget(self.results_panel)
        layout.addStretch(1)
        self.setWidget(side)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """The panels' own minimum width, plus room for the vertical scroll bar."""
        hint = super().minimumSizeHint()
        inner = self.widget()
        if inner is None:
            return hint
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        width = inner.minimumSizeHint().width() + scroll_bar + 2 * self.frameWidth()
        return QSize(max(hint.width(), width), hint.height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        hint = super().sizeHint()
        return QSize(max(hint.width(), self.minimumSizeHint().width(), 340), hint.height())
