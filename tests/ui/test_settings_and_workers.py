"""The settings file and the background workers (the Qt-free state: tests/viewer)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from wristviewer.imaging import ClaheSettings
from wristviewer.ui.settings import ViewerSettings
from wristviewer.ui.workers import LatestRequestRunner, Worker, WorkerPool


def test_settings_round_trip_and_bad_file(isolated_home: Path) -> None:
    s = ViewerSettings()
    s.set_clahe(ClaheSettings(enabled=False, clip_limit=3.5, tile_grid=(4, 4)))
    s.heatmap_opacity = 0.25
    s.add_recent(["/a", "/b"])
    s.add_recent(["/b"])
    path = s.save()
    assert path.parent == isolated_home / "config"
    loaded = ViewerSettings.load()
    assert loaded.clahe == ClaheSettings(enabled=False, clip_limit=3.5, tile_grid=(4, 4))
    assert loaded.heatmap_opacity == 0.25 and loaded.recent == ["/b", "/a"]
    path.write_text('{"heatmap_opacity": "loud", "auto_run": false}', encoding="utf-8")
    odd = ViewerSettings.load()
    assert odd.heatmap_opacity == ViewerSettings().heatmap_opacity and odd.auto_run is False
    path.write_text("{not json", encoding="utf-8")
    assert ViewerSettings.load() == ViewerSettings()


def _counting(n: int):
    total = 0
    for i in range(n):
        time.sleep(0.01)
        total += i
        yield (i + 1) / n
    return total


def test_generator_worker_reports_progress_and_result(qtbot) -> None:  # noqa: ANN001
    pool = WorkerPool()
    worker = Worker(_counting, 5)
    progress: list[float] = []
    worker.signals.progress.connect(progress.append)
    with qtbot.waitSignal(worker.signals.returned, timeout=5000) as blocker:
        pool.start(worker)
    assert blocker.args == [10]
    qtbot.waitUntil(lambda: progress == [0.2, 0.4, 0.6, 0.8, 1.0], timeout=2000)


def test_worker_errors_travel_through_errored(qtbot) -> None:  # noqa: ANN001
    def broken() -> None:
        raise FileNotFoundError("/x/y.dcm: no such file")

    worker = Worker(broken)
    with qtbot.waitSignal(worker.signals.errored, timeout=5000) as blocker:
        WorkerPool().start(worker)
    assert isinstance(blocker.args[0], FileNotFoundError)
    assert "/x/y.dcm" in str(blocker.args[0])


def test_a_base_exception_from_a_job_still_reaches_the_window(qtbot) -> None:  # noqa: ANN001
    class Panic(BaseException):  # what a native extension's panic looks like to Python
        pass

    def panics() -> None:
        raise Panic("decoder panicked")

    worker = Worker(panics)
    with qtbot.waitSignal(worker.signals.errored, timeout=5000) as blocker:
        WorkerPool().start(worker)
    assert isinstance(blocker.args[0], Panic)


def test_cancel_stops_a_generator_job(qtbot) -> None:  # noqa: ANN001
    worker = Worker(_counting, 1000)
    returned: list[object] = []
    worker.signals.returned.connect(returned.append)
    pool = WorkerPool()
    with qtbot.waitSignal(worker.signals.cancelled, timeout=5000):
        pool.start(worker)
        qtbot.wait(50)
        worker.cancel()
    assert worker.wait(2) and returned == []


def test_latest_request_wins(qtbot) -> None:  # noqa: ANN001
    results: list[int] = []
    errors: list[BaseException] = []
    runner = LatestRequestRunner(WorkerPool(), results.append, errors.append)

    def job(value: int):
        for _ in range(20):
            time.sleep(0.005)
            yield 0.5
        return value

    for value in range(6):
        runner.submit(job, value)
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert results == [5] and errors == []


def test_create_worker_wires_every_signal_in_one_call(qtbot) -> None:  # noqa: ANN001
    from wristviewer.ui.workers import create_worker

    seen: list[tuple[str, object]] = []
    worker = create_worker(
        _counting,
        3,
        _connect={
            "started": lambda: seen.append(("started", None)),
            "progress": [lambda f: seen.append(("progress", f))],
            "returned": [lambda r: seen.append(("returned", r)), lambda r: seen.append(("2", r))],
            "finished": lambda: seen.append(("finished", None)),
        },
    )
    with qtbot.waitSignal(worker.signals.finished, timeout=5000):
        WorkerPool().start(worker)
    qtbot.waitUntil(lambda: ("finished", None) in seen, timeout=2000)
    assert seen[0] == ("started", None) and seen[-1] == ("finished", None)
    assert [v for k, v in seen if k == "progress"] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert ("returned", 3) in seen and ("2", 3) in seen


def test_a_misspelt_signal_name_fails_at_once() -> None:
    from wristviewer.ui.workers import create_worker

    with pytest.raises(KeyError, match="retuned"):
        create_worker(_counting, 1, _connect={"retuned": print})


def test_the_pool_submits_and_the_job_gets_its_controls(qtbot) -> None:  # noqa: ANN001
    def job(n: int, *, progress, cancelled) -> int:  # noqa: ANN001
        progress(0.5)
        return n * 2 if not cancelled() else -1

    results: list[int] = []
    pool = WorkerPool()
    worker = pool.submit(job, 21, _controls=True, _connect={"returned": results.append})
    qtbot.waitUntil(lambda: results == [42], timeout=5000)
    assert pool.wait_all(5) and worker.is_done


def test_a_stage_name_goes_out_through_stage_and_a_fraction_through_progress(qtbot) -> None:  # noqa: ANN001
    def staged():  # noqa: ANN202
        yield "reading"
        yield 0.5
        yield "sorting"
        return "done"

    def controlled(*, progress, cancelled) -> str:  # noqa: ANN001
        progress("loading model")
        progress(0.25)
        return "ok"

    pool = WorkerPool()
    for job, controls, stages, fractions, result in (
        (staged, False, ["reading", "sorting"], [0.5], "done"),
        (controlled, True, ["loading model"], [0.25], "ok"),
    ):
        seen: dict[str, list[object]] = {"stage": [], "progress": [], "returned": []}
        pool.submit(
            job,
            _controls=controls,
            _connect={name: seen[name].append for name in seen},
        )
        qtbot.waitUntil(lambda seen=seen: seen["returned"] != [], timeout=5000)
        assert seen == {"stage": stages, "progress": fractions, "returned": [result]}
    assert pool.wait_all(5)
