"""Run claims: parameters → data → prediction → batched training → checks and controls → verdict."""

from __future__ import annotations

import dataclasses
import time
import traceback
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from theorycheck.errors import DivergenceError, InputError, TheorycheckError
from theorycheck.numerics.device import resolve_device
from theorycheck.numerics.trajectory import Trajectory
from theorycheck.verify.claim import CheckResult, Claim, Params, Verdict, coerce, decide
from theorycheck.verify.provenance import provenance
from theorycheck.verify.stats import DEFAULT_LEVEL, check_level, confidence_level


@dataclass
class Result:
    """The outcome of one claim run (one parameter set, a batch of seeds)."""

    claim: str
    verdict: Verdict
    seconds: float
    params: dict[str, Any]
    checks: list[CheckResult] = field(default_factory=list)
    controls: list[CheckResult] = field(default_factory=list)
    message: str = ""
    seeds: list[int] = field(default_factory=list)
    preset: str = "default"
    provenance: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    trajectory: Trajectory | None = None
    observations: dict[str, float] = field(default_factory=dict)

    level: float = 0.95
    #: the claim's assumptions this run goes past (``--allow-outside``): the theorem does not cover it
    outside: list[str] = field(default_factory=list)

    @property
    def key_check(self) -> CheckResult | None:
        """The first counted check (the claim's key check)."""
        return next((c for c in self.checks if c.counted), None)

    @property
    def closest_control(self) -> CheckResult | None:
        """The rejected control with the smallest margin (the nearest miss), else the first control."""
        rejected = [c for c in self.controls if c.passed is False and np.isfinite(c.margin)]
        if rejected:
            return min(rejected, key=lambda c: c.margin)
        return self.controls[0] if self.controls else None

    @property
    def near_misses(self) -> list[CheckResult]:
        """Rejected controls within NEAR_MISS of their tolerance: mistakes the check only just catches."""
        from theorycheck.verify.stats import NEAR_MISS

        return [c for c in self.controls if c.passed is False and np.isfinite(c.margin) and c.margin <= NEAR_MISS]

    def to_json(self) -> dict[str, Any]:
        """The schema-1 result record (theorycheck/report/schema.json); later fields extend it, never break it."""
        return {
            "claim": self.claim,
            "verdict": self.verdict.value,
            "seconds": round(self.seconds, 4),
            "params": self.params,
            "checks": [c.to_json() for c in self.checks],
            "controls": [{**c.to_json(), "rejected": c.passed is False} for c in self.controls],
            "message": self.message,
            "seeds": self.seeds,
            "preset": self.preset,
            "cached": self.cached,
            "provenance": self.provenance,
            "observations": {k: _json_number(v) for k, v in self.observations.items()},
            "level": self.level,
            "near_misses": [c.name for c in self.near_misses],
            "outside_assumptions": list(self.outside),
        }


def _json_number(value: Any) -> Any:
    value = float(value)
    return value if np.isfinite(value) else None


def build_params(claim: type[Claim], preset: str = "default", overrides: dict[str, Any] | None = None) -> Params:
    """The claim's preset with validated overrides (InputError names a bad key or value)."""
    params = claim.Params.preset(preset)
    params = params.with_overrides(overrides or {})
    return params


