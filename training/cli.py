"""Command line of the training package: ``python -m training fit | evaluate | compare | export``.

Errors the user can fix (missing data, a bad flag, no ImageNet weights offline) end the
command with one sentence on stderr and exit status 2; torch is imported inside each command.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from wristviewer.ai.registry import ARCHITECTURES


def _parser() -> argparse.ArgumentParser:
    from training.config import FitConfig, add_dataclass_flags

    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train, evaluate and export WristViewer fracture models.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "fit",
        help="train a network (defaults: the paper's recipe)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_dataclass_flags(p, FitConfig)
    p.set_defaults(run=_run_fit)

    p = sub.add_parser(
        "evaluate", help="score a run or bundle on the test split: report, figures, thresholds"
    )
    p.add_argument("model", help="a fit output folder, its best.pt, or a .safetensors bundle")
    p.add_argument("--split", help="split folder or split.csv (default: <run>/split)")
    p.add_argument("--out", help="report folder (default: <run>/evaluation)")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--cache-dir", help="preprocessed-image cache (default: beside the run)")
    p.add_argument(
        "--min-sensitivity", type=float, default=0.95, help="high-sensitivity operating point"
    )
    p.add_argument(
        "--min-specificity", type=float, default=0.95, help="high-specificity operating point"
    )
    p.add_argument("--bins", type=int, default=10, help="reliability-diagram bins")
    p.add_argument(
        "--gallery",
        type=int,
        default=6,
        help="false negatives and false positives shown with Grad-CAM",
    )
    p.add_argument(
        "--ci", choices=("logit", "plain"), default="logit", help="AUROC confidence interval"
    )
    p.add_argument(
        "--heatmap-percentile",
        type=float,
        default=99.0,
        help="CAM percentile on tuning fracture images shown as 1.0",
    )
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(run=_run_evaluate)

    p = sub.add_parser("compare", help="DeLong's test of two evaluated models on the same test set")
    p.add_argument("a", help="evaluation folder (or predictions.csv) of model A")
    p.add_argument("b", help="evaluation folder (or predictions.csv) of model B")
    p.add_argument("--out", help="write comparison.json and comparison.md here")
    p.set_defaults(run=_run_compare)

    p = sub.add_parser("export", help="write a viewer bundle (.safetensors) from an evaluated run")
    p.add_argument("model", nargs="?", help="a fit output folder (evaluated first if needed)")
    p.add_argument("--out", required=True, help="bundle file to write (.safetensors)")
    p.add_argument("--name", help="model name shown in the viewer")
    p.add_argument("--version", default="0.1.0")
    p.add_argument(
        "--aggregation",
        choices=("max", "mean", "noisy_or"),
        default="max",
        help="views -> study probability",
    )
    p.add_argument(
        "--weights-dtype",
        choices=("float16", "float32"),
        default="float16",
        help="how the weights are stored (float16 halves the file)",
    )
    p.add_argument(
        "--allow-no-better-than-control",
        action="store_true",
        help="export even when the model does not beat the pixel-free control (development only)",
    )
    p.add_argument(
        "--random-init", action="store_true", help="write an untrained bundle (needs --arch)"
    )
    p.add_argument("--arch", choices=ARCHITECTURES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.set_defaults(run=_run_export)
    return parser


def _run_fit(args: argparse.Namespace) -> int:
    from training.config import FitConfig, config_from_args
    from training.fit import fit

    cfg, explicit = config_from_args(args, FitConfig)
    result = fit(cfg, explicit)
    sys.stderr.write(
        f"done: best tuning AUROC {result.best_auroc:.4f} at epoch {result.best_epoch}; "
        f"{result.epochs_run} epoch(s) run{' (stopped early)' if result.stopped_early else ''}; results in {result.out}\n"
    )
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    from training.evaluate import evaluate_from_args

    return evaluate_from_args(args)


def _run_compare(args: argparse.Namespace) -> int:
    from training.evaluate import compare_from_args

    return compare_from_args(args)


def _run_export(args: argparse.Namespace) -> int:
    from training.export import export_from_args

    return export_from_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 with one sentence for a user error)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s"
    )
    from training.data import DataError
    from training.fit import FitError

    user_errors: tuple[type[BaseException], ...] = (DataError, FitError)
    try:
        from wristviewer.ai.bundle import BundleError

        user_errors += (BundleError,)
    except ImportError:
        pass
    try:
        return int(args.run(args) or 0)
    except user_errors as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
