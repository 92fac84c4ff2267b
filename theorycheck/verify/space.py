r"""The search space of a falsification search: a claim's parameters within its assumptions.

Each searched parameter is a :class:`Dimension`: a numeric range (log-scaled where it spans a decade) or a
set of choices, with the base value the search starts from and shrinks toward. Where a range comes from,
first match wins:

* ``--vary name=low:high[:log]`` or ``--vary name=a,b,c`` on the command line;
* the Params' ``search_space`` class attribute: ``(low, high)`` or ``(low, high, "log"|"lin")`` a range,
  a list the choices, None never searched;
* otherwise derived from the field's type and presets: a bool is searched over both values; an int from
  min(presets)/4 to max(presets); a float from min(presets)/10 to max(presets)*10; each end pulled in by
  bisection to what ``validate()`` admits with the other fields at their base values. Strings, tuples,
  zero or negative values and fields whose names read as check settings (:data:`CHECK_SETTING`) are not
  searched unless declared or named by ``--vary``.

Points inside the ranges that ``validate()`` still refuses (joint assumptions such as ``n_support <= d``)
are pruned by the search, never run.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from theorycheck.errors import InputError
from theorycheck.verify.claim import Claim, Params, coerce

#: sampled floats are rounded to this many significant digits, so that a printed case reproduces exactly
SIGNIFICANT = 4
#: a ratio high/low at or above which a range without a declared scale is searched on a log scale
LOG_RATIO = 10.0
#: undeclared ranges: floats from min(presets)/FLOAT_WIDEN to max(presets)*FLOAT_WIDEN;
#: ints from min(presets)/INT_SHRINK to max(presets)
FLOAT_WIDEN = 10.0
INT_SHRINK = 4
#: names that read as settings of a check rather than of the theorem (tolerances, z-scores, the wrong factors of
#: controls, required separations and margins of a comparison): never searched unless declared or named by --vary
CHECK_SETTING = re.compile(r"(^|_)(tol|tolerance|z|wrong|separation)(_|$)|._margin$")


# ------------------------------------------------------------------------------------------------
# the search space


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: a numeric range (``kind`` "float" or "int", ``log`` scale or not) or
    ``choices`` (``kind`` "choice"); ``base`` is the value the search starts from and shrinks toward."""

    name: str
    kind: str
    base: Any
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def distribution(self):
        """The Optuna distribution (choices are searched by index)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "choice":
            return CategoricalDistribution(tuple(range(len(self.choices))))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def decode(self, raw: Any) -> Any:
        """A sampled value as the parameter's value."""
        if self.kind == "choice":
            return self.choices[int(raw)]
        if self.kind == "int":
            return int(raw)
        return round_sig(float(raw))

    def encode(self, value: Any) -> Any:
        """The inverse of :meth:`decode` (for enqueuing a known point)."""
        if self.kind == "choice":
            return self.choices.index(value)
        return int(value) if self.kind == "int" else float(value)

    def toward_base(self, value: Any, fraction: float = 0.5) -> Any:
        """``value`` moved ``fraction`` of the way to the base (on the log scale for a log range), rounded like
        a sample; ints move by at least one."""
        if self.kind == "choice" or value == self.base:
            return self.base
        a, b = float(value), float(self.base)
        if self.log and a > 0 and b > 0:
            moved = math.exp(math.log(a) + fraction * (math.log(b) - math.log(a)))
        else:
            moved = a + fraction * (b - a)
        if self.kind == "int":
            return int(math.floor(moved) if a > b else math.ceil(moved))
        return round_sig(moved)

    def describe(self) -> str:
        if self.kind == "choice":
            return f"{self.name} in {{{', '.join(format_value(c) for c in self.choices)}}}"
        scale = ", log" if self.log else ""
        return f"{self.name} in [{format_value(self.low)}, {format_value(self.high)}{scale}]"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "base": plain(self.base), "low": self.low, "high": self.high,
                "log": self.log, "choices": [plain(c) for c in self.choices]}