def build_params_outside(claim: type[Claim], preset: str = "default", overrides: dict[str, Any] | None = None,
                         allow_outside: Sequence[str] = ()) -> tuple[Params, list[str]]:
    """Like :func:`build_params`, but the parameters named in ``allow_outside`` may take values the claim's
    ``validate()`` refuses (to draw where a theorem stops holding, e.g. a step size past 2/L).

    The overrides are accepted when ``validate()`` passes once the named parameters keep their preset
    values, so every other check still applies; the refusal's message is returned as the assumption the
    run goes past (empty when the values are inside). Unknown names raise InputError.
    """
    overrides = dict(overrides or {})
    base = claim.Params.preset(preset)
    fields = {f.name for f in dataclasses.fields(base)}  # type: ignore[arg-type]
    for name in allow_outside:
        if name not in fields:
            raise InputError(f"--allow-outside {name!r}: {claim.id} has no such parameter; valid keys: "
                             f"{', '.join(sorted(fields))}")
    try:
        return base.with_overrides(overrides), []
    except InputError as refusal:
        if not allow_outside:
            raise
        inside = base.with_overrides({k: v for k, v in overrides.items() if k not in allow_outside})
        hints = typing.get_type_hints(type(base))
        named = {k: coerce(k, v, hints[k]) for k, v in overrides.items() if k in allow_outside}
        return dataclasses.replace(inside, **named), [str(refusal)]  # type: ignore[type-var]


def parse_seeds(spec: Sequence[int] | int | str) -> list[int]:
    """Seeds from a count ``8`` (0..7), a range ``"100:108"`` (100..107), a list ``"3,17,42"`` or a sequence."""
    if isinstance(spec, bool):
        raise InputError(f"--seeds must be a count, a range a:b or a list a,b,c; got {spec!r}")
    if isinstance(spec, int):
        if spec < 1:
            raise InputError(f"--seeds must be at least 1, got {spec}")
        return list(range(spec))
    if isinstance(spec, str):
        text = spec.strip()
        parts = text.split(":") if ":" in text else text.split(",")
        try:
            numbers = [int(part) for part in parts if part.strip()]
        except ValueError:
            raise InputError(f"--seeds must be a count (8), a range (100:108) or a list (3,17,42); got {spec!r}") \
                from None
        if ":" in text:
            if len(numbers) != 2 or not 0 <= numbers[0] < numbers[1]:
                raise InputError(f"--seeds {spec!r}: a range a:b needs 0 <= a < b")
            return list(range(numbers[0], numbers[1]))
        return parse_seeds(numbers if "," in text else (numbers[0] if numbers else []))
    seeds = [int(s) for s in spec]
    if not seeds:
        raise InputError("--seeds must name at least one seed")
    if any(s < 0 for s in seeds):
        raise InputError(f"--seeds must be non-negative, got {min(seeds)}")
    if len(set(seeds)) != len(seeds):
        raise InputError(f"--seeds names a seed twice: {seeds}")
    return seeds


def check_seeds(seeds: Sequence[int] | int | str | None, claim: type[Claim], preset: str = "default") -> list[int]:
    """Normalize ``--seeds`` (see :func:`parse_seeds`); None means the claim's count for the preset."""
    if seeds is None:
        seeds = claim.preset_seeds.get(preset, claim.default_seeds)
    return parse_seeds(seeds)


def assert_finite(trajectory: Trajectory) -> None:
    """Raise DivergenceError naming the first recorded series and step that is NaN or infinite."""
    for name, values in trajectory.series.items():
        values = np.asarray(values)
        if values.dtype.kind not in "fc" or np.all(np.isfinite(values)):
            continue
        bad = ~np.isfinite(values.reshape(values.shape[0], values.shape[1], -1)).all(axis=(0, 2)) if values.ndim >= 2 \
            else ~np.isfinite(values)
        index = int(np.argmax(bad))
        step = int(trajectory.steps[index]) if values.ndim >= 2 and index < len(trajectory.steps) else -1
        raise DivergenceError(f"series {name!r}", step, float(values.reshape(-1)[~np.isfinite(values.reshape(-1))][0]))
    for name, values in trajectory.final.items():
        values = np.asarray(values)
        if values.dtype.kind in "fc" and not np.all(np.isfinite(values)):
            raise DivergenceError(f"final {name!r}", -1, float(values.reshape(-1)[~np.isfinite(values.reshape(-1))][0]))


