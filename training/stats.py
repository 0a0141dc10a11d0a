"""Metrics and statistics for a binary fracture classifier: numpy and the standard library only.

Conventions used throughout:

- ``labels`` are 0/1 (1 = fracture), ``scores`` are any real numbers where larger means "more
  likely fracture" (logits or probabilities; every rank statistic is invariant to a monotone
  transform).
- A case is called positive when ``score >= threshold``.
- AUROC is the Mann-Whitney probability P(score_pos > score_neg) + 0.5 P(tie).
- DeLong's variance uses the fast midrank algorithm of Sun & Xu (2014), "Fast implementation
  of DeLong's algorithm for comparing the areas under correlated receiver operating
  characteristic curves", IEEE Signal Processing Letters 21(11):1389-1393; it is O(n log n)
  and gives exactly the structural components of DeLong, DeLong & Clarke-Pearson (1988),
  Biometrics 44:837-845.
- Normal quantiles come from :class:`statistics.NormalDist` (no scipy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

_STD_NORMAL = NormalDist()


def z_quantile(confidence: float = 0.95) -> float:
    """Two-sided standard-normal quantile: 1.959964 for ``confidence=0.95``."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return _STD_NORMAL.inv_cdf(0.5 + confidence / 2.0)


def two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard-normal statistic (erfc keeps precision in the tails)."""
    if math.isnan(z):
        return float("nan")
    return math.erfc(abs(z) / math.sqrt(2.0))


def _as_binary(
    labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1 or y.shape != s.shape:
        raise ValueError(
            f"labels and scores must be 1-D of equal length, got {y.shape} and {s.shape}"
        )
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    return y.astype(np.int64), s


def _require_both_classes(y: np.ndarray) -> None:
    if y.sum() == 0 or y.sum() == y.size:
        raise ValueError("AUROC needs at least one positive and one negative case")


# --------------------------------------------------------------------------- ranks and AUROC


def midranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x`` with ties given the mean of the ranks they span. O(n log n)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    # Boundaries of runs of equal values in the sorted array.
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], n]  # exclusive
    run_rank = (starts + ends + 1) / 2.0  # mean of 1-based ranks starts+1 .. ends
    ranks_sorted = np.repeat(run_rank, ends - starts)
    out = np.empty(n, dtype=np.float64)
    out[order] = ranks_sorted
    return out


def auroc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U / (m n)); ties count one half."""
    y, s = _as_binary(labels, scores)
    _require_both_classes(y)
    m = int(y.sum())
    n = y.size - m
    r = midranks(s)
    return float((r[y == 1].sum() - m * (m + 1) / 2.0) / (m * n))


@dataclass(frozen=True)
class DelongComponents:
    """Per-model AUROCs and DeLong's structural components.

    ``auc``: (k,); ``v10``: (k, m) one value per positive case; ``v01``: (k, n) per negative case.
    """

    auc: np.ndarray
    v10: np.ndarray
    v01: np.ndarray

    @property
    def covariance(self) -> np.ndarray:
        """(k, k) covariance matrix of the AUROC estimates: S10/m + S01/n."""
        m = self.v10.shape[1]
        n = self.v01.shape[1]
        s10 = np.atleast_2d(np.cov(self.v10)) if m > 1 else np.zeros((self.auc.size,) * 2)
        s01 = np.atleast_2d(np.cov(self.v01)) if n > 1 else np.zeros((self.auc.size,) * 2)
        return s10 / m + s01 / n


def delong_components(labels: Sequence[int] | np.ndarray, scores: np.ndarray) -> DelongComponents:
    """DeLong's structural components by the fast midrank algorithm (Sun & Xu 2014).

    ``scores``: (n_cases,) for one model or (k, n_cases) for k models scored on the same cases.
    """
    s2 = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    y = np.asarray(labels)
    for row in s2:
        _as_binary(y, row)
    y = y.astype(np.int64)
    _require_both_classes(y)
    pos = y == 1
    m = int(pos.sum())
    n = y.size - m
    k = s2.shape[0]
    auc = np.empty(k)
    v10 = np.empty((k, m))
    v01 = np.empty((k, n))
    for r in range(k):
        x = s2[r, pos]
        z = s2[r, ~pos]
        tx = midranks(x)
        ty = midranks(z)
        tz = midranks(np.concatenate([x, z]))
        auc[r] = (tz[:m].sum() - m * (m + 1) / 2.0) / (m * n)
        v10[r] = (tz[:m] - tx) / n
        v01[r] = 1.0 - (tz[m:] - ty) / m
    return DelongComponents(auc=auc, v10=v10, v01=v01)


