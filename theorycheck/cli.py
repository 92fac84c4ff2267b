"""Command line: ``theorycheck list | show | run | sweep | diff | report | figure | export | new``.

Exit codes (like a test runner): 0 every claim agrees, 1 some claim disagrees or is inconclusive, 2 an
error (bad input, a failed solver, diverged training). Errors are one line, ``error: ...``, naming the
option or value at fault; ``--debug`` (anywhere on the line) shows the traceback instead.
"""

from __future__ import annotations

import difflib
import json
import sys
import tomllib
from pathlib import Path
from typing import Any, Optional, Sequence

import typer
from rich.console import Console

from theorycheck import __version__
from theorycheck.errors import InputError, TheorycheckError

APP_HELP = """Check theorems of deep-learning theory against simulations.

\b
Examples:
  theorycheck list                                  the catalog
  theorycheck show separable.gd-logistic            statement, parameters, last run
  theorycheck run --all --quick                     every claim, seconds each
  theorycheck run separable -k "not multiclass" --seeds 100:108 --out runs/a
  theorycheck diff runs/a runs/b                    what changed, claim by claim
  theorycheck figure separable.gd-logistic --quick --out fig.pdf

Exit codes: 0 all agree, 1 a claim disagrees or is inconclusive, 2 an error."""

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help=APP_HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
out_console = Console()
err_console = Console(stderr=True)
STATE = {"debug": False}

QUICK_HELP = "the quick preset: seconds on a laptop CPU"
FULL_HELP = "the full preset: the paper's scale"
SEEDS_HELP = "a count 8 (seeds 0..7), a range 100:108 or a list 3,17,42 (default: the claim's count)"
LEVEL_HELP = "confidence level the checks are decided at"
CLAIMS_HELP = "also load the claims in this Python file (repeatable)"
STORE_HELP = "results store directory (default ./.theorycheck or $THEORYCHECK_STORE)"
OUTSIDE_HELP = "let this parameter go past the claim's assumptions, to see where the theorem stops holding (repeatable)"
KEYWORD_HELP = "select claims whose id matches this expression: words joined by and/or/not, e.g. 'gd and not sgd'"

# options shared by several commands (typer reads each as a declaration; none is mutated)
QUICK = typer.Option(False, "--quick", help=QUICK_HELP)
FULL = typer.Option(False, "--full", help=FULL_HELP)
SEEDS = typer.Option(None, "--seeds", metavar="SEEDS", help=SEEDS_HELP)
LEVEL = typer.Option(0.95, "--level", metavar="LEVEL", help=LEVEL_HELP)
DEVICE = typer.Option("auto", "--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N")
SETS = typer.Option([], "--set", metavar="KEY=VALUE", help="override a parameter (repeatable)")
PARAMS = typer.Option(None, "--params", metavar="FILE", help="TOML file of parameter overrides")
CLAIMS = typer.Option([], "--claims", metavar="FILE", help=CLAIMS_HELP)
STORE = typer.Option(None, "--store", metavar="DIR", help=STORE_HELP)
OUTSIDE = typer.Option([], "--allow-outside", metavar="PARAM", help=OUTSIDE_HELP)
KEYWORDS = typer.Option(None, "-k", metavar="EXPR", help=KEYWORD_HELP)
JUNIT = typer.Option(None, "--junit-xml", metavar="FILE", help="also write JUnit XML (for CI)")


