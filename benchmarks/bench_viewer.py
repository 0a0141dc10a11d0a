"""Viewer responsiveness: live CLAHE on full-size views, and launch -> window -> first heatmaps.

    python benchmarks/bench_viewer.py [--json FILE] [--launch-runs N] [--skip-launch] [--skip-clahe] [--random]

CLAHE is measured in-process (offscreen Qt) on the sample study's three 2304 x 2880 views:
``apply_clahe`` of one view, the time from a clip-limit slider change until all three views show
the new pixels, and the longest gap between GUI event-loop iterations while CLAHE runs (the
stall a user would feel). The AI is off for this part (nothing preloaded, nothing run).

The launch timings start ``wristviewer`` as a user would, with ``WRISTVIEWER_TIMING=1`` (the
app prints timestamps to stderr), under whatever display ``QT_QPA_PLATFORM``/``DISPLAY`` give
(run it under ``xvfb-run -a`` for a real X server), in a fresh user folder (default settings:
the AI runs automatically and the model is preloaded at launch), with the bundle in
``resources/models/`` (the shipped DenseNet-161) or, with ``--random``, a random-weight
DenseNet-161 at the same input size. Two ways in, each the median of ``--launch-runs``:

* ``launch_with_study``: ``wristviewer resources/sample`` — window shown, model preloaded,
  first heatmaps, in seconds from the process start, and ``heatmaps_after_window_s`` (the
  first heatmaps after the window is up: reading the study and the preload overlap);
* ``open_after_preload``: ``wristviewer`` alone; once the model is preloaded the sample study
  is handed to it (``wristviewer resources/sample``, the single-instance hand-off) and
  ``open_to_heatmaps_s`` is the time from the window receiving the paths to the first
  heatmaps — the wait a user has once the window is up and the model loaded (issue 12
  target: <= 3 s on a 2-core machine).

The JSON names the CPU and its flags (``cpu``) and the load average at the start (another
job on the machine slows every figure). No test asserts these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "resources" / "sample"
TARGET_OPEN_TO_HEATMAPS_S = 3.0


def measure_clahe() -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from wristviewer.imaging import ClaheSettings, apply_clahe, load_studies
    from wristviewer.ui.app import configure_pyqtgraph

    app = QApplication.instance() or QApplication([])
    configure_pyqtgraph()
    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.settings import ViewerSettings

    studies, _ = load_studies([SAMPLE], plain_images_by_folder=True)  # the 3 JPEGs as one
    study = next(s for s in studies if len(s.views) == 3)
    first = study.views[0]
    one_view = []
    for i in range(5):
        start = time.perf_counter()
        apply_clahe(first.pixels, ClaheSettings(clip_limit=2.0 + 0.1 * i), first.bits_stored)
        one_view.append(time.perf_counter() - start)

    window = MainWindow(ViewerSettings(auto_run=False))  # CLAHE alone: no preload, no AI run
    window.persist_settings = False
    window.resize(1600, 1000)
    window.show()
    window.state.set_studies([study], [])

    def wait_idle() -> None:
        while window.is_busy():
            app.processEvents()
            time.sleep(0.001)
        app.processEvents()

    wait_idle()
    latencies = []
    for value in (25, 30, 35, 40, 45):
        start = time.perf_counter()
        window.clahe_panel.clip_slider.setValue(value)
        wait_idle()
        latencies.append(time.perf_counter() - start)

    gaps = []
    window.clahe_panel.clip_slider.setValue(50)
    last = time.perf_counter()
    while window.is_busy():
        app.processEvents()
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        time.sleep(0.001)
    window.close()
    return {
        "image_size": f"{first.cols}x{first.rows}",
        "clahe_one_view_ms": 1000 * statistics.median(one_view),
        "slider_to_three_views_median_ms": 1000 * statistics.median(latencies),
        "slider_to_three_views_max_ms": 1000 * max(latencies),
        "longest_gui_gap_ms": 1000 * max(gaps, default=0.0),
    }


class _App:
    """A running ``wristviewer`` whose timing lines are read in a thread (deadlines hold)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        exe = Path(sys.executable).parent / "wristviewer"
        self.t0 = time.time()
        self.proc = subprocess.Popen(
            [str(exe), *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
        )
        self.events: dict[str, float] = {}  # first time of each event, seconds since t0
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, *events: str, timeout_s: float = 600.0) -> str | None:
        """Wait for the first of ``events`` (or a failure); its name, None on timeout/exit."""
        deadline = time.time() + timeout_s
        while True:
            for event in events:
                if event in self.events:
                    return event
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.time()))
            except queue.Empty:
                return None
            if line is None:
                return None
            if line.startswith("wristviewer-timing"):
                _, event, stamp = line.split()
                self.events.setdefault(event, float(stamp) - self.t0)
                if event in ("analysis-failed", "preload-failed"):
                    return event

    def record(
        self, into: dict[str, list[float]], got: str | None, what: str, failures: list[str]
    ) -> None:
        """Add this launch's event times to ``into``; a failure when no heatmaps came."""
        if got != "analysis-finished":
            failures.append(f"{what}: {got or 'timed out'}")
        for event, seconds in self.events.items():
            into.setdefault(event, []).append(seconds)

    def record_span(self, into: dict[str, list[float]], name: str, since: str) -> None:
        """``into[name]``: seconds from the event ``since`` to the first heatmaps."""
        if since in self.events and "analysis-finished" in self.events:
            into.setdefault(name, []).append(self.events["analysis-finished"] - self.events[since])

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _random_resources(folder: Path) -> Path:
    """``resources/`` as shipped but with a random-weight DenseNet-161 (the shipped recipe)."""
    from wristviewer.ai.bundle import create_untrained_bundle, inspect_bundle
    from wristviewer.ai.registry import find_bundles

    shipped = [e for e in find_bundles() if e.card is not None and e.card.arch == "densenet161"]
    recipe = inspect_bundle(shipped[0].path).recipe if shipped else None
    root = folder / "resources"
    root.mkdir()
    for entry in (REPO / "resources").iterdir():
        if entry.name != "models":
            (root / entry.name).symlink_to(entry)
    (root / "models").mkdir()
    kwargs = {"recipe": recipe} if recipe is not None else {}
    create_untrained_bundle(
        "densenet161", root / "models" / "densenet161-random.safetensors", **kwargs
    )
    return root


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def measure_launch(runs: int, *, random_weights: bool) -> dict[str, object]:
    """Launch timings (module docstring), medians over ``runs`` launches of each kind."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-viewer-"))
    base = {**os.environ, "WRISTVIEWER_TIMING": "1"}
    base.setdefault("QT_QPA_PLATFORM", "offscreen")
    if random_weights:
        base["WRISTVIEWER_RESOURCES"] = str(_random_resources(scratch))
    from wristviewer.ai.registry import find_bundles

    os.environ.update({k: v for k, v in base.items() if k == "WRISTVIEWER_RESOURCES"})
    usable = [e for e in find_bundles() if e.card is not None]
    with_study: dict[str, list[float]] = {}
    after_preload: dict[str, list[float]] = {}
    failures: list[str] = []
    try:
        for run in range(runs):
            env = {**base, "WRISTVIEWER_HOME": str(scratch / f"home-a{run}")}
            app = _App(["--new-instance", str(SAMPLE)], env)
            got = app.wait_for("analysis-finished")
            app.wait_for("model-preloaded", timeout_s=5)
            app.close()
            app.record(with_study, got, "launch with study", failures)
            app.record_span(with_study, "heatmaps_after_window", "window-shown")

            env = {
                **base,
                "WRISTVIEWER_HOME": str(scratch / f"home-b{run}"),
                "WRISTVIEWER_INSTANCE_NAME": f"bench-viewer-{os.getpid()}-{run}",
            }
            app = _App([], env)
            got = app.wait_for("model-preloaded")
            if got == "model-preloaded":
                subprocess.run(
                    [str(Path(sys.executable).parent / "wristviewer"), str(SAMPLE)],
                    env=env,
                    check=True,
                    timeout=120,
                )
                got = app.wait_for("analysis-finished")
            app.close()
            app.record(after_preload, got, "open after preload", failures)
            app.record_span(after_preload, "open_to_heatmaps", "open-requested")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    open_to_heatmaps = _median(after_preload.get("open_to_heatmaps", []))
    return {
        "runs": runs,
        "model": [f"{e.card.name} ({e.path.name})" for e in usable if e.card is not None],
        "random_weights": random_weights,
        "launch_with_study": {
            f"{k.replace('-', '_')}_s": _median(v) for k, v in with_study.items()
        },
        "open_after_preload": {
            f"{k.replace('-', '_')}_s": _median(v) for k, v in after_preload.items()
        },
        "target_open_to_heatmaps_s": TARGET_OPEN_TO_HEATMAPS_S,
        "target_met": open_to_heatmaps is not None
        and open_to_heatmaps <= TARGET_OPEN_TO_HEATMAPS_S,
        "failures": failures,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--launch-runs", type=int, default=3)
    parser.add_argument("--skip-launch", action="store_true")
    parser.add_argument("--skip-clahe", action="store_true")
    parser.add_argument(
        "--random", action="store_true", help="a random-weight DenseNet-161, not the shipped one"
    )
    args = parser.parse_args()
    from wristviewer.ai.cpu import cpu_info

    out: dict[str, object] = {
        "cpu": cpu_info().describe(),
        "cpu_flags": cpu_info().to_dict(),
        "cores": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "display": os.environ.get("DISPLAY") or os.environ.get("QT_QPA_PLATFORM", ""),
    }
    if not args.skip_clahe:
        out["clahe"] = measure_clahe()
    if not args.skip_launch:
        out["launch"] = measure_launch(args.launch_runs, random_weights=args.random)
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
