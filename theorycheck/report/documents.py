"""Reports as documents: JSON (versioned schema), Markdown, self-contained HTML, LaTeX (booktabs).

A report never computes a verdict; it shows what verify decided.
"""

from __future__ import annotations

import base64
import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

from theorycheck.verify.claim import CheckResult

SCHEMA = 1
#: JSON Schema (draft 2020-12) of the JSON report, shipped in the package
SCHEMA_FILE = Path(__file__).with_name("schema.json")
FORMATS = ("json", "md", "html", "latex")
EXTENSIONS = {"json": "json", "md": "md", "html": "html", "latex": "tex"}


def report_json(results: Sequence, provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"schema": 1, "results": [...]}``; later versions add fields, never remove them."""
    doc: dict[str, Any] = {"schema": SCHEMA, "results": [r.to_json() for r in results]}
    if provenance:
        doc["provenance"] = provenance
    return doc


def _value(check: CheckResult | None) -> str:
    return "—" if check is None else f"{check.value:.3g} {check.relation} {check.tolerance:.3g}"


def varying(results: Sequence) -> list[str]:
    """Parameter names whose values differ between results of the same claim (the cells of a sweep)."""
    names: list[str] = []
    for r in results:
        for other in results:
            if other.claim == r.claim:
                names += [k for k, v in r.params.items() if other.params.get(k) != v and k not in names]
    return names


def cell_label(result, names: Sequence[str]) -> str:
    return ", ".join(f"{k}={result.params[k]}" for k in names if k in result.params)


def _controls(res) -> str:
    """'3/3, min 1.8x': controls rejected and the smallest margin among the rejected ones."""
    rejected = [c for c in res.controls if c.passed is False]
    margins = [c.margin for c in rejected if c.margin == c.margin]
    return f"{len(rejected)}/{len(res.controls)}" + (f", min {min(margins):.3g}x" if margins else "")


def _outcome(check: CheckResult, control: bool) -> str:
    if control:
        return "rejected" if check.passed is False else "NOT rejected"
    return "passed" if check.passed else "failed" if check.passed is False else "undecided"


def _kind(check: CheckResult, control: bool) -> str:
    return "control" if control else check.role


def report_markdown(results: Sequence, figures: Sequence[list[Path]] | None = None, base: Path | None = None) -> str:
    names = varying(results)
    lines = ["# theorycheck report", "", "| claim | cell | verdict | key check | value vs tolerance | controls rejected | seconds |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        key = r.key_check
        lines.append(f"| `{r.claim}` | {cell_label(r, names)} | **{r.verdict.value}** | {key.name if key else '—'} | "
                     f"{_value(key)} | {_controls(r)} | {r.seconds:.1f} |")
    for index, r in enumerate(results):
        cell = f" ({cell_label(r, names)})" if names else ""
        lines += ["", f"## `{r.claim}`{cell} — {r.verdict.value}", "", r.message, "",
                  f"Seeds {', '.join(map(str, r.seeds))}; level {r.level:.0%}.", "",
                  "| | name | quantifier | value | tolerance | margin | outcome |", "|---|---|---|---|---|---|---|"]
        for control, items in ((False, r.checks), (True, r.controls)):
            for c in items:
                lines.append(f"| {_kind(c, control)} | {c.name} | {c.quantifier} | {c.value:.4g} | "
                             f"{c.relation} {c.tolerance:.4g} | {c.margin:.3g} | {_outcome(c, control)} |")
        if r.observations:
            lines += ["", "Observed (reported, not checked): " + "; ".join(
                f"{k} = {v:.4g}" for k, v in r.observations.items())]
        for path in (figures[index] if figures else []):
            if path.suffix == ".png":
                rel = os.path.relpath(path, base) if base else str(path)
                lines += ["", f"![{path.stem}]({rel})"]
    return "\n".join(lines) + "\n"


def report_html(results: Sequence, figures: Sequence[list[Path]] | None = None) -> str:
    """A single self-contained HTML file: the table, each claim's checks, figures embedded as PNG data."""
    css = ("body{font-family:Georgia,serif;max-width:980px;margin:2em auto;color:#222}"
           "table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #ccc;padding:4px 10px;text-align:left}"
           ".agrees{color:#177a2b}.disagrees{color:#b00}.inconclusive{color:#b58900}.error{color:#b00;font-weight:bold}"
           "img{max-width:480px;margin:4px}code{font-size:90%}")
    esc = html.escape
    names = varying(results)
    rows = "".join(
        f"<tr><td><code>{esc(r.claim)}</code></td><td>{esc(cell_label(r, names))}</td>"
        f"<td class='{r.verdict.value}'>{r.verdict.value}</td>"
        f"<td>{esc(r.key_check.name) if r.key_check else '—'}</td><td>{esc(_value(r.key_check))}</td>"
        f"<td>{_controls(r)}</td><td>{r.seconds:.1f}</td></tr>" for r in results)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>theorycheck report</title><style>{css}</style>"
             "</head><body><h1>theorycheck report</h1><table><tr><th>claim</th><th>cell</th><th>verdict</th><th>key check</th>"
             f"<th>value vs tolerance</th><th>controls rejected</th><th>seconds</th></tr>{rows}</table>"]
    for index, r in enumerate(results):
        cell = f" ({esc(cell_label(r, names))})" if names else ""
        parts.append(f"<h2><code>{esc(r.claim)}</code>{cell} — <span class='{r.verdict.value}'>"
                     f"{r.verdict.value}</span></h2><p>{esc(r.message)}</p>"
                     f"<p>Seeds {esc(', '.join(map(str, r.seeds)))}; level {r.level:.0%}.</p><table><tr><th></th>"
                     "<th>name</th><th>quantifier</th><th>value</th><th>tolerance</th><th>margin</th><th>outcome</th></tr>")
        for control, checks in ((False, r.checks), (True, r.controls)):
            for c in checks:
                parts.append(f"<tr><td>{_kind(c, control)}</td><td>{esc(c.name)}</td><td>{c.quantifier}</td>"
                             f"<td>{c.value:.4g}</td><td>{esc(c.relation)} {c.tolerance:.4g}</td>"
                             f"<td>{c.margin:.3g}</td><td>{_outcome(c, control)}</td></tr>")
        parts.append("</table>")
        if r.observations:
            parts.append("<p>Observed (reported, not checked): " + "; ".join(
                f"{esc(k)} = {v:.4g}" for k, v in r.observations.items()) + "</p>")
        for path in (figures[index] if figures else []):
            if path.suffix == ".png":
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(f"<img alt='{esc(path.stem)}' src='data:image/png;base64,{data}'>")
        prov = r.provenance
        if prov:
            parts.append(f"<details><summary>provenance</summary><pre>{esc(json.dumps(prov, indent=1))}</pre></details>")
    parts.append("</body></html>")
    return "".join(parts)


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"), ("$", r"\$")):
        text = text.replace(a, b)
    return text


