r"""Falsification search: hunt for a counterexample to a claim inside its assumptions.

The search space is the claim's parameters within its ``validate()`` assumptions (the theorem's
hypotheses; see :mod:`theorycheck.verify.space`), plus the seed block: the claim's seeds shifted by a
searched offset. A sampled point that ``validate()`` refuses lies outside the hypotheses: it is *pruned*,
never a counterexample. The first trial is the base point itself (the preset's values, the given seeds).

The objective of a trial is the claim's **worst check margin**
$\max_c m_c$ over its counted, decided checks, where $m_c$ = statistic / tolerance is oriented so that
$m_c > 1$ violates (for an ``every`` check the statistic is already that of the worst seed). A trial
whose verdict is ``disagrees`` is a candidate counterexample; ``inconclusive`` trials (horizon too
short, numerical health, an undecided check) and ``error`` trials (diverged training, a failed
certificate) are reported apart and never counted as counterexamples.

The optimizer is Optuna's TPE sampler. Trials are asked in batches of ``batch``, evaluated through
an executor of :mod:`theorycheck.verify.executors` (in any order, on any machine) and told back in
trial order; the sampler is re-seeded at each batch from the sampler seed and the number of trials
already in the study, so the same seed gives the same trials on every executor, and a search that is
stopped and started again with a larger budget continues exactly where it stopped (the budget is
rounded up to whole batches). The study lives in an Optuna storage — ``falsify.sqlite`` in the results
store by default, or any database URL — so a killed search resumes from its stored trials (the trials it
left running are run again, or served from the store) and several drivers can share one study (while
another driver has trials running, a driver mixes its own identity into the sampler seed, so that the two
draw apart; their trials are then no longer reproducible from the sampler seed alone). Each run is also
written to the results store.

A counterexample is re-run once from scratch (bypassing the store) to confirm it is not noise, then
*shrunk* as property-based testing tools do: candidates that reset changed parameters to their defaults,
go back to the default seed block, keep only the worst seed, or move a value part of the way toward its
default (a half, a quarter, an eighth) are tried in a fixed order, and the first that still fails the same
check is kept, until none does or the shrink budget is spent. Sizes above their default thus shrink
toward it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import re
import shlex
import socket
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from theorycheck.errors import InputError
from theorycheck.verify.claim import CheckResult, Claim, Params, Verdict
from theorycheck.verify.executors import WorkUnit, make_executor
from theorycheck.verify.provenance import code_hash
from theorycheck.verify.runner import Result, build_params, check_seeds
from theorycheck.verify.space import Dimension, format_value, parse_vary, plain, search_space
from theorycheck.verify.stats import DEFAULT_LEVEL, check_level

#: name of the seed-block dimension (an offset added to every base seed)
SEED_OFFSET = "seed_offset"
#: seed offsets are drawn from [0, SEED_OFFSETS)
SEED_OFFSETS = 10_000
#: random trials before TPE models the objective (fixed, so that a resumed search samples as an unbroken one)
STARTUP_TRIALS = 8
#: margins are told to the optimizer clipped to this (an infinite margin is a certain violation)
MARGIN_CAP = 1e12
#: asks per evaluated trial after which a search whose points are nearly all refused by validate() stops
MAX_ASKS_PER_TRIAL = 20
#: fractions of the way to the default that shrinking tries for a changed value (after resetting it)
SHRINK_FRACTIONS = (0.5, 0.25, 0.125)
#: tries at opening a study (drivers started together race to create the database's tables)
OPEN_ATTEMPTS = 4
#: counterexamples re-run to confirm, at most, before the search gives up confirming
CONFIRM_ATTEMPTS = 3


# ------------------------------------------------------------------------------------------------
# cases and their outcomes


@dataclass(frozen=True)
class Case:
    """A point of the search: the searched parameters' values and the seeds."""

    values: tuple[tuple[str, Any], ...]
    seeds: tuple[int, ...]

    @classmethod
    def of(cls, values: dict[str, Any], seeds: Sequence[int]) -> "Case":
        return cls(tuple(sorted((k, _hashable(v)) for k, v in values.items())), tuple(int(s) for s in seeds))

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.values)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@dataclass
class Outcome:
    """What one run of a case gave: verdict, worst check margin and where it was reached."""

    verdict: str
    margin: float | None
    check: str | None
    item: str | None
    message: str
    seconds: float
    failed: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, result: Result) -> "Outcome":
        worst = worst_check(result)
        failed = [c.name for c in result.checks if c.counted and c.passed is False]
        return cls(result.verdict.value, None if worst is None else _finite(worst.margin),
                   None if worst is None else worst.name, None if worst is None else worst.worst_item,
                   result.message, float(result.seconds), failed)

    @property
    def objective(self) -> float:
        """The value told to the optimizer (0 when no counted check decided)."""
        return 0.0 if self.margin is None else min(self.margin, MARGIN_CAP)