def round_sig(x: float, digits: int = SIGNIFICANT) -> float:
    """``x`` rounded to ``digits`` significant digits."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def format_value(value: Any) -> str:
    """A parameter value as ``--set`` takes it (tuples comma-separated)."""
    if isinstance(value, (tuple, list)):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)


def plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def parse_vary(items: Iterable[str]) -> dict[str, str | None]:
    """``--vary`` options: ``alpha,n,d`` (names), ``alpha=1e-3:10:log``, ``n=10:100`` or ``loss=logistic,exp``.

    Returns name -> spec (None: the declared or derived range)."""
    out: dict[str, str | None] = {}
    for item in items:
        item = item.strip()
        if "=" in item:
            name, spec = (s.strip() for s in item.split("=", 1))
            pairs = [(name, spec)]
        else:
            pairs = [(name.strip(), None) for name in item.split(",") if name.strip()]
        for name, spec in pairs:
            if not name.isidentifier():
                raise InputError(f"--vary {item!r}: {name!r} is not a parameter name")
            if name in out:
                raise InputError(f"--vary names {name!r} twice")
            out[name] = spec
    return out


def _spec_from_text(name: str, spec: str, hint: Any) -> Any:
    """A ``--vary name=spec`` range or choice list, in the form of a ``search_space`` entry."""
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("log", "lin")):
            raise InputError(f"--vary {name}={spec}: a range looks like low:high or low:high:log")
        low, high = (coerce(name, p, float) for p in parts[:2])
        return (low, high, parts[2]) if len(parts) == 3 else (low, high)
    return [coerce(name, v.strip(), hint) for v in spec.split(",") if v.strip()]


def _dimension_from_spec(name: str, spec: Any, hint: Any, base: Any) -> Dimension:
    """A declared entry: ``(low, high)`` / ``(low, high, "log"|"lin")`` a range, a list the choices."""
    if isinstance(spec, list):
        if not spec:
            raise InputError(f"search range of {name!r} lists no choices")
        choices = tuple(spec) if base in spec else (base, *spec)
        return Dimension(name, "choice", base, choices=choices)
    if not (isinstance(spec, tuple) and len(spec) in (2, 3)):
        raise InputError(f"search range of {name!r} must be (low, high), (low, high, 'log') or a list of choices, "
                         f"got {spec!r}")
    if hint not in (int, float) or isinstance(base, bool):
        raise InputError(f"parameter {name!r} is not a number: give its choices as a list, not a range")
    low, high = float(spec[0]), float(spec[1])
    scale = spec[2] if len(spec) == 3 else None
    if scale not in (None, "log", "lin"):
        raise InputError(f"search range of {name!r}: the scale must be 'log' or 'lin', got {scale!r}")
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        raise InputError(f"search range of {name!r} needs finite low < high, got {low:g}, {high:g}")
    log = scale == "log" or (scale is None and low > 0 and high / low >= LOG_RATIO)
    if log and low <= 0:
        raise InputError(f"search range of {name!r}: a log scale needs low > 0, got {low:g}")
    low, high = min(low, float(base)), max(high, float(base))
    if hint is int:
        return Dimension(name, "int", int(base), math.ceil(low), math.floor(high), log)
    return Dimension(name, "float", float(base), low, high, log)


def _derived_dimension(name: str, hint: Any, base: Params, presets: Sequence[Params],
                       named: bool = False) -> Dimension | None:
    """An undeclared field's range from its type and preset values, clipped to what ``validate()`` admits
    (each end found by bisection with the other fields at their base values); None if not searchable
    (a check setting is searched only when ``named`` by ``--vary``)."""
    value = getattr(base, name)
    if hint is bool:
        return Dimension(name, "choice", value, choices=(value, not value))
    if hint not in (int, float) or (CHECK_SETTING.search(name) and not named):
        return None
    values = [float(getattr(p, name)) for p in presets] + [float(value)]
    if min(values) <= 0:
        return None  # zero or negative values are modes or offsets, not scales: declare a range to search them
    if hint is int:
        low, high = max(1, int(min(values)) // INT_SHRINK), int(max(values))
    else:
        low, high = min(values) / FLOAT_WIDEN, max(values) * FLOAT_WIDEN
    low = _admissible_end(base, name, hint, float(value), float(low))
    high = _admissible_end(base, name, hint, float(value), float(high))
    if not low < high:
        return None
    log = low > 0 and high / low >= LOG_RATIO
    if hint is int:
        return Dimension(name, "int", int(value), int(low), int(high), log)
    return Dimension(name, "float", float(value), float(low), float(high), log)


def _admissible(base: Params, name: str, value: Any) -> bool:
    try:
        new = dataclasses.replace(base, **{name: value})  # type: ignore[type-var]
        new.validate()
    except (InputError, ValueError, TypeError):
        return False
    return True


def _admissible_end(base: Params, name: str, hint: Any, inside: float, end: float, rounds: int = 40) -> float:
    """The end of [inside, end] closest to ``end`` that ``validate()`` admits (bisection; log-scale when positive)."""
    cast = int if hint is int else float
    if _admissible(base, name, cast(round_sig(end) if hint is float else end)):
        return cast(round_sig(end)) if hint is float else cast(end)
    good, bad = inside, end
    for _ in range(rounds):
        mid = math.sqrt(good * bad) if good > 0 and bad > 0 else (good + bad) / 2
        if hint is int:
            mid = math.floor(mid) if bad > good else math.ceil(mid)
            if mid in (good, bad):
                break
        if _admissible(base, name, cast(mid)):
            good = mid
        else:
            bad = mid
    rounded = round_sig(good)
    return cast(rounded) if hint is float and _admissible(base, name, rounded) else cast(good)


def search_space(claim: type[Claim], base: Params, vary: dict[str, str | None] | None = None) -> list[Dimension]:
    """The searched dimensions of ``claim`` around ``base``: the fields named by ``vary`` (all searchable
    fields when empty), each with its ``--vary`` spec, its ``Params.search_space`` entry, or a range
    derived from its type and presets (see the module constants)."""
    params_cls = type(base)
    fields = [f.name for f in dataclasses.fields(base)]  # type: ignore[arg-type]
    hints = typing.get_type_hints(params_cls)
    declared: dict[str, Any] = dict(getattr(params_cls, "search_space", {}) or {})
    unknown = sorted(set(declared) - set(fields))
    if unknown:
        raise InputError(f"{params_cls.__qualname__}.search_space names unknown parameter {unknown[0]!r}")
    presets = [params_cls(), params_cls.quick(), params_cls.full()]
    vary = dict(vary or {})
    for name in vary:
        if name not in fields:
            raise InputError(f"--vary {name!r}: unknown parameter for {claim.id}; valid keys: {', '.join(fields)}")
    dims = []
    for name in (vary or fields):
        spec = vary.get(name)
        if spec is not None:
            dim = _dimension_from_spec(name, _spec_from_text(name, spec, hints[name]), hints[name], getattr(base, name))
        elif name in declared:
            dim = None if declared[name] is None else _dimension_from_spec(name, declared[name], hints[name],
                                                                           getattr(base, name))
        else:
            dim = _derived_dimension(name, hints[name], base, presets, named=name in vary)
        if dim is None and name in vary:
            raise InputError(f"--vary {name!r}: no search range for this {getattr(hints[name], '__name__', 'value')} "
                             f"parameter; give one, e.g. --vary {name}=low:high or --vary {name}=a,b")
        if dim is not None:
            dims.append(dim)
    if not dims and not vary:
        raise InputError(f"claim {claim.id} has no searchable parameter; name ranges with --vary name=low:high")
    return dims
