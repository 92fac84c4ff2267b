"""Parameter grids and sweeps that resume: each finished cell is stored as soon as it returns.

A grid axis is written ``name=start:stop:num`` (linear), ``name=start:stop:num:log`` (geometric)
or ``name=v1,v2,...``; several axes form a product. Cells already in the store are not run again,
so an interrupted sweep picks up where it stopped.
"""

from __future__ import annotations

import itertools
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from theorycheck.errors import InputError
from theorycheck.verify.claim import Claim
from theorycheck.verify.executors import WorkUnit, make_executor
from theorycheck.verify.runner import Result, build_params_outside, check_seeds
from theorycheck.verify.stats import DEFAULT_LEVEL, check_level


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[Any, ...]


def parse_axis(text: str) -> Axis:
    """Parse one ``--grid`` option; raise InputError naming what is wrong."""
    if "=" not in text:
        raise InputError(f"grid {text!r} must look like name=start:stop:num[:log] or name=v1,v2,...")
    name, spec = (s.strip() for s in text.split("=", 1))
    if not name.isidentifier():
        raise InputError(f"grid {text!r}: {name!r} is not a parameter name")
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "lin")):
            raise InputError(f"grid {text!r} must look like name=start:stop:num[:log]")
        try:
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise InputError(f"grid {text!r}: start and stop must be numbers and num an integer") from None
        if not (np.isfinite(start) and np.isfinite(stop)):
            raise InputError(f"grid {text!r}: start and stop must be finite")
        if num < 1:
            raise InputError(f"grid {text!r}: num must be at least 1, got {num}")
        if stop < start or (stop == start and num > 1):
            raise InputError(f"grid {text!r}: stop ({stop:g}) must be greater than start ({start:g})")
        log = len(parts) == 4 and parts[3] == "log"
        if log and start <= 0:
            raise InputError(f"grid {text!r}: a log grid needs start > 0")
        values = np.geomspace(start, stop, num) if log else np.linspace(start, stop, num)
        return Axis(name, tuple(float(f"{v:.12g}") for v in values))
    values = tuple(v.strip() for v in spec.split(",") if v.strip())
    if not values:
        raise InputError(f"grid {text!r} lists no values")
    return Axis(name, values)


def grid_cells(claim: type[Claim], axes: Sequence[Axis], preset: str = "default",
               fixed: dict[str, Any] | None = None, allow_outside: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The product of the axes as override dicts, each validated against the claim's Params (the parameters
    named in ``allow_outside`` may go past the claim's assumptions)."""
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise InputError(f"grid names a parameter twice: {names}")
    hints = typing.get_type_hints(claim.Params)
    cells = []
    for combo in itertools.product(*(a.values for a in axes)):
        combo = tuple(round(v) if hints.get(n) is int and isinstance(v, float) else v for n, v in zip(names, combo))
        overrides = {**(fixed or {}), **dict(zip(names, combo))}
        params, _ = build_params_outside(claim, preset, overrides, allow_outside)  # raises on bad keys or types
        cell = {name: getattr(params, name) for name in names}
        if cell not in cells:
            cells.append(cell)
    return cells


def run_sweep(claim: type[Claim], axes: Sequence[Axis], store, preset: str = "default",
              seeds: Sequence[int] | int | str | None = None, fixed: dict[str, Any] | None = None, device: str = "auto",
              executor: str = "local", executor_options: dict[str, Any] | None = None, rerun: bool = False,
              claim_files: Iterable[str] = (), on_result: Callable[[Result], None] | None = None,
              level: float = DEFAULT_LEVEL, allow_outside: Sequence[str] = (),
              on_plan: Callable[[int, int], None] | None = None) -> list[Result]:
    """Run every cell of the grid not already stored; store each as it finishes; return all, in grid order.

    ``on_plan(to_run, stored)`` is called once before anything runs, ``on_result`` after each computed cell.
    """
    seed_list = check_seeds(seeds, claim, preset)
    level = check_level(level)
    cells = grid_cells(claim, axes, preset, fixed, allow_outside)
    params_list = [build_params_outside(claim, preset, {**(fixed or {}), **cell}, allow_outside)[0] for cell in cells]
    results: dict[int, Result] = {}
    todo: list[WorkUnit] = []
    for index, params in enumerate(params_list):
        cached = None if rerun else store.get(claim, params.as_dict(), seed_list, level)
        if cached is not None:
            results[index] = cached
        else:
            todo.append(WorkUnit(index, claim.id, params.as_dict(), tuple(seed_list), preset, device,
                                 tuple(str(p) for p in claim_files), level, tuple(allow_outside)))
    if on_plan:
        on_plan(len(todo), len(results))
    with make_executor(executor, **(executor_options or {})) as pool:
        for index, result in pool.run(todo):
            store.put(result, claim)
            results[index] = result
            if on_result:
                on_result(result)
    return [results[i] for i in range(len(params_list))]
