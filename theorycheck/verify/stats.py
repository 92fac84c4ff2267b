r"""Across-seed statistics: what a theorem quantifies over decides how its check is judged.

A check compares per-seed measurements $v_1, \dots, v_n$ with a tolerance $\tau$ under a relation
($v \le \tau$ or $v \ge \tau$). What the theorem quantifies over fixes the statistic:

* ``every`` — the theorem holds for every dataset / initialization / seed. Each seed is judged on
  its own: one clear violation is a counterexample (the check fails and names the seed); a seed
  that cannot decide (a non-finite value, or, when the measurement has a standard error, a
  Bonferroni-corrected interval that straddles $\tau$) makes the check undecided.
* ``typical`` — a statement about the median seed. The interval is the exact, distribution-free
  order-statistic interval $[v_{(k)}, v_{(n-k+1)}]$ with the largest $k$ whose binomial coverage
  $1 - 2\,\mathrm{Binom}(k-1; n, 1/2)$ reaches the level; with fewer than
  $\lceil\log_2(2/(1-\text{level}))\rceil$ seeds no such $k$ exists and the check is undecided,
  saying how many seeds it needs.
* ``mean`` — a statement about an expectation: Student's $t$ interval of the mean across seeds
  (assumes roughly normal per-seed values), or, when the claim supplies a standard error for one
  Monte Carlo estimate, a $z$ interval.
* ``probability`` — the statement holds with probability at least $1-\delta$: each seed is a
  Bernoulli outcome ($v_i$ within $\tau$), and the Clopper–Pearson interval of the success
  probability is compared with $1-\delta$.

The decision comes from the interval, never from the point estimate: the check passes when the
whole interval satisfies the relation, fails when the whole interval violates it, and is undecided
in between. The level is one setting (default 95%), set by :func:`confidence_level`.

Every result also carries a ``margin``: the decisive statistic (worst seed, median, mean, success
fraction) divided by the tolerance, oriented so that a margin above 1 is on the violating side
($v/\tau$ for ``<=``, $\tau/v$ for ``>=``). For a control it says how far the wrong prediction is
past the tolerance; a rejected control with margin at most :data:`NEAR_MISS` is a *near miss*.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import math
from typing import Iterator, Sequence

import numpy as np
from scipy import stats as sps

from theorycheck.errors import InputError
from theorycheck.verify.claim import CheckResult, Curve

RELATIONS = ("<=", ">=")
DEFAULT_LEVEL = 0.95
#: a rejected control whose margin is at most this is a near miss (a mistake the check only just catches)
NEAR_MISS = 3.0

_LEVEL: contextvars.ContextVar[float] = contextvars.ContextVar("theorycheck_level", default=DEFAULT_LEVEL)


class Quantifier(str, enum.Enum):
    """What a theorem quantifies over across seeds (datasets, initializations, draws)."""

    EVERY = "every"
    TYPICAL = "typical"
    MEAN = "mean"
    PROBABILITY = "probability"


def current_level() -> float:
    """The confidence level checks are decided at (default 0.95)."""
    return _LEVEL.get()


@contextlib.contextmanager
def confidence_level(level: float) -> Iterator[float]:
    """Decide the checks built inside this block at ``level`` (0.5 < level < 1)."""
    level = check_level(level)
    token = _LEVEL.set(level)
    try:
        yield level
    finally:
        _LEVEL.reset(token)


def check_level(level: float) -> float:
    """Validate a confidence level; InputError names the bad value."""
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise InputError(f"--level must be a number in (0.5, 1), got {level!r}") from None
    if not 0.5 < level < 1:
        raise InputError(f"--level must be in (0.5, 1), got {level:g}")
    return level


# ------------------------------------------------------------------------------------------------
# intervals


def median_order_interval(values: Sequence[float], level: float) -> tuple[float, float, float, float] | None:
    r"""Median and the exact order-statistic interval $[v_{(k)}, v_{(n-k+1)}]$ with its coverage.

    ``k`` is the largest index with $P(v_{(k)} \le m \le v_{(n-k+1)}) = 1 - 2F(k-1) \ge$ ``level``,
    $F$ the Binomial$(n, 1/2)$ CDF, for any continuous distribution with median $m$. Returns
    ``(median, lo, hi, coverage)``, or None when even $[v_{(1)}, v_{(n)}]$ covers less than ``level``.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    ks = np.arange(1, n // 2 + 1)
    coverage = 1.0 - 2.0 * sps.binom.cdf(ks - 1, n, 0.5)
    ok = ks[coverage >= level]
    if ok.size == 0:
        return None
    k = int(ok.max())
    return float(np.median(x)), float(x[k - 1]), float(x[n - k]), float(coverage[k - 1])


def seeds_for_median(level: float) -> int:
    r"""Fewest seeds whose order-statistic interval of the median reaches ``level``: $1 - 2^{1-n} \ge$ level."""
    return max(2, math.ceil(math.log2(2.0 / (1.0 - level)) - 1e-12))


def mean_interval(values: Sequence[float], level: float, se: float | None = None) -> tuple[float, float, float]:
    r"""Mean and a two-sided ``level`` interval: Student's $t$ with $n-1$ degrees of freedom from the
    spread across seeds, or $\bar v \pm z\,\mathrm{se}$ when a Monte Carlo standard error is given."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if se is not None:
        half = float(sps.norm.ppf((1 + level) / 2)) * float(se)
    else:
        half = float(sps.t.ppf((1 + level) / 2, x.size - 1)) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, mean - half, mean + half


def clopper_pearson(successes: int, n: int, level: float) -> tuple[float, float]:
    """Exact two-sided ``level`` interval for a binomial proportion."""
    alpha = 1.0 - level
    lo = 0.0 if successes == 0 else float(sps.beta.ppf(alpha / 2, successes, n - successes + 1))
    hi = 1.0 if successes == n else float(sps.beta.ppf(1 - alpha / 2, successes + 1, n - successes))
    return lo, hi


def draws_for_probability(delta: float, level: float) -> int:
    r"""Fewest draws, all successful, whose Clopper–Pearson lower end reaches $1-\delta$:
    $(1-\delta)^n \le (1-\text{level})/2$."""
    return math.ceil(math.log((1 - level) / 2) / math.log(1 - delta))


def interval_decision(lo: float, hi: float, tolerance: float, relation: str) -> bool | None:
    """True if [lo, hi] satisfies ``relation tolerance`` entirely, False if it violates it entirely."""
    if relation == "<=":
        return True if hi <= tolerance else (False if lo > tolerance else None)
    if relation == ">=":
        return True if lo >= tolerance else (False if hi < tolerance else None)
    raise ValueError(f"unknown relation {relation!r}; expected one of {RELATIONS}")


def margin_of(value: float, tolerance: float, relation: str) -> float:
    r"""$v/\tau$ for ``<=`` and $\tau/v$ for ``>=``: above 1 on the violating side (nan if undefined)."""
    if not (np.isfinite(value) and np.isfinite(tolerance)) or tolerance <= 0:
        return float("nan")
    if relation == "<=":
        return max(value, 0.0) / tolerance
    return float("inf") if value <= 0 else tolerance / value


# ------------------------------------------------------------------------------------------------
# the check builder


def seed_check(
    name: str,
    per_seed: Sequence[float],
    tolerance: float,
    relation: str = "<=",
    *,
    quantifier: Quantifier | str,
    curve: Curve | None = None,
    reason: str = "",
    se: Sequence[float] | float | None = None,
    delta: float | None = None,
    labels: Sequence[str] | None = None,
    role: str = "check",
) -> CheckResult:
    r"""Build a :class:`CheckResult` from per-seed values, decided as ``quantifier`` prescribes.

    ``se``: per-seed standard errors (``every``: each seed decided on a Bonferroni interval) or one
    Monte Carlo standard error of the mean (``mean``: a $z$ interval). ``delta``: the failure
    probability of a ``probability`` statement. ``labels`` name the items when they are not the run's
    seeds (e.g. ``"n=100"``); otherwise the runner names them by seed. ``role`` is ``"check"`` (counted:
    training against theory) or ``"certificate"`` (theory against theory: reported, not counted; a
    failed certificate makes the run an error).
    """
    quantifier = Quantifier(quantifier)
    if relation not in RELATIONS:
        raise ValueError(f"unknown relation {relation!r}; expected one of {RELATIONS}")
    if role not in ("check", "certificate"):
        raise ValueError(f"role must be 'check' or 'certificate', got {role!r}")
    values = np.asarray(per_seed, dtype=float).reshape(-1)
    if values.size == 0:
        raise ValueError(f"check {name!r} has no values")
    level = current_level()
    base = dict(name=name, tolerance=float(tolerance), relation=relation, per_seed=values.tolist(), curve=curve,
                quantifier=quantifier.value, level=level, role=role,
                labels=list(labels) if labels is not None else None)
    decide = {Quantifier.EVERY: _every, Quantifier.TYPICAL: _typical, Quantifier.MEAN: _mean,
              Quantifier.PROBABILITY: _probability}[quantifier]
    value, interval, passed, why, worst = decide(values, float(tolerance), relation, level, se, delta)
    if quantifier is Quantifier.PROBABILITY:  # the statistic is the success fraction, against 1 - delta
        base.update(tolerance=1.0 - float(delta), relation=">=", threshold=float(tolerance),
                    threshold_relation=relation)
    if passed is None and reason:
        why = f"{reason}; {why}" if why else reason
    elif reason and not why:
        why = reason
    result = CheckResult(value=value, passed=passed, interval=interval, reason=why, worst_index=worst, **base)
    result.margin = margin_of(value, result.tolerance, result.relation)
    return result


def guard_items(check: CheckResult, unready: Sequence[bool], why: str) -> CheckResult:
    """Only seeds that are ready (e.g. whose run has reached the regime the theorem speaks of) can refute.

    A failed check whose every violating seed is flagged ``unready`` becomes undecided with reason
    ``why``; a violation on a ready seed still fails it (for ``every`` checks, one ready counterexample
    suffices; for the other quantifiers any unready seed makes a failure undecided). Passes are left as
    they are: a value already within tolerance is evidence whatever the horizon. The flag must be
    computed from the training alone, never from the prediction under test, so that a wrong prediction
    cannot hide behind it."""
    unready = np.asarray(unready, dtype=bool).reshape(-1)
    if check.passed is not False or not unready.any():
        return check
    note = f"{why} ({int(unready.sum())} of {unready.size} seeds)"
    if Quantifier(check.quantifier) is Quantifier.EVERY:
        values = np.array(check.per_seed, dtype=float)
        values[unready] = np.nan
        value, _, passed, _, worst = _every(values, check.tolerance, check.relation, check.level, None, None)
        if passed is False:
            check.value, check.worst_index = value, worst
            check.margin = margin_of(value, check.tolerance, check.relation)
            return check
    check.passed = None
    check.reason = note
    return check


def _violation(values: np.ndarray, relation: str) -> np.ndarray:
    return values if relation == "<=" else -values


def _every(values, tol, relation, level, se, delta):
    """Each seed on its own; Bonferroni over seeds when a per-seed standard error is given."""
    n = values.size
    if se is not None:
        se_arr = np.broadcast_to(np.asarray(se, dtype=float), values.shape)
        z = float(sps.norm.ppf(1 - (1 - level) / (2 * n)))
        lo, hi = values - z * se_arr, values + z * se_arr
    else:
        lo = hi = values
    finite = np.isfinite(values) & np.isfinite(lo) & np.isfinite(hi)
    decisions = [interval_decision(a, b, tol, relation) if ok else None for a, b, ok in zip(lo, hi, finite)]
    badness = np.where(finite, _violation(values, relation), np.inf)
    worst = int(np.argmax(badness))
    value = float(values[worst])
    interval = (float(np.nanmin(values)), float(np.nanmax(values))) if finite.any() else None
    failed = [i for i, d in enumerate(decisions) if d is False]
    undecided = [i for i, d in enumerate(decisions) if d is None]
    if failed:
        worst = max(failed, key=lambda i: badness[i])
        return float(values[worst]), interval, False, f"{len(failed)} of {n} violate the tolerance", worst
    if undecided:
        nonfinite = int(np.sum(~finite))
        why = (f"{nonfinite} seed(s) gave a non-finite value" if nonfinite
               else f"{len(undecided)} of {n} straddle the tolerance within their standard error")
        return value if np.isfinite(value) else float("nan"), interval, None, why, undecided[0]
    return value, interval, True, "", worst


def _typical(values, tol, relation, level, se, delta):
    """Exact order-statistic interval of the median."""
    if not np.all(np.isfinite(values)):
        bad = int(np.sum(~np.isfinite(values)))
        return float("nan"), None, None, f"{bad} seed(s) gave a non-finite value", None
    found = median_order_interval(values, level)
    med = float(np.median(values))
    if found is None:
        need = seeds_for_median(level)
        return med, None, None, (f"needs {need} seeds for a {level:.0%} interval of the median "
                                 f"(has {values.size})"), None
    med, lo, hi, coverage = found
    passed = interval_decision(lo, hi, tol, relation)
    why = "" if passed is not None else (f"{coverage:.1%} interval of the median [{lo:.3g}, {hi:.3g}] "
                                          f"straddles the tolerance {tol:.3g}")
    worst = int(np.argmax(_violation(values, relation)))
    return med, (lo, hi), passed, why, worst


def _mean(values, tol, relation, level, se, delta):
    """Student's t interval of the mean, or a z interval with a Monte Carlo standard error."""
    if not np.all(np.isfinite(values)):
        bad = int(np.sum(~np.isfinite(values)))
        return float("nan"), None, None, f"{bad} seed(s) gave a non-finite value", None
    if se is None and values.size < 2:
        return float(values.mean()), None, None, "needs 2 seeds (or a standard error) for an interval of the mean", None
    if se is not None and np.ndim(se) != 0:
        raise ValueError("quantifier 'mean' takes one standard error of the mean, not per-seed errors")
    mean, lo, hi = mean_interval(values, level, None if se is None else float(se))
    passed = interval_decision(lo, hi, tol, relation)
    kind = "z" if se is not None else "t"
    why = "" if passed is not None else (f"{level:.0%} {kind} interval of the mean [{lo:.3g}, {hi:.3g}] straddles "
                                          f"the tolerance {tol:.3g}")
    worst = int(np.argmax(_violation(values, relation)))
    return mean, (lo, hi), passed, why, worst


def _probability(values, tol, relation, level, se, delta):
    """Binomial decision on the per-seed outcomes against the success probability 1 - delta."""
    if delta is None or not 0 < delta < 1:
        raise ValueError("quantifier 'probability' needs delta in (0, 1)")
    finite = np.isfinite(values)
    ok = finite & (values <= tol if relation == "<=" else values >= tol)
    n, k = values.size, int(ok.sum())
    lo, hi = clopper_pearson(k, n, level)
    target = 1.0 - delta
    passed = interval_decision(lo, hi, target, ">=")
    why = ""
    if passed is None:
        need = draws_for_probability(delta, level)
        why = (f"{k}/{n} within tolerance; the {level:.0%} interval [{lo:.3g}, {hi:.3g}] of the success "
               f"probability straddles {target:.3g}" + (f" (needs at least {need} draws)" if n < need else ""))
    badness = np.where(finite, _violation(values, relation), np.inf)
    worst = int(np.argmax(badness))
    return k / n, (lo, hi), passed, why, worst
