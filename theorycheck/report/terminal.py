"""Terminal output: the results table and progress display (rich, on stderr for progress)."""

from __future__ import annotations

from typing import Sequence

from rich.console import Console
from rich.table import Table

from theorycheck.report.documents import cell_label, varying
from theorycheck.verify.claim import CheckResult

VERDICT_STYLE = {"agrees": "green", "disagrees": "red", "inconclusive": "yellow", "error": "bold red"}


def format_value(check: CheckResult | None) -> str:
    """'0.031 <= 0.05' style text for a check; the deciding seed for ``every`` checks."""
    if check is None:
        return "—"
    where = f" ({check.worst_item})" if check.quantifier == "every" and check.worst_item else ""
    return f"{check.value:.3g} {check.relation} {check.tolerance:.3g}{where}"


def controls_text(controls: Sequence[CheckResult]) -> str:
    """'3/3, min 1.8x': controls rejected and the smallest margin among the rejected ones."""
    rejected = [c for c in controls if c.passed is False]
    margins = [c.margin for c in rejected if c.margin == c.margin]
    closest = f", min {min(margins):.3g}x" if margins else ""
    return f"{len(rejected)}/{len(controls)}{closest}"


def results_table(results: Sequence) -> Table:
    """One row per claim: id, verdict, key value vs tolerance, controls rejected, seconds."""
    names = varying(results)
    table = Table(show_lines=False, header_style="bold")
    table.add_column("claim", no_wrap=True)
    if names:
        table.add_column("cell", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("key check")
    table.add_column("value vs tolerance", justify="right")
    table.add_column("controls rejected", justify="right")
    table.add_column("seconds", justify="right")
    for res in results:
        verdict = res.verdict.value
        key = res.key_check
        seconds = f"{res.seconds:.1f}" + (" (stored)" if res.cached else "")
        cell = [cell_label(res, names)] if names else []
        table.add_row(res.claim, *cell, f"[{VERDICT_STYLE[verdict]}]{verdict}[/]", key.name if key else "—",
                      format_value(key), controls_text(res.controls), seconds)
    return table


def print_results(results: Sequence, console: Console, detail: bool = False) -> None:
    """Print the table; with ``detail`` every check and control, and the messages of non-agreeing claims."""
    console.print(results_table(results))
    for res in results:
        if detail or res.verdict.value != "agrees":
            console.print(f"[bold]{res.claim}[/]: {res.message}")
        if detail:
            for c in res.checks:
                console.print(f"  {c.role:<11} ({c.quantifier}) {c.name}: {format_value(c)}  passed={c.passed} {c.reason}",
                              markup=False)
            for c in res.controls:
                console.print(f"  control     ({c.quantifier}) {c.name}: {format_value(c)}  margin={c.margin:.3g} "
                              f"rejected={c.passed is False} {c.reason}", markup=False)
            for name, value in res.observations.items():
                console.print(f"  observed {name}: {value:.4g}")
