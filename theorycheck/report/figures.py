"""Paper figures: the quantity each check tests, its tolerance, and the prediction as the check uses it.

Simulation is drawn thick (with markers on short series): the median across seeds with an
interquartile band (per-seed lines on request); theory is drawn as thin dashed lines on top, so a
measured curve never hides under its prediction. The check's tolerance comes from its
:class:`~theorycheck.verify.claim.CheckResult` (see :class:`~theorycheck.verify.claim.Curve` for how
``band`` maps it onto the curve). Sizes are physical (one column 3.25 in, two columns 6.75 in; nothing
is cropped), fonts are TrueType (``pdf.fonttype = 42``: no Type 3 fonts in a camera-ready PDF), text and
math share one family (STIX, Times-like), and there are no titles: a paper's caption says what a panel
shows. A claim gets one multi-panel figure (one panel per check with a curve, lettered (a), (b), ...) and
one figure per check and control.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as ticker  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.legend_handler import HandlerTuple  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from theorycheck.errors import InputError  # noqa: E402
from theorycheck.report.labels import cell_tag, unique_slugs  # noqa: E402
from theorycheck.verify.claim import CheckResult, Curve  # noqa: E402

#: figure widths in inches: one column of a two-column paper, the full text width
WIDTHS = {"one-column": 3.25, "two-column": 6.75}
#: height of one panel row, inches
PANEL_HEIGHT = {"one-column": 2.3, "two-column": 2.0}
FORMATS = ("pdf", "png", "svg", "pgf")
DPI = 300
#: a series with at most this many points is drawn with markers
MARKER_POINTS = 15
BANDS = ("auto", "line", "relative", "absolute", "none")
TOLERANCE_COLOR = "0.35"
VIOLATION_COLOR = "#d62728"


def style(usetex: bool = False) -> dict[str, Any]:
    """Matplotlib settings for paper figures (8 pt text, STIX for text and math, TrueType fonts)."""
    return {
        "font.family": "serif", "font.serif": ["STIXGeneral", "DejaVu Serif"], "mathtext.fontset": "stix",
        "font.size": 8.5, "axes.labelsize": 8.5, "axes.titlesize": 8.5, "legend.fontsize": 7,
        "xtick.labelsize": 7.5, "ytick.labelsize": 7.5, "lines.linewidth": 1.0, "axes.linewidth": 0.6,
        "xtick.major.width": 0.6, "ytick.major.width": 0.6, "xtick.minor.width": 0.4, "ytick.minor.width": 0.4,
        "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
        "legend.handlelength": 2.2, "legend.borderaxespad": 0.3, "legend.labelspacing": 0.3,
        "pdf.fonttype": 42, "ps.fonttype": 42, "text.usetex": usetex, "savefig.dpi": DPI,
        "figure.constrained_layout.use": True, "axes.grid": False,
    }


def _rows(values: Any, n: int) -> np.ndarray:
    """A series as (items, n): a 1-D series is one item."""
    array = np.asarray(values, float)
    return array.reshape(1, -1) if array.ndim == 1 else array.reshape(array.shape[0], -1)[:, :n]


def _fits(values: Any, n: int) -> bool:
    """Whether a series has one value per x (its last axis has length ``n``)."""
    return np.asarray(values).shape[-1:] == (n,)


def _column(curve: Curve) -> int:
    """Index of the x the check reads: the end of ``checked_at``, else the last point."""
    x = np.asarray(curve.x, float)
    if curve.checked_at is None:
        return x.size - 1
    return int(np.argmin(np.abs(x - float(curve.checked_at[1]))))


def resolve_band(curve: Curve, check: CheckResult | None) -> str:
    """How to draw the check's tolerance on this curve (see :class:`Curve`): ``auto`` picks the reading
    of the curve that reproduces the check's per-seed values, else ``none`` (nothing misleading is drawn)."""
    if curve.band not in BANDS:
        raise ValueError(f"Curve.band must be one of {BANDS}, got {curve.band!r}")
    if curve.band != "auto":
        return curve.band
    if check is None or not check.per_seed:
        return "none"
    values = np.asarray(check.per_seed, float)
    x = np.asarray(curve.x, float)
    y = _rows(curve.y, x.size)
    if y.shape[0] != values.size or not np.all(np.isfinite(values)):
        return "none"
    at = y[:, _column(curve)]

    def same(a: np.ndarray) -> bool:
        return bool(np.all(np.isfinite(a)) and np.allclose(a, values, rtol=1e-6, atol=1e-12))

    if same(at):
        return "line"
    if curve.predicted is not None and _fits(curve.predicted, x.size):
        p = _rows(curve.predicted, x.size)
        p = p[:, _column(curve)] if p.shape[0] in (1, values.size) else None
        if p is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                if same(np.abs(at / p - 1)):
                    return "relative"
            if same(np.abs(at - p)):
                return "absolute"
    return "none"