def _version(value: bool) -> None:
    if value:
        out_console.file.write(f"theorycheck {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="show tracebacks (accepted anywhere on the line)"),
          threads: int = typer.Option(1, "--threads", metavar="N", help="torch CPU threads (0: torch's default)"),
          version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    from theorycheck.numerics.device import set_threads

    STATE["debug"] = STATE["debug"] or debug
    if threads < 0:
        raise InputError(f"--threads must be 0 or more, got {threads}")
    set_threads(threads or None)


# --- shared helpers --------------------------------------------------------------------------

def parse_sets(items: Sequence[str]) -> dict[str, str]:
    """``--set key=value`` options as a dict (values are typed later against the claim's Params)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"--set {item!r} must look like key=value")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def read_params_file(path: Optional[Path]) -> dict[str, Any]:
    """A TOML parameter file: top-level ``key = value`` pairs (typed again against the claim)."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"--params {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"--params {str(path)!r} is not valid TOML: {err}") from None
    nested = [k for k, v in data.items() if isinstance(v, dict)]
    if nested:
        raise InputError(f"--params {str(path)!r}: tables are not supported ({nested[0]!r}); use key = value")
    return data


def preset_name(quick: bool, full: bool) -> str:
    if quick and full:
        raise InputError("--quick and --full exclude each other")
    return "quick" if quick else "full" if full else "default"


def open_store(path: Optional[Path], use: bool = True):
    """The results store, validated before anything trains (None with --no-store)."""
    from theorycheck.verify.store import Store

    return Store(path).validate() if use else None


def prepare_out(out: Optional[Path], option: str = "--out") -> None:
    """Create ``--out`` and make sure it is a writable directory, before any training."""
    if out is None:
        return
    import os

    if out.exists() and not out.is_dir():
        raise InputError(f"{option} {str(out)!r} is a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{option} {str(out)!r} cannot be created: {err.strerror or err}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(f"{option} {str(out)!r} is not writable")


def prepare_file(path: Optional[Path], option: str) -> None:
    """Make sure an output file can be written (its folder exists or can be made), before any training."""
    if path is None:
        return
    if path.is_dir():
        raise InputError(f"{option} {str(path)!r} is a directory; give a file name")
    prepare_out(path.parent if str(path.parent) else Path("."), option)


def exit_code(results: Sequence) -> int:
    verdicts = {r.verdict.value for r in results}
    if "error" in verdicts:
        return 2
    if verdicts - {"agrees"}:
        return 1
    return 0


def one_claim(selector: str, catalog: dict) -> Any:
    """The claim named by ``selector``; a family name is refused with its members (never silently the first)."""
    from theorycheck.verify.registry import resolve

    chosen = resolve([selector], catalog)
    if len(chosen) > 1:
        members = ", ".join(c.id for c in chosen)
        raise InputError(f"{selector!r} is a family of {len(chosen)} claims; name one: {members}")
    return chosen[0]


def choose_claims(selectors: Sequence[str], all_: bool, keywords: Optional[str], catalog: dict) -> list:
    """Claims named by ids / families (or the whole catalog with --all, or -k alone), filtered by -k."""
    from theorycheck.verify.keywords import compile_keywords
    from theorycheck.verify.registry import resolve

    if all_ or (keywords is not None and not selectors):
        chosen = list(catalog.values())
    elif selectors:
        chosen = resolve(selectors, catalog)
    else:
        raise InputError("name claims or families to run, select them with -k, or pass --all")
    if keywords is not None:
        match = compile_keywords(keywords)
        chosen = [c for c in chosen if match(c.id)]
        if not chosen:
            raise InputError(f"-k {keywords!r} selects no claim; `theorycheck list` shows the ids")
    return chosen


def write_outputs(results: Sequence, fmt: str, out: Optional[Path], names: Sequence[str] = (),
                  detail: bool = False) -> None:
    """The report (and figures) into ``out``; without ``out`` a document format goes to stdout."""
    from theorycheck.report import documents, figures, terminal

    if out is None:
        if fmt == "table":
            terminal.print_results(results, out_console, detail, names)
        else:
            sys.stdout.write(documents.render(fmt, results))
        return
    out.mkdir(parents=True, exist_ok=True)
    drawn = figures.write_all(results, out / "figures", names)
    documents.write_atomic(out / "results.json", documents.render("json", results))
    if fmt not in ("table", "json"):
        documents.write_atomic(out / f"report.{documents.EXTENSIONS[fmt]}", documents.render(fmt, results, drawn, out))
    terminal.print_results(results, err_console if fmt == "json" else out_console, detail, names)
    count = sum(len(files) for files in drawn)
    err_console.file.write(f"wrote {out}/results.json and {count} figure files in {out}/figures\n")


# --- list and show --------------------------------------------------------------------------

@app.command("list", short_help="the catalog of claims", epilog="""\b
Examples:
  theorycheck list
  theorycheck list -k rademacher
  theorycheck list | cut -d' ' -f1        whole ids when piped
  theorycheck list --graph                papers, claims and relations
  theorycheck list --graph --format dot | dot -Tpdf > catalog.pdf""")
def list_claims(claims: list[Path] = CLAIMS,
                keywords: Optional[str] = KEYWORDS,
                fmt: str = typer.Option("table", "--format", metavar="FORMAT",
                                        help="table or json (with --graph: text, json or dot)"),
                graph: bool = typer.Option(False, "--graph", help="the catalog as a graph: papers, claims, relations"),
                ) -> None:
    """The catalog: id, family, source and title of every claim."""
    from theorycheck.report.terminal import print_table
    from theorycheck.verify.keywords import select
    from theorycheck.verify.registry import load_claims

    catalog = load_claims(claims)
    ids = select(catalog, keywords)
    if graph:
        from theorycheck.report import catalog as catalog_graph

        if fmt not in ("table", "text", "json", "dot"):
            raise InputError(f"unknown --format {fmt!r} for --graph; choose text, json or dot")
        drawn = catalog_graph.claims_graph(ids, catalog)
        render = {"json": catalog_graph.to_json, "dot": catalog_graph.to_dot}.get(fmt, catalog_graph.text_tree)
        sys.stdout.write(render(drawn))
        return
    if fmt == "json":
        rows = [{"id": cid, "family": cid.split(".")[0], "title": catalog[cid].title,
                 "source": catalog[cid].source.cite()} for cid in ids]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if fmt != "table":
        raise InputError(f"unknown --format {fmt!r}; choose table or json")
    from theorycheck.report.catalog import short_cite

    rows = [[cid, short_cite(catalog[cid].source), catalog[cid].title] for cid in ids]
    print_table(out_console, ["id", "source", "title"], rows, wrap=("title",))


@app.command(short_help="a claim's statement, parameters and last run", epilog="""\b
Examples:
  theorycheck show separable.gd-logistic
  theorycheck show mine.my-theorem --claims my_theorem.py""")
def show(claim: str = typer.Argument(..., metavar="CLAIM", hidden=True),
         claims: list[Path] = CLAIMS,
         store_path: Optional[Path] = STORE,
         detail: bool = typer.Option(False, "--detail", "-v", help="also print the claim's notes (its docstring)"),
         ) -> None:
    """A claim's statement, source, departures from the paper, parameters and presets, and the checks
    (with quantifiers) and controls (with margins) of its last stored run.

    \b
    CLAIM  a claim id (a family name lists its claims)"""
    import dataclasses

    from theorycheck.report.terminal import print_table
    from theorycheck.verify.claim import evidence_text
    from theorycheck.verify.registry import load_claims

    cls = one_claim(claim, load_claims(claims))
    say = _say(out_console)
    say(f"{cls.id}: {cls.title}")
    say(f"source: {cls.source.cite()}")
    say(f"\nstatement:\n  {cls.statement_text}")
    say(f"\nevidence: the checks test {evidence_text(cls)}")
    say(f"\nLaTeX:\n  {cls.statement}")
    derivation = cls().derivation()
    if derivation:
        say(f"\nderivation (LaTeX):\n  {derivation}")
    departures = " ".join(str(getattr(cls, "departures", "") or "").split())
    say(f"\ndepartures from the paper:\n  {departures or 'none declared'}")
    if detail and cls.__doc__:
        import inspect

        say("\nnotes:\n" + "\n".join("  " + line for line in inspect.cleandoc(cls.__doc__).splitlines()))
    if "predicted_rate" in cls.Params.__dataclass_fields__:
        say(f"\npredicted rate law: {cls.Params().predicted_rate} (replace it with --predict-rate LAW)")
    related = getattr(cls, "related", ())
    if related:
        say("\nrelated claims:\n" + "\n".join(f"  {relation} {other}" for relation, other in related))
    default, quick, full = cls.Params(), cls.Params.quick(), cls.Params.full()
    rows = []
    for f in dataclasses.fields(default):
        typename = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        rows.append([f.name, str(typename), *(repr(getattr(p, f.name)) for p in (default, quick, full))])
    say("")
    print_table(out_console, ["parameter", "type", "default", "quick", "full"], rows)
    say(f"default seeds: {cls.default_seeds}" + "".join(f"; {k}: {v}" for k, v in sorted(cls.preset_seeds.items())))
    show_last_run(cls, open_store(store_path))


def _say(console: Console):
    def say(text: str) -> None:
        if console.is_terminal:
            console.print(text, markup=False, highlight=False)
        else:
            console.file.write(text + "\n")
    return say


def seed_span(seeds: Sequence[int]) -> str:
    """'0..3' for a block, '3,17,42' otherwise."""
    seeds = list(seeds)
    if seeds and seeds == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 1:
        return f"{seeds[0]}..{seeds[-1]}"
    return ",".join(map(str, seeds))


def show_last_run(cls, store) -> None:
    """The checks (role, quantifier) and controls (margin) of the claim's most recent stored run."""
    from theorycheck.report.terminal import format_value, print_table

    say = _say(out_console)
    last = None
    for result in store.results(cls.id):
        last = result
    if last is None:
        say(f"\nchecks: no stored run yet; `theorycheck run {cls.id} --quick` lists them with their quantifiers "
            "and the controls' margins")
        return
    say(f"\nlast run: {last.preset} preset, seeds {seed_span(last.seeds)}, level {last.level:.0%}: "
        f"{last.verdict.value} ({last.message})")
    rows = [[c.name, c.role, c.quantifier, format_value(c), str(c.passed)] for c in last.checks]
    print_table(out_console, ["check", "role", "quantifier", "value vs tolerance", "passed"], rows, wrap=("check",))
    rows = [[c.name, c.quantifier, format_value(c), f"{c.margin:.3g}", str(c.passed is False)] for c in last.controls]
    say("controls (margin: how far past the tolerance; a near miss is at most 3):")
    print_table(out_console, ["control", "quantifier", "value vs tolerance", "margin", "rejected"], rows,
                wrap=("control",))


# --- run and sweep --------------------------------------------------------------------------

@app.command(short_help="run claims and decide verdicts", epilog="""\b
Examples:
  theorycheck run --all --quick
  theorycheck run separable.gd-logistic --seeds 100:108 --set n=200 --out x
  theorycheck run separable -k "not multiclass" --format md > report.md
  theorycheck run --all --quick --junit-xml junit.xml       for CI
  theorycheck run mine.decay --claims mine.py --predict-rate "1/sqrt(t)"
  theorycheck run separable.gd-logistic --set lr=2.5 --allow-outside lr""")
def run(
    selectors: list[str] = typer.Argument(None, metavar="CLAIM", hidden=True),
    all_: bool = typer.Option(False, "--all", help="run the whole catalog"),
    keywords: Optional[str] = KEYWORDS,
    quick: bool = QUICK,
    full: bool = FULL,
    seeds: Optional[str] = SEEDS,
    level: float = LEVEL,
    device: str = DEVICE,
    sets: list[str] = SETS,
    params_file: Optional[Path] = PARAMS,
    claims: list[Path] = CLAIMS,
    fmt: str = typer.Option("table", "--format", metavar="FORMAT", help="table, json, md, html or latex"),
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR", help="write results.json, the report and figures here"),
    junit: Optional[Path] = JUNIT,
    store_path: Optional[Path] = STORE,
    no_store: bool = typer.Option(False, "--no-store", help="neither read nor write the store"),
    rerun: bool = typer.Option(False, "--rerun", help="run again even if the store has this run"),
    predict_rate: Optional[str] = typer.Option(None, "--predict-rate", metavar="LAW",
                                               help="replace a claim's predicted rate law, e.g. '1/log(t)'"),
    allow_outside: list[str] = OUTSIDE,
    detail: bool = typer.Option(False, "--detail", "-v", help="print every check, control and observation"),
) -> None:
    """Run claims: exit 0 if all agree, 1 if one disagrees or is inconclusive, 2 on errors.

    \b
    CLAIM  claim ids or family names (or --all, or -k alone)"""
    from theorycheck.numerics.device import resolve_device
    from theorycheck.report.documents import FORMATS
    from theorycheck.report.terminal import RunProgress
    from theorycheck.verify.registry import load_claims
    from theorycheck.verify.runner import build_params_outside, check_seeds, run_claim
    from theorycheck.verify.stats import check_level

    if fmt not in ("table", *FORMATS):
        raise InputError(f"unknown --format {fmt!r}; choose table, json, md, html or latex")
    preset = preset_name(quick, full)
    chosen = choose_claims(selectors or [], all_, keywords, load_claims(claims))
    overrides = {**read_params_file(params_file), **parse_sets(sets)}
    if predict_rate is not None:
        overrides["predicted_rate"] = predict_rate
        lacking = [c.id for c in chosen if "predicted_rate" not in c.Params.__dataclass_fields__]
        if lacking:
            raise InputError(f"--predict-rate: claim {lacking[0]} declares no predicted rate law")
    resolve_device(device)
    level = check_level(level)
    for cls in chosen:  # validate everything before training anything
        build_params_outside(cls, preset, overrides, allow_outside)
        check_seeds(seeds, cls, preset)
    prepare_out(out)
    prepare_file(junit, "--junit-xml")
    store = open_store(store_path, not no_store)
    results = []
    with RunProgress(err_console, len(chosen)) as progress:
        for cls in chosen:
            progress.start(f"{cls.id} ({preset})")
            result = run_claim(cls, preset, seeds, overrides, device, store, rerun, STATE["debug"], level,
                               allow_outside)
            results.append(result)
            progress.finish(result)
    if any(r.cached for r in results):
        err_console.file.write(f"{sum(r.cached for r in results)} of {len(results)} served from the store "
                               f"({store.root}); --rerun to train again\n")
    write_outputs(results, fmt, out, detail=detail)
    if junit is not None:
        from theorycheck.report.junit import write_junit

        write_junit(results, junit)
    raise typer.Exit(exit_code(results))


@app.command(short_help="run a parameter grid (resumes when interrupted)", epilog="""\b
Examples:
  theorycheck sweep separable.gd-logistic --grid n=25:200:4:log --quick --out runs/n
  theorycheck sweep separable.gd-logistic --grid lr=0.5:3:6 --allow-outside lr --out runs/lr
  theorycheck sweep separable.gd-logistic --grid lr=0.1:1.9:5 --grid n=50,100
A grid axis is name=start:stop:num, name=start:stop:num:log or name=v1,v2,...; several form a product.""")
def sweep(
    claim: str = typer.Argument(..., metavar="CLAIM", hidden=True),
    grid: list[str] = typer.Option(..., "--grid", metavar="AXIS", help="name=start:stop:num[:log] or name=v1,v2 "
                                                                      "(repeat for a product)"),
    quick: bool = QUICK,
    full: bool = FULL,
    seeds: Optional[str] = SEEDS,
    level: float = LEVEL,
    device: str = DEVICE,
    sets: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="a fixed override (repeatable)"),
    params_file: Optional[Path] = typer.Option(None, "--params", metavar="FILE", help="TOML file of fixed overrides"),
    claims: list[Path] = CLAIMS,
    allow_outside: list[str] = OUTSIDE,
    executor: str = typer.Option("local", "--executor", metavar="NAME", help="local, processes, dask or submitit"),
    workers: Optional[int] = typer.Option(None, "--workers", metavar="N", help="processes / LocalCluster workers"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="dask scheduler address (tcp://host:port)"),
    partition: Optional[str] = typer.Option(None, "--partition", metavar="NAME", help="SLURM partition (submitit)"),
    cluster: Optional[str] = typer.Option(None, "--cluster", metavar="NAME",
                                          help="submitit cluster: slurm (default) or local"),
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR", help="write the phase diagram, report and figures"),
    fmt: str = typer.Option("table", "--format", metavar="FORMAT", help="table, json, md, html or latex"),
    junit: Optional[Path] = JUNIT,
    store_path: Optional[Path] = STORE,
    rerun: bool = typer.Option(False, "--rerun", help="run every cell again"),
) -> None:
    """Run a parameter grid, storing each cell as it finishes (an interrupted sweep resumes).

    \b
    CLAIM  a claim id"""
    from theorycheck.numerics.device import resolve_device
    from theorycheck.report.documents import FORMATS, cell_label
    from theorycheck.report.sweeps import phase_diagram
    from theorycheck.report.terminal import RunProgress
    from theorycheck.verify.executors import EXECUTORS
    from theorycheck.verify.registry import load_claims
    from theorycheck.verify.runner import check_seeds
    from theorycheck.verify.stats import check_level
    from theorycheck.verify.sweep import grid_cells, parse_axis, run_sweep

    if fmt not in ("table", *FORMATS):
        raise InputError(f"unknown --format {fmt!r}; choose table, json, md, html or latex")
    preset = preset_name(quick, full)
    cls = one_claim(claim, load_claims(claims))
    axes = [parse_axis(g) for g in grid]
    names = [a.name for a in axes]
    fixed = {**read_params_file(params_file), **parse_sets(sets)}
    resolve_device(device)
    check_level(level)
    check_seeds(seeds, cls, preset)
    grid_cells(cls, axes, preset, fixed, allow_outside)  # every cell is valid before anything is written
    if executor not in EXECUTORS:
        raise InputError(f"unknown executor {executor!r} for --executor; choose from {', '.join(EXECUTORS)}")
    prepare_out(out)
    prepare_file(junit, "--junit-xml")
    options: dict[str, Any] = {}
    if executor in ("processes", "dask"):
        options["workers"] = workers
    if executor == "dask":
        options["scheduler"] = scheduler
    if executor == "submitit":
        options.update(partition=partition, cluster=cluster)
    store = open_store(store_path)
    stored = [0]

    def plan(to_run: int, cached: int) -> None:
        stored[0] = cached
        progress.begin(to_run)

    with RunProgress(err_console) as progress:
        results = run_sweep(cls, axes, store, preset, seeds, fixed, device, executor, options, rerun,
                            [str(c) for c in claims], lambda r: progress.finish(r, cell_label(r, names)), level,
                            allow_outside, plan)
    err_console.file.write(f"{len(results)} cells, {stored[0]} served from the store\n")
    write_outputs(results, fmt, out, names)
    if out is not None:
        paths = phase_diagram(results, names, out / "sweep")
        err_console.file.write(f"phase diagram: {', '.join(str(p) for p in paths)}\n")
    if junit is not None:
        from theorycheck.report.junit import write_junit

        write_junit(results, junit)
    raise typer.Exit(exit_code(results))


@app.command(short_help="search a claim's assumptions for a counterexample", epilog="""\b
Examples:
  theorycheck falsify separable.gd-logistic --quick --budget 60 --seeds 4
  theorycheck falsify regularizers.kernel-to-rich --quick --vary alpha_min,alpha_max --out runs/f
  theorycheck falsify mine.thm --claims mine.py --vary alpha=1e-3:10:log --executor dask
Exit code: 1 a confirmed counterexample, 0 none within the budget, 2 bad input or every trial an error.""")
def falsify(
    claim: str = typer.Argument(..., metavar="CLAIM", hidden=True),
    budget: int = typer.Option(40, "--budget", help="trials to evaluate in all (stored trials count; whole batches)"),
    vary: list[str] = typer.Option([], "--vary", help="search only these: alpha,n or alpha=1e-3:10:log or "
                                   "loss=logistic,exp (repeatable; default: every searchable parameter)"),
    quick: bool = QUICK,
    full: bool = FULL,
    seeds: Optional[str] = typer.Option(None, "--seeds", metavar="SEEDS", help=SEEDS_HELP + "; the block is "
                                        "shifted by a searched offset"),
    fixed_seeds: bool = typer.Option(False, "--fixed-seeds", help="do not search seed blocks"),
    level: float = LEVEL,
    device: str = DEVICE,
    sets: list[str] = SETS,
    params_file: Optional[Path] = PARAMS,
    claims: list[Path] = CLAIMS,
    executor: str = typer.Option("local", "--executor", help="local, processes, dask or submitit"),
    workers: Optional[int] = typer.Option(None, "--workers", help="processes / LocalCluster workers"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="dask scheduler address (tcp://host:port)"),
    batch: int = typer.Option(4, "--batch", help="trials asked and run at once (results do not depend on the executor)"),
    sampler_seed: int = typer.Option(0, "--sampler-seed", help="seed of the TPE sampler"),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL shared by several drivers "
                                          "(default: falsify.sqlite in the store)"),
    study: Optional[str] = typer.Option(None, "--study", help="study name (default: derived from claim and search)"),
    shrink_budget: int = typer.Option(32, "--shrink-budget", help="runs spent shrinking a counterexample"),
    top: int = typer.Option(5, "--top", help="worst cases to list"),
    out: Optional[Path] = typer.Option(None, "--out", help="directory for falsify.json and the figures"),
    store_path: Optional[Path] = STORE,
) -> None:
    """Search a claim's admissible parameters and seeds for a counterexample; exit 1 if one is found and
    confirmed, 0 if none is found within the budget, 2 if every trial was an error."""
    from theorycheck.report.documents import write_atomic
    from theorycheck.report.falsify import falsify_figures, print_falsify, trial_line
    from theorycheck.verify.executors import EXECUTORS
    from theorycheck.verify.falsify import falsify as search
    from theorycheck.verify.registry import load_claims
    from theorycheck.numerics.device import resolve_device

    preset = preset_name(quick, full)
    cls = one_claim(claim, load_claims(claims))
    if executor not in EXECUTORS:
        raise InputError(f"unknown executor {executor!r}; choose from {', '.join(EXECUTORS)}")
    resolve_device(device)
    prepare_out(out)
    options: dict[str, Any] = {"workers": workers} if executor in ("processes", "dask") else {}
    if executor == "dask":
        options["scheduler"] = scheduler

    report = search(cls, budget=budget, preset=preset, seeds=seeds, vary=vary,
                    fixed={**read_params_file(params_file), **parse_sets(sets)}, search_seeds=not fixed_seeds,
                    level=level, device=device, executor=executor, executor_options=options, batch=batch,
                    sampler_seed=sampler_seed, storage=storage, study=study, store=open_store(store_path),
                    claim_files=[str(c) for c in claims], shrink_budget=shrink_budget,
                    on_trial=lambda record: err_console.print(trial_line(record), markup=False, highlight=False))
    print_falsify(report, out_console, top)
    if out is not None:
        write_atomic(out / "falsify.json", json.dumps(report.to_json(top), indent=2) + "\n")
        paths = falsify_figures(report, out)
        err_console.print(f"wrote {out}/falsify.json and {len(paths)} figure files")
    if report.evaluated and all(t.verdict == "error" for t in report.evaluated):
        raise typer.Exit(2)
    raise typer.Exit(1 if report.counterexample is not None else 0)



