"""Metrics and statistics: hand-computed cases, a published worked example, and an O(n^2) cross-check."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from training import stats


def _slow_delong(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al. (1988) straight from the definition: psi(X_i, Y_j) over all pairs.

    Returns (aucs (k,), covariance (k, k)). Independent of the midrank algorithm under test.
    """
    scores = np.atleast_2d(scores)
    pos = labels == 1
    aucs, v10s, v01s = [], [], []
    for s in scores:
        x = s[pos][:, None]
        y = s[~pos][None, :]
        psi = (x > y).astype(float) + 0.5 * (x == y)
        aucs.append(psi.mean())
        v10s.append(psi.mean(axis=1))
        v01s.append(psi.mean(axis=0))
    v10 = np.array(v10s)
    v01 = np.array(v01s)
    m, n = v10.shape[1], v01.shape[1]
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return np.array(aucs), cov


# ---------------------------------------------------------------- hand-computed


Y5 = np.array([1, 1, 1, 0, 0])
A5 = np.array([0.8, 0.6, 0.4, 0.6, 0.2])  # pairs: 1, 1, .5, 1, 0, 1 -> AUC 4.5 / 6
B5 = np.array([0.9, 0.7, 0.5, 0.1, 0.3])  # perfect separation


def test_auroc_by_hand_with_a_tie() -> None:
    assert stats.auroc(Y5, A5) == pytest.approx(0.75)
    assert stats.auroc(Y5, B5) == 1.0
    assert stats.auroc(Y5, -B5) == 0.0


def test_delong_variance_by_hand() -> None:
    # V10 = [1, .75, .5] -> S10 = .0625; V01 = [.5, 1] -> S01 = .125; var = .0625/3 + .125/2
    comp = stats.delong_components(Y5, A5)
    np.testing.assert_allclose(comp.v10[0], [1.0, 0.75, 0.5])
    np.testing.assert_allclose(comp.v01[0], [0.5, 1.0])
    r = stats.auroc_ci(Y5, A5, method="plain")
    assert r.se == pytest.approx(math.sqrt(0.0625 / 3 + 0.125 / 2))
    assert r.ci_low == pytest.approx(0.75 - 1.959964 * r.se, abs=1e-6)
    assert r.ci_high == 1.0  # clipped


def test_delong_test_by_hand() -> None:
    # Model B is perfect (zero variance, zero covariance): var(diff) = var(A) = 1/12.
    t = stats.delong_test(Y5, A5, B5)
    assert t.difference == pytest.approx(-0.25)
    assert t.se == pytest.approx(math.sqrt(1 / 12))
    assert t.z == pytest.approx(-0.25 / math.sqrt(1 / 12))
    assert t.p_value == pytest.approx(0.3864762, abs=1e-6)
    assert t.ci_low == pytest.approx(-0.25 - 1.959964 * t.se, abs=1e-6)


def test_delong_test_of_a_model_with_itself() -> None:
    t = stats.delong_test(Y5, A5, A5)
    assert t.difference == 0.0 and t.se == 0.0 and t.p_value == 1.0