def _tolerance(check: CheckResult) -> tuple[float, str]:
    """The per-item threshold and its relation (a probability check states them per draw)."""
    if check.threshold is not None:
        return check.threshold, check.threshold_relation or check.relation
    return check.tolerance, check.relation


def _measured(ax: plt.Axes, x: np.ndarray, values: Any, color: str, label: str, seed_lines: bool) -> tuple:
    """Median (thick; markers on short series) with the interquartile band across items."""
    y = _rows(values, x.size)
    with warnings.catch_warnings():  # an all-NaN column (a seed that never reached it) is simply not drawn
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(y, axis=0)
        low, high = np.nanpercentile(y, [25, 75], axis=0)
    marker = "o" if x.size <= MARKER_POINTS else None
    if seed_lines and y.shape[0] > 1:
        for row in y:
            ax.plot(x, row, color=color, alpha=0.3, linewidth=0.5, zorder=2)
    line, = ax.plot(x, median, color=color, linewidth=1.8, marker=marker, markersize=3.2, zorder=3)
    if y.shape[0] > 1:
        band = ax.fill_between(x, low, high, color=color, alpha=0.22, linewidth=0, zorder=1)
        return (Patch(facecolor=band.get_facecolor()[0], alpha=0.22, linewidth=0), line), label
    return line, label


def _theory(ax: plt.Axes, x: np.ndarray, values: Any, color: str, label: str) -> tuple:
    """A prediction: thin dashed, above the measurement (its median when it is per seed)."""
    y = _rows(values, x.size)
    line, = ax.plot(x, np.nanmedian(y, axis=0) if y.shape[0] > 1 else y[0], color=color, linestyle=(0, (4, 2)),
                    linewidth=0.9, zorder=4)
    return line, label


def draw_curve(ax: plt.Axes, curve: Curve, check: CheckResult | None = None, seed_lines: bool | None = None,
               legend: bool = True) -> None:
    """Draw one check's curve on ``ax``: measurement, prediction, tolerance, marks."""
    x = np.asarray(curve.x, float)
    seeds = curve.seed_lines if seed_lines is None else seed_lines
    handles: list[tuple] = [_measured(ax, x, curve.y, "C0", curve.label or "measured", seeds)]
    colors = [f"C{i}" for i in range(1, 10)]
    for i, (name, values) in enumerate(curve.extra.items()):
        if _fits(values, x.size):
            handles.append(_measured(ax, x, values, colors[i % 9], name, seeds))
    if curve.predicted is not None and _fits(curve.predicted, x.size) and not _is_tolerance(curve, check):
        handles.append(_theory(ax, x, curve.predicted, "k", curve.predicted_label))
    for i, (name, values) in enumerate(curve.predicted_extra.items()):
        if _fits(values, x.size):
            handles.append(_theory(ax, x, values, colors[i % 9], name))
    if curve.checked_at is not None:
        ax.axvspan(*curve.checked_at, color="0.88", zorder=0, linewidth=0)
    for i, (name, where) in enumerate(curve.xmarks.items()):
        mark = ax.axvline(where, color="0.25", linewidth=0.8, linestyle=(0, (1, 1.5)) if i else (0, (3, 1, 1, 1)),
                          zorder=4)
        handles.append((mark, name))
    positive = np.all(np.asarray(curve.y, float)[np.isfinite(np.asarray(curve.y, float))] > 0)
    if curve.logx and np.all(x > 0):
        ax.set_xscale("log")
    if curve.logy and positive:
        ax.set_yscale("log")
    if check is not None:
        handles += _draw_tolerance(ax, x, curve, check)
    ax.set_xlabel(curve.xlabel)
    ax.set_ylabel(curve.ylabel)
    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale == "log":
            _log_ticks(axis)
    if len(handles) == 1 and not curve.label:  # a lone "measured" says nothing the axis label does not
        handles = []
    if legend and handles:
        # a long legend would cover data: it goes under the axes in two columns (constrained layout makes room)
        place = dict(loc="upper center", bbox_to_anchor=(0.5, -0.36), ncol=2) if len(handles) > 3 else dict(loc="best")
        ax.legend([h for h, _ in handles], [label for _, label in handles], handler_map={tuple: HandlerTuple(ndivide=1)},
                  **place)


def _is_tolerance(curve: Curve, check: CheckResult | None) -> bool:
    """Whether ``predicted`` is only the check's tolerance as a constant (then it is drawn once, as the tolerance)."""
    if check is None or curve.predicted is None or resolve_band(curve, check) != "line":
        return False
    tol, _ = _tolerance(check)
    return bool(np.allclose(np.asarray(curve.predicted, float), tol))


