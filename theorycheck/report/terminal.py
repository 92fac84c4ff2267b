"""Terminal output: the results table, plain tables when the output is not a terminal, and progress.

In a terminal the table fits the window: the claim id, the verdict and the key value are never cut;
when the window is narrow the key check's short label, then the time, then the deciding seed give way
(``-v`` prints everything). When the output is a file or a pipe, tables are plain text, uncut and
uncoloured, one line per row, so that ``grep`` and ``cut`` see whole ids and values.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from theorycheck.report.documents import cell_label, varying
from theorycheck.report.labels import short_label
from theorycheck.verify.claim import CheckResult

VERDICT_STYLE = {"agrees": "green", "disagrees": "red", "inconclusive": "yellow", "error": "bold red"}
GAP = 2  # spaces between columns


def format_value(check: CheckResult | None, worst: bool = True) -> str:
    """'0.031 <= 0.05' for a check, with the deciding item of an ``every`` check: '(seed 3)'."""
    if check is None:
        return "—"
    value = "n/a" if check.value is None or not math.isfinite(check.value) else f"{check.value:.3g}"
    where = f" ({check.worst_item})" if worst and check.quantifier == "every" and check.worst_item else ""
    return f"{value} {check.relation} {check.tolerance:.3g}{where}"


def compact(value: float) -> str:
    """A positive ratio in at most 5 characters: 1.81, 26, 603, 2.7e5."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value) < 10:
        return f"{value:.3g}"
    if abs(value) < 1000:
        return f"{value:.0f}"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def controls_text(controls: Sequence[CheckResult]) -> str:
    """'3/3 1.8x': controls rejected, and the smallest margin among the rejected ones (the nearest miss)."""
    rejected = [c for c in controls if c.passed is False]
    margins = [c.margin for c in rejected if c.margin == c.margin]
    closest = f" {compact(min(margins))}x" if margins else ""
    return f"{len(rejected)}/{len(controls)}{closest}"


def seconds_text(result: Any) -> str:
    return "stored" if result.cached else f"{result.seconds:.1f}s"


def verdict_text(result: Any) -> str:
    """The verdict; a star marks a run outside the claim's assumptions (``--allow-outside``)."""
    return result.verdict.value + ("*" if getattr(result, "outside", None) else "")


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned with spaces, nothing cut or wrapped, no colour: for files and pipes."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return "\n".join((" " * GAP).join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
                     for line in lines) + "\n"