def report_latex(results: Sequence) -> str:
    """A booktabs table of claims, verdicts and key values, ready for ``\\input``."""
    names = varying(results)
    lines = [r"\begin{tabular}{lllllr}", r"\toprule",
             r"Claim & Cell & Verdict & Key check & Value (tolerance) & Controls rejected \\", r"\midrule"]
    for r in results:
        key = r.key_check
        rel = r"\le" if key is not None and key.relation == "<=" else r"\ge"
        value = "--" if key is None else f"${key.value:.3g}$ (${rel} {key.tolerance:.3g}$)"
        lines.append(f"\\texttt{{{_tex(r.claim)}}} & {_tex(cell_label(r, names))} & {r.verdict.value} & "
                     f"{_tex(key.name) if key else '--'} & "
                     f"{value} & {_controls(r)} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def render(fmt: str, results: Sequence, figures: Sequence[list[Path]] | None = None, base: Path | None = None) -> str:
    if fmt == "json":
        return json.dumps(report_json(results), indent=2, allow_nan=False) + "\n"
    if fmt == "md":
        return report_markdown(results, figures, base)
    if fmt == "html":
        return report_html(results, figures)
    if fmt == "latex":
        return report_latex(results)
    raise ValueError(f"unknown format {fmt!r}; choose from {FORMATS}")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