@dataclass(frozen=True)
class AurocResult:
    """An AUROC with DeLong's standard error and a confidence interval (``ci_method``: "logit" or "plain")."""

    auc: float
    se: float
    ci_low: float
    ci_high: float
    confidence: float
    ci_method: str
    n_positive: int
    n_negative: int

    def to_dict(self) -> dict:
        return asdict(self)


def auroc_ci(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    method: str = "logit",
) -> AurocResult:
    """AUROC with DeLong's variance and a confidence interval.

    ``method="logit"`` (default) builds the interval on logit(AUC) with the delta-method
    standard error se / (AUC (1 - AUC)) and maps it back, so it stays inside (0, 1) and is
    asymmetric near 1, where a good model lives. ``method="plain"`` is AUC +/- z se clipped to
    [0, 1] (what pROC's ``ci.auc(method="delong")`` reports). An AUC of exactly 0 or 1 has a
    degenerate logit; the plain interval is used then.
    """
    if method not in ("logit", "plain"):
        raise ValueError(f"method must be 'logit' or 'plain', got {method!r}")
    y, s = _as_binary(labels, scores)
    comp = delong_components(y, s)
    a = float(comp.auc[0])
    var = float(comp.covariance[0, 0])
    se = math.sqrt(max(var, 0.0))
    z = z_quantile(confidence)
    if method == "logit" and 0.0 < a < 1.0 and se > 0.0:
        centre = math.log(a / (1.0 - a))
        half = z * se / (a * (1.0 - a))
        lo = 1.0 / (1.0 + math.exp(-(centre - half)))
        hi = 1.0 / (1.0 + math.exp(-(centre + half)))
    else:
        lo, hi = max(0.0, a - z * se), min(1.0, a + z * se)
    m = int(y.sum())
    return AurocResult(a, se, lo, hi, confidence, method, m, int(y.size - m))


@dataclass(frozen=True)
class DelongTest:
    """DeLong's test of two correlated AUROCs (same cases): difference = auc_a - auc_b."""

    auc_a: float
    auc_b: float
    difference: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    confidence: float

    def to_dict(self) -> dict:
        return asdict(self)


def delong_test(
    labels: Sequence[int] | np.ndarray,
    scores_a: Sequence[float] | np.ndarray,
    scores_b: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
) -> DelongTest:
    """Two-sided DeLong test for two models scored on the same cases.

    Var(A - B) = Var(A) + Var(B) - 2 Cov(A, B) from the structural components; z = (A - B)/se;
    the confidence interval of the difference is plain (difference +/- z se). Identical
    scores give se = 0, z = nan and p = 1.
    """
    comp = delong_components(
        labels, np.vstack([np.asarray(scores_a, float), np.asarray(scores_b, float)])
    )
    cov = comp.covariance
    diff = float(comp.auc[0] - comp.auc[1])
    var = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    se = math.sqrt(max(var, 0.0))
    zq = z_quantile(confidence)
    if se > 0.0:
        z = diff / se
        p = two_sided_p(z)
    else:
        z = float("nan") if diff == 0.0 else math.copysign(math.inf, diff)
        p = 1.0 if diff == 0.0 else 0.0
    return DelongTest(
        float(comp.auc[0]),
        float(comp.auc[1]),
        diff,
        se,
        diff - zq * se,
        diff + zq * se,
        z,
        p,
        confidence,
    )


# --------------------------------------------------------------------------- ROC curve and operating points


@dataclass(frozen=True)
class RocCurve:
    """ROC points for each distinct threshold, from (0, 0) to (1, 1).

    ``thresholds[i]`` gives the point (fpr[i], tpr[i]) with the rule "positive when score >=
    threshold"; the first threshold is +inf (nothing called positive).
    """

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    n_positive: int
    n_negative: int

    def trapezoid_area(self) -> float:
        """Area under the piecewise-linear curve; equals :func:`auroc` (ties give diagonal steps)."""
        return float(np.sum(np.diff(self.fpr) * (self.tpr[1:] + self.tpr[:-1]) / 2.0))


