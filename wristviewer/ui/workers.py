"""Background workers in the manner of superqt's ``thread_worker``.

A :class:`Worker` is a QRunnable with a :class:`WorkerSignals` object. The job is either

* a generator function: each ``yield`` reports progress (a float in 0..1) or the stage it
  has reached (a ``str``), and is a point where a cancel request takes effect; its
  ``return`` value is the result; or
* a plain function called with ``progress=`` and ``cancelled=`` keyword callables when
  ``controls=True`` (for code such as ``Predictor.predict_study`` that takes them);
  ``progress`` takes a fraction or a stage name, as a yield does.

A fraction goes out through ``progress``, a stage name through ``stage``.

Exceptions travel through ``errored`` (never swallowed); a cancelled job emits ``cancelled``
instead of ``returned``. ``finished`` always comes last.

:func:`create_worker` makes a worker and wires its signals in one call, and
:meth:`WorkerPool.submit` starts it too (superqt's ``create_worker(_connect=...)`` shape).
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a job (or by the worker) when a cancel request takes effect."""


class WorkerSignals(QObject):
    """Signals of one worker; emitted from the pool thread, delivered in the GUI thread."""

    started = Signal()
    progress = Signal(float)
    stage = Signal(str)
    returned = Signal(object)
    errored = Signal(object)
    cancelled = Signal()
    finished = Signal()