def print_table(console: Console, headers: Sequence[str], rows: Sequence[Sequence[str]],
                styles: Sequence[Sequence[str]] | None = None, wrap: Sequence[str] = (), title: str = "") -> None:
    """A table: rich in a terminal (columns named in ``wrap`` may wrap; all others never do), plain text
    otherwise. ``styles`` gives a rich style per cell (terminal only)."""
    if not console.is_terminal:
        if title:
            console.file.write(title + "\n")
        console.file.write(plain_table(headers, rows))
        return
    table = Table(box=None, header_style="bold underline", pad_edge=False, padding=(0, GAP // 2),
                  title=title or None, title_justify="left", title_style="bold")
    for h in headers:
        table.add_column(h, no_wrap=h not in wrap, overflow="fold")
    for i, row in enumerate(rows):
        cells = [Text(cell, style=styles[i][j]) if styles and styles[i][j] else Text(cell) for j, cell in enumerate(row)]
        table.add_row(*cells)
    console.print(table)


def _result_columns(results: Sequence, width: int | None, names: Sequence[str] | None = None
                    ) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """Headers, rows and styles of the results table, fitted to ``width`` (None: everything, uncut);
    ``names``: the sweep's grid axes (default: the parameters that vary)."""
    names = list(names) if names else varying(results)
    one_claim = len({r.claim for r in results}) == 1 and names
    full = width is None

    def build(label: bool, seconds: bool, worst: bool) -> tuple[list[str], list[list[str]], list[list[str]]]:
        headers = (["cell"] if one_claim else ["claim", *(["cell"] if names else [])]) + ["verdict"]
        headers += (["key check"] if label else []) + ["key value", "controls"] + (["time"] if seconds else [])
        rows, styles = [], []
        for r in results:
            key = r.key_check
            cells = ([cell_label(r, names)] if one_claim else [r.claim, *([cell_label(r, names)] if names else [])])
            cells.append(verdict_text(r))
            if label:
                cells.append("—" if key is None else key.name if full else short_label(key.name))
            cells += [format_value(key, worst), controls_text(r.controls)] + ([seconds_text(r)] if seconds else [])
            rows.append(cells)
            styles.append(["" if h != "verdict" else VERDICT_STYLE[r.verdict.value] for h in headers])
        return headers, rows, styles

    if full:
        return build(True, True, True)
    for options in ((True, True, True), (False, True, True), (False, False, True), (False, False, False)):
        headers, rows, styles = build(*options)
        widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
        if sum(widths) + GAP * (len(widths) - 1) <= width:
            break
    return headers, rows, styles


def print_results(results: Sequence, console: Console, detail: bool = False, names: Sequence[str] = ()) -> None:
    """The results table; the message of each claim that does not agree; with ``detail`` every check,
    control and observation. A sweep over one claim (``names``: its grid axes) names the claim once."""
    if not results:
        return
    width = console.width if console.is_terminal else None
    headers, rows, styles = _result_columns(results, width, names)
    title = f"{results[0].claim} (sweep)" if headers[0] == "cell" else ""
    print_table(console, headers, rows, styles, wrap=("claim", "cell"), title=title)
    if any(getattr(r, "outside", None) for r in results):
        _line(console, "* outside the claim's assumptions (--allow-outside): the theorem does not cover this run")
    for r, row in zip(results, rows):
        if detail or r.verdict.value != "agrees":
            _line(console, f"{row[0]}: {r.message}")
        for text in getattr(r, "outside", None) or []:
            _line(console, f"  outside the assumptions: {text}")
        if detail:
            print_detail(r, console)


def print_detail(result: Any, console: Console) -> None:
    """Every check, certificate and control of one result, then its observations."""
    for c in result.checks:
        outcome = {True: "passed", False: "FAILED", None: "undecided"}[c.passed]
        _line(console, f"  {c.role:<11} {c.quantifier:<11} {c.name}: {format_value(c)}  {outcome}"
              + (f" ({c.reason})" if c.reason else ""))
    for c in result.controls:
        outcome = "rejected" if c.passed is False else "NOT rejected"
        margin = f"{c.margin:.3g}" if c.margin == c.margin else "n/a"
        _line(console, f"  {'control':<11} {c.quantifier:<11} {c.name}: {format_value(c)}  margin {margin}, {outcome}"
              + (f" ({c.reason})" if c.reason else ""))
    for name, value in result.observations.items():
        _line(console, f"  {'observed':<11} {name}: {value:.4g}")


def _line(console: Console, text: str) -> None:
    """One line of plain text (no markup interpretation), soft-wrapped only in a terminal."""
    if console.is_terminal:
        console.print(text, markup=False, highlight=False)
    else:
        console.file.write(text + "\n")


class RunProgress:
    """Progress of a run or sweep on ``console`` (stderr): in a terminal a live line with k/N, elapsed time
    and ETA, and each claim's verdict printed above it as it finishes; elsewhere a plain line per claim."""

    def __init__(self, console: Console, total: int = 0):
        self.console, self.total, self.done = console, total, 0
        self._progress = None
        self._task = None

    def __enter__(self) -> "RunProgress":
        if self.total:
            self.begin(self.total)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
            self._progress = None

    def begin(self, total: int) -> None:
        """Start showing progress over ``total`` items (a sweep knows it once the stored cells are counted)."""
        self.total = total
        if self.console.is_terminal and total and self._progress is None:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=16),
                                      MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"),
                                      TimeRemainingColumn(), console=self.console, transient=True)
            self._progress.__enter__()
            self._task = self._progress.add_task("starting", total=total)

    def start(self, label: str) -> None:
        """A claim (or cell) starts: shown on the live line."""
        if self._progress is not None:
            self._progress.update(self._task, description=escape(label))

    def finish(self, result: Any, label: str | None = None) -> None:
        """A claim (or cell) finished: print its verdict line and advance."""
        self.done += 1
        name = label or result.claim
        head = f"[{self.done}/{self.total}] {name}  "
        tail = f"  {format_value(result.key_check)}  {seconds_text(result)}"
        if self._progress is None:
            self.console.file.write(head + verdict_text(result) + tail + "\n")
            self.console.file.flush()
            return
        if len(head + verdict_text(result) + tail) > self.console.width:  # one line: the deciding seed gives way
            tail = f"  {format_value(result.key_check, worst=False)}  {seconds_text(result)}"
        line = Text(head)
        line.append(verdict_text(result), style=VERDICT_STYLE[result.verdict.value])
        line.append(tail)
        self._progress.console.print(line)
        self._progress.advance(self._task)