def roc_curve(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> RocCurve:
    """The empirical ROC curve, one point per distinct score (descending thresholds)."""
    y, s = _as_binary(labels, scores)
    _require_both_classes(y)
    order = np.argsort(-s, kind="mergesort")
    ys = y[order]
    ss = s[order]
    last_of_run = np.r_[ss[1:] != ss[:-1], True]
    tp = np.cumsum(ys)[last_of_run]
    fp = np.cumsum(1 - ys)[last_of_run]
    m = int(y.sum())
    n = int(y.size - m)
    tpr = np.r_[0.0, tp / m]
    fpr = np.r_[0.0, fp / n]
    thresholds = np.r_[np.inf, ss[last_of_run]]
    return RocCurve(fpr=fpr, tpr=tpr, thresholds=thresholds, n_positive=m, n_negative=n)


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold with the sensitivity and specificity it had on the set it was chosen on."""

    name: str
    threshold: float
    sensitivity: float
    specificity: float

    def to_dict(self) -> dict:
        return asdict(self)


def _finite_threshold(curve: RocCurve, i: int) -> float:
    t = float(curve.thresholds[i])
    if math.isinf(t):  # "call nothing positive": just above the largest score
        return float(np.nextafter(curve.thresholds[1], np.inf))
    return t


def youden_point(
    labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> OperatingPoint:
    """The threshold maximising J = sensitivity + specificity - 1 (ties: the higher threshold)."""
    c = roc_curve(labels, scores)
    j = c.tpr - c.fpr
    i = int(np.argmax(j))
    return OperatingPoint("youden", _finite_threshold(c, i), float(c.tpr[i]), float(1.0 - c.fpr[i]))


def high_sensitivity_point(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    min_sensitivity: float = 0.95,
) -> OperatingPoint:
    """The highest threshold whose sensitivity reaches ``min_sensitivity`` (best specificity there)."""
    c = roc_curve(labels, scores)
    i = int(np.flatnonzero(c.tpr >= min_sensitivity - 1e-12)[0])
    return OperatingPoint(
        "high_sensitivity", _finite_threshold(c, i), float(c.tpr[i]), float(1.0 - c.fpr[i])
    )


def high_specificity_point(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    min_specificity: float = 0.95,
) -> OperatingPoint:
    """The lowest threshold whose specificity stays at or above ``min_specificity`` (best sensitivity)."""
    c = roc_curve(labels, scores)
    i = int(np.flatnonzero(1.0 - c.fpr >= min_specificity - 1e-12)[-1])
    return OperatingPoint(
        "high_specificity", _finite_threshold(c, i), float(c.tpr[i]), float(1.0 - c.fpr[i])
    )


def operating_points(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    min_sensitivity: float = 0.95,
    min_specificity: float = 0.95,
) -> list[OperatingPoint]:
    """Youden, high-sensitivity and high-specificity points, chosen on one (tuning) set."""
    return [
        youden_point(labels, scores),
        high_sensitivity_point(labels, scores, min_sensitivity),
        high_specificity_point(labels, scores, min_specificity),
    ]


# --------------------------------------------------------------------------- proportions at a threshold


def wilson_ci(successes: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (nan, nan) when ``total`` is 0."""
    if total < 0 or successes < 0 or successes > total:
        raise ValueError(f"need 0 <= successes <= total, got {successes}/{total}")
    if total == 0:
        return float("nan"), float("nan")
    z = z_quantile(confidence)
    p = successes / total
    denom = 1.0 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == total else min(1.0, centre + half)
    return lo, hi


@dataclass(frozen=True)
class Proportion:
    """``value`` = successes / total with a Wilson interval (nan when total is 0)."""

    successes: int
    total: int
    value: float
    ci_low: float
    ci_high: float

    @classmethod
    def of(cls, successes: int, total: int, confidence: float = 0.95) -> Proportion:
        lo, hi = wilson_ci(successes, total, confidence)
        return cls(successes, total, successes / total if total else float("nan"), lo, hi)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts at one threshold: true/false positives/negatives."""

    tp: int
    fp: int
    tn: int
    fn: int

    def to_dict(self) -> dict:
        return asdict(self)


def confusion_matrix(
    labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float
) -> ConfusionMatrix:
    """Counts for the rule "positive when score >= threshold"."""
    y, s = _as_binary(labels, scores)
    pred = s >= threshold
    pos = y == 1
    return ConfusionMatrix(
        tp=int(np.sum(pred & pos)),
        fp=int(np.sum(pred & ~pos)),
        tn=int(np.sum(~pred & ~pos)),
        fn=int(np.sum(~pred & pos)),
    )


@dataclass(frozen=True)
class BinaryMetrics:
    """Diagnostic performance at one threshold, each with a Wilson interval."""

    threshold: float
    confusion: ConfusionMatrix
    sensitivity: Proportion
    specificity: Proportion
    ppv: Proportion
    npv: Proportion
    accuracy: Proportion

    def to_dict(self) -> dict:
        return asdict(self)


def binary_metrics(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    threshold: float,
    confidence: float = 0.95,
) -> BinaryMetrics:
    """Sensitivity, specificity, PPV, NPV and accuracy at ``threshold`` with Wilson CIs."""
    c = confusion_matrix(labels, scores, threshold)
    return BinaryMetrics(
        threshold=float(threshold),
        confusion=c,
        sensitivity=Proportion.of(c.tp, c.tp + c.fn, confidence),
        specificity=Proportion.of(c.tn, c.tn + c.fp, confidence),
        ppv=Proportion.of(c.tp, c.tp + c.fp, confidence),
        npv=Proportion.of(c.tn, c.tn + c.fn, confidence),
        accuracy=Proportion.of(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn, confidence),
    )


# --------------------------------------------------------------------------- calibration


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """Numerically stable logistic function."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def binary_nll(
    labels: Sequence[int] | np.ndarray,
    logits: Sequence[float] | np.ndarray,
    temperature: float = 1.0,
) -> float:
    """Mean binary cross-entropy of sigmoid(logits / temperature) (nats per case)."""
    y, z = _as_binary(labels, logits)
    z = z / float(temperature)
    # log(1 + exp(-|z|)) + max(z, 0) - y z, the stable BCE-with-logits form.
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def fit_temperature(
    labels: Sequence[int] | np.ndarray,
    logits: Sequence[float] | np.ndarray,
    bounds: tuple[float, float] = (0.05, 20.0),
    tol: float = 1e-6,
) -> float:
    """Temperature T > 0 minimising the NLL of sigmoid(logit / T) on a (tuning) set.

    Golden-section search on log T inside ``bounds``. The NLL is convex in 1/T, hence unimodal
    in log T, so the search finds the global minimum within the bounds. Ranks, AUROC and
    operating points in rank terms are unchanged by T; only the probabilities move.
    """
    y, z = _as_binary(labels, logits)
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    g = (math.sqrt(5.0) - 1.0) / 2.0

    def f(log_t: float) -> float:
        return binary_nll(y, z, math.exp(log_t))

    a, b = lo, hi
    c = b - g * (b - a)
    d = a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return float(math.exp((a + b) / 2.0))


