"""Teaching: a quiz over a case set, with a presenter mode.

A case is shown (no file name, no DICOM patient tag: only "Case 3 of 12"); the learner
answers fracture / no fracture / unsure; then the truth, the teaching note, the fracture
boxes (drawn on the image) and — when a model is installed — the AI's verdict and heatmap
are revealed. The AI runs on each case in the background as it is shown, at the model's
threshold. The running score puts the learner's sensitivity and specificity beside the AI's
on the same cases (rules: :mod:`wristviewer.workflow.teaching`). Presenter mode: full screen,
large type.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPen
from PySide6.QtWidgets import (
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wristviewer.ai.card import ModelCard
from wristviewer.ai.results import StudyPrediction
from wristviewer.imaging import ClaheSettings, Radiograph, Study, apply_clahe
from wristviewer.ui.actions import QUIZ_KEYS, READ_KEYS
from wristviewer.ui.jobs import predict_job
from wristviewer.ui.view_panel import ViewPanel, display_rect
from wristviewer.ui.workers import Worker, WorkerPool
from wristviewer.viewer import ViewerState
from wristviewer.workflow.blind_read import Read
from wristviewer.workflow.teaching import CaseSet, QuizAnswer, QuizScore, score_text

if TYPE_CHECKING:  # torch loads in the AI worker only
    from wristviewer.ai.predictor import Predictor

log = logging.getLogger(__name__)

PRESENTER_STYLE = "QLabel, QPushButton { font-size: 24px; }"
BOX_COLOUR = QColor(255, 40, 40)


def load_case_job(path: Path, clahe: ClaheSettings) -> tuple[Radiograph, Any]:
    """Read one case image and its CLAHE view (worker)."""
    from wristviewer.imaging import read

    radiograph = read(path)
    return radiograph, apply_clahe(radiograph.pixels, clahe, radiograph.bits_stored)


def _wrapped(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class TeachingWindow(QMainWindow):
    """The quiz over ``case_set``. ``model_spec`` (e.g. "densenet161") enables the AI.

    Signals: ``case_shown(int)``, ``revealed(int)``, ``ai_ready(int)``.
    """

    case_shown = Signal(int)
    revealed = Signal(int)
    ai_ready = Signal(int)

    def __init__(
        self,
        case_set: CaseSet,
        model_spec: str | None = None,
        device: str = "auto",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.case_set = case_set
        self.model_spec = model_spec
        self.device = device
        self.score = QuizScore()
        self.index = -1
        self.answers: dict[int, Read] = {}
        self.ai_results: dict[int, StudyPrediction] = {}  # case index -> the AI's result
        self.panel: ViewPanel | None = None
        self.radiograph: Radiograph | None = None
        self.presenter = False
        self._state = ViewerState()
        self._workers = WorkerPool()
        self._box_items: list[QGraphicsRectItem] = []
        self._ai_busy: set[int] = set()

        self.setWindowTitle(f"Teaching quiz — {len(case_set.cases)} cases")  # no folder name
        self.resize(1100, 850)
        self.setCentralWidget(self._build_central())
        self._add_shortcuts()
        if case_set.cases:
            self.show_case(0)

    def _build_central(self) -> QWidget:
        self.case_label = QLabel("")
        self.case_label.setStyleSheet("font-weight: bold;")
        self.image_host = QVBoxLayout()
        self.answer_buttons: dict[Read, QPushButton] = {}
        answers = QHBoxLayout()
        for read, key in READ_KEYS.items():
            button = QPushButton(f"{read.label} ({key})")
            button.clicked.connect(lambda _=False, r=read: self.answer(r))
            self.answer_buttons[read] = button
            answers.addWidget(button)
        self.truth_label = _wrapped()
        self.ai_label = _wrapped()
        self.note_label = _wrapped()
        self.score_label = _wrapped(score_text(self.score))
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.case_label)
        layout.addLayout(self.image_host, 1)
        layout.addLayout(answers)
        for label in (self.truth_label, self.note_label, self.ai_label, self.score_label):
            layout.addWidget(label)
        layout.addLayout(self._build_nav())
        return central

    def _build_nav(self) -> QHBoxLayout:
        nav = QHBoxLayout()
        self.prev_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.presenter_button = QPushButton("Presenter mode (F11)")
        self.prev_button.clicked.connect(lambda: self.show_case(self.index - 1))
        self.next_button.clicked.connect(lambda: self.show_case(self.index + 1))
        self.presenter_button.clicked.connect(self.toggle_presenter)
        nav.addWidget(self.prev_button)
        nav.addWidget(self.next_button)
        nav.addStretch(1)
        nav.addWidget(self.presenter_button)
        return nav

    def _add_shortcuts(self) -> None:
        """The keys of :data:`~wristviewer.ui.actions.QUIZ_KEYS`: Shift+F / Shift+N / Shift+U
        answer, as they tick the read in the viewer window; N, P and F are next, previous
        and fit there and here."""
        slots: dict[str, Any] = {
            **{str(read): (lambda r=read: self.answer(r)) for read in READ_KEYS},
            "next": lambda: self.show_case(self.index + 1),
            "previous": lambda: self.show_case(self.index - 1),
            "fit": lambda: self.panel.fit() if self.panel is not None else None,
            "presenter": self.toggle_presenter,
        }
        self.quiz_actions: dict[str, QAction] = {}
        for name, (text, keys) in QUIZ_KEYS.items():
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(lambda _=False, f=slots[name]: f())
            self.addAction(action)
            self.quiz_actions[name] = action

    # navigation ---------------------------------------------------------------------------
    def show_case(self, index: int) -> Worker | None:
        """Show case ``index`` (clamped), hidden truth unless already answered."""
        if not self.case_set.cases:
            return None
        index = max(0, min(index, len(self.case_set.cases) - 1))
        self.index = index
        self.case_label.setText(f"Case {index + 1} of {len(self.case_set.cases)}")
        for label in (self.truth_label, self.note_label, self.ai_label):
            label.setText("")
        for button in self.answer_buttons.values():
            button.setEnabled(index not in self.answers)
        self.prev_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < len(self.case_set.cases) - 1)
        case = self.case_set.cases[index]
        return self._workers.submit(
            load_case_job,
            case.image,
            self._state.clahe,
            _connect={
                "returned": lambda result, i=index: self._on_case_loaded(i, result),
                "errored": lambda exc: self.truth_label.setText(
                    f"This case could not be opened: {exc}"
                ),
            },
        )

    def _on_case_loaded(self, index: int, result: tuple[Radiograph, Any]) -> None:
        if index != self.index:
            return
        radiograph, enhanced = result
        self.radiograph = radiograph
        if self.panel is not None:
            self._release_panel()
            self.image_host.removeWidget(self.panel)
            self.panel.deleteLater()
        self._box_items = []
        panel = ViewPanel(self._state, radiograph)
        panel.set_enhanced(enhanced)
        panel.footer_label.hide()  # names files, and file names may identify patients
        panel.setToolTip("")
        self.panel = panel
        panel.display.changed.connect(self._redraw_boxes)  # boxes follow rotate / flip
        self.image_host.addWidget(panel)
        if index in self.answers:
            self._reveal(index)
        self.case_shown.emit(index)
        self._run_ai(index, radiograph)

    # answering ----------------------------------------------------------------------------
    def answer(self, read: Read) -> None:
        """The learner's answer to the current case; reveals the truth, boxes and AI."""
        if self.index < 0 or self.index in self.answers:
            return
        self.answers[self.index] = read
        for button in self.answer_buttons.values():
            button.setEnabled(False)
        self._record(self.index)
        self._reveal(self.index)

    def _record(self, index: int) -> None:
        read = self.answers.get(index)
        if read is None:
            return
        ai = self.ai_results.get(index)
        self.score.record(
            QuizAnswer(
                case_index=index,
                learner=read,
                ai_suspected=None if ai is None else bool(ai.suspected),
                truth=self.case_set.cases[index].fractured,
            )
        )
        self.score_label.setText(score_text(self.score))

    def _reveal(self, index: int) -> None:
        case = self.case_set.cases[index]
        read = self.answers[index]
        right = read is not Read.UNSURE and read is case.truth
        verdict = "unsure" if read is Read.UNSURE else ("correct" if right else "wrong")
        self.truth_label.setText(
            f"Truth: <b>{case.truth.label}</b> — your answer: {read.label} ({verdict})"
        )
        self.note_label.setText(case.note)
        self._draw_boxes(index)
        self._show_ai(index)
        self.revealed.emit(index)

    def _draw_boxes(self, index: int) -> None:
        if self.panel is None or self.radiograph is None:
            return
        for item in self._box_items:
            self.panel.view_box.removeItem(item)
        self._box_items = []
        pen = QPen(BOX_COLOUR)
        pen.setWidth(3)
        pen.setCosmetic(True)
        rows, cols = self.radiograph.rows, self.radiograph.cols
        for box in self.case_set.cases[index].boxes:
            shown = display_rect(box.to_pixels(cols, rows), rows, cols, self.panel.display)
            item = QGraphicsRectItem(QRectF(*shown))
            item.setPen(pen)
            item.setZValue(20)
            self.panel.view_box.addItem(item)
            self._box_items.append(item)

    def _redraw_boxes(self) -> None:
        if self._box_items:
            self._draw_boxes(self.index)

    @property
    def box_items(self) -> list[QGraphicsRectItem]:
        return list(self._box_items)

    # AI -----------------------------------------------------------------------------------
    def _run_ai(self, index: int, radiograph: Radiograph) -> None:
        if not self.model_spec or index in self.ai_results or index in self._ai_busy:
            return
        self._ai_busy.add(index)
        study = Study(id=f"case-{index}", views=[radiograph])
        self._workers.submit(
            predict_job,
            self.model_spec,
            self.device,
            study,
            _controls=True,
            _connect={
                "returned": lambda result, i=index: self._on_ai(i, result),
                "errored": lambda exc: self.ai_label.setText(f"The AI could not run: {exc}"),
                "finished": lambda i=index: self._ai_busy.discard(i),
            },
        )

    def _on_ai(
        self, index: int, result: tuple[Predictor, list[ModelCard], StudyPrediction]
    ) -> None:
        _predictor, _cards, prediction = result
        self.ai_results[index] = prediction
        if index in self.answers:
            self._record(index)  # the AI answered after the learner: count the pair now
            if index == self.index:
                self._show_ai(index)
        self.ai_ready.emit(index)

    def _show_ai(self, index: int) -> None:
        prediction = self.ai_results.get(index)
        if prediction is None:
            self.ai_label.setText(
                "AI: no model installed." if not self.model_spec else "AI: still analysing…"
            )
            return
        verdict = "fracture" if prediction.suspected else "no fracture"
        untrained = " — UNTRAINED MODEL, random result" if prediction.untrained else ""
        self.ai_label.setText(
            f"AI: <b>{verdict}</b> (probability {prediction.fracture_probability:.2f}, "
            f"threshold {prediction.threshold:.2f}){untrained}"
        )
        if self.panel is not None and prediction.views:
            vp = prediction.views[0]
            self.panel.set_prediction(vp.fracture_probability, prediction.threshold, vp.heatmap)

    # presenter mode -----------------------------------------------------------------------
    def toggle_presenter(self) -> None:
        """Full screen with large type (and, as always here, no file names or patient tags)."""
        self.presenter = not self.presenter
        central = self.centralWidget()
        if central is not None:
            central.setStyleSheet(PRESENTER_STYLE if self.presenter else "")
        if self.presenter:
            self.showFullScreen()
        else:
            self.showNormal()

    def visible_texts(self) -> list[str]:
        """Every text the window shows now (tests check that no file name appears)."""
        texts = [self.windowTitle()]
        for label in self.findChildren(QLabel):
            if label.isVisibleTo(self):
                texts.append(label.text())
        return texts

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self._workers.cancel_all()
        self._workers.wait_all(10.0)
        if self.panel is not None:
            self._release_panel()
        super().closeEvent(event)

    def _release_panel(self) -> None:
        """Disconnect the current panel (and its boxes) from the shared display state."""
        assert self.panel is not None
        self.panel.display.changed.disconnect(self._redraw_boxes)
        self.panel.detach()