def _draw_tolerance(ax: plt.Axes, x: np.ndarray, curve: Curve, check: CheckResult) -> list[tuple]:
    """The tolerance as the check applies it: a line, with the violating side shaded over the x range the
    check reads (the last point: a strip at the right edge), or a band around the prediction."""
    band = resolve_band(curve, check)
    tol, relation = _tolerance(check)
    if band == "none" or not np.isfinite(tol):
        return []
    if band == "line":
        if ax.get_yscale() == "log" and tol <= 0:
            return []
        ax.update_datalim([(x[0], tol), (x[-1], tol)], updatex=False)
        ax.autoscale_view()
        low, high = ax.get_ylim()
        xlim = ax.get_xlim()
        line = ax.axhline(tol, color=TOLERANCE_COLOR, linewidth=0.8, linestyle=(0, (1, 1)), zorder=2)
        y0, y1 = (tol, max(high, tol)) if relation == "<=" else (min(low, tol), tol)
        if curve.checked_at is not None:
            ax.fill_between(list(curve.checked_at), y0, y1, color=VIOLATION_COLOR, alpha=0.10, linewidth=0, zorder=0)
        elif x.size > 1:  # the check reads the last point: shade from halfway to the previous one
            start = np.sqrt(x[-2] * x[-1]) if ax.get_xscale() == "log" else (x[-2] + x[-1]) / 2
            ax.fill_between([start, ax.get_xlim()[1]], y0, y1, color=VIOLATION_COLOR, alpha=0.12, linewidth=0,
                            zorder=0)
        ax.set_ylim(low, high)
        ax.set_xlim(xlim)
        side = "above" if relation == "<=" else "below"
        return [(line, f"tolerance (fails {side})")]
    if curve.predicted is None or not _fits(curve.predicted, x.size):
        return []
    p = _rows(curve.predicted, x.size)
    centre = np.nanmedian(p, axis=0) if p.shape[0] > 1 else p[0]
    low, high = (centre * (1 - tol), centre * (1 + tol)) if band == "relative" else (centre - tol, centre + tol)
    patch = ax.fill_between(x, low, high, color=TOLERANCE_COLOR, alpha=0.18, linewidth=0, zorder=0)
    text = f"±{100 * tol:.3g}%" if band == "relative" else f"±{tol:.3g}"
    return [(Patch(facecolor=patch.get_facecolor()[0], alpha=0.18, linewidth=0), f"tolerance {text}")]


def _log_ticks(axis: Any) -> None:
    """Readable log ticks: labels at 1, 2, 5 x 10^k when the axis spans less than two decades, and never on
    minor ticks (which otherwise overprint each other)."""
    low, high = sorted(axis.get_view_interval())
    if low > 0 and np.log10(high) - np.log10(low) < 2:
        axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def check_figure(check: CheckResult, width: str = "one-column", usetex: bool = False, title: str = "",
                 seed_lines: bool | None = None) -> plt.Figure:
    """A figure for one check (or control) that carries a curve; no title unless ``title`` is given."""
    if check.curve is None:
        raise ValueError(f"check {check.name!r} has no curve to draw")
    _known_width(width)
    with plt.rc_context(style(usetex)):
        fig, ax = plt.subplots(figsize=(WIDTHS[width], PANEL_HEIGHT[width]))
        draw_curve(ax, check.curve, check, seed_lines)
        if title:
            ax.set_title(title)
    return fig