@dataclass(frozen=True)
class ReliabilityBin:
    """One equal-width probability bin: [lower, upper), count, mean prediction, observed fracture rate."""

    lower: float
    upper: float
    count: int
    mean_predicted: float
    observed_rate: float

    def to_dict(self) -> dict:
        return asdict(self)


def reliability_bins(
    labels: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    n_bins: int = 10,
) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1] of the predicted fracture probability (last bin closed).

    Empty bins are kept with count 0 and nan means so the diagram keeps its geometry.
    """
    y, p = _as_binary(labels, probabilities)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        sel = idx == b
        cnt = int(sel.sum())
        bins.append(
            ReliabilityBin(
                float(edges[b]),
                float(edges[b + 1]),
                cnt,
                float(p[sel].mean()) if cnt else float("nan"),
                float(y[sel].mean()) if cnt else float("nan"),
            )
        )
    return bins


def expected_calibration_error(
    labels: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    n_bins: int = 10,
) -> float:
    """ECE = sum over bins of (n_b / N) |observed fracture rate - mean predicted probability|.

    Binary form (calibration of the fracture probability itself), equal-width bins.
    """
    bins = reliability_bins(labels, probabilities, n_bins)
    total = sum(b.count for b in bins)
    return float(
        sum(b.count / total * abs(b.observed_rate - b.mean_predicted) for b in bins if b.count)
    )


def logistic_regression(
    features: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    l2: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> np.ndarray:
    """L2-penalised logistic regression by Newton's method (IRLS); numpy only.

    ``features``: (n, k) float; an intercept column is added (and not penalised). Minimises
    sum of the BCE + ``l2``/2 * |w|^2. Returns (k + 1,) coefficients, the intercept first.
    The objective is strictly convex for ``l2`` > 0, so Newton's steps converge to the one
    minimum.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"features {x.shape} and labels {y.shape} do not match")
    a = np.hstack([np.ones((x.shape[0], 1)), x])
    penalty = np.full(a.shape[1], float(l2))
    penalty[0] = 1e-8  # the intercept is (almost) free
    w = np.zeros(a.shape[1])
    for _ in range(max_iter):
        p = sigmoid(a @ w)
        grad = a.T @ (p - y) + penalty * w
        hess = (a * (p * (1.0 - p))[:, None]).T @ a + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.max(np.abs(step))) < tol:
            break
    return w


def fit_platt(
    labels: Sequence[int] | np.ndarray, logits: Sequence[float] | np.ndarray
) -> tuple[float, float]:
    """Platt scaling on a (tuning) set: (slope a, offset b) of sigmoid(a * logit + b)
    minimising the NLL (a tiny ridge keeps it finite when the classes separate).

    Unlike a temperature, the offset removes a shift of the logit, such as the one that
    oversampling fractures during training leaves. Raises ``ValueError`` when the fitted
    slope is not positive (the logits rank the tuning set backwards: nothing to calibrate).
    """
    y, z = _as_binary(labels, logits)
    _require_both_classes(y)
    w = logistic_regression(z[:, None], y, l2=1e-6)
    offset, slope = float(w[0]), float(w[1])
    if not slope > 0 or not math.isfinite(slope) or not math.isfinite(offset):
        raise ValueError(f"Platt scaling found a slope of {slope:.4g}: the logits do not rank")
    return slope, offset
