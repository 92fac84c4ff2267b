"""Reports as documents: JSON (versioned schema), Markdown, self-contained HTML, LaTeX (booktabs).

A report never computes a verdict; it shows what verify decided. Every file is written atomically
with the mode an ordinary new file gets (0644 under the usual umask).
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Sequence

from theorycheck.errors import InputError
from theorycheck.report.labels import format_number, short_label
from theorycheck.verify.claim import CheckResult, evidence_text

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


def _number(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.4g}"


def _value(check: CheckResult | None) -> str:
    if check is None:
        return "—"
    where = f" ({check.worst_item})" if check.quantifier == "every" and check.worst_item else ""
    return f"{_number(check.value)} {check.relation} {_number(check.tolerance)}{where}"


def varying(results: Sequence) -> list[str]:
    """Parameter names whose values differ between results of the same claim (the cells of a sweep)."""
    names: list[str] = []
    for r in results:
        for other in results:
            if other.claim == r.claim:
                names += [k for k, v in r.params.items() if other.params.get(k) != v and k not in names]
    return names


def cell_label(result, names: Sequence[str]) -> str:
    return ", ".join(f"{k}={format_number(result.params[k])}" for k in names if k in result.params)


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


def _items(res) -> list[tuple[bool, CheckResult]]:
    return [(False, c) for c in res.checks] + [(True, c) for c in res.controls]


# --- Markdown ---------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$]|<(?=[A-Za-z/!?]))")


def md_escape(text: str) -> str:
    """Text for a Markdown table cell: the characters Markdown (GitHub's included) could read as syntax are
    backslash-escaped (``|`` would otherwise end the cell, ``_`` start emphasis, ``<x`` a tag), and line
    breaks become spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def md_code(text: str) -> str:
    """A code span for a table cell (claim ids): only ``|`` needs escaping inside a GFM table."""
    return "`" + str(text).replace("`", "'").replace("|", "\\|") + "`"


def _checks_line(claim_id: str) -> str:
    """'Checks a derived consequence (...). ' for a catalog claim; empty for one that is not loaded."""
    from theorycheck.verify.registry import load_claims

    text = evidence_text(load_claims().get(claim_id))
    return f"Checks {text}. " if text else ""


def report_markdown(results: Sequence, figures: Sequence[list] | None = None, base: Path | None = None) -> str:
    """A summary table, then per claim its checks and controls, observations and figures."""
    names = varying(results)
    e = md_escape
    lines = ["# theorycheck report", "",
             "| claim | cell | verdict | key check | value vs tolerance | controls rejected | seconds |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        key = r.key_check
        lines.append(f"| {md_code(r.claim)} | {e(cell_label(r, names))} | **{e(r.verdict.value)}** | "
                     f"{e(key.name) if key else '—'} | {e(_value(key))} | {e(_controls(r))} | {r.seconds:.1f} |")
    for index, r in enumerate(results):
        cell = f" ({e(cell_label(r, names))})" if names else ""
        lines += ["", f"## {md_code(r.claim)}{cell}: {e(r.verdict.value)}", "", e(r.message), "",
                  e(f"{_checks_line(r.claim)}Seeds {', '.join(map(str, r.seeds))}; level {r.level:.0%}; "
                    f"preset {r.preset}."), ""]
        for text in getattr(r, "outside", None) or []:
            lines += [e(f"Outside the claim's assumptions: {text}"), ""]
        lines += ["| | name | quantifier | value | tolerance | margin | outcome |", "|---|---|---|---|---|---|---|"]
        for control, c in _items(r):
            lines.append(f"| {_kind(c, control)} | {e(c.name)} | {c.quantifier} | {_number(c.value)} | "
                         f"{e(c.relation)} {_number(c.tolerance)} | {_number(c.margin)} | {_outcome(c, control)} |")
        if r.observations:
            lines += ["", e("Observed (reported, not checked): " + "; ".join(
                f"{k} = {_number(v)}" for k, v in r.observations.items()))]
        for figure in (figures[index] if figures else []):
            if figure.path.suffix == ".png" and figure.kind == "claim":
                rel = os.path.relpath(figure.path, base) if base else str(figure.path)
                lines += ["", f"![{e(figure.caption)}](<{rel}>)"]
    return "\n".join(lines) + "\n"


# --- HTML -------------------------------------------------------------------------------------

_CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;
line-height:1.4}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-top:1px solid #ddd;padding-top:1em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
td,th{border-bottom:1px solid #ddd;padding:3px 9px;text-align:left;vertical-align:top}
th{border-bottom:2px solid #999}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.agrees{color:#177a2b}.disagrees{color:#b00}.inconclusive{color:#a06a00}.error{color:#b00;font-weight:bold}
figure{margin:1em 0}figure img{width:100%;max-width:980px}figure.one img{max-width:480px}
figcaption{font-size:.88em;color:#444}code{font-size:90%}td code{white-space:nowrap}.muted{color:#666;font-size:.9em}
nav a{margin-right:.8em}.graph img{max-width:100%}
"""


def _figure_html(path: Path, caption: str, wide: bool) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    esc = html.escape
    return (f"<figure class='{'wide' if wide else 'one'}'><img alt='{esc(caption)}' "
            f"src='data:image/png;base64,{data}'><figcaption>{esc(caption)}</figcaption></figure>")


def report_html(results: Sequence, figures: Sequence[list] | None = None, catalog: bool = True) -> str:
    """A single self-contained HTML file: the summary table, each claim's checks and controls with its figures
    embedded as PNG data, its provenance, and (``catalog``) the claims drawn as a graph of papers and relations."""
    esc = html.escape
    names = varying(results)
    rows = "".join(
        f"<tr><td><a href='#r{i}'><code>{esc(r.claim)}</code></a></td>"
        + (f"<td>{esc(cell_label(r, names))}</td>" if names else "")
        + f"<td class='{r.verdict.value}'>{esc(r.verdict.value)}{'*' if getattr(r, 'outside', None) else ''}</td>"
        f"<td>{esc(r.key_check.name) if r.key_check else '—'}</td><td class='num'>{esc(_value(r.key_check))}</td>"
        f"<td class='num'>{esc(_controls(r))}</td><td class='num'>{r.seconds:.1f}</td></tr>"
        for i, r in enumerate(results))
    head = ("<tr><th>claim</th>" + ("<th>cell</th>" if names else "") + "<th>verdict</th><th>key check</th>"
            "<th>value vs tolerance</th><th>controls rejected</th><th>seconds</th></tr>")
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>theorycheck report</title>"
             f"<style>{_CSS}</style></head><body><h1>theorycheck report</h1>"
             f"<p class='muted'>{len(results)} runs; checks decided at the level shown per claim. A control is a "
             "prediction that is wrong on purpose and must be rejected; its margin is how far past the tolerance "
             "it lands (a near miss: at most 3).</p>"
             f"<table>{head}{rows}</table>"]
    for index, r in enumerate(results):
        cell = f" ({esc(cell_label(r, names))})" if names else ""
        parts.append(f"<h2 id='r{index}'><code>{esc(r.claim)}</code>{cell}: <span class='{r.verdict.value}'>"
                     f"{esc(r.verdict.value)}</span></h2><p>{esc(r.message)}</p>"
                     f"<p class='muted'>{esc(_checks_line(r.claim))}Seeds {esc(', '.join(map(str, r.seeds)))}; "
                     f"level {r.level:.0%}; "
                     f"preset {esc(r.preset)}.</p>")
        for text in getattr(r, "outside", None) or []:
            parts.append(f"<p><strong>Outside the claim's assumptions:</strong> {esc(text)}</p>")
        parts.append("<table><tr><th></th><th>name</th><th>quantifier</th><th>value</th><th>tolerance</th>"
                     "<th>margin</th><th>outcome</th></tr>")
        for control, c in _items(r):
            parts.append(f"<tr><td>{_kind(c, control)}</td><td>{esc(c.name)}</td><td>{c.quantifier}</td>"
                         f"<td class='num'>{_number(c.value)}</td><td class='num'>{esc(c.relation)} "
                         f"{_number(c.tolerance)}</td><td class='num'>{_number(c.margin)}</td>"
                         f"<td>{_outcome(c, control)}</td></tr>")
        parts.append("</table>")
        if r.observations:
            parts.append("<p>Observed (reported, not checked): " + "; ".join(
                f"{esc(k)} = {_number(v)}" for k, v in r.observations.items()) + "</p>")
        pngs = [f for f in (figures[index] if figures else []) if f.path.suffix == ".png"]
        parts += [_figure_html(f.path, f.caption, wide=True) for f in pngs if f.kind == "claim"]
        singles = [f for f in pngs if f.kind != "claim"]
        if singles:
            parts.append(f"<details><summary>one figure per check and control ({len(singles)})</summary>")
            parts += [_figure_html(f.path, f.caption, wide=False) for f in singles]
            parts.append("</details>")
        if r.provenance:
            parts.append(f"<details><summary>provenance</summary><pre>{esc(json.dumps(r.provenance, indent=1))}"
                         "</pre></details>")
    if catalog and results:
        parts.append(_catalog_html(results))
    parts.append("</body></html>")
    return "".join(parts)


def _catalog_html(results: Sequence) -> str:
    """The claims of the report as a graph: papers, claims and the relations between them."""
    from theorycheck.report import catalog

    graph = catalog.claims_graph(sorted({r.claim for r in results}))
    if graph is None:
        return ""
    svg = catalog.draw_svg(graph, {r.claim: r.verdict.value for r in results})
    return ("<h2 id='catalog'>The claims and their papers</h2><p class='muted'>Each paper (grey) states the claims "
            "joined to it; lines between claims are the relations the claims declare. Colours are the verdicts "
            f"above.</p><div class='graph'>{svg}</div>")


# --- LaTeX ------------------------------------------------------------------------------------

_TEX_TEXT = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$", "{": r"\{",
             "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "|": r"\textbar{}",
             "<": r"\textless{}", ">": r"\textgreater{}"}
_TEX_UNICODE = {"‖": r"$\|$", "≤": r"$\le$", "≥": r"$\ge$", "×": r"$\times$", "→": r"$\to$", "−": "-", "…": r"\dots{}",
                "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$", "δ": r"$\delta$", "ε": r"$\varepsilon$",
                "η": r"$\eta$", "θ": r"$\theta$", "λ": r"$\lambda$", "μ": r"$\mu$", "ν": r"$\nu$", "σ": r"$\sigma$",
                "τ": r"$\tau$", "ŵ": r"$\hat w$", "ℓ": r"$\ell$", "∞": r"$\infty$", "√": r"$\surd$", "·": r"$\cdot$"}


def tex_escape(text: str) -> str:
    """Plain text for LaTeX (pdflatex, no extra packages): specials escaped, common symbols in math mode,
    any other non-ASCII character dropped."""
    out = []
    for ch in str(text):
        if ch in _TEX_TEXT:
            out.append(_TEX_TEXT[ch])
        elif ch in _TEX_UNICODE:
            out.append(_TEX_UNICODE[ch])
        elif ord(ch) < 128:
            out.append(ch)
    return "".join(out)


def _tex_id(claim: str) -> str:
    """A claim id in typewriter type that may break after '.' and '-' (ids are long for one column)."""
    return r"\texttt{" + re.sub(r"([.-])", r"\1\\allowbreak{}", tex_escape(claim)) + "}"


def tex_number(value: float | None) -> str:
    """A number in math mode: 3 significant digits, powers of ten written out."""
    if value is None or not math.isfinite(value):
        return r"\mathrm{n/a}"
    text = f"{value:.3g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = f"10^{{{int(exponent)}}}"
        return power if mantissa in ("1", "1.00") else rf"{mantissa}{{\times}}{power}"
    return text


def _tex_margin(margin: float) -> str:
    """The nearest miss as a factor: 1.81, 26.4; past 100 a straw man, written $>100$."""
    if margin >= 100:
        return r"$>$100$\times$"
    return f"{margin:.3g}" + r"$\times$"


def report_latex(results: Sequence) -> str:
    r"""A booktabs table that fits one column of a two-column paper (``\columnwidth``): claim (with its key
    check in small type under it), verdict, key value against its tolerance, controls rejected with the
    nearest miss. Claims are grouped under their family. Needs ``\usepackage{booktabs,tabularx}``; ready
    for ``\input`` inside a ``table`` float."""
    names = varying(results)
    one_claim = len({r.claim for r in results}) == 1 and bool(names)
    lines = [r"% theorycheck results table: needs \usepackage{booktabs,tabularx}",
             r"{\footnotesize\setlength{\tabcolsep}{3pt}%",
             r"\begin{tabularx}{\columnwidth}{@{}>{\raggedright\arraybackslash}X l r r@{}}",
             r"\toprule",
             ("Cell" if one_claim else "Claim") + r" & Verdict & Key value & Controls \\",
             r"\midrule"]
    if one_claim:
        lines.append(r"\multicolumn{4}{@{}l}{" + _tex_id(results[0].claim) + r"}\\")
    family = None
    for r in results:
        key = r.key_check
        if one_claim:
            head = r"\quad " + tex_escape(cell_label(r, names))
        else:
            claim_family, name = r.claim.split(".", 1)
            if claim_family != family:
                family = claim_family
                lines.append(r"\multicolumn{4}{@{}l}{\textit{" + tex_escape(family) + r"}}\\")
            head = r"\quad " + _tex_id(name) + (f" ({tex_escape(cell_label(r, names))})" if names else "")
        if key is not None:
            head += r"\newline{\scriptsize " + tex_escape(short_label(key.name)) + "}"
        rel = r"\le" if key is not None and key.relation == "<=" else r"\ge"
        # the value over its tolerance, on two lines: the widest cells are what squeezes the claim column
        value = "--" if key is None else (r"\begin{tabular}[t]{@{}r@{}}" + f"${tex_number(key.value)}$" + r"\\"
                                          + f"${rel} {tex_number(key.tolerance)}$" + r"\end{tabular}")
        rejected = [c for c in r.controls if c.passed is False]
        margins = [c.margin for c in rejected if c.margin == c.margin]
        controls = f"{len(rejected)}/{len(r.controls)}" + (f" ({_tex_margin(min(margins))})" if margins else "")
        verdict = r.verdict.value + ("$^*$" if getattr(r, "outside", None) else "")
        lines.append(f"{head} & {verdict} & {value} & {controls} \\\\")
    lines += [r"\bottomrule", r"\end{tabularx}}"]
    if any(getattr(r, "outside", None) for r in results):
        lines.insert(-1, r"\multicolumn{4}{@{}l}{\scriptsize $^*$outside the claim's assumptions}\\")
    return "\n".join(lines) + "\n"


# --- files ------------------------------------------------------------------------------------

def render(fmt: str, results: Sequence, figures: Sequence[list] | None = None, base: Path | None = None) -> str:
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
    """Write ``text`` to ``path`` through a temporary file and a rename; the file gets the mode an ordinary new
    file gets (0644 under umask 022), not the temporary file's 0600."""
    from theorycheck.verify.store import public_mode

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, public_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_results(source: Path) -> tuple[list, list[list], Path]:
    """Results from a ``--out`` directory (``results.json`` and its figures) or a store directory
    (``index.sqlite``); returns (results, figure files per result, the directory)."""
    from theorycheck.report.figures import read_index
    from theorycheck.verify.store import Store, result_from_json

    if (source / "results.json").is_file():
        try:
            doc = json.loads((source / "results.json").read_text())
        except json.JSONDecodeError as err:
            raise InputError(f"{source}/results.json is not valid JSON ({err})") from None
        if doc.get("schema") != SCHEMA:
            raise InputError(f"{source}/results.json has schema {doc.get('schema')!r}; this version reads {SCHEMA}")
        results = [result_from_json(r) for r in doc["results"]]
        return results, read_index(results, source / "figures"), source
    if (source / "index.sqlite").is_file():
        results = list(Store(source).validate().results())
        return results, [[] for _ in results], source
    raise InputError(f"{str(source)!r} holds neither results.json (a --out directory) nor a store (index.sqlite)")