# --- diff, report, figure, export, new -----------------------------------------------------

@app.command(short_help="compare two result sets claim by claim", epilog="""\b
Examples:
  theorycheck diff runs/before runs/after          two --out directories
  theorycheck diff .theorycheck other/.theorycheck two stores (the latest run of each)
Exit code: 0 when no verdict changed, 1 otherwise.""")
def diff(a: Path = typer.Argument(..., metavar="A", hidden=True),
         b: Path = typer.Argument(..., metavar="B", hidden=True),
         fmt: str = typer.Option("table", "--format", metavar="FORMAT", help="table or json"),
         everything: bool = typer.Option(False, "--all", help="also list claims whose verdict and value did not change"),
         ) -> None:
    """Compare two sets of results claim by claim: verdicts, key values, set-up and provenance.

    \b
    A, B  --out directories (results.json) or stores (index.sqlite)"""
    from theorycheck.report.compare import describe, pair_results, value_cell, verdict_cell
    from theorycheck.report.documents import load_results
    from theorycheck.report.terminal import print_table

    if fmt not in ("table", "json"):
        raise InputError(f"unknown --format {fmt!r}; choose table or json")
    left, _, _ = load_results(a)
    right, _, _ = load_results(b)
    pairs = pair_results(left, right)
    changed = [p for p in pairs if p.verdict_changed]
    if fmt == "json":
        rows = [{"claim": p.claim, "verdict": [None if r is None else r.verdict.value for r in (p.a, p.b)],
                 "key_value": [None if r is None or r.key_check is None else r.key_check.value for r in (p.a, p.b)],
                 "changes": {k: list(v) for k, v in p.changes.items()}} for p in pairs]
        sys.stdout.write(json.dumps({"a": str(a), "b": str(b), "pairs": rows}, indent=2, default=str) + "\n")
        raise typer.Exit(1 if changed else 0)
    shown = pairs if everything else [p for p in pairs if p.verdict_changed or p.value_changed or p.changes]
    say = _say(out_console)
    say(f"A = {a}\nB = {b}")
    if shown:
        rows = [[p.claim, verdict_cell(p), value_cell(p), ", ".join(p.changes) or "—"] for p in shown]
        print_table(out_console, ["claim", "verdict", "key value", "differs"], rows, wrap=("differs",))
    for p in shown:
        for name, (x, y) in p.changes.items():
            say(f"  {p.claim}: {name}: {describe(x)} -> {describe(y)}")
    same = len(pairs) - len(shown)
    say(f"{len(pairs)} claims compared: {len(changed)} verdicts changed" + (f", {same} identical" if same else ""))
    raise typer.Exit(1 if changed else 0)


