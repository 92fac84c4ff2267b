"""What a user sees: the store after an edit, figures, the 80-column table, usage errors, progress,
exports (Markdown, LaTeX, JUnit), run comparison, the catalog graph and sweeps past a theorem's assumptions."""

import io
import json
import os
import re
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from theorycheck.report import documents, figures, terminal
from theorycheck.verify.claim import Curve, Verdict
from theorycheck.verify.runner import Result
from theorycheck.verify.stats import seed_check


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORYCHECK_STORE", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o022)
    yield tmp_path / "store"
    os.umask(old)


def fake_result(claim="family.a-rather-long-claim-name-here", name="gap |log10 ratio| at T_final (rel.)",
                verdict=Verdict.AGREES, values=(0.0012, 0.0031, 0.0009), tolerance=0.05, curve=None):
    check = seed_check(name, values, tolerance, "<=", quantifier="every", curve=curve)
    check.name_item([0, 1, 2])
    control = seed_check("wrong *norm* [l_1] | straw", [0.2, 0.3, 0.25], tolerance, "<=", quantifier="every")
    return Result(claim=claim, verdict=verdict, seconds=1.25, params={"n": 10}, checks=[check], controls=[control],
                  message="1 checks passed, 1 controls rejected", seeds=[0, 1, 2], preset="quick")


# --- 1. the store sees edits ------------------------------------------------------------------

def test_an_edited_claim_file_is_computed_again_not_served(cli, toy_claims, tmp_path):
    mine = tmp_path / "mine.py"
    shutil.copy(toy_claims, mine)
    code, out, err = cli("run", "toy.mean", "--claims", str(mine), "--quick", "--format", "json")
    first = json.loads(out)["results"][0]
    assert code == 0 and first["checks"][0]["tolerance"] == 4.0
    code, out, err = cli("run", "toy.mean", "--claims", str(mine), "--quick", "--format", "json")
    assert json.loads(out)["results"][0]["cached"] is True  # unchanged file: served
    mine.write_text(mine.read_text().replace("* np.sqrt(params.m), 4.0,", "* np.sqrt(params.m), 3.5,"))
    code, out, err = cli("run", "toy.mean", "--claims", str(mine), "--quick", "--format", "json")
    second = json.loads(out)["results"][0]
    assert second["cached"] is False and "served" not in err  # the edit is computed, not served
    assert second["checks"][0]["tolerance"] == 3.5
    assert second["provenance"]["code_hash"] != first["provenance"]["code_hash"]
    assert "git_dirty" in second["provenance"]


# --- 2. figures -------------------------------------------------------------------------------

def test_figure_selects_the_stored_run_matching_preset_seeds_and_parameters(cli, toy_claims, tmp_path):
    assert cli("run", "toy.mean", "--claims", toy_claims, "--quick")[0] == 0
    assert cli("run", "toy.mean", "--claims", toy_claims)[0] == 0  # the default preset, stored after the quick one
    code, _, err = cli("figure", "toy.mean", "--claims", toy_claims, "--quick", "--out", str(tmp_path / "q.png"))
    assert code == 0 and "from the stored quick run (seeds 0..2)" in err
    code, _, err = cli("figure", "toy.mean", "--claims", toy_claims, "--quick", "--seeds", "5:8",
                       "--out", str(tmp_path / "s.png"))
    assert code == 0 and "from a new quick run (seeds 5..7)" in err
    code, _, err = cli("figure", "toy.mean", "--claims", toy_claims, "--quick", "--set", "mu=0.25",
                       "--check", "vs mu", "--out", str(tmp_path / "c.pdf"))
    assert code == 0 and "a new quick run" in err and "scaled error vs mu + 1" in err
    code, _, err = cli("figure", "toy.mean", "--claims", toy_claims, "--quick", "--check", "nothing like it",
                       "--out", str(tmp_path / "x.pdf"))
    assert code == 2 and "--check 'nothing like it' matches no check" in err


def _curve_result(band="auto"):
    x = np.geomspace(1, 1e4, 30)
    y = np.stack([0.5 / np.log(np.e * x) * (1 + 0.1 * s) for s in range(4)])
    curve = Curve(x, y, ylabel="gap", predicted=0.5 / np.log(np.e * x), band=band)
    return fake_result(name="gap at T", values=y[:, -1], tolerance=0.08, curve=curve)


