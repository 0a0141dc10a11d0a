"""Report figures drawn with OpenCV (no matplotlib): ROC curves, reliability diagram, confusion matrix.

Each function returns a uint8 BGR image (rows, cols, 3) and :func:`save_png` writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (170, 170, 170)
#: Curve colours (BGR): blue, orange, green, red.
COLOURS = ((180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214))
#: Operating-point marker colours (BGR): red, purple, brown.
POINT_COLOURS = ((40, 39, 214), (189, 103, 148), (75, 86, 140))
FONT = cv2.FONT_HERSHEY_SIMPLEX


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write ``image`` as PNG; raises OSError naming the file when OpenCV cannot."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"{path}: OpenCV could not write the PNG")
    return path


class _Axes:
    """A unit square plot area on a white canvas: data (x, y) in 0..1 -> pixels."""

    def __init__(
        self, size: int = 520, margin: int = 60, title: str = "", xlabel: str = "", ylabel: str = ""
    ) -> None:
        self.img = np.full((size, size, 3), 255, np.uint8)
        self.m = margin
        self.w = size - 2 * margin
        cv2.rectangle(self.img, self.px(0, 0), self.px(1, 1), BLACK, 1)
        for t in np.linspace(0, 1, 6):
            x0, y0 = self.px(t, 0)
            cv2.line(self.img, (x0, y0), (x0, y0 + 5), BLACK, 1)
            cv2.putText(self.img, f"{t:.1f}", (x0 - 12, y0 + 20), FONT, 0.4, BLACK, 1, cv2.LINE_AA)
            x1, y1 = self.px(0, t)
            cv2.line(self.img, (x1 - 5, y1), (x1, y1), BLACK, 1)
            cv2.putText(self.img, f"{t:.1f}", (x1 - 32, y1 + 4), FONT, 0.4, BLACK, 1, cv2.LINE_AA)
        cv2.putText(self.img, title, (margin, margin - 20), FONT, 0.55, BLACK, 1, cv2.LINE_AA)
        cv2.putText(
            self.img,
            xlabel,
            (margin + self.w // 2 - 60, size - 15),
            FONT,
            0.45,
            BLACK,
            1,
            cv2.LINE_AA,
        )
        ylab = np.full((20, self.w, 3), 255, np.uint8)
        cv2.putText(ylab, ylabel, (self.w // 2 - 60, 15), FONT, 0.45, BLACK, 1, cv2.LINE_AA)
        rot = cv2.rotate(ylab, cv2.ROTATE_90_COUNTERCLOCKWISE)
        self.img[margin : margin + self.w, 4:24] = rot

    def px(self, x: float, y: float) -> tuple[int, int]:
        return (int(round(self.m + x * self.w)), int(round(self.m + (1 - y) * self.w)))

    def polyline(
        self,
        xs: Sequence[float],
        ys: Sequence[float],
        colour: tuple[int, int, int],
        thickness: int = 2,
    ) -> None:
        pts = np.array([self.px(x, y) for x, y in zip(xs, ys, strict=True)], np.int32).reshape(
            -1, 1, 2
        )
        cv2.polylines(self.img, [pts], False, colour, thickness, cv2.LINE_AA)

    def legend(self, lines: Sequence[tuple[str, tuple[int, int, int]]]) -> None:
        for i, (text, colour) in enumerate(lines):
            x, y = self.px(0.30, 0.05 + 0.06 * (len(lines) - 1 - i))
            cv2.line(self.img, (x, y - 4), (x + 20, y - 4), colour, 3)
            cv2.putText(self.img, text, (x + 26, y), FONT, 0.42, BLACK, 1, cv2.LINE_AA)


def roc_figure(
    curves: Sequence[tuple[str, np.ndarray, np.ndarray]],
    points: Sequence[tuple[str, float, float]] = (),
    title: str = "ROC curve",
) -> np.ndarray:
    """ROC curves ``(label, fpr, tpr)`` plus marked operating points ``(label, fpr, tpr)``."""
    ax = _Axes(title=title, xlabel="1 - specificity", ylabel="sensitivity")
    ax.polyline([0, 1], [0, 1], GREY, 1)
    legend = []
    for i, (label, fpr, tpr) in enumerate(curves):
        colour = COLOURS[i % len(COLOURS)]
        ax.polyline(list(fpr), list(tpr), colour)
        legend.append((label, colour))
    for k, (label, x, y) in enumerate(points):
        colour = POINT_COLOURS[k % len(POINT_COLOURS)]
        cv2.circle(ax.img, ax.px(x, y), 6 - k, colour, -1, cv2.LINE_AA)
        legend.append((f"{label} ({1 - x:.2f} spec, {y:.2f} sens)", colour))
    ax.legend(legend)
    return ax.img


def reliability_figure(bins: Sequence[object], title: str = "Reliability diagram") -> np.ndarray:
    """Observed fracture rate per probability bin (bars) against the diagonal.

    ``bins``: :class:`training.stats.ReliabilityBin` items; empty bins are left blank.
    """
    ax = _Axes(title=title, xlabel="predicted probability", ylabel="observed fracture rate")
    total = sum(b.count for b in bins) or 1
    for b in bins:
        if not b.count:  # type: ignore[attr-defined]
            continue
        x0, y0 = ax.px(b.lower, b.observed_rate)  # type: ignore[attr-defined]
        x1, y1 = ax.px(b.upper, 0.0)  # type: ignore[attr-defined]
        cv2.rectangle(ax.img, (x0 + 1, y0), (x1 - 1, y1), COLOURS[0], -1)
        cv2.rectangle(ax.img, (x0 + 1, y0), (x1 - 1, y1), BLACK, 1)
        share = b.count / total  # type: ignore[attr-defined]
        cv2.putText(ax.img, f"{share:.0%}", (x0 + 3, y1 - 4), FONT, 0.3, WHITE, 1, cv2.LINE_AA)
    ax.polyline([0, 1], [0, 1], COLOURS[3], 1)
    return ax.img


def confusion_figure(
    tp: int, fp: int, tn: int, fn: int, title: str = "Confusion matrix"
) -> np.ndarray:
    """2x2 counts: rows = truth (fracture, none), columns = prediction; darker = more cases."""
    size, m = 420, 90
    img = np.full((size, size, 3), 255, np.uint8)
    cells = ((tp, fn), (fp, tn))
    total = max(tp + fp + tn + fn, 1)
    w = (size - m - 20) // 2
    for r in range(2):
        for c in range(2):
            v = cells[r][c]
            shade = int(255 - 180 * v / total)
            x, y = m + c * w, m + r * w
            cv2.rectangle(img, (x, y), (x + w, y + w), (255, shade, shade), -1)
            cv2.rectangle(img, (x, y), (x + w, y + w), BLACK, 1)
            colour = WHITE if shade < 140 else BLACK
            cv2.putText(
                img,
                str(v),
                (x + w // 2 - 12 * len(str(v)) // 2, y + w // 2 + 8),
                FONT,
                0.8,
                colour,
                2,
                cv2.LINE_AA,
            )
    cv2.putText(img, title, (10, 25), FONT, 0.55, BLACK, 1, cv2.LINE_AA)
    cv2.putText(
        img, "predicted: fracture   none", (m + 5, m - 10), FONT, 0.45, BLACK, 1, cv2.LINE_AA
    )
    cv2.putText(img, "fracture", (8, m + w // 2), FONT, 0.45, BLACK, 1, cv2.LINE_AA)
    cv2.putText(img, "none", (8, m + w + w // 2), FONT, 0.45, BLACK, 1, cv2.LINE_AA)
    return img


def caption(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` (BGR) with a white strip of text below it."""
    strip = np.full((28, image.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, text, (4, 19), FONT, 0.45, BLACK, 1, cv2.LINE_AA)
    return np.vstack([image, strip])