def execute(claim_cls: type[Claim], params: Params, seeds: list[int], device: str = "auto",
            debug: bool = False, preset: str = "default", level: float = DEFAULT_LEVEL,
            outside: Sequence[str] = ()) -> Result:
    """Run one claim once (no store) with its checks decided at ``level``. Failures inside become a
    Result with verdict ``error``; ``outside`` lists the assumptions the parameters go past."""
    claim = claim_cls()
    torch_device = resolve_device(device)
    start = time.perf_counter()
    base = dict(claim=claim.id, params=params.as_dict(), seeds=seeds, preset=preset, level=level,
                provenance=provenance(torch_device, seeds, claim_cls), outside=list(outside))
    try:
        with confidence_level(level):
            data = claim.make_data(params, seeds)
            prediction = claim.predict(params, data)
            trajectory = claim.simulate(params, data, torch_device, seeds)
            if isinstance(trajectory, Trajectory):
                assert_finite(trajectory)
            checks = claim.checks(params, data, prediction, trajectory)
            controls = claim.controls(params, data, prediction, trajectory)
            observations = {k: float(v) for k, v in claim.observations(params, data, prediction, trajectory).items()}
    except TheorycheckError as err:
        if debug:
            traceback.print_exc()
        return Result(verdict=Verdict.ERROR, seconds=time.perf_counter() - start, message=str(err), **base)
    except Exception as err:  # an unexpected failure is reported as an error, not a crash
        if debug:
            traceback.print_exc()
        return Result(verdict=Verdict.ERROR, seconds=time.perf_counter() - start,
                      message=f"{type(err).__name__}: {err}".splitlines()[0], **base)
    for item in (*checks, *controls):
        item.name_item(seeds)
    verdict, message = decide(checks, controls, claim.id)
    seconds = time.perf_counter() - start
    base["provenance"]["wall_seconds"] = round(seconds, 4)
    return Result(verdict=verdict, seconds=seconds, checks=checks, controls=controls, message=message,
                  observations=observations, trajectory=trajectory if isinstance(trajectory, Trajectory) else None, **base)


def run_claim(claim_cls: type[Claim], preset: str = "default", seeds: Sequence[int] | int | str | None = None,
              overrides: dict[str, Any] | None = None, device: str = "auto", store: Any = None,
              rerun: bool = False, debug: bool = False, level: float = DEFAULT_LEVEL,
              allow_outside: Sequence[str] = ()) -> Result:
    """Run a claim, served from ``store`` when the same run (claim code, parameters, seeds, level) is stored
    (unless ``rerun``); ``allow_outside`` names parameters that may go past the claim's assumptions."""
    params, outside = build_params_outside(claim_cls, preset, overrides, allow_outside)
    seed_list = check_seeds(seeds, claim_cls, preset)
    level = check_level(level)
    resolve_device(device)
    if store is not None and not rerun:
        cached = store.get(claim_cls, params.as_dict(), seed_list, level)
        if cached is not None:
            return cached
    result = execute(claim_cls, params, seed_list, device, debug, preset, level, outside)
    if store is not None and result.verdict is not Verdict.ERROR:
        store.put(result, claim_cls)
    return result


def run(selectors: Sequence[str], preset: str = "default", seeds: Sequence[int] | int | str | None = None,
        overrides: dict[str, Any] | None = None, device: str = "auto", store: Any = None, rerun: bool = False,
        claim_files: Sequence[str] = (), on_start: Callable[[str], None] | None = None,
        level: float = DEFAULT_LEVEL) -> list[Result]:
    """Public API: run the claims named by ids or families (``["all"]`` for the catalog).

    ``seeds``: a count (0..N-1), a range string ``"100:108"``, a list string ``"3,17,42"`` or a list of
    ints; ``level``: the confidence level checks are decided at.
    """
    from theorycheck.verify.registry import load_claims, resolve

    catalog = load_claims(claim_files)
    chosen = list(catalog.values()) if list(selectors) == ["all"] else resolve(selectors, catalog)
    results = []
    for cls in chosen:
        if on_start:
            on_start(cls.id)
        results.append(run_claim(cls, preset, seeds, overrides, device, store, rerun, level=level))
    return results
