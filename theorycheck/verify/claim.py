"""The claim protocol: what a theorem must declare to be checked.

A claim yields four views of one statement (docs/architecture.md):

* ``make_data(params, seeds)`` — the data the theorem is about, generated in code;
* ``predict(params, data)`` — what theory says (sympy / cvxpy, from ``theorycheck.theory``);
* ``simulate(params, data, device, seeds)`` — what training does (torch, from ``theorycheck.numerics``);
* ``checks(...)`` and ``controls(...)`` — whether the two agree, and whether the same
  checks reject predictions that are wrong on purpose.

The claim **agrees** only if every check passes *and* every control is rejected.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np

from theorycheck.errors import InputError


class Verdict(str, enum.Enum):
    """Outcome of a claim or a check."""

    AGREES = "agrees"
    DISAGREES = "disagrees"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"


@dataclass(frozen=True)
class Source:
    """Where a theorem was published."""

    authors: str
    year: int
    title: str
    venue: str = ""
    arxiv: str = ""

    def cite(self) -> str:
        arxiv = f", arXiv:{self.arxiv}" if self.arxiv else ""
        venue = f", {self.venue}" if self.venue else ""
        return f"{self.authors} ({self.year}). {self.title}{venue}{arxiv}"


@dataclass
class Curve:
    r"""Arrays a figure needs: what training measured against ``x``, per seed, and what theory predicts.

    Shapes (S = seeds or other items, X = ``len(x)``):

    * ``y`` — (S, X) or (X,): the measured series; figures draw its median with an interquartile band.
    * ``predicted`` — (X,) or (S, X): the prediction *as the check uses it* (offsets and per-seed
      constants included), drawn as a thin dashed line (its median when it is per seed).
    * ``extra`` — further measured series {label: (S, X) or (X,)}, drawn like ``y`` in other colours;
      ``predicted_extra`` — further theory series {label: (S, X) or (X,)}, thin dashed; the i-th one
      takes the colour of the i-th ``extra`` series (so a measurement and its prediction match).
      Scalars belong in :meth:`Claim.observations`, not here.
    * ``band`` — how the check's tolerance is drawn (read from the :class:`CheckResult` the curve
      belongs to): ``"line"`` when ``y`` is the statistic the check tests (a horizontal line at the
      tolerance, the violating side shaded), ``"relative"`` for the band ``predicted`` × (1 ± tolerance),
      ``"absolute"`` for ``predicted`` ± tolerance, ``"none"``; ``"auto"`` (the default) picks the one whose
      reading of the curve at ``checked_at`` (default: the last ``x``) reproduces the check's per-seed
      values, and draws nothing when none does.
    * ``checked_at`` — the ``x`` range the check reads, ``(x0, x1)`` (shaded), or ``None`` for the last point.
    * ``xmarks`` — labelled vertical lines {label: x}, e.g. a predicted crossover; ``seed_lines`` also
      draws one thin line per seed.
    """

    x: np.ndarray
    y: np.ndarray
    xlabel: str = "step $t$"
    ylabel: str = ""
    logx: bool = True
    logy: bool = True
    predicted: np.ndarray | None = None
    predicted_label: str = "prediction"
    label: str = ""
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    predicted_extra: dict[str, np.ndarray] = field(default_factory=dict)
    band: str = "auto"
    checked_at: tuple[float, float] | None = None
    xmarks: dict[str, float] = field(default_factory=dict)
    seed_lines: bool = False


@dataclass
class CheckResult:
    r"""One comparison of measurement against prediction.

    ``passed`` is ``True``/``False``, or ``None`` when the data cannot decide (then ``reason``
    says why). ``value`` is the statistic the ``quantifier`` prescribes (the worst seed for
    ``every``, the median for ``typical``, the mean for ``mean``, the success fraction for
    ``probability``), compared against ``tolerance`` by ``relation`` (``"<="`` or ``">="``) through
    ``interval`` at confidence ``level`` (see :mod:`theorycheck.verify.stats`).

    ``role`` is ``"check"`` (counted: training against theory) or ``"certificate"`` (theory against
    theory: reported, never counted). ``margin`` is the statistic over the tolerance, above 1 on the
    violating side; ``worst_index`` the item that decides (the runner fills in ``worst_item``, its
    label such as ``"seed 3"`` or ``"n=100"``, and ``worst_seed`` when the items are the run's seeds). For a ``probability`` check, ``threshold`` and ``threshold_relation`` hold the
    per-draw condition and ``tolerance`` is $1-\delta$.
    """

    name: str
    value: float
    tolerance: float
    relation: str
    passed: bool | None
    per_seed: list[float] = field(default_factory=list)
    interval: tuple[float, float] | None = None
    reason: str = ""
    curve: Curve | None = field(default=None, repr=False)
    quantifier: str = "typical"
    level: float = 0.95
    role: str = "check"
    margin: float = float("nan")
    worst_index: int | None = None
    worst_item: str | None = None
    worst_seed: int | None = None
    labels: list[str] | None = None
    threshold: float | None = None
    threshold_relation: str | None = None

    @property
    def counted(self) -> bool:
        """Whether this result counts as a check of the theorem (certificates do not)."""
        return self.role == "check"

    def name_item(self, seeds: Sequence[int]) -> None:
        """Fill ``worst_item`` from ``labels`` or, when there is one value per seed, ``worst_seed`` too."""
        if self.worst_index is None:
            return
        if self.labels is not None and 0 <= self.worst_index < len(self.labels):
            self.worst_item = str(self.labels[self.worst_index])
        elif self.labels is None and len(self.per_seed) == len(seeds) and 0 <= self.worst_index < len(seeds):
            self.worst_seed = int(seeds[self.worst_index])
            self.worst_item = f"seed {self.worst_seed}"
        else:
            self.worst_item = f"item {self.worst_index}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": _finite_or_none(self.value),
            "tolerance": _finite_or_none(self.tolerance),
            "relation": self.relation,
            "passed": self.passed,
            "per_seed": [_finite_or_none(v) for v in self.per_seed],
            "interval": None if self.interval is None else [_finite_or_none(v) for v in self.interval],
            "reason": self.reason,
            "quantifier": self.quantifier,
            "level": self.level,
            "role": self.role,
            "margin": _finite_or_none(self.margin),
            "worst_seed": self.worst_seed,
            "worst_item": self.worst_item,
            "labels": self.labels,
            "threshold": None if self.threshold is None else _finite_or_none(self.threshold),
            "threshold_relation": self.threshold_relation,
        }


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


class Params:
    """Base for a claim's parameters: subclass as ``@dataclass(frozen=True)`` with defaults.

    ``quick()`` runs in seconds on a laptop CPU, ``full()`` at the paper's scale.

    ``search_space`` (optional) tells ``theorycheck falsify`` where to search, by field: ``(low, high)``
    or ``(low, high, "log")`` a range inside the theorem's assumptions, a list the choices, None never
    searched. Undeclared fields get a range from their type and presets (:mod:`theorycheck.verify.space`).
    """

    search_space: ClassVar[dict[str, Any]] = {}

    @classmethod
    def quick(cls) -> "Params":
        return cls()

    @classmethod
    def full(cls) -> "Params":
        return cls()

    @classmethod
    def preset(cls, name: str) -> "Params":
        presets = {"default": cls, "quick": cls.quick, "full": cls.full}
        if name not in presets:
            raise InputError(f"unknown preset {name!r}; choose one of {sorted(presets)}")
        return presets[name]()

    def as_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def with_overrides(self, overrides: dict[str, Any]) -> "Params":
        """Return a copy with ``overrides`` applied; strings are parsed to the field's type.

        Unknown keys and values of the wrong type raise :class:`InputError` naming the key.
        """
        fields = {f.name: f for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        hints = typing.get_type_hints(type(self))
        changes = {}
        for key, raw in overrides.items():
            if key not in fields:
                raise InputError(
                    f"unknown parameter {key!r} for {type(self).__qualname__}; valid keys: {', '.join(sorted(fields))}"
                )
            changes[key] = coerce(key, raw, hints[key])
        new = dataclasses.replace(self, **changes)  # type: ignore[type-var]
        new.validate()
        return new

    def validate(self) -> None:
        """Raise :class:`InputError` when a value is out of range (override per claim)."""


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def coerce(key: str, raw: Any, hint: Any) -> Any:
    """Convert ``raw`` (often a CLI string) to the type ``hint``; raise InputError if it does not fit."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        (inner, *_rest) = typing.get_args(hint)
        items = raw if isinstance(raw, (list, tuple)) else [s.strip() for s in str(raw).strip("()[] ").split(",") if s.strip()]
        return tuple(coerce(key, item, inner) for item in items)
    try:
        if hint is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"true", "1", "yes"}:
                return True
            if text in {"false", "0", "no"}:
                return False
            raise ValueError(text)
        if hint is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            if isinstance(raw, float):
                return int(raw)
            text = str(raw).strip()
            return int(float(text)) if ("e" in text.lower() and float(text).is_integer()) else int(text)
        if hint is float:
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = float(raw)
            if not np.isfinite(value):
                raise ValueError(raw)
            return value
        if hint is str:
            if not isinstance(raw, str):
                raise ValueError(raw)
            return raw
    except (TypeError, ValueError):
        name = getattr(hint, "__name__", str(hint))
        raise InputError(f"parameter {key!r} expects {name}, got {raw!r}") from None
    return raw


