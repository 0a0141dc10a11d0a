"""Viewer responsiveness: live CLAHE on full-size views, and launch -> window -> first heatmaps.

    python benchmarks/bench_viewer.py [--json FILE] [--launch-runs N] [--skip-launch]

CLAHE is measured in-process (offscreen Qt) on the sample study's three 2304 x 2880 views:
``apply_clahe`` of one view, the time from a clip-limit slider change until all three views show
the new pixels, and the longest gap between GUI event-loop iterations while CLAHE runs (the
stall a user would feel). The launch timing starts ``wristviewer`` as a user would, with
``WRISTVIEWER_TIMING=1`` (the app prints timestamps to stderr), under whatever display
``QT_QPA_PLATFORM``/``DISPLAY`` give (run it under ``xvfb-run`` for a real X server); when a
model bundle is installed it also waits for the first heatmaps. No test asserts these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "resources" / "sample"


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

    window = MainWindow(ViewerSettings())
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


def measure_launch(runs: int) -> dict[str, object]:
    """Seconds from process start to a shown window, and to the first heatmaps when a model is
    installed (median over ``runs`` launches)."""
    from wristviewer.ai.registry import find_bundles

    expect_ai = any(entry.error is None for entry in find_bundles())
    exe = Path(sys.executable).parent / "wristviewer"
    results: dict[str, list[float]] = {}
    for _ in range(runs):
        env = {**os.environ, "WRISTVIEWER_TIMING": "1"}
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        t0 = time.time()
        proc = subprocess.Popen(
            [str(exe), "--new-instance", str(SAMPLE)], stderr=subprocess.PIPE, text=True, env=env
        )
        want = {"window-shown"} | ({"analysis-finished"} if expect_ai else set())
        seen: dict[str, float] = {}
        deadline = time.time() + 600
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("wristviewer-timing"):
                _, event, stamp = line.split()
                seen[event] = float(stamp) - t0
                if want <= set(seen) or event == "analysis-failed":
                    break
            if time.time() > deadline:
                break
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        for event, seconds in seen.items():
            results.setdefault(event, []).append(seconds)
    summary: dict[str, object] = {"runs": runs, "model_installed": expect_ai}
    for event, values in results.items():
        summary[f"{event}_s"] = statistics.median(values)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--launch-runs", type=int, default=3)
    parser.add_argument("--skip-launch", action="store_true")
    args = parser.parse_args()
    out: dict[str, object] = {"clahe": measure_clahe()}
    if not args.skip_launch:
        out["launch"] = measure_launch(args.launch_runs)
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