def _finite(x: float) -> float | None:
    x = float(x)
    if math.isnan(x):
        return None
    return x if math.isfinite(x) else MARGIN_CAP


def worst_check(result: Result) -> CheckResult | None:
    """The counted, decided check with the largest margin (> 1 violates): the trial's objective."""
    decided = [c for c in result.checks if c.counted and c.passed is not None and not math.isnan(c.margin)]
    return max(decided, key=lambda c: c.margin) if decided else None


@dataclass
class TrialRecord:
    """One trial of the study: its case and, unless pruned, its outcome."""

    number: int
    case: Case
    state: str  # "evaluated", "pruned" (outside the assumptions), "running" (another driver's)
    outcome: Outcome | None = None
    reason: str = ""

    @property
    def verdict(self) -> str | None:
        return None if self.outcome is None else self.outcome.verdict

    @property
    def margin(self) -> float | None:
        return None if self.outcome is None else self.outcome.margin


@dataclass
class Counterexample:
    """A trial that disagreed, the fresh run that confirmed it, and the shrunk case with the steps that led to it."""

    trial: TrialRecord
    confirmation: Outcome
    shrunk: Case
    shrunk_outcome: Outcome
    steps: list[str]
    shrink_runs: int


# ------------------------------------------------------------------------------------------------
# the report