def test_normal_helpers() -> None:
    assert stats.z_quantile(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert stats.two_sided_p(1.959964) == pytest.approx(0.05, abs=1e-6)
    assert stats.two_sided_p(0.0) == 1.0


# ---------------------------------------------------------------- a published worked example


def test_hanley_mcneil_1982_ct_ratings() -> None:
    """Hanley JA, McNeil BJ. The meaning and use of the area under a ROC curve.
    Radiology 1982;143:29-36, Table 1: CT ratings 1-5 of 58 normal and 51 abnormal cases,
    normals (33, 6, 6, 11, 2), abnormals (3, 2, 2, 11, 33); published area 0.893, SE 0.032
    (their exponential-approximation SE). DeLong's SE is a different estimator and must land
    near it; the exact DeLong value is checked against the O(n^2) definition instead.
    """
    neg = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    pos = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    y = np.r_[np.zeros(58, int), np.ones(51, int)]
    s = np.r_[neg, pos].astype(float)
    r = stats.auroc_ci(y, s)
    assert round(r.auc, 3) == 0.893
    assert r.se == pytest.approx(0.032, abs=0.003)
    auc_slow, cov_slow = _slow_delong(y, s)
    assert r.auc == pytest.approx(auc_slow[0], abs=1e-12)
    assert r.se == pytest.approx(math.sqrt(cov_slow[0, 0]), abs=1e-12)
    assert r.ci_low < r.auc < r.ci_high < 1.0
    assert stats.roc_curve(y, s).trapezoid_area() == pytest.approx(r.auc, abs=1e-12)


def _asah() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pROC's ``aSAH`` data (tests/training/data/proc_asah.csv): outcome Poor = 1, WFNS, S100B."""
    lines = (Path(__file__).parent / "data" / "proc_asah.csv").read_text("utf-8").splitlines()
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    y = np.array([r["outcome"] == "Poor" for r in rows], dtype=int)
    return (
        y,
        np.array([float(r["wfns"]) for r in rows]),
        np.array([float(r["s100b"]) for r in rows]),
    )


def test_delong_published_example_proc_asah() -> None:
    """The worked example of pROC: Robin X, Turck N, Hainard A, et al. pROC: an open-source
    package for R and S+ to analyze and compare ROC curves. BMC Bioinformatics 2011;12:77, and
    the package's ``roc.test`` / ``ci.auc`` / ``coords`` documentation, on its ``aSAH`` data
    (Turck et al. 2010: 113 patients, 41 with a poor outcome at 6 months).

    Published: AUC of S100B 0.7314 with DeLong 95% CI 0.6301-0.8326; AUC of WFNS 0.8237;
    ``roc.test(roc(outcome, s100b), roc(outcome, wfns))`` (DeLong's test for two correlated
    ROC curves) Z = -2.209, p-value = 0.02718; the Youden-best S100B cut-off 0.205 with
    specificity 0.8056 and sensitivity 0.6341.
    """
    y, wfns, s100b = _asah()
    assert (y.size, int(y.sum())) == (113, 41)

    s = stats.auroc_ci(y, s100b, method="plain")  # pROC's ci.auc(method="delong") is plain
    assert round(s.auc, 4) == 0.7314
    assert (round(s.ci_low, 4), round(s.ci_high, 4)) == (0.6301, 0.8326)
    assert round(stats.auroc(y, wfns), 4) == 0.8237

    t = stats.delong_test(y, s100b, wfns)
    assert round(t.z, 3) == -2.209
    assert round(t.p_value, 5) == 0.02718
    assert round(t.difference, 7) == round(0.7313686 - 0.8236789, 7)
    assert t.ci_low < t.difference < t.ci_high < 0.0  # the difference excludes 0, as p < 0.05
    swapped = stats.delong_test(y, wfns, s100b)  # order flips the sign only
    assert swapped.z == pytest.approx(-t.z) and swapped.p_value == pytest.approx(t.p_value)

    best = stats.youden_point(y, s100b)  # pROC puts its cut-off midway between two scores
    assert 0.19 < best.threshold <= 0.22 and 0.19 < 0.205 <= 0.22
    assert round(best.specificity, 4) == 0.8056 and round(best.sensitivity, 4) == 0.6341


# ---------------------------------------------------------------- fast vs slow, random


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_delong_matches_the_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 120
    y = (rng.random(n) < 0.35).astype(int)
    a = y * 1.2 + rng.normal(size=n)
    b = 0.6 * a + y * 0.5 + rng.normal(size=n)
    b = np.round(b, 1)  # plenty of ties
    comp = stats.delong_components(y, np.vstack([a, b]))
    auc_slow, cov_slow = _slow_delong(y, np.vstack([a, b]))
    np.testing.assert_allclose(comp.auc, auc_slow, atol=1e-12)
    np.testing.assert_allclose(comp.covariance, cov_slow, atol=1e-12)
    t = stats.delong_test(y, a, b)
    var = cov_slow[0, 0] + cov_slow[1, 1] - 2 * cov_slow[0, 1]
    assert t.se == pytest.approx(math.sqrt(var), rel=1e-10)
    assert t.p_value == pytest.approx(math.erfc(abs(t.z) / math.sqrt(2)))
    # The ROC trapezoid area is the Mann-Whitney AUROC, ties included.
    assert stats.roc_curve(y, b).trapezoid_area() == pytest.approx(stats.auroc(y, b), abs=1e-12)


def test_auroc_is_rank_invariant_and_midranks_average_ties() -> None:
    np.testing.assert_allclose(stats.midranks(np.array([3.0, 1.0, 3.0, 2.0])), [3.5, 1, 3.5, 2])
    rng = np.random.default_rng(5)
    y = np.r_[np.ones(30, int), np.zeros(50, int)]
    s = rng.normal(size=80) + y
    assert stats.auroc(y, s) == pytest.approx(stats.auroc(y, stats.sigmoid(s / 3.0)))


def test_logit_ci_stays_inside_zero_one_near_one() -> None:
    y = np.r_[np.ones(20, int), np.zeros(20, int)]
    s = np.r_[np.arange(20) + 18.5, np.arange(20)]  # one pair out of order
    r = stats.auroc_ci(y, s)
    assert 0.99 < r.auc < 1.0
    assert r.ci_high < 1.0 and r.ci_low < r.auc


def test_single_class_is_an_error() -> None:
    with pytest.raises(ValueError, match="one positive and one negative"):
        stats.auroc([1, 1], [0.2, 0.3])


# ---------------------------------------------------------------- ROC and operating points


def test_roc_curve_points() -> None:
    c = stats.roc_curve(Y5, A5)
    np.testing.assert_allclose(c.fpr, [0, 0, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(c.tpr, [0, 1 / 3, 2 / 3, 1, 1])
    assert math.isinf(c.thresholds[0])
    np.testing.assert_allclose(c.thresholds[1:], [0.8, 0.6, 0.4, 0.2])
    assert c.trapezoid_area() == pytest.approx(0.75)


def test_operating_points_on_a_known_set() -> None:
    # 10 positives 0.55..1.0, 10 negatives 0.0..0.45 with two negatives mixed in high.
    pos = np.linspace(0.55, 1.0, 10)
    neg = np.r_[np.linspace(0.0, 0.35, 8), 0.7, 0.9]
    y = np.r_[np.ones(10, int), np.zeros(10, int)]
    s = np.r_[pos, neg]
    youden, hs, hsp = stats.operating_points(y, s, 0.95, 0.95)
    assert youden.name == "youden" and youden.threshold == pytest.approx(0.55)
    assert (youden.sensitivity, youden.specificity) == (1.0, 0.8)
    assert hs.sensitivity >= 0.95 and hs.threshold == pytest.approx(0.55)
    # Specificity >= .95 means no negative above the threshold: just above 0.9.
    assert hsp.specificity == 1.0 and 0.9 < hsp.threshold <= 0.95
    assert hsp.sensitivity == pytest.approx(0.2)
    m = stats.binary_metrics(y, s, hsp.threshold)
    assert m.sensitivity.value == hsp.sensitivity and m.specificity.value == hsp.specificity


def test_binary_metrics_and_wilson() -> None:
    y = np.array([1] * 10 + [0] * 10)
    s = np.array([1] * 8 + [0] * 2 + [1] * 1 + [0] * 9, float)
    m = stats.binary_metrics(y, s, 0.5)
    assert m.confusion == stats.ConfusionMatrix(tp=8, fp=1, tn=9, fn=2)
    assert m.sensitivity.value == 0.8 and m.specificity.value == 0.9
    assert m.ppv.value == pytest.approx(8 / 9) and m.npv.value == pytest.approx(9 / 11)
    assert m.accuracy.value == pytest.approx(17 / 20)
    # Wilson interval for 8/10 (Newcombe 1998, Stat Med 17:857, method 3): 0.4902-0.9433.
    assert (m.sensitivity.ci_low, m.sensitivity.ci_high) == pytest.approx(
        (0.4902, 0.9433), abs=1e-4
    )
    assert stats.wilson_ci(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert stats.wilson_ci(0, 10)[0] == 0.0 and stats.wilson_ci(10, 10)[1] == 1.0
    assert all(math.isnan(v) for v in stats.wilson_ci(0, 0))


# ---------------------------------------------------------------- calibration


def test_temperature_recovers_a_known_scale() -> None:
    rng = np.random.default_rng(0)
    true_logit = rng.normal(scale=2.0, size=20000)
    y = (rng.random(true_logit.size) < stats.sigmoid(true_logit)).astype(int)
    overconfident = 3.0 * true_logit
    t = stats.fit_temperature(y, overconfident)
    assert t == pytest.approx(3.0, rel=0.05)
    assert stats.binary_nll(y, overconfident, t) < stats.binary_nll(y, overconfident, 1.0)
    # The optimum: a small step either way is no better.
    for f in (0.97, 1.03):
        assert (
            stats.binary_nll(y, overconfident, t)
            <= stats.binary_nll(y, overconfident, t * f) + 1e-12
        )


def test_reliability_bins_and_ece_by_hand() -> None:
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.05, 0.15, 0.95, 1.0, 0.55, 0.45])
    bins = stats.reliability_bins(y, p, n_bins=2)
    assert [b.count for b in bins] == [3, 3]  # 0.45 in [0, .5); .55, .95, 1.0 in [.5, 1]
    assert bins[0].mean_predicted == pytest.approx(0.65 / 3) and bins[0].observed_rate == 0.0
    assert bins[1].mean_predicted == pytest.approx(2.5 / 3) and bins[1].observed_rate == 1.0
    expected = 0.5 * (0.65 / 3) + 0.5 * (1 - 2.5 / 3)
    assert stats.expected_calibration_error(y, p, n_bins=2) == pytest.approx(expected)
    empty = stats.reliability_bins(y, p, n_bins=10)
    assert sum(b.count for b in empty) == 6 and any(b.count == 0 for b in empty)


# ---------------------------------------------------------------- logistic regression, Platt


def test_logistic_regression_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(40000, 3))
    true = np.array([-0.8, 1.5, -2.0, 0.0])  # intercept first
    y = (rng.random(len(x)) < stats.sigmoid(true[0] + x @ true[1:])).astype(int)
    w = stats.logistic_regression(x, y, l2=1e-6)
    assert w.shape == (4,)
    np.testing.assert_allclose(w, true, atol=0.06)
    # It is the minimum of the penalised NLL: the gradient vanishes.
    a = np.hstack([np.ones((len(x), 1)), x])
    grad = a.T @ (stats.sigmoid(a @ w) - y) + np.r_[1e-8, [1e-6] * 3] * w
    assert np.max(np.abs(grad)) < 1e-6
    # A strong penalty shrinks the slopes but (almost) not the intercept's freedom.
    shrunk = stats.logistic_regression(x, y, l2=1e5)
    assert np.all(np.abs(shrunk[1:]) < 0.2 * np.abs(true[1:3]).min())
    assert stats.sigmoid(shrunk[0]) == pytest.approx(y.mean(), abs=0.01)
    with pytest.raises(ValueError, match="do not match"):
        stats.logistic_regression(x[:10], y[:9])


def test_platt_recovers_slope_and_offset() -> None:
    """Logits that are 2x too confident and shifted by +1.2 (as oversampling fractures leaves):
    Platt finds slope 0.5 and offset -0.6 (sigmoid(0.5 * (2z + 1.2) - 0.6) = sigmoid(z))."""
    rng = np.random.default_rng(5)
    true_logit = rng.normal(-0.5, 1.8, size=30000)
    y = (rng.random(true_logit.size) < stats.sigmoid(true_logit)).astype(int)
    model_logit = 2.0 * true_logit + 1.2
    slope, offset = stats.fit_platt(y, model_logit)
    assert slope == pytest.approx(0.5, abs=0.03)
    assert offset == pytest.approx(-0.6, abs=0.05)
    calibrated = slope * model_logit + offset
    assert stats.binary_nll(y, calibrated) < stats.binary_nll(y, model_logit)
    # A temperature alone cannot remove the shift: Platt does better.
    t = stats.fit_temperature(y, model_logit)
    assert stats.binary_nll(y, calibrated) < stats.binary_nll(y, model_logit, t) - 0.01


def test_platt_refuses_logits_that_rank_backwards() -> None:
    rng = np.random.default_rng(6)
    true_logit = rng.normal(size=2000)
    y = (rng.random(true_logit.size) < stats.sigmoid(2 * true_logit)).astype(int)
    with pytest.raises(ValueError, match="do not rank"):
        stats.fit_platt(y, -true_logit)
    with pytest.raises(ValueError):
        stats.fit_platt([1, 1, 1], [0.1, 0.2, 0.3])  # one class only
    # Perfectly separated classes: the tiny ridge keeps the fit finite and positive.
    slope, offset = stats.fit_platt([0, 0, 1, 1], [-2.0, -1.0, 1.0, 2.0])
    assert slope > 0 and math.isfinite(slope) and math.isfinite(offset)