def panel_grid(count: int) -> tuple[int, int]:
    """(rows, columns) for ``count`` panels: up to three a row, four as 2 x 2."""
    columns = {1: 1, 2: 2, 4: 2}.get(count, 3)
    return -(-count // columns), columns


def claim_panels(result) -> list[CheckResult]:
    """The checks a claim figure shows: counted checks and certificates that carry a curve, in order."""
    return [c for c in result.checks if c.curve is not None]


def claim_figure(result, width: str = "two-column", usetex: bool = False, seed_lines: bool | None = None) -> plt.Figure:
    """One figure for a claim: a lettered panel per check with a curve."""
    panels = claim_panels(result)
    if not panels:
        raise ValueError(f"claim {result.claim} has no check with a curve")
    _known_width(width)
    rows, columns = panel_grid(len(panels))
    if width == "one-column":
        rows, columns = len(panels), 1
    with plt.rc_context(style(usetex)):
        fig, axes = plt.subplots(rows, columns, figsize=(WIDTHS[width], PANEL_HEIGHT[width] * rows), squeeze=False)
        for index, ax in enumerate(axes.flat):
            if index >= len(panels):
                ax.set_visible(False)
                continue
            draw_curve(ax, panels[index].curve, panels[index], seed_lines)
            if len(panels) > 1:
                ax.set_title(f"({chr(ord('a') + index)})", loc="left", fontweight="bold")
    return fig


def panel_captions(result) -> list[str]:
    """'(a) name' for each panel of :func:`claim_figure` (for a caption)."""
    panels = claim_panels(result)
    if len(panels) == 1:
        return [panels[0].name]
    return [f"({chr(ord('a') + i)}) {c.name}" for i, c in enumerate(panels)]


def _known_width(width: str) -> None:
    if width not in WIDTHS:
        raise InputError(f"unknown --width {width!r}; choose from {', '.join(WIDTHS)}")


def _tex_system() -> str:
    """The TeX engine PGF output needs; InputError when the machine has none."""
    for engine in ("xelatex", "pdflatex", "lualatex"):
        if shutil.which(engine):
            return engine
    raise InputError("PGF figures need a TeX installation (xelatex, pdflatex or lualatex); use .pdf, .png or .svg")


def save(fig: plt.Figure, stem: Path, formats: Sequence[str] = ("pdf", "png")) -> list[Path]:
    """Write ``fig`` as ``stem.<fmt>`` for each format, at its physical size (nothing cropped); return the paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    try:
        for fmt in formats:
            if fmt not in FORMATS:
                raise ValueError(f"unknown figure format {fmt!r}; choose from {FORMATS}")
            path = stem.parent / f"{stem.name}.{fmt}"
            options = {"pgf.texsystem": _tex_system()} if fmt == "pgf" else {}
            with plt.rc_context({**style(), **options}):
                fig.savefig(path, dpi=DPI, metadata=_metadata(fmt))
            paths.append(path)
    finally:
        plt.close(fig)
    return paths


def _metadata(fmt: str) -> dict[str, Any] | None:
    """Reproducible files: no creation date in PDF and SVG."""
    return {"CreationDate": None} if fmt == "pdf" else {"Date": None} if fmt == "svg" else None


@dataclass(frozen=True)
class FigureFile:
    """A written figure: its path, ``kind`` (``"claim"`` for the multi-panel figure, ``"check"``,
    ``"control"``) and a caption naming what it shows."""

    path: Path
    kind: str
    caption: str


def result_figures(result, out: Path, formats: Sequence[str] = ("pdf", "png"), tag: str = "") -> list[FigureFile]:
    """The claim figure ``<claim>[_<tag>].<fmt>`` and one ``<claim>[_<tag>]-<check>.<fmt>`` per check and
    control with a curve (controls prefixed ``control-``)."""
    stem = result.claim + (f"_{tag}" if tag else "")
    files: list[FigureFile] = []
    panels = claim_panels(result)
    if panels:
        caption = "; ".join(panel_captions(result))
        width = "one-column" if len(panels) == 1 else "two-column"
        files += [FigureFile(p, "claim", caption) for p in save(claim_figure(result, width), out / stem, formats)]
    items = [(kind, c) for kind, checks in (("check", result.checks), ("control", result.controls))
             for c in checks if c.curve is not None]
    slugs = unique_slugs([("control " if kind == "control" else "") + c.name for kind, c in items])
    for (kind, check), slug in zip(items, slugs):
        caption = ("control: " if kind == "control" else "") + check.name
        files += [FigureFile(p, kind, caption) for p in save(check_figure(check), out / f"{stem}-{slug}", formats)]
    return files


def write_all(results: Sequence, out: Path, names: Sequence[str] = (),
              formats: Sequence[str] = ("pdf", "png")) -> list[list[FigureFile]]:
    """Figures for every result into ``out`` (sweep cells tagged by their ``names`` values), plus
    ``index.json`` listing each result's files so that a report can find them again."""
    drawn = [result_figures(r, out, formats, cell_tag(r.params, names) if names else "") for r in results]
    if any(drawn):
        index = [[{"file": f.path.name, "kind": f.kind, "caption": f.caption} for f in files] for files in drawn]
        (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    return drawn


def read_index(results: Sequence, folder: Path) -> list[list[FigureFile]]:
    """The figure files :func:`write_all` drew for each result (empty lists when there are none)."""
    index_file = folder / "index.json"
    try:
        index = json.loads(index_file.read_text()) if index_file.is_file() else None
    except json.JSONDecodeError:
        index = None
    if not isinstance(index, list) or len(index) != len(results):
        return [[] for _ in results]
    return [[FigureFile(folder / e["file"], e.get("kind", "check"), e.get("caption", "")) for e in entries
             if (folder / e["file"]).is_file()] for entries in index]
