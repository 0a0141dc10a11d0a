"""What the status bar says: a message, the last error as a sentence, whether work is going."""

from __future__ import annotations

import logging

from wristviewer.viewer.events import Event

log = logging.getLogger(__name__)


class Status:
    """Status message, errors and busy, as events.

    Events: ``message_changed(text)``, ``error_reported(sentence)`` (after ``message_changed``
    with the same sentence), ``busy_changed(busy)``.
    """

    def __init__(self) -> None:
        self.message = "Ready"
        self.last_error: str | None = None
        self.busy = False
        self.message_changed = Event()
        self.error_reported = Event()
        self.busy_changed = Event()

    def show(self, message: str) -> None:
        """Say ``message`` in the status bar."""
        self.message = message
        self.message_changed.emit(message)

    def report_error(self, what: str, exc: BaseException) -> str:
        """Say "what: exc" and keep it as :attr:`last_error`; returns the sentence.

        Only the type is logged: messages name files, and file names may name patients.
        """
        sentence = f"{what}: {exc}"
        self.last_error = sentence
        log.error("%s (%s)", what, type(exc).__name__)
        self.show(sentence)
        self.error_reported.emit(sentence)
        return sentence

    def set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busy_changed.emit(busy)