class Worker(QRunnable):
    """Runs ``fn(*args, **kwargs)`` on a QThreadPool thread; see the module docstring."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        controls: bool = False,
        cancel_exceptions: tuple[type[BaseException], ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = WorkerSignals()
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._controls = controls
        self._cancel_exceptions: tuple[type[BaseException], ...] = (
            JobCancelled,
            *cancel_exceptions,
        )
        self._cancel_event = threading.Event()
        self._done = threading.Event()
        self.name = getattr(fn, "__name__", "job")

    # controls usable from the job's thread --------------------------------------------------
    def is_cancelled(self) -> bool:
        return self._cancel_event.is_set()

    def report_progress(self, value: float | str) -> None:
        """A fraction done (0..1) through ``progress``, or a stage name through ``stage``."""
        if isinstance(value, str):
            self.signals.stage.emit(value)
        else:
            self.signals.progress.emit(float(value))

    # from the GUI thread --------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the job to stop at its next yield (or its next ``cancelled()`` check)."""
        self._cancel_event.set()

    @property
    def is_done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job ends (tests and shutdown only). True when it ended."""
        return self._done.wait(timeout_s)

    def run(self) -> None:  # noqa: D401 - QRunnable API
        signals = self.signals
        signals.started.emit()
        try:
            kwargs = dict(self._kwargs)
            if self._controls:
                kwargs.update(progress=self.report_progress, cancelled=self.is_cancelled)
            result = self._fn(*self._args, **kwargs)
            if inspect.isgenerator(result):
                result = self._drive(result)
        except self._cancel_exceptions:
            log.info("%s cancelled", self.name)
            signals.cancelled.emit()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI through `errored`
            # BaseException too: a native extension's panic is not an Exception, and a job that
            # ends without a signal leaves the window waiting for ever.
            # The type only: messages name files, and file names may name patients.
            log.error("%s failed: %s", self.name, type(exc).__name__)
            signals.errored.emit(exc)
        else:
            if self.is_cancelled():
                signals.cancelled.emit()
            else:
                signals.returned.emit(result)
        finally:
            self._done.set()
            signals.finished.emit()

    def _drive(self, gen: Generator[Any, Any, Any]) -> Any:
        while True:
            if self.is_cancelled():
                gen.close()
                raise JobCancelled(self.name)
            try:
                value = next(gen)
            except StopIteration as stop:
                return stop.value
            if isinstance(value, int | float | str):
                self.report_progress(value)


#: what ``_connect`` maps a signal name to: one callable or several
Slots = Callable[..., Any] | Sequence[Callable[..., Any]]


def create_worker(
    fn: Callable[..., Any],
    *args: Any,
    _connect: Mapping[str, Slots] | None = None,
    _controls: bool = False,
    **kwargs: Any,
) -> Worker:
    """A :class:`Worker` running ``fn(*args, **kwargs)`` with its signals already connected.

    ``_connect`` maps signal names (``started``, ``progress``, ``stage``, ``returned``, ``errored``,
    ``cancelled``, ``finished``) to a callable or a list of callables; an unknown name is a
    ``KeyError`` at once, not a signal that never arrives. ``_controls`` as ``controls``.
    """
    worker = Worker(fn, *args, controls=_controls, **kwargs)
    for name, slots in (_connect or {}).items():
        if name not in _SIGNAL_NAMES:
            raise KeyError(f"a worker has no signal {name!r}")
        signal = getattr(worker.signals, name)
        for slot in [slots] if callable(slots) else slots:
            signal.connect(slot)
    return worker


_SIGNAL_NAMES = frozenset(
    {"started", "progress", "stage", "returned", "errored", "cancelled", "finished"}
)


class WorkerPool:
    """Starts workers on a QThreadPool and keeps them alive until they finish."""

    def __init__(self, pool: QThreadPool | None = None) -> None:
        self._pool = pool or QThreadPool.globalInstance()
        self._active: set[Worker] = set()

    def start(self, worker: Worker) -> Worker:
        self._active.add(worker)
        worker.signals.finished.connect(lambda w=worker: self._active.discard(w))
        self._pool.start(worker)
        return worker

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        _connect: Mapping[str, Slots] | None = None,
        _controls: bool = False,
        **kwargs: Any,
    ) -> Worker:
        """:func:`create_worker` and :meth:`start` in one call; returns the started worker."""
        return self.start(
            create_worker(fn, *args, _connect=_connect, _controls=_controls, **kwargs)
        )

    @property
    def active(self) -> list[Worker]:
        return [w for w in self._active if not w.is_done]

    def cancel_all(self) -> None:
        for worker in list(self._active):
            worker.cancel()

    def wait_all(self, timeout_s: float) -> bool:
        """Cancel nothing; wait up to ``timeout_s`` for every started job (shutdown).

        A job is done before its thread has emitted ``finished`` and left ``run``; the pool's
        threads are waited for too, so that nothing is deleted under a thread still emitting.
        """
        deadline = time.monotonic() + timeout_s
        jobs_done = all(w.wait(timeout_s) for w in list(self._active))
        remaining_ms = max(0, round((deadline - time.monotonic()) * 1000))
        return self._pool.waitForDone(remaining_ms) and jobs_done


class LatestRequestRunner:
    """Runs one job at a time; a new request supersedes the pending one (latest wins).

    ``submit(fn, *args)`` cancels the running job (its result is dropped) and queues the new
    one, which starts as soon as the running one stops. Only the latest request's result
    reaches ``on_result``.
    """

    def __init__(
        self,
        pool: WorkerPool,
        on_result: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self._pool = pool
        self._on_result = on_result
        self._on_error = on_error
        self._on_idle = on_idle
        self._running: Worker | None = None
        self._pending: tuple[Callable[..., Any], tuple[Any, ...]] | None = None
        self._generation = 0

    @property
    def busy(self) -> bool:
        return self._running is not None or self._pending is not None

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._generation += 1
        self._pending = (fn, args)
        if self._running is not None:
            self._running.cancel()
        else:
            self._start_pending()

    def cancel(self) -> None:
        self._generation += 1
        self._pending = None
        if self._running is not None:
            self._running.cancel()

    def _start_pending(self) -> None:
        if self._pending is None:
            return
        fn, args = self._pending
        self._pending = None
        generation = self._generation
        worker = create_worker(
            fn,
            *args,
            _connect={
                "returned": lambda r, g=generation: self._on_returned(r, g),
                "errored": lambda e, g=generation: self._on_errored(e, g),
                "finished": self._on_finished,
            },
        )
        self._running = worker
        self._pool.start(worker)

    def _on_returned(self, result: Any, generation: int) -> None:
        if generation == self._generation:
            self._on_result(result)

    def _on_errored(self, exc: BaseException, generation: int) -> None:
        if generation == self._generation:
            self._on_error(exc)

    def _on_finished(self) -> None:
        self._running = None
        self._start_pending()
        if self._running is None and self._on_idle is not None:
            self._on_idle()
