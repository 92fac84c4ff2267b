"""``theorycheck diff A B``: two sets of results compared claim by claim.

Results are paired by claim, preset, parameters, seeds and level (in a store, the latest run of each);
what is left is paired by claim when each side has exactly one run of it. For each pair the comparison
reports the verdicts, the key values and every difference of set-up or provenance (parameters, seeds,
level, git revision and dirty flag, code hash, package versions, device, dtype).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from theorycheck.report.terminal import format_value


def run_key(result: Any) -> tuple:
    return (result.claim, result.preset, json.dumps(result.params, sort_keys=True, default=str),
            tuple(result.seeds), result.level)


def latest(results: Sequence) -> list:
    """One result per run key, the latest (results come oldest first); order of first appearance kept."""
    kept: dict[tuple, Any] = {}
    for r in results:
        kept[run_key(r)] = r
    return list(kept.values())


@dataclass
class Pair:
    """One claim's run on each side (``None``: absent there) and what differs between them."""

    claim: str
    a: Any
    b: Any
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def verdict_changed(self) -> bool:
        return self.a is None or self.b is None or self.a.verdict != self.b.verdict

    @property
    def value_changed(self) -> bool:
        ka, kb = (None if r is None else r.key_check for r in (self.a, self.b))
        if ka is None or kb is None:
            return ka is not kb
        return not _close(ka.value, kb.value) or not _close(ka.tolerance, kb.tolerance)


def _close(x: float, y: float) -> bool:
    if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
        return (x is None) == (y is None) and str(x) == str(y)
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-15)


def _flat(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(f"{prefix}.{k}" if prefix else str(k), v))
        return out
    return {prefix: value}


#: provenance fields that differ between any two runs and say nothing about the set-up
_VOLATILE = {"wall_seconds", "seeds"}


def changes(a: Any, b: Any) -> dict[str, tuple[Any, Any]]:
    """Set-up and provenance fields whose values differ: {field: (in A, in B)}."""
    fields = {"preset": (a.preset, b.preset), "seeds": (a.seeds, b.seeds), "level": (a.level, b.level)}
    fields.update({f"params.{k}": (a.params.get(k), b.params.get(k)) for k in sorted(set(a.params) | set(b.params))})
    pa, pb = _flat("", a.provenance), _flat("", b.provenance)
    fields.update({k: (pa.get(k), pb.get(k)) for k in sorted(set(pa) | set(pb)) if k not in _VOLATILE})
    return {k: v for k, v in fields.items() if v[0] != v[1]}


def pair_results(left: Sequence, right: Sequence) -> list[Pair]:
    """Pairs of runs, exact matches first, then by claim; unmatched runs pair with None."""
    a, b = latest(left), latest(right)
    b_by_key = {run_key(r): r for r in b}
    pairs: list[Pair] = []
    rest_a = []
    for r in a:
        other = b_by_key.pop(run_key(r), None)
        if other is None:
            rest_a.append(r)
        else:
            pairs.append(Pair(r.claim, r, other, changes(r, other)))
    rest_b = list(b_by_key.values())
    for r in list(rest_a):
        same_a = [x for x in rest_a if x.claim == r.claim]
        same_b = [x for x in rest_b if x.claim == r.claim]
        if len(same_a) == 1 and len(same_b) == 1:
            pairs.append(Pair(r.claim, r, same_b[0], changes(r, same_b[0])))
            rest_a.remove(r)
            rest_b.remove(same_b[0])
    pairs += [Pair(r.claim, r, None) for r in rest_a] + [Pair(r.claim, None, r) for r in rest_b]
    return sorted(pairs, key=lambda p: p.claim)


def arrow(x: str, y: str) -> str:
    return x if x == y else f"{x} -> {y}"


def verdict_cell(pair: Pair) -> str:
    va = "absent" if pair.a is None else pair.a.verdict.value
    vb = "absent" if pair.b is None else pair.b.verdict.value
    return arrow(va, vb)


def value_cell(pair: Pair) -> str:
    va = "—" if pair.a is None else format_value(pair.a.key_check, worst=False)
    vb = "—" if pair.b is None else format_value(pair.b.key_check, worst=False)
    return arrow(va, vb)


def describe(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."