class Claim(ABC):
    """A theorem as theorycheck checks it. Subclass and register with :func:`register`."""

    id: ClassVar[str]
    title: ClassVar[str]
    source: ClassVar[Source]
    statement: ClassVar[str]  # LaTeX
    statement_text: ClassVar[str]  # plain text
    Params: ClassVar[type[Params]]
    default_seeds: ClassVar[int] = 4
    #: seeds per preset where they differ from ``default_seeds``, e.g. ``{"full": 20}``
    preset_seeds: ClassVar[dict[str, int]] = {}

    #: where the implementation departs from the paper (a changed constant, a derived consequence in place
    #: of the stated theorem, a regime the paper does not cover); ``theorycheck show`` prints it
    departures: ClassVar[str] = ""
    #: what the checks test: ``"published"`` (the paper's own statement, in a regime where it is not implied by
    #: something simpler), ``"derived"`` (a consequence worked out here; the cited theorem is not called verified)
    #: or ``"published + derived"`` (both; the statement says which part is which)
    evidence: ClassVar[str] = "published"
    #: relations to other claims, as (relation, claim id) pairs: ``"generalizes"``, ``"derived from"``,
    #: ``"same data as"``, ``"compares with"`` (``theorycheck list --graph`` draws them)
    related: ClassVar[tuple[tuple[str, str], ...]] = ()

    def observations(self, params: Params, data: Any, prediction: Any, trajectory: Any) -> dict[str, float]:
        """Reported quantities that are not checks (fitted rates, a regime outside the theorem); default none."""
        return {}

    def derivation(self) -> str:
        """LaTeX of the derivation behind the prediction (shown by ``theorycheck show``); empty if none."""
        return ""

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    @abstractmethod
    def make_data(self, params: Params, seeds: Sequence[int]) -> Any:
        """Generate the data (batched over seeds where the data depend on the seed)."""

    @abstractmethod
    def predict(self, params: Params, data: Any) -> Any:
        """What theory predicts on this data."""

    @abstractmethod
    def simulate(self, params: Params, data: Any, device: Any, seeds: Sequence[int]) -> Any:
        """What training does: one batched torch program for all seeds on ``device`` (a torch.device);
        returns a :class:`theorycheck.numerics.trajectory.Trajectory`."""

    @abstractmethod
    def checks(self, params: Params, data: Any, prediction: Any, trajectory: Any) -> list[CheckResult]:
        """Compare prediction and trajectory."""

    @abstractmethod
    def controls(self, params: Params, data: Any, prediction: Any, trajectory: Any) -> list[CheckResult]:
        """The same checks against deliberately wrong predictions; each must come out ``passed=False``."""