@dataclass
class FalsifyReport:
    """Everything a falsification search found; ``command(case)`` is the reproducer of a case."""

    claim: str
    preset: str
    dimensions: list[Dimension]
    fixed: dict[str, Any]
    base_seeds: list[int]
    search_seeds: bool
    level: float
    budget: int
    batch: int
    sampler_seed: int
    study: str
    storage: str
    claim_files: list[str]
    trials: list[TrialRecord]
    counterexample: Counterexample | None
    unconfirmed: list[tuple[TrialRecord, Outcome]]
    seconds: float
    evaluated_now: int

    @property
    def evaluated(self) -> list[TrialRecord]:
        return [t for t in self.trials if t.state == "evaluated"]

    @property
    def pruned(self) -> list[TrialRecord]:
        return [t for t in self.trials if t.state == "pruned"]

    def by_verdict(self, verdict: str) -> list[TrialRecord]:
        return [t for t in self.evaluated if t.verdict == verdict]

    @property
    def counterexamples(self) -> list[TrialRecord]:
        return sorted(self.by_verdict("disagrees"), key=lambda t: -(t.margin or 0.0))

    @property
    def inconclusive(self) -> list[TrialRecord]:
        return self.by_verdict("inconclusive")

    @property
    def errors(self) -> list[TrialRecord]:
        return self.by_verdict("error")

    def worst(self, top: int = 5) -> list[TrialRecord]:
        """The decided trials (agrees or disagrees) with the largest margins."""
        decided = [t for t in self.evaluated if t.verdict in ("agrees", "disagrees") and t.margin is not None]
        return sorted(decided, key=lambda t: (-t.margin, t.number))[:top]

    @property
    def base_values(self) -> dict[str, Any]:
        return {d.name: d.base for d in self.dimensions}

    def changed(self, case: Case) -> dict[str, Any]:
        """The parameters of ``case`` that differ from the base."""
        base = self.base_values
        return {k: v for k, v in case.values if _hashable(base.get(k)) != v}

    def command(self, case: Case) -> str:
        """A ``theorycheck run`` command line that reproduces ``case``."""
        parts = ["theorycheck", "run", self.claim]
        if self.preset != "default":
            parts.append(f"--{self.preset}")
        for path in self.claim_files:
            parts += ["--claims", path]
        sets = {**self.fixed, **self.changed(case)}
        for key in sorted(sets):
            parts += ["--set", f"{key}={format_value(sets[key])}"]
        parts += ["--seeds", seed_spec(case.seeds)]
        if self.level != DEFAULT_LEVEL:
            parts += ["--level", f"{self.level:g}"]
        return " ".join(shlex.quote(p) for p in parts)

    def to_json(self, top: int = 5) -> dict[str, Any]:
        def trial(t: TrialRecord) -> dict[str, Any]:
            out = {"number": t.number, "state": t.state, "params": {k: plain(v) for k, v in t.case.values},
                   "changed": {k: plain(v) for k, v in self.changed(t.case).items()}, "seeds": list(t.case.seeds),
                   "command": self.command(t.case)}
            if t.outcome is not None:
                out.update(outcome_json(t.outcome))
            if t.reason:
                out["reason"] = t.reason
            return out

        ce = self.counterexample
        return {
            "schema": 1, "kind": "falsify", "claim": self.claim, "preset": self.preset, "study": self.study,
            "storage": self.storage, "budget": self.budget, "batch": self.batch, "sampler_seed": self.sampler_seed,
            "level": self.level, "fixed": {k: plain(v) for k, v in self.fixed.items()},
            "base_seeds": self.base_seeds, "search_seeds": self.search_seeds,
            "space": [d.to_json() for d in self.dimensions],
            "counts": {"trials": len(self.trials), "evaluated": len(self.evaluated), "pruned": len(self.pruned),
                       "agrees": len(self.by_verdict("agrees")), "disagrees": len(self.counterexamples),
                       "inconclusive": len(self.inconclusive), "errors": len(self.errors),
                       "evaluated_now": self.evaluated_now},
            "worst": [trial(t) for t in self.worst(top)],
            "counterexample": None if ce is None else {
                "trial": trial(ce.trial), "confirmation": outcome_json(ce.confirmation),
                "shrunk": {"params": {k: plain(v) for k, v in ce.shrunk.values},
                           "changed": {k: plain(v) for k, v in self.changed(ce.shrunk).items()},
                           "seeds": list(ce.shrunk.seeds), "command": self.command(ce.shrunk),
                           **outcome_json(ce.shrunk_outcome)},
                "shrink_steps": ce.steps, "shrink_runs": ce.shrink_runs},
            "unconfirmed": [{**trial(t), "rerun": outcome_json(o)} for t, o in self.unconfirmed],
            "inconclusive": [trial(t) for t in self.inconclusive],
            "errors": [trial(t) for t in self.errors],
            "trials": [trial(t) for t in self.trials],
            "seconds": round(self.seconds, 3),
        }


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {"verdict": outcome.verdict, "margin": outcome.margin, "check": outcome.check, "item": outcome.item,
            "message": outcome.message, "seconds": round(outcome.seconds, 4), "failed": outcome.failed}


def seed_spec(seeds: Sequence[int]) -> str:
    """``--seeds`` text for ``seeds``: ``a:b`` for a contiguous block (one seed included), else ``a,b,c``."""
    seeds = list(seeds)
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}:{seeds[0] + len(seeds)}"
    return ",".join(str(s) for s in seeds)


# ------------------------------------------------------------------------------------------------
# the search


@dataclass
class _Context:
    """What evaluating a case needs (the claim, its base, where runs go)."""

    claim: type[Claim]
    preset: str
    fixed: dict[str, Any]
    level: float
    device: str
    claim_files: tuple[str, ...]
    store: Any
    pool: Any

    def params(self, case: Case) -> Params:
        return build_params(self.claim, self.preset, {**self.fixed, **case.params})

    def run(self, cases: Sequence[Case], fresh: bool = False) -> list[Result]:
        """Run ``cases`` through the executor (served from the store unless ``fresh``); results in input order."""
        results: list[Result | None] = [None] * len(cases)
        units = []
        for i, case in enumerate(cases):
            params = self.params(case)
            cached = None if fresh or self.store is None else self.store.get(self.claim, params.as_dict(),
                                                                                list(case.seeds), self.level)
            if cached is not None:
                results[i] = cached
            else:
                units.append(WorkUnit(i, self.claim.id, params.as_dict(), case.seeds, self.preset, self.device,
                                      self.claim_files, self.level))
        for i, result in self.pool.run(units):
            results[i] = result
            if self.store is not None and result.verdict is not Verdict.ERROR:
                self.store.put(result, self.claim)
        return results  # type: ignore[return-value]


