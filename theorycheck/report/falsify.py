"""What a falsification search found: the terminal summary, its JSON, and two figures.

* the margin of every evaluated trial against the trial number, with the running worst (the search's
  progress; a margin above 1 violates a check);
* for one or two searched parameters, the margin landscape: margin against the parameter, or the two
  parameters with the margin as colour (the seed offset is not counted as a parameter).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.table import Table  # noqa: E402

from theorycheck.report.figures import WIDTHS, save, style  # noqa: E402
from theorycheck.report.sweeps import COLORS, MARKERS  # noqa: E402
from theorycheck.report.terminal import VERDICT_STYLE  # noqa: E402
from theorycheck.verify.falsify import FalsifyReport, Outcome, TrialRecord, seed_spec  # noqa: E402
from theorycheck.verify.space import format_value  # noqa: E402


# ------------------------------------------------------------------------------------------------
# terminal

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?")


def _changed_text(report: FalsifyReport, record: TrialRecord) -> str:
    changed = report.changed(record.case)
    return ", ".join(f"{k}={format_value(v)}" for k, v in sorted(changed.items())) or "(defaults)"


def _where(outcome: Outcome) -> str:
    if outcome.check is None:
        return "no decided check"
    return outcome.check + (f" ({outcome.item})" if outcome.item else "")


def _margin(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def trial_line(record: TrialRecord) -> str:
    """'#12 margin 0.83 agrees (alpha=0.1, n=20; seeds 40:44)': a progress line for an evaluated trial."""
    values = ", ".join(f"{k}={format_value(v)}" for k, v in record.case.values)
    return (f"#{record.number} margin {_margin(record.margin)} {record.verdict} ({values}; "
            f"seeds {seed_spec(record.case.seeds)})")


def worst_table(report: FalsifyReport, top: int = 5) -> Table:
    """The decided trials with the largest margins: trial, margin, verdict, check, changed parameters, seeds."""
    table = Table(title="worst cases (largest check margin; above 1 violates)", header_style="bold")
    for col, justify in (("trial", "right"), ("margin", "right"), ("verdict", "left"), ("worst check", "left"),
                         ("changed parameters", "left"), ("seeds", "left")):
        table.add_column(col, justify=justify)
    for t in report.worst(top):
        verdict = t.verdict or "—"
        table.add_row(f"#{t.number}", _margin(t.margin), f"[{VERDICT_STYLE.get(verdict, 'white')}]{verdict}[/]",
                      escape(_where(t.outcome)), escape(_changed_text(report, t)), seed_spec(t.case.seeds))
    return table


def _kind(message: str) -> str:
    """A message with its numbers blanked: messages of one kind group together."""
    return NUMBER.sub("#", message)


def _grouped(report: FalsifyReport, records: Sequence[TrialRecord], console: Console, limit: int = 4) -> None:
    """Messages grouped by kind (numbers aside), most frequent first, each with its first trial's message
    and reproducer."""
    groups = Counter(_kind(t.outcome.message) for t in records)
    for kind, count in groups.most_common(limit):
        first = next(t for t in records if _kind(t.outcome.message) == kind)
        console.print(f"  {count}x like #{first.number}: {first.outcome.message}", markup=False)
        console.print(f"     {report.command(first.case)}", markup=False, soft_wrap=True)
    if len(groups) > limit:
        console.print(f"  ... and {len(groups) - limit} other kinds of message (see falsify.json)")


def print_falsify(report: FalsifyReport, console: Console, top: int = 5) -> None:
    """The search in words: space, counts, worst cases with reproducers, the counterexample (confirmed and
    shrunk) or the worst margin reached, then inconclusive and error trials apart."""
    seeds = seed_spec(report.base_seeds) + (" + a searched offset" if report.search_seeds else "")
    console.print(f"[bold]falsify {report.claim}[/] ({report.preset} preset, seeds {seeds}, level {report.level:.0%})")
    console.print("search space: " + "; ".join(d.describe() for d in report.dimensions), markup=False)
    pruned = len(report.pruned)
    console.print(f"study {report.study} ({report.storage}): {len(report.evaluated)} trials evaluated "
                  f"({report.evaluated_now} now), {pruned} pruned as outside the assumptions", markup=False)
    if report.worst(top):
        console.print(worst_table(report, top))
        for t in report.worst(top):
            console.print(f"  #{t.number}: {report.command(t.case)}", markup=False, soft_wrap=True)
    ce = report.counterexample
    if ce is not None:
        console.print(f"\n[bold red]counterexample[/] (trial #{ce.trial.number}, confirmed by a fresh run):")
        console.print(f"  {_where(ce.confirmation)} at margin {_margin(ce.confirmation.margin)}", markup=False)
        console.print(f"  found:  {report.command(ce.trial.case)}", markup=False, soft_wrap=True)
        steps = "; ".join(ce.steps) if ce.steps else "nothing simpler still fails"
        console.print(f"  shrunk in {len(ce.steps)} steps ({ce.shrink_runs} runs): {steps}", markup=False)
        console.print(f"  shrunk: {report.command(ce.shrunk)}", markup=False, soft_wrap=True)
        console.print(f"          {ce.shrunk_outcome.message}", markup=False)
    else:
        what = "no confirmed counterexample" if report.unconfirmed else "no counterexample"
        console.print(f"\n[bold green]{what}[/] in {len(report.evaluated)} trials", highlight=False)
        for t in report.worst(1):
            console.print(f"  worst margin {_margin(t.margin)} ({_where(t.outcome)}) at trial #{t.number}: "
                          f"{report.command(t.case)}", markup=False, soft_wrap=True)
    for t, rerun in report.unconfirmed:
        console.print(f"  not reproduced by a fresh run (noise?): trial #{t.number} -> {rerun.verdict}: "
                      f"{report.command(t.case)}", markup=False, soft_wrap=True)
    if report.inconclusive:
        console.print(f"\n[yellow]inconclusive[/]: {len(report.inconclusive)} trials "
                      "(never counted as counterexamples)")
        _grouped(report, report.inconclusive, console)
    if report.errors:
        console.print(f"\n[bold red]errors[/]: {len(report.errors)} trials (diverged training, failed solvers or "
                      "certificates)")
        _grouped(report, report.errors, console)


# ------------------------------------------------------------------------------------------------
# figures


def _scatter_by_verdict(ax: plt.Axes, x: np.ndarray, y: np.ndarray, verdicts: Sequence[str]) -> None:
    for verdict in ("agrees", "disagrees", "inconclusive"):
        mask = np.array([v == verdict for v in verdicts], bool)
        if mask.any():
            ax.scatter(x[mask], y[mask], marker=MARKERS[verdict], color=COLORS[verdict], s=14, zorder=3,
                       label=verdict)


def _plotted(report: FalsifyReport) -> list[TrialRecord]:
    """Evaluated trials with a margin (errors have none)."""
    return [t for t in report.evaluated if t.margin is not None and t.verdict != "error"]


def _log_margins(ax: plt.Axes, margins: np.ndarray, axis: str = "y") -> None:
    positive = margins[margins > 0]
    if positive.size and positive.max() / positive.min() > 20:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def margin_figure(report: FalsifyReport) -> plt.Figure:
    """Margin of each evaluated trial against its number, the running worst, and the violation line at 1."""
    trials = _plotted(report)
    with plt.rc_context(style()):
        w = WIDTHS["one-column"]
        fig, ax = plt.subplots(figsize=(w, w * 0.72))
        x = np.array([t.number for t in trials], float)
        y = np.array([t.margin for t in trials], float)
        floor = np.nanmin(y[y > 0]) / 2 if np.any(y > 0) else 1e-3
        y_drawn = np.where(y > 0, y, floor)
        _scatter_by_verdict(ax, x, y_drawn, [t.verdict for t in trials])
        order = np.argsort(x)
        ax.step(x[order], np.maximum.accumulate(y_drawn[order]), where="post", color="0.3", linewidth=1.0,
                label="running worst")
        ax.axhline(1.0, color="k", linestyle="--", linewidth=0.9, label="violation (margin 1)")
        _log_margins(ax, y_drawn)
        ax.set_xlabel("trial")
        ax.set_ylabel("worst check margin")
        ax.set_title(f"{report.claim}: falsification search")
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
        ax.grid(alpha=0.25, linewidth=0.4)
    return fig


def _axis(report: FalsifyReport, name: str, trials: Sequence[TrialRecord]) -> tuple[np.ndarray, list[str] | None]:
    """Positions of ``name``'s values (choices at their index) and tick labels for choices."""
    dim = next(d for d in report.dimensions if d.name == name)
    values = [t.case.params[name] for t in trials]
    if dim.kind == "choice":
        return np.array([dim.choices.index(v) for v in values], float), [format_value(c) for c in dim.choices]
    return np.array(values, float), None