@app.command(short_help="render stored results as HTML, Markdown, LaTeX or JSON", epilog="""\b
Examples:
  theorycheck report runs/x                       runs/x/report.html, figures embedded
  theorycheck report runs/x --format latex --out table.tex""")
def report(
    source: Path = typer.Argument(..., metavar="SOURCE", hidden=True),
    fmt: str = typer.Option("html", "--format", metavar="FORMAT", help="html, md, latex or json"),
    out: Optional[Path] = typer.Option(None, "--out", metavar="FILE", help="output file (default: SOURCE/report.<ext>)"),
) -> None:
    """Render stored results as a document (HTML embeds the figures).

    \b
    SOURCE  a directory written by run/sweep --out, or a store"""
    from theorycheck.report import documents

    if fmt not in documents.FORMATS:
        raise InputError(f"unknown --format {fmt!r}; choose from {', '.join(documents.FORMATS)}")
    results, figures, base = documents.load_results(source)
    target = out or source / f"report.{documents.EXTENSIONS[fmt]}"
    prepare_file(target, "--out")
    documents.write_atomic(target, documents.render(fmt, results, figures, target.parent if out else base))
    err_console.file.write(f"wrote {target}\n")


@app.command(short_help="draw a paper figure of a claim", epilog="""\b
Examples:
  theorycheck figure separable.gd-logistic --quick --out gd.pdf            all panels
  theorycheck figure separable.gd-logistic --quick --check "direction gap" --out a.pdf
  theorycheck figure separable.gd-logistic --full --seeds 20 --width two-column --out b.pdf
Drawn from the stored run with this preset, seeds, parameters and level, or a new run.""")
def figure(
    claim: str = typer.Argument(..., metavar="CLAIM", hidden=True),
    out: Path = typer.Option(..., "--out", metavar="FILE", help="output file; its suffix (.pdf .png .svg .pgf) sets the format"),
    check: Optional[str] = typer.Option(None, "--check", metavar="NAME",
                                        help="one check or control (a part of its name); default: all checks as panels"),
    width: Optional[str] = typer.Option(None, "--width", metavar="WIDTH",
                                        help="one-column (3.25 in) or two-column (6.75 in); default by panel count"),
    quick: bool = QUICK,
    full: bool = FULL,
    seeds: Optional[str] = SEEDS,
    level: float = LEVEL,
    sets: list[str] = SETS,
    params_file: Optional[Path] = PARAMS,
    allow_outside: list[str] = OUTSIDE,
    seed_lines: bool = typer.Option(False, "--seed-lines", help="also draw one thin line per seed"),
    title: bool = typer.Option(False, "--title", help="put the claim and check name above the figure"),
    claims: list[Path] = CLAIMS,
    store_path: Optional[Path] = STORE,
    device: str = DEVICE,
) -> None:
    """A paper figure of a claim: every check as a panel, or one check; from the matching stored run.

    \b
    CLAIM  a claim id"""
    from theorycheck.report import figures
    from theorycheck.verify.registry import load_claims
    from theorycheck.verify.runner import build_params_outside, check_seeds, run_claim
    from theorycheck.verify.stats import check_level

    if width is not None and width not in figures.WIDTHS:
        raise InputError(f"unknown --width {width!r}; choose from {', '.join(figures.WIDTHS)}")
    fmt = out.suffix.lstrip(".")
    if fmt not in figures.FORMATS:
        raise InputError(f"--out {str(out)!r}: the suffix must be one of {', '.join('.' + f for f in figures.FORMATS)}")
    preset = preset_name(quick, full)
    cls = one_claim(claim, load_claims(claims))
    overrides = {**read_params_file(params_file), **parse_sets(sets)}
    build_params_outside(cls, preset, overrides, allow_outside)
    seed_list = check_seeds(seeds, cls, preset)
    level = check_level(level)
    prepare_file(out, "--out")
    store = open_store(store_path)
    result = run_claim(cls, preset, seed_list, overrides, device, store, level=level, allow_outside=allow_outside)
    where = (f"the stored {preset} run" if result.cached else f"a new {preset} run") + f" (seeds {seed_span(seed_list)})"
    if result.verdict.value == "error":
        raise InputError(f"{cls.id}: {result.message}; nothing to draw")
    drawable = [c for c in result.checks + result.controls if c.curve is not None]
    if check is None:
        if not figures.claim_panels(result):
            raise InputError(f"claim {cls.id} produced no check with a figure")
        count = len(figures.claim_panels(result))
        fig = figures.claim_figure(result, width or ("one-column" if count == 1 else "two-column"),
                                   seed_lines=seed_lines or None)
        if title:
            fig.suptitle(cls.id)
        what = "; ".join(figures.panel_captions(result))
    else:
        exact = [c for c in drawable if c.name == check]
        matches = exact or [c for c in drawable if check.lower() in c.name.lower()]
        if len(matches) != 1:
            names = [c.name for c in drawable]
            near = difflib.get_close_matches(check, names, n=1, cutoff=0.3)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            problem = "matches several checks" if matches else "matches no check with a figure"
            raise InputError(f"--check {check!r} {problem} of {cls.id}{hint} (choose from: {'; '.join(names)})")
        fig = figures.check_figure(matches[0], width or "one-column", title=f"{cls.id}: {matches[0].name}" if title
                                   else "", seed_lines=seed_lines or None)
        what = matches[0].name
    figures.save(fig, out.parent / out.stem, [fmt])
    err_console.file.write(f"wrote {out} from {where}: {what}\n")