def study_name(claim: type[Claim], preset: str, fixed: dict[str, Any], dims: Sequence[Dimension],
               base_seeds: Sequence[int], search_seeds: bool, level: float, sampler_seed: int, batch: int) -> str:
    """``falsify:<claim>:<hash>``: one study per claim code and search configuration (the budget excluded)."""
    config = {"claim": claim.id, "code": code_hash(claim), "preset": preset,
              "fixed": {k: plain(v) for k, v in sorted(fixed.items())}, "space": [d.to_json() for d in dims],
              "seeds": list(base_seeds), "search_seeds": search_seeds, "level": level, "sampler_seed": sampler_seed,
              "batch": batch}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"falsify:{claim.id}:{digest}"


def default_storage(store: Any) -> str | None:
    """``sqlite:///<store>/falsify.sqlite`` beside the results store's index (None without a store)."""
    if store is None:
        return None
    root = os.path.abspath(store.root)
    os.makedirs(root, exist_ok=True)
    return f"sqlite:///{os.path.join(root, 'falsify.sqlite')}"


def _open_study(storage: str | None, name: str, config: dict[str, Any]):
    """Create or load the study; refuse one whose stored configuration differs."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for attempt in range(OPEN_ATTEMPTS):
        try:
            study = optuna.create_study(storage=storage, study_name=name, direction="maximize", load_if_exists=True)
            break
        except Exception as err:  # a bad URL or an unreadable database: one line, in words
            racing = type(err).__name__ in ("IntegrityError", "OperationalError")  # drivers creating one database
            if racing and attempt + 1 < OPEN_ATTEMPTS:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise InputError(f"cannot open the falsification study at {_redact(storage)!r}: "
                             f"{type(err).__name__}: {str(err).splitlines()[0]}") from None
    stored = study.user_attrs.get("config")
    if stored is None:
        study.set_user_attr("config", config)
    elif stored != json.loads(json.dumps(config, default=str)):
        raise InputError(f"study {name!r} was created with another configuration; choose another --study name")
    return study


def _redact(url: str | None) -> str:
    return "memory" if url is None else re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _sampler(seed: int, trials_so_far: int, driver: str = ""):
    """TPE seeded from the sampler seed and the study's length (and the driver, when several share the study):
    the same history gives the same next batch."""
    import optuna

    derived = int(hashlib.sha256(f"{seed}:{trials_so_far}:{driver}".encode()).hexdigest()[:8], 16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # multivariate TPE
        return optuna.samplers.TPESampler(seed=derived, n_startup_trials=STARTUP_TRIALS, multivariate=True,
                                          constant_liar=True)


def _driver() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_local_driver(driver: str | None) -> bool:
    """Whether ``driver`` ("host:pid") is a process of this host that no longer runs."""
    if not driver or ":" not in driver:
        return False
    host, pid = driver.rsplit(":", 1)
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True  # an earlier search of this process that stopped mid-batch
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _case_attrs(case: Case) -> dict[str, Any]:
    return {"values": {k: plain(v) for k, v in case.values}, "seeds": list(case.seeds)}


def _case_from_attrs(attrs: dict[str, Any]) -> Case:
    return Case.of(attrs["values"], attrs["seeds"])


def falsify(
    claim: type[Claim],
    *,
    budget: int = 40,
    preset: str = "default",
    seeds: Sequence[int] | int | str | None = None,
    vary: dict[str, str | None] | Sequence[str] | None = None,
    fixed: dict[str, Any] | None = None,
    search_seeds: bool = True,
    level: float = DEFAULT_LEVEL,
    device: str = "auto",
    executor: str = "local",
    executor_options: dict[str, Any] | None = None,
    batch: int = 4,
    sampler_seed: int = 0,
    storage: str | None = None,
    study: str | None = None,
    store: Any = None,
    claim_files: Iterable[str] = (),
    shrink_budget: int = 32,
    on_trial: Callable[[TrialRecord], None] | None = None,
) -> FalsifyReport:
    """Search ``claim``'s admissible parameters (and seed blocks) for a case that disagrees.

    ``budget`` evaluated trials in all (trials already stored in the study count; rounded up to whole
    batches of ``batch``); ``vary`` restricts the search to some parameters (``--vary`` syntax);
    ``fixed`` overrides hold for every trial; ``storage`` an Optuna storage URL (default: ``falsify.sqlite``
    in ``store``; in memory without either); ``study`` a study name (default derived from the claim's code
    and the configuration). Returns a :class:`FalsifyReport`.
    """
    if importlib.util.find_spec("optuna") is None:
        raise InputError("falsify needs Optuna: pip install 'theorycheck[falsify]'")
    if budget < 1:
        raise InputError(f"--budget must be at least 1, got {budget}")
    if batch < 1:
        raise InputError(f"--batch must be at least 1, got {batch}")
    if shrink_budget < 0:
        raise InputError(f"--shrink-budget must be non-negative, got {shrink_budget}")
    start = time.perf_counter()
    fixed = dict(fixed or {})
    level = check_level(level)
    base = build_params(claim, preset, fixed)
    fixed = {k: getattr(base, k) for k in fixed}  # typed: --set n=50 and n=50.0 are one study
    base_seeds = check_seeds(seeds, claim, preset)
    vary_specs = parse_vary(vary) if isinstance(vary, (list, tuple)) else dict(vary or {})
    dims = search_space(claim, base, vary_specs)
    clash = sorted(set(fixed) & {d.name for d in dims})
    if clash:
        raise InputError(f"parameter {clash[0]!r} is both fixed (--set) and searched (--vary)")
    budget = -(-budget // batch) * batch
    claim_files = tuple(str(p) for p in claim_files)
    storage = storage or default_storage(store)
    name = study or study_name(claim, preset, fixed, dims, base_seeds, search_seeds, level, sampler_seed, batch)
    config = {"claim": claim.id, "preset": preset, "fixed": {k: plain(v) for k, v in fixed.items()},
              "space": [d.to_json() for d in dims], "seeds": base_seeds, "search_seeds": search_seeds,
              "level": level, "sampler_seed": sampler_seed, "batch": batch}
    optuna_study = _open_study(storage, name, config)
    distributions = {d.name: d.distribution() for d in dims}
    if search_seeds:
        from optuna.distributions import IntDistribution

        distributions[SEED_OFFSET] = IntDistribution(0, SEED_OFFSETS - 1)
    if not optuna_study.trials:  # the first trial is the base point itself
        first = {d.name: d.encode(d.base) for d in dims}
        if search_seeds:
            first[SEED_OFFSET] = 0
        optuna_study.enqueue_trial(first, skip_if_exists=True)

    def case_of(raw: dict[str, Any]) -> Case:
        values = {d.name: d.decode(raw[d.name]) for d in dims}
        offset = int(raw.get(SEED_OFFSET, 0))
        return Case.of(values, [s + offset for s in base_seeds])

    def refusal(case: Case) -> str | None:
        try:
            build_params(claim, preset, {**fixed, **case.params})
        except InputError as err:
            return str(err)
        return None

    evaluated_now = 0
    with make_executor(executor, **(executor_options or {})) as pool:
        ctx = _Context(claim, preset, fixed, level, device, claim_files, store, pool)
        evaluated_now += _adopt_orphans(optuna_study, ctx)
        asks = 0
        while True:
            from optuna.trial import TrialState

            trials = optuna_study.get_trials(deepcopy=False)
            # another driver's running trials count: it will tell them
            done = sum(t.state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.RUNNING) for t in trials)
            if done >= budget or asks > MAX_ASKS_PER_TRIAL * budget:
                break
            # a driver sharing the study right now: draw apart from it (alone, the draws depend on the history only)
            shared = any(t.state == TrialState.RUNNING for t in trials)
            optuna_study.sampler = _sampler(sampler_seed, len(trials), _driver() if shared else "")
            pending: list[tuple[Any, Case]] = []
            while len(pending) < min(batch, budget - done) and asks <= MAX_ASKS_PER_TRIAL * budget:
                trial = optuna_study.ask(distributions)
                asks += 1
                trial.set_user_attr("driver", _driver())
                case = case_of(trial.params)
                trial.set_user_attr("case", _case_attrs(case))
                why = refusal(case)
                if why is not None:
                    trial.set_user_attr("pruned", why)
                    optuna_study.tell(trial, state=TrialState.PRUNED)
                    continue
                pending.append((trial, case))
            results = ctx.run([c for _, c in pending])
            for (trial, case), result in zip(pending, results):
                _tell(optuna_study, trial, Outcome.of(result))
                evaluated_now += 1
                if on_trial is not None:
                    on_trial(TrialRecord(trial.number, case, "evaluated", Outcome.of(result)))
        records = _records(optuna_study)
        counterexample, unconfirmed = _settle(optuna_study, records, ctx, dims, base_seeds, batch, shrink_budget)
    return FalsifyReport(claim.id, preset, dims, fixed, base_seeds, search_seeds, level, budget, batch, sampler_seed,
                         name, _redact(storage), list(claim_files), records, counterexample, unconfirmed,
                         time.perf_counter() - start, evaluated_now)


def _tell(study: Any, trial: Any, outcome: Outcome) -> None:
    """Record the outcome on the trial and tell the optimizer (an error is a failed trial)."""
    from optuna.trial import TrialState

    from optuna.exceptions import UpdateFinishedTrialError

    number = trial if isinstance(trial, int) else trial.number
    trial_id = study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
    try:
        study._storage.set_trial_user_attr(trial_id, "outcome", outcome_json(outcome))
        if outcome.verdict == Verdict.ERROR.value:
            study.tell(number, state=TrialState.FAIL)
        else:
            study.tell(number, outcome.objective)
    except UpdateFinishedTrialError:
        pass  # another driver sharing the study ran the same (deterministic) case and told it first


def _adopt_orphans(study: Any, ctx: _Context) -> int:
    """Finish the trials a killed search of this host left running (same case, served from the store if it
    was stored before the kill), so that the study continues as if it had not been stopped."""
    from optuna.trial import TrialState

    orphans = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
               if _dead_local_driver(t.user_attrs.get("driver"))]
    unfinished = [t for t in orphans if "case" not in t.user_attrs or "pruned" in t.user_attrs]
    for trial in unfinished:  # killed between asking and recording the case, or refused and not yet told
        study.tell(trial.number, state=TrialState.PRUNED)
    orphans = [t for t in orphans if t not in unfinished]
    if not orphans:
        return 0
    results = ctx.run([_case_from_attrs(t.user_attrs["case"]) for t in orphans])
    for trial, result in zip(orphans, results):
        _tell(study, trial.number, Outcome.of(result))
    return len(orphans)


def _records(study: Any) -> list[TrialRecord]:
    from optuna.trial import TrialState

    out = []
    for t in study.get_trials(deepcopy=False):
        if "case" not in t.user_attrs:
            continue
        case = _case_from_attrs(t.user_attrs["case"])
        if t.state == TrialState.PRUNED:
            out.append(TrialRecord(t.number, case, "pruned", reason=t.user_attrs.get("pruned", "")))
        elif t.state in (TrialState.COMPLETE, TrialState.FAIL) and "outcome" in t.user_attrs:
            out.append(TrialRecord(t.number, case, "evaluated", _outcome_from_json(t.user_attrs["outcome"])))
        elif t.state == TrialState.RUNNING:
            out.append(TrialRecord(t.number, case, "running"))
    return out


def _outcome_from_json(data: dict[str, Any]) -> Outcome:
    return Outcome(data["verdict"], data.get("margin"), data.get("check"), data.get("item"), data.get("message", ""),
                   float(data.get("seconds", 0.0)), list(data.get("failed", [])))


# ------------------------------------------------------------------------------------------------
# confirming and shrinking a counterexample


def _settle(study: Any, records: list[TrialRecord], ctx: _Context, dims: Sequence[Dimension],
            base_seeds: Sequence[int], batch: int, shrink_budget: int
            ) -> tuple[Counterexample | None, list[tuple[TrialRecord, Outcome]]]:
    """Confirm the worst counterexamples (up to CONFIRM_ATTEMPTS) by a fresh run; shrink the first confirmed.
    A settled counterexample is kept in the study, so a repeated search reports it without re-running."""
    candidates = sorted((t for t in records if t.verdict == "disagrees"), key=lambda t: (-(t.margin or 0.0), t.number))
    unconfirmed: list[tuple[TrialRecord, Outcome]] = []
    settled = study.user_attrs.get("settled", {})
    for trial in candidates[:CONFIRM_ATTEMPTS]:
        key = f"{trial.number}:{shrink_budget}"
        if key in settled:
            data = settled[key]
            confirmation = _outcome_from_json(data["confirmation"])
            if not data["confirmed"]:
                unconfirmed.append((trial, confirmation))
                continue
            return Counterexample(trial, confirmation, _case_from_attrs(data["shrunk"]),
                                  _outcome_from_json(data["shrunk_outcome"]), data["steps"],
                                  data["shrink_runs"]), unconfirmed
        (rerun,) = ctx.run([trial.case], fresh=True)
        confirmation = Outcome.of(rerun)
        confirmed = _still_fails(confirmation, trial.outcome.check)
        if not confirmed:
            settled[key] = {"confirmed": False, "confirmation": outcome_json(confirmation)}
            study.set_user_attr("settled", settled)
            unconfirmed.append((trial, confirmation))
            continue
        shrunk, shrunk_outcome, steps, runs = shrink(trial.case, confirmation, rerun, ctx, dims, base_seeds, batch,
                                                     shrink_budget)
        settled[key] = {"confirmed": True, "confirmation": outcome_json(confirmation),
                        "shrunk": _case_attrs(shrunk), "shrunk_outcome": outcome_json(shrunk_outcome),
                        "steps": steps, "shrink_runs": runs}
        study.set_user_attr("settled", settled)
        return Counterexample(trial, confirmation, shrunk, shrunk_outcome, steps, runs), unconfirmed
    return None, unconfirmed


def _still_fails(outcome: Outcome, check: str | None) -> bool:
    """Disagrees, failing the same check (a different failure is a different counterexample)."""
    return outcome.verdict == Verdict.DISAGREES.value and check in outcome.failed


def _simpler(case: Case, result: Result, check: str, dims: Sequence[Dimension],
             base_seeds: Sequence[int]) -> list[tuple[Case, str]]:
    """Simplifications of ``case``, most simplifying first: reset every changed parameter at once, reset one,
    the base seed block, the worst seed alone, then move one value a half, a quarter, an eighth of the way to
    its default (duplicates dropped)."""
    by_name = {d.name: d for d in dims}
    values = case.params
    changed = [n for n in sorted(values) if values[n] != _hashable(by_name[n].base)]
    out: list[tuple[Case, str]] = []
    if len(changed) > 1:
        out.append((Case.of({**values, **{n: by_name[n].base for n in changed}}, case.seeds),
                    "reset " + ", ".join(changed)))
    for n in changed:
        out.append((Case.of({**values, n: by_name[n].base}, case.seeds), f"reset {n}"))
    if len(case.seeds) == len(base_seeds) and tuple(case.seeds) != tuple(base_seeds):
        out.append((Case.of(values, base_seeds), "default seed block"))
    failing = next((c for c in result.checks if c.name == check), None)
    if len(case.seeds) > 1 and failing is not None and failing.worst_seed is not None:
        out.append((Case.of(values, [failing.worst_seed]), f"worst seed {failing.worst_seed} alone"))
    elif len(case.seeds) == 1 < len(base_seeds) and case.seeds[0] != base_seeds[0]:
        out.append((Case.of(values, base_seeds[:1]), f"seed {base_seeds[0]}"))
    for fraction in SHRINK_FRACTIONS:
        for n in changed:
            moved = by_name[n].toward_base(values[n], fraction)
            if moved not in (values[n], _hashable(by_name[n].base)):
                out.append((Case.of({**values, n: moved}, case.seeds), f"{n} -> {format_value(moved)}"))
    return list(dict((c, (c, why)) for c, why in out).values())


def shrink(case: Case, outcome: Outcome, result: Result, ctx: _Context, dims: Sequence[Dimension],
           base_seeds: Sequence[int], batch: int, budget: int) -> tuple[Case, Outcome, list[str], int]:
    """Greedy shrinking: evaluate the simplifications of the current case ``batch`` at a time, in a fixed order,
    and move to the first that still fails the same check; stop when none does or ``budget`` runs are spent.
    Returns the shrunk case, its outcome, the accepted steps and the number of runs."""
    check = outcome.check
    steps: list[str] = []
    runs = 0
    while runs < budget:
        candidates = _simpler(case, result, check, dims, base_seeds)
        moved = False
        for i in range(0, len(candidates), batch):
            chunk = candidates[i:i + batch][:budget - runs]
            if not chunk:
                break
            results = ctx.run([c for c, _ in chunk])
            runs += len(chunk)
            hit = next(((c, why, r) for (c, why), r in zip(chunk, results) if _still_fails(Outcome.of(r), check)), None)
            if hit is not None:
                case, why, result = hit
                outcome = Outcome.of(result)
                steps.append(why)
                moved = True
                break
        if not moved:
            break
    return case, outcome, steps, runs
