"""A focus ring that can be seen: 2 px in the accent colour round the focused button, check
box, radio button or tool button, so that a read can be recorded by keyboard without losing
one's place (the platform's ring is a faint tint). Drawn by a proxy style rather than a
style sheet, which would replace the native drawing of every push button."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QApplication,
    QProxyStyle,
    QStyle,
    QStyleFactory,
    QStyleOption,
    QWidget,
)

#: the accent colour (also the active view's border)
ACCENT = QColor("#1e88e5")
RING_WIDTH = 2


def _ring(painter: QPainter, rect: QRect) -> None:
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(ACCENT, RING_WIDTH))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    half = RING_WIDTH / 2
    painter.drawRoundedRect(QRectF(rect).adjusted(half, half, -half, -half), 3, 3)
    painter.restore()


class FocusRingStyle(QProxyStyle):
    """The platform's style with :data:`ACCENT` focus rings of :data:`RING_WIDTH` px: round
    the label of a check box or radio button (the style's focus frame), round the whole of a
    push button (Fusion only tints its frame)."""

    def drawControl(  # noqa: N802 - Qt API
        self,
        element: QStyle.ControlElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        super().drawControl(element, option, painter, widget)
        if element == QStyle.ControlElement.CE_PushButton and (
            option.state & QStyle.StateFlag.State_HasFocus
        ):
            _ring(painter, option.rect)

    def drawPrimitive(  # noqa: N802 - Qt API
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        if element != QStyle.PrimitiveElement.PE_FrameFocusRect:
            super().drawPrimitive(element, option, painter, widget)
            return
        _ring(painter, option.rect)


def install_focus_ring() -> None:
    """Wrap the application's style (whatever the platform chose) in :class:`FocusRingStyle`
    (once; call after the QApplication exists)."""
    current = QApplication.style()
    if isinstance(current, FocusRingStyle):
        return
    base = QStyleFactory.create(current.name()) if current is not None else None
    QApplication.setStyle(FocusRingStyle(base) if base is not None else FocusRingStyle())
