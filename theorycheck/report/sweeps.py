"""Phase diagrams of a sweep: the key value against one parameter, or a heat map over two.

Each cell's verdict is a marker (explained in the legend); the key check's tolerance is a dashed line
(one axis) or a tick on the colour bar (two axes). Further grid axes get one panel per combination of
their values, so no cell is ever drawn over another. Cells outside the claim's assumptions
(``--allow-outside``) are drawn hollow: the theorem does not cover them.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from theorycheck.report.figures import PANEL_HEIGHT, WIDTHS, panel_grid, save, style  # noqa: E402
from theorycheck.report.labels import format_number, short_label  # noqa: E402

MARKERS = {"agrees": "o", "disagrees": "X", "inconclusive": "s", "error": "^"}
COLORS = {"agrees": "#2ca02c", "disagrees": "#d62728", "inconclusive": "#e6a100", "error": "#7f0000"}


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _key_value(result: Any) -> float:
    key = result.key_check
    return float("nan") if key is None or key.value is None else float(key.value)


def _legend(fig: plt.Figure, results: Sequence, tolerance: bool, columns: int) -> None:
    """One legend for the whole figure, above the panels: the verdict markers (and the tolerance line)."""
    verdicts = {r.verdict.value for r in results}
    handles = [Line2D([], [], linestyle="", marker=MARKERS[v], markerfacecolor=COLORS[v], markeredgecolor="k",
                      markeredgewidth=0.4, markersize=5, label=v) for v in MARKERS if v in verdicts]
    if any(getattr(r, "outside", None) for r in results):
        handles.append(Line2D([], [], linestyle="", marker="o", markerfacecolor="none", markeredgecolor="k",
                              markersize=5, label="outside the assumptions"))
    if tolerance:
        handles.append(Line2D([], [], color="0.3", linestyle=(0, (4, 2)), linewidth=0.8, label="tolerance"))
    fig.legend(handles=handles, loc="outside upper center", ncol=min(len(handles), columns), fontsize=6.5)


def _key(results: Sequence) -> Any:
    """The key check of the first result that has one (an errored cell has none)."""
    return next((r.key_check for r in results if r.key_check is not None), None)


def _line_panel(ax: plt.Axes, results: Sequence, name: str) -> None:
    xs = [r.params[name] for r in results]
    x = np.array(xs, float) if _numeric(xs) else np.arange(len(xs), dtype=float)
    values = np.array([_key_value(r) for r in results])
    order = np.argsort(x, kind="stable")
    ax.plot(x[order], values[order], color="0.55", linewidth=0.8, zorder=1)
    for xi, vi, r in zip(x, values, results):
        verdict = r.verdict.value
        hollow = bool(getattr(r, "outside", None))
        # a cell without a value (an error) sits on the x axis, so that it is seen
        where = dict(transform=ax.get_xaxis_transform(), clip_on=False) if not np.isfinite(vi) else {}
        ax.scatter([xi], [vi if np.isfinite(vi) else 0.0], marker=MARKERS[verdict], s=26, zorder=3, linewidths=0.8,
                   facecolors="none" if hollow else COLORS[verdict], edgecolors=COLORS[verdict] if hollow else "k",
                   **where)
    key = _key(results)
    if key is not None and math.isfinite(key.tolerance):
        ax.axhline(key.tolerance, color="0.3", linestyle=(0, (4, 2)), linewidth=0.8)
    if _numeric(xs) and np.all(x > 0) and x.max() / x.min() > 50:
        ax.set_xscale("log")
    finite = values[np.isfinite(values)]
    if finite.size and np.all(finite > 0) and finite.max() / finite.min() > 100:
        ax.set_yscale("log")
    if not _numeric(xs):
        ax.set_xticks(np.arange(len(xs)), [str(v) for v in xs])
    ax.set_xlabel(name)
    ax.set_ylabel(short_label(key.name, 40) if key is not None else "key value")


def _heat_panel(fig: plt.Figure, ax: plt.Axes, results: Sequence, a: str, b: str) -> None:
    xa = sorted({r.params[a] for r in results}, key=_sort_key)
    xb = sorted({r.params[b] for r in results}, key=_sort_key)
    grid = np.full((len(xb), len(xa)), np.nan)
    for r in results:
        grid[xb.index(r.params[b]), xa.index(r.params[a])] = _key_value(r)
    finite = grid[np.isfinite(grid)]
    norm = LogNorm() if finite.size and np.all(finite > 0) and finite.max() / finite.min() > 100 else None
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", norm=norm)
    key = _key(results)
    bar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.02)
    bar.set_label(short_label(key.name, 40) if key is not None else "key value")
    if key is not None and math.isfinite(key.tolerance) and finite.size and \
            finite.min() <= key.tolerance <= finite.max():
        bar.ax.axhline(key.tolerance, color="w", linewidth=1.2)
        bar.ax.text(1.6, key.tolerance, "tol.", transform=bar.ax.get_yaxis_transform(), fontsize=6, va="center")
    for r in results:
        i, j = xb.index(r.params[b]), xa.index(r.params[a])
        verdict = r.verdict.value
        hollow = bool(getattr(r, "outside", None))
        ax.scatter([j], [i], marker=MARKERS[verdict], s=22, linewidths=0.8,
                   facecolors="none" if hollow else COLORS[verdict], edgecolors=COLORS[verdict] if hollow else "k")
    ax.set_xticks(range(len(xa)), [format_number(v) for v in xa], rotation=45 if len(xa) > 5 else 0)
    ax.set_yticks(range(len(xb)), [format_number(v) for v in xb])
    ax.set_xlabel(a)
    ax.set_ylabel(b)


def _sort_key(value: Any) -> tuple:
    return (0, float(value), "") if _numeric([value]) else (1, 0.0, str(value))


def phase_diagram(results: Sequence, names: Sequence[str], stem: Path, formats: Sequence[str] = ("pdf", "png")) -> list[Path]:
    """One axis: key value against the parameter. Two: a heat map. More: one panel (of the first one or two
    axes) per combination of the other axes' values, labelled with them."""
    if not results or not names:
        return []
    plot_axes, facet_axes = list(names[:2]), list(names[2:])
    facets = list(itertools.product(*(sorted({r.params[n] for r in results}, key=_sort_key) for n in facet_axes)))
    rows, columns = panel_grid(len(facets))
    width = "one-column" if len(facets) == 1 else "two-column"
    with plt.rc_context(style()):
        fig, axes = plt.subplots(rows, columns, figsize=(WIDTHS[width], PANEL_HEIGHT[width] * rows), squeeze=False)
        for ax, facet in itertools.zip_longest(axes.flat, facets):
            if facet is None:
                ax.set_visible(False)
                continue
            cell = [r for r in results if all(r.params[n] == v for n, v in zip(facet_axes, facet))]
            if not cell:
                ax.set_visible(False)
                continue
            if len(plot_axes) == 1:
                _line_panel(ax, cell, plot_axes[0])
            else:
                _heat_panel(fig, ax, cell, *plot_axes)
            if facet_axes:
                ax.set_title(", ".join(f"{n}={format_number(v)}" for n, v in zip(facet_axes, facet)), loc="left")
        key = _key(results)
        _legend(fig, results, len(plot_axes) == 1 and key is not None and math.isfinite(key.tolerance),
                3 if width == "one-column" else 6)
    return save(fig, stem, formats)