@app.command(short_help="the store as JSON Lines", epilog="""\b
Example:
  theorycheck export --out runs.jsonl""")
def export(
    store_path: Optional[Path] = STORE,
    out: Optional[Path] = typer.Option(None, "--out", metavar="FILE", help="JSON Lines file (default: stdout)"),
) -> None:
    """The store as JSON Lines: one row per (claim, parameters, seed)."""
    from theorycheck.report.documents import write_atomic
    from theorycheck.verify.export import export_rows

    store = open_store(store_path)
    prepare_file(out, "--out")
    text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in export_rows(store))
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text)
        err_console.file.write(f"wrote {text.count(chr(10))} rows to {out}\n")


@app.command(short_help="write a template claim to start from", epilog="""\b
Example:
  theorycheck new mine.gd-least-squares --out my_claim.py
  theorycheck run --claims my_claim.py mine.gd-least-squares --quick""")
def new(
    name: str = typer.Argument(..., metavar="FAMILY.NAME", hidden=True),
    out: Optional[Path] = typer.Option(None, "--out", metavar="FILE", help="file to write (default: <name>.py)"),
) -> None:
    """Write a documented, working template claim to start a new theorem from.

    \b
    FAMILY.NAME  the claim id, e.g. mine.gd-least-squares"""
    from theorycheck.verify.scaffold import write_template

    path = write_template(name, out)
    err_console.file.write(f"wrote {path}; run it with: theorycheck run --claims {path} {name} --quick\n")