def test_figure_draws_the_tolerance_the_check_uses():
    result = _curve_result()
    check = result.checks[0]
    assert figures.resolve_band(check.curve, check) == "line"  # the curve's last point is the checked value
    fig = figures.check_figure(check)
    (ax,) = fig.axes
    lines = [l for l in ax.get_lines() if np.allclose(l.get_ydata(), check.tolerance)]
    assert lines, "the tolerance is drawn at the check's tolerance"
    assert ax.get_title() == "" and not fig.texts  # no title by default
    assert "tolerance (fails above)" in [t.get_text() for t in ax.get_legend().get_texts()]
    per_seed = np.repeat(check.curve.y[:, -1:] * 1.02, check.curve.x.size, axis=1)  # a per-seed prediction
    relative = Curve(check.curve.x, check.curve.y, predicted=per_seed)
    rel_check = seed_check("relative", np.abs(check.curve.y[:, -1] / relative.predicted[:, -1] - 1), 0.05, "<=",
                           quantifier="every", curve=relative)
    assert figures.resolve_band(relative, rel_check) == "relative"
    unrelated = seed_check("slope", [0.01, 0.02, 0.03, 0.04], 0.1, "<=", quantifier="every", curve=check.curve)
    assert figures.resolve_band(check.curve, unrelated) == "none"  # never a misleading tolerance
    import matplotlib.pyplot as plt

    plt.close("all")


def test_figures_have_physical_sizes_truetype_fonts_and_short_names(tmp_path):
    result = _curve_result()
    result.claim = "toy.mean"
    files = figures.result_figures(result, tmp_path, ["pdf", "png"])
    names = sorted(f.path.name for f in files)
    assert names == ["toy.mean-gap-at-t.pdf", "toy.mean-gap-at-t.png", "toy.mean.pdf", "toy.mean.png"]
    from PIL import Image

    for name in ("toy.mean-gap-at-t.png", "toy.mean.png"):  # one panel: one column wide, whatever the figure
        with Image.open(tmp_path / name) as im:
            assert im.size == (round(3.25 * figures.DPI), round(figures.PANEL_HEIGHT["one-column"] * figures.DPI))
    pdf = (tmp_path / "toy.mean.pdf").read_bytes()
    assert b"/Type3" not in pdf and b"/CIDFontType2" in pdf  # TrueType (pdf.fonttype 42), never Type 3
    assert {f for f in re.findall(rb"/BaseFont /\w+\+?([\w-]+)", pdf)} <= {b"STIXGeneral-Regular", b"STIXGeneral-Italic",
                                                                      b"STIXGeneral-Bold"}  # one family
    two = figures.claim_figure(result, "two-column")
    assert tuple(two.get_size_inches()) == (6.75, figures.PANEL_HEIGHT["two-column"])
    import matplotlib.pyplot as plt

    plt.close("all")


def test_a_claim_figure_has_one_lettered_panel_per_check(toy_claims):
    from theorycheck.verify.registry import load_claims
    from theorycheck.verify.runner import run_claim

    result = run_claim(load_claims([toy_claims])["toy.mean"], "quick", device="cpu")
    result.checks.append(result.checks[0])
    fig = figures.claim_figure(result)
    assert [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()] == ["(a)", "(b)"]
    assert figures.panel_captions(result) == ["(a) scaled error", "(b) scaled error"]
    import matplotlib.pyplot as plt

    plt.close("all")


# --- 3. terminal ------------------------------------------------------------------------------

def test_table_fits_80_columns_with_verdict_and_key_value_uncut():
    results = [fake_result(claim="regularizers.dropout-factorization", values=(4.99e-13, 1e-14, 2e-13),
                           tolerance=1e-6),
               fake_result(claim="separable.poly-exponential-tails", verdict=Verdict.INCONCLUSIVE)]
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=80, color_system=None)
    terminal.print_results(results, console)
    table = buffer.getvalue().splitlines()[:3]
    assert all(len(line.rstrip()) <= 80 for line in table)
    assert "regularizers.dropout-factorization" in table[1] and "4.99e-13 <= 1e-06" in table[1]
    assert "separable.poly-exponential-tails" in table[2] and "inconclusive" in table[2]
    assert "…" not in "".join(table)


def test_table_is_plain_and_uncut_when_not_a_terminal():
    results = [fake_result()]
    buffer = io.StringIO()
    terminal.print_results(results, Console(file=buffer, width=40), detail=True)
    text = buffer.getvalue()
    assert "\x1b[" not in text and "│" not in text and "…" not in text
    assert "gap |log10 ratio| at T_final (rel.)" in text  # the whole check name
    assert "(seed 1)" in text and "family.a-rather-long-claim-name-here" in text