def decide(checks: Sequence[CheckResult], controls: Sequence[CheckResult], claim: str = "") -> tuple[Verdict, str]:
    """Combine check and control outcomes into a verdict with a one-line reason.

    error — no counted check (a claim that checks nothing confirms nothing), or a certificate
    (theory against theory) failed: the prediction itself is broken;
    disagrees — some counted check failed decisively (the worst seed is named);
    inconclusive — otherwise, when a counted check or a certificate is undecided (e.g. a non-finite
    value: the numerics cannot vouch for the prediction) or a control was not rejected (the check then
    cannot tell right from wrong on this data), or the claim declares no control;
    agrees — every counted check passed and every control was rejected.
    """
    counted = [c for c in checks if c.counted]
    if not counted:
        who = f"claim {claim}" if claim else "the claim"
        return Verdict.ERROR, f"{who} returned no counted check (certificates and observations do not count)"
    broken = [c for c in checks if not c.counted and c.passed is False]
    if broken:
        return Verdict.ERROR, "certificate failed (the theory disagrees with itself): " + ", ".join(
            _failure(c) for c in broken)
    failed = [c for c in counted if c.passed is False]
    if failed:
        return Verdict.DISAGREES, "failed: " + "; ".join(_failure(c) for c in failed)
    undecided = [c for c in counted if c.passed is None]
    undecided += [c for c in checks if not c.counted and c.passed is None]  # a certificate that cannot decide
    accepted = [c for c in controls if c.passed is True]
    unsure = [c for c in controls if c.passed is None]
    reasons = [f"{c.name} undecided ({c.reason})" if c.reason else f"{c.name} undecided" for c in undecided]
    reasons += [f"control {c.name} not rejected" for c in accepted]
    reasons += [f"control {c.name} undecided" + (f" ({c.reason})" if c.reason else "") for c in unsure]
    if not controls:
        reasons.append("claim declares no control")
    if reasons:
        return Verdict.INCONCLUSIVE, "; ".join(reasons)
    certificates = len(checks) - len(counted)
    extra = f", {certificates} certificates held" if certificates else ""
    return Verdict.AGREES, f"{len(counted)} checks passed, {len(controls)} controls rejected{extra}"


EVIDENCE = {"published": "the published statement",
            "derived": "a derived consequence (the cited theorem is not called verified)",
            "published + derived": "the published statement and derived consequences (the statement says which)"}


def evidence_text(claim_cls: type | None) -> str:
    """What a claim's checks test, in words; empty for an unknown claim."""
    kind = getattr(claim_cls, "evidence", "") if claim_cls is not None else ""
    return EVIDENCE.get(kind, "")


def _failure(check: CheckResult) -> str:
    """'name (seed 3: 0.09 > 0.05)': the failing check with its deciding item."""
    if check.value is None or not np.isfinite(check.value):
        return check.name
    opposite = {"<=": ">", ">=": "<"}[check.relation]
    where = f"{check.worst_item}: " if check.quantifier == "every" and check.worst_item else ""
    return f"{check.name} ({where}{check.value:.3g} {opposite} {check.tolerance:.3g})"