def _as_record(ce) -> TrialRecord:
    return TrialRecord(-1, ce.shrunk, "evaluated", ce.shrunk_outcome)


def landscape_figure(report: FalsifyReport) -> plt.Figure | None:
    """Margin against one searched parameter, or over two (colour: margin); None for more parameters."""
    names = [d.name for d in report.dimensions]
    if len(names) not in (1, 2):
        return None
    trials = _plotted(report)
    with plt.rc_context(style()):
        w = WIDTHS["one-column"]
        fig, ax = plt.subplots(figsize=(w, w * 0.75))
        margins = np.array([t.margin for t in trials], float)
        x, xticks = _axis(report, names[0], trials)
        log_x = next(d for d in report.dimensions if d.name == names[0]).log
        if len(names) == 1:
            floor = np.nanmin(margins[margins > 0]) / 2 if np.any(margins > 0) else 1e-3
            _scatter_by_verdict(ax, x, np.where(margins > 0, margins, floor), [t.verdict for t in trials])
            ax.axhline(1.0, color="k", linestyle="--", linewidth=0.9, label="violation (margin 1)")
            ce = report.counterexample
            if ce is not None and ce.shrunk_outcome.margin is not None:
                ax.scatter(_axis(report, names[0], [_as_record(ce)])[0], [ce.shrunk_outcome.margin], marker="*",
                           color="k", s=60, zorder=4, label="shrunk counterexample")
            _log_margins(ax, margins)
            ax.set_ylabel("worst check margin")
            ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
        else:
            y, yticks = _axis(report, names[1], trials)
            positive = margins[margins > 0]
            norm = LogNorm(vmin=positive.min(), vmax=max(positive.max(), 1.0)) if positive.size else None
            image = ax.scatter(x, y, c=np.where(margins > 0, margins, positive.min() if positive.size else 1.0),
                               cmap="viridis", norm=norm, s=18, edgecolors="none")
            fig.colorbar(image, ax=ax, label="worst check margin")
            bad = np.array([t.verdict == "disagrees" for t in trials], bool)
            if bad.any():
                ax.scatter(x[bad], y[bad], marker=MARKERS["disagrees"], color=COLORS["disagrees"], s=26,
                           label="disagrees")
                ax.legend(frameon=False)
            if next(d for d in report.dimensions if d.name == names[1]).log:
                ax.set_yscale("log")
            if yticks is not None:
                ax.set_yticks(range(len(yticks)), yticks)
            ax.set_ylabel(names[1])
        if log_x:
            ax.set_xscale("log")
        if xticks is not None:
            ax.set_xticks(range(len(xticks)), xticks)
        ax.set_xlabel(names[0])
        ax.set_title(f"{report.claim}: margin landscape")
        ax.grid(alpha=0.25, linewidth=0.4)
    return fig


def falsify_figures(report: FalsifyReport, out: Path, formats: Sequence[str] = ("pdf", "png")) -> list[Path]:
    """``falsify_margins.*`` always (when a trial has a margin) and ``falsify_landscape.*`` for one or two
    searched parameters; returns the written paths."""
    if not _plotted(report):
        return []
    paths = save(margin_figure(report), out / "falsify_margins", formats)
    landscape = landscape_figure(report)
    if landscape is not None:
        paths += save(landscape, out / "falsify_landscape", formats)
    return paths