def test_list_prints_whole_ids_when_piped(cli, toy_claims):
    code, out, _ = cli("list", "--claims", toy_claims)
    ids = [line.split()[0] for line in out.splitlines()[1:]]
    assert code == 0 and "separable.poly-exponential-tails" in ids and "toy.sleepy" in ids
    code, out, _ = cli("list", "--claims", toy_claims, "-k", "toy and not (nan or empty)")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["toy.decay", "toy.mean", "toy.sleepy"]


def test_progress_prints_a_line_per_claim_when_stderr_is_not_a_terminal(cli, toy_claims):
    code, _, err = cli("run", "toy.mean", "toy.decay", "--claims", toy_claims, "--quick")
    assert code == 0
    assert re.search(r"^\[1/2\] toy\.mean  agrees  .* <= 4 \(seed \d\)  \d+\.\ds$", err, re.M)
    assert re.search(r"^\[2/2\] toy\.decay  agrees", err, re.M)


# --- 5. command-line conventions --------------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    (["run", "--qiuck"], "no such option --qiuck for `theorycheck run`; did you mean --quick?"),
    (["run", "toy.mean", "--claims", "TOY", "--seeds", "abc"], "--seeds must be a count"),
    (["run", "toy.mean", "--claims", "TOY", "--level", "high"], "'--level'"),
    (["sweep"], "theorycheck sweep: Missing "),
    (["figure", "toy.mean", "--claims", "TOY"], "Missing option '--out'"),
    (["run", "-k", "toy and", "--claims", "TOY"], "-k 'toy and': ends where a word"),
    (["bogus"], "No such command 'bogus'"),
])
def test_usage_errors_are_one_line_naming_the_option(cli, toy_claims, args, needle):
    code, out, err = cli(*(toy_claims if a == "TOY" else a for a in args))
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert needle in err and "Traceback" not in err and "NoSuchOption" not in err


def test_help_version_and_debug_anywhere(cli, toy_claims):
    code, out, _ = cli("-h")
    assert code == 0 and "Examples:" in out and "<bool>" not in out
    code, out, _ = cli("run", "-h")
    assert code == 0 and "--seeds SEEDS" in out and "--claims FILE" in out and "Examples:" in out
    for command in ("list", "show", "run", "sweep", "diff", "report", "figure", "export", "new"):
        code, out, _ = cli(command, "-h")
        assert code == 0 and not re.search(r"<(bool|str|int|float|path|list)", out, re.I), (command, out)
    code, out, _ = cli("--version")
    assert code == 0 and re.fullmatch(r"theorycheck \d+\.\d+\.\d+\n", out)
    from theorycheck.errors import InputError

    with pytest.raises(InputError):  # --debug after the subcommand: the traceback, not a usage error
        from theorycheck.cli import main

        main(["run", "toy.maen", "--claims", toy_claims, "--debug"])


def test_usage_errors_are_recognised_in_click_and_typer_copies():
    from theorycheck.cli import _is, usage_message

    import click

    err = click.exceptions.NoSuchOption("--qiuck", possibilities=["--quick"])
    assert _is(err, "ClickException") and "did you mean --quick?" in usage_message(err)
    vendored = pytest.importorskip("typer._click.exceptions") if _has_vendored() else None
    if vendored is not None:
        assert _is(vendored.NoSuchOption("--x"), "ClickException")


def _has_vendored() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("typer._click") is not None
    except ModuleNotFoundError:
        return False


def test_keyword_expressions():
    from theorycheck.errors import InputError
    from theorycheck.verify.keywords import select

    ids = ["separable.gd-logistic", "separable.gd-multiclass", "separable.sgd-fixed-lr", "rademacher.linear-l1"]
    assert select(ids, "gd and not multiclass") == ["separable.gd-logistic", "separable.sgd-fixed-lr"]
    assert select(ids, "(l1 or LOGISTIC) and not sgd") == ["separable.gd-logistic", "rademacher.linear-l1"]
    assert select(ids, "not separable") == ["rademacher.linear-l1"]
    for bad in ("", "gd and", "(gd", "gd)", "and gd", "__import__('os')) or ("):
        with pytest.raises(InputError, match="-k"):
            select(ids, bad)