# --- entry point ----------------------------------------------------------------------------

def _is(err: BaseException, name: str) -> bool:
    """Whether ``err`` is a click exception of class ``name`` (click's own, or a copy vendored by typer)."""
    return any(cls.__name__ == name for cls in type(err).__mro__)


def usage_message(err: BaseException) -> str:
    """One line for a command-line usage error: what is wrong, with a did-you-mean, and where help is."""
    ctx = getattr(err, "ctx", None)
    command = getattr(ctx, "command_path", "theorycheck") or "theorycheck"
    if _is(err, "NoSuchOption"):
        option = getattr(err, "option_name", "") or ""
        choices = list(getattr(err, "possibilities", None) or [])
        if not choices and ctx is not None:
            choices = [o for p in ctx.command.params for o in getattr(p, "opts", []) + getattr(p, "secondary_opts", [])]
        near = difflib.get_close_matches(option, choices, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]}?" if near else ""
        return f"no such option {option} for `{command}`{hint} (`{command} -h` lists them)"
    text = err.format_message() if hasattr(err, "format_message") else str(err)
    text = " ".join(str(text).split())
    return f"{command}: {text} (`{command} -h` for help)"


def split_debug(args: Sequence[str]) -> tuple[list[str], bool]:
    """Remove ``--debug`` from anywhere before a ``--`` separator: it is a global option."""
    out, debug = [], False
    for i, arg in enumerate(args):
        if arg == "--":
            out += list(args[i:])
            break
        if arg == "--debug":
            debug = True
        else:
            out.append(arg)
    return out, debug


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point: one-line errors and exit code 2 unless --debug."""
    args, debug = split_debug(list(sys.argv[1:] if argv is None else argv))
    STATE["debug"] = debug
    try:
        code = app(args, prog_name="theorycheck", standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (TheorycheckError, FileNotFoundError) as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; finished runs are stored", file=sys.stderr)
        sys.exit(130)
    except Exception as err:  # click usage errors (whichever click typer uses) and anything unexpected
        if _is(err, "NoArgsIsHelpError"):  # `theorycheck` alone, or a command group without a command
            sys.stdout.write(err.format_message().rstrip() + "\n")
            sys.exit(0)
        if _is(err, "ClickException"):
            if debug:
                raise
            print(f"error: {usage_message(err)}", file=sys.stderr)
            sys.exit(2)
        if _is(err, "Abort"):
            sys.exit(130)
        if debug:
            raise
        print(f"error: {type(err).__name__}: {err}".splitlines()[0] + " (--debug shows the traceback)",
              file=sys.stderr)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