def test_junit_xml_for_ci(cli, toy_claims, tmp_path):
    junit = tmp_path / "ci" / "junit.xml"
    code, _, _ = cli("run", "toy.mean", "toy.empty", "--claims", toy_claims, "--quick", "--junit-xml", str(junit))
    assert code == 2
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("errors") == "1" and suite.get("failures") == "0"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["toy.mean"].find("failure") is None and cases["toy.empty"].find("error") is not None
    assert "scaled error" in cases["toy.mean"].find("system-out").text
    assert stat.S_IMODE(junit.stat().st_mode) == 0o644


def test_diff_compares_runs_claim_by_claim(cli, toy_claims, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli("run", "toy.decay", "toy.mean", "--claims", toy_claims, "--quick", "--out", str(a))[0] == 0
    assert cli("run", "toy.decay", "--claims", toy_claims, "--quick", "--predict-rate", "1/t", "--out", str(b))[0] == 1
    code, out, _ = cli("diff", str(a), str(b))
    assert code == 1
    assert re.search(r"toy\.decay\s+agrees -> disagrees", out) and "params.predicted_rate" in out
    assert re.search(r"toy\.mean\s+agrees -> absent", out)
    code, out, _ = cli("diff", str(a), str(a))
    assert code == 0 and "0 verdicts changed" in out
    code, out, _ = cli("diff", str(a), str(b), "--format", "json")
    pairs = {p["claim"]: p for p in json.loads(out)["pairs"]}
    assert pairs["toy.decay"]["verdict"] == ["agrees", "disagrees"]
    code, _, err = cli("diff", str(a), str(tmp_path / "nowhere"))
    assert code == 2 and "neither results.json" in err


# --- 6. exports -------------------------------------------------------------------------------

def test_markdown_is_escaped_and_parses_back():
    from markdown_it import MarkdownIt

    result = fake_result()
    text = documents.report_markdown([result])
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    rows, row = [], None
    for tok in tokens:
        if tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and row is not None:
            row.append(tok.content)
        elif tok.type == "tr_close":
            rows.append(row)
            row = None
    widths = {len(r) for r in rows}
    assert widths == {7}, rows  # no row split on a '|' inside a name
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    assert "gap |log10 ratio| at T_final (rel.)" in rendered  # the name survives, unescaped, as text
    assert "wrong *norm* [l_1] | straw" in rendered and "<em>" not in rendered


def test_latex_table_escapes_and_ends_with_a_newline():
    text = documents.report_latex([fake_result(), fake_result(claim="other.claim", verdict=Verdict.DISAGREES)])
    assert text.endswith("\n") and r"\textbar{}" in text and "|log10" not in text
    assert r"\begin{tabularx}{\columnwidth}" in text and "&  &" not in text  # no empty cell column
    assert text.isascii()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_table_compiles_and_fits_one_column(tmp_path, toy_claims):
    results = [fake_result(claim=f"regularizers.dropout-factorization-{i}", values=(4.99e-13, 1e-14, 2e-13),
                           tolerance=1e-6) for i in range(3)]
    results.append(fake_result(claim="separable.poly-exponential-tails", verdict=Verdict.INCONCLUSIVE,
                               name="ν=1 fastest: min k(1) − k(ν) ‖w‖ α ≤ 0"))
    (tmp_path / "table.tex").write_text(documents.report_latex(results))
    (tmp_path / "paper.tex").write_text("\\documentclass[twocolumn]{article}\\usepackage{booktabs,tabularx}"
                                        "\\begin{document}\\begin{table}\\input{table.tex}\\end{table}x\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Overfull \\hbox" not in done.stdout  # fits \columnwidth


def test_reports_and_results_are_written_0644(cli, toy_claims, tmp_path):
    out = tmp_path / "r"
    assert cli("run", "toy.mean", "--claims", toy_claims, "--quick", "--format", "html", "--out", str(out))[0] == 0
    assert cli("export", "--out", str(tmp_path / "rows.jsonl"))[0] == 0
    for path in (out / "results.json", out / "report.html", tmp_path / "rows.jsonl"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    artifacts = list((tmp_path / "store" / "artifacts").glob("*.npz"))
    assert artifacts and all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in artifacts)
    html = (out / "report.html").read_text()
    assert "<svg" in html and "The claims and their papers" in html  # the catalog graph section
    assert "<figcaption>scaled error</figcaption>" in html  # the claim figure, captioned with its check


# --- 8-9. show, the catalog graph, sweeps ------------------------------------------------------

def test_show_prints_departures_and_refuses_a_family(cli, toy_claims):
    code, out, _ = cli("show", "toy.mean", "--claims", toy_claims)
    assert code == 0 and "departures from the paper:\n  The paper states the bound for every m" in out
    code, _, err = cli("show", "toy", "--claims", toy_claims)
    assert code == 2 and "'toy' is a family of 5 claims; name one: toy.decay" in err
    code, _, err = cli("sweep", "toy", "--grid", "mu=0:1:2", "--claims", toy_claims)
    assert code == 2 and "is a family" in err


def test_list_graph_papers_claims_and_relations(cli, toy_claims):
    code, out, _ = cli("list", "--graph", "--claims", toy_claims, "-k", "toy")
    assert code == 0 and out.startswith("Toy, A. (2026). Tests") and "  toy.mean" in out
    assert "toy.decay  compares with  toy.mean" in out and "toy.mean  same data as  toy.nan" in out
    code, out, _ = cli("list", "--graph", "--format", "json", "--claims", toy_claims, "-k", "toy")
    graph = json.loads(out)
    assert {n["kind"] for n in graph["nodes"]} == {"paper", "claim"} and len(graph["edges"]) >= 5
    code, out, _ = cli("list", "--graph", "--format", "dot", "--claims", toy_claims, "-k", "toy.mean")
    assert out.startswith("digraph theorycheck {") and '"toy.mean"' in out


def test_a_declared_relation_must_name_a_claim_and_a_known_kind(toy_claims):
    from theorycheck.errors import InputError
    from theorycheck.report.catalog import claims_graph
    from theorycheck.verify.registry import load_claims

    catalog = dict(load_claims([toy_claims]))
    broken = type("Broken", (catalog["toy.decay"],), {"related": (("inspired by", "toy.mean"),)})
    with pytest.raises(InputError, match="unknown relation 'inspired by'"):
        claims_graph(["toy.decay"], {**catalog, "toy.decay": broken})


def test_sweep_past_an_assumption_third_axis_and_names(cli, toy_claims, tmp_path):
    code, _, err = cli("sweep", "toy.mean", "--grid", "m=0,100", "--quick", "--claims", toy_claims)
    assert code == 2 and "m must be at least 1, got 0" in err  # refused without --allow-outside
    out = tmp_path / "sw"
    code, stdout, err = cli("sweep", "toy.mean", "--grid", "m=0,100", "--grid", "mu=1", "--grid", "pause=0,0.001",
                            "--allow-outside", "m", "--quick", "--claims", toy_claims, "--out", str(out))
    assert code == 2  # the cells with m = 0 fail to run: error, but drawn and reported
    doc = json.loads((out / "results.json").read_text())
    outside = [r for r in doc["results"] if r["outside_assumptions"]]
    assert len(outside) == 2 and all("m must be at least 1" in r["outside_assumptions"][0] for r in outside)
    assert "error*" in stdout and "outside the claim's assumptions" in stdout
    names = {p.name for p in (out / "figures").iterdir()}
    assert "toy.mean_m=100_mu=1_pause=0.001.png" in names and not any("cell" in n for n in names)
    # the phase diagram: one panel per value of the third axis, none drawn over another
    from theorycheck.report.sweeps import phase_diagram
    from theorycheck.verify.store import result_from_json

    results = [result_from_json(r) for r in doc["results"]]
    (path,) = phase_diagram(results, ["m", "mu", "pause"], tmp_path / "pd", ["svg"])
    assert path.read_text().count('<g id="axes_') == 2 * 2  # a heat map per pause value, each with its colour bar
    code, _, err = cli("sweep", "toy.mean", "--grid", "m=0,100", "--allow-outside", "sigma", "--claims", toy_claims)
    assert code == 2 and "--allow-outside 'sigma'" in err


def test_show_and_reports_say_whether_a_claim_checks_the_published_statement(cli):
    code, out, _ = cli("show", "separable.adversarial-l2-fixed-eps")
    assert code == 0 and "evidence: the checks test a derived consequence (the cited theorem is not called" in out
    code, out, _ = cli("show", "separable.gd-logistic")
    assert code == 0 and "evidence: the checks test the published statement\n" in out
    from theorycheck.report.documents import _checks_line
    assert _checks_line("regularizers.kernel-to-rich").startswith("Checks the published statement and derived")
    assert _checks_line("nobody.unknown") == ""
