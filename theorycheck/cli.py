"""Command line: ``theorycheck list | show | run | sweep | report | figure | export | new``.

Exit codes (like a test runner): 0 every claim agrees, 1 some claim disagrees or is
inconclusive, 2 an error (bad input, a failed solver, diverged training).
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any, Optional, Sequence

import typer
from rich.console import Console

from theorycheck.errors import InputError, TheorycheckError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Check theorems of deep-learning theory against simulations.")
out_console = Console()
err_console = Console(stderr=True)
STATE = {"debug": False}

PRESET_HELP = "parameter preset: --quick (seconds), --full (paper scale); default otherwise"
SEEDS_HELP = "seeds: a count 8 (0..7), a range 100:108, or a list 3,17,42 (default: the claim's count)"
LEVEL_HELP = "confidence level the checks are decided at"


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
          threads: Optional[int] = typer.Option(1, "--threads", help="torch CPU threads (0: torch's default)")) -> None:
    from theorycheck.numerics.device import set_threads

    STATE["debug"] = debug
    set_threads(threads or None)


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
        raise InputError(f"parameter file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"parameter file {str(path)!r} is not valid TOML: {err}") from None
    nested = [k for k, v in data.items() if isinstance(v, dict)]
    if nested:
        raise InputError(f"parameter file {str(path)!r}: tables are not supported ({nested[0]!r}); use key = value")
    return data


def preset_name(quick: bool, full: bool) -> str:
    if quick and full:
        raise InputError("--quick and --full exclude each other")
    return "quick" if quick else "full" if full else "default"


def open_store(path: Optional[Path], use: bool = True):
    """The results store, validated before anything trains (None with --no-store)."""
    from theorycheck.verify.store import Store

    return Store(path).validate() if use else None


def prepare_out(out: Optional[Path]) -> None:
    """Create ``--out`` and make sure it is a writable directory, before any training."""
    if out is None:
        return
    import os

    if out.exists() and not out.is_dir():
        raise InputError(f"--out {str(out)!r} is a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"--out {str(out)!r} cannot be created: {err.strerror or err}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(f"--out {str(out)!r} is not writable")


def exit_code(results: Sequence) -> int:
    verdicts = {r.verdict.value for r in results}
    if "error" in verdicts:
        return 2
    if verdicts - {"agrees"}:
        return 1
    return 0


def write_outputs(results: Sequence, fmt: str, out: Optional[Path], figure_formats: Sequence[str] = ("pdf", "png"),
                  detail: bool = False) -> None:
    """The report (and figures) into ``out``; without ``out`` a document format goes to stdout."""
    from theorycheck.report import documents, figures, terminal

    if out is None:
        if fmt == "table":
            terminal.print_results(results, out_console, detail)
        else:
            sys.stdout.write(documents.render(fmt, results))
        return
    out.mkdir(parents=True, exist_ok=True)
    repeated = len({r.claim for r in results}) < len(results)  # a sweep: one figure set per cell
    drawn = [figures.result_figures(r, out / "figures", figure_formats, tag=f"cell{i:03d}" if repeated else "")
             for i, r in enumerate(results)]
    documents.write_atomic(out / "results.json", documents.render("json", results))
    if fmt not in ("table", "json"):
        documents.write_atomic(out / f"report.{documents.EXTENSIONS[fmt]}", documents.render(fmt, results, drawn, out))
    terminal.print_results(results, err_console if fmt == "json" else out_console, detail)
    err_console.print(f"wrote {out}/results.json and {sum(map(len, drawn))} figure files")


@app.command("list")
def list_claims(claims: list[Path] = typer.Option([], "--claims", help="also load claims from this Python file"),
                fmt: str = typer.Option("table", "--format", help="table or json")) -> None:
    """The catalog: id, title, source, family."""
    from rich.table import Table

    from theorycheck.verify.registry import load_claims

    catalog = load_claims(claims)
    if fmt == "json":
        rows = [{"id": cid, "family": cls.id.split(".")[0], "title": cls.title, "source": cls.source.cite()}
                for cid, cls in catalog.items()]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(header_style="bold")
    for col in ("id", "family", "title", "source"):
        table.add_column(col)
    for cid, cls in catalog.items():
        table.add_row(cid, cid.split(".")[0], cls.title, f"{cls.source.authors.split(',')[0]} et al. {cls.source.year}"
                      + (f", arXiv:{cls.source.arxiv}" if cls.source.arxiv else ""))
    out_console.print(table)


@app.command()
def show(claim: str, claims: list[Path] = typer.Option([], "--claims", help="also load claims from this Python file"),
         store_path: Optional[Path] = typer.Option(None, "--store", help="results store (default ./.theorycheck)")) -> None:
    """A claim's statement, parameters and presets, source, and its checks (with quantifiers) and controls
    (with margins) from the last stored run."""
    import dataclasses

    from rich.table import Table

    from theorycheck.verify.registry import load_claims, resolve

    (cls,) = resolve([claim], load_claims(claims))[:1]
    out_console.print(f"[bold]{cls.id}[/] — {cls.title}")
    out_console.print(f"source: {cls.source.cite()}")
    out_console.print(f"\nstatement:\n  {cls.statement_text}")
    out_console.print(f"\nLaTeX:\n  {cls.statement}", markup=False)
    derivation = cls().derivation()
    if derivation:
        out_console.print(f"\nderivation (LaTeX):\n  {derivation}", markup=False)
    table = Table(title="parameters", header_style="bold")
    for col in ("name", "type", "default", "quick", "full"):
        table.add_column(col)
    default, quick, full = cls.Params(), cls.Params.quick(), cls.Params.full()
    for f in dataclasses.fields(default):
        typename = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        table.add_row(f.name, str(typename), *(repr(getattr(p, f.name)) for p in (default, quick, full)))
    out_console.print(table)
    out_console.print(f"default seeds: {cls.default_seeds}"
                      + "".join(f"; {k}: {v}" for k, v in sorted(cls.preset_seeds.items())))
    show_last_run(cls, open_store(store_path))


def show_last_run(cls, store) -> None:
    """The checks (role, quantifier) and controls (margin) of the claim's most recent stored run."""
    from rich.table import Table

    from theorycheck.report.terminal import format_value

    last = None
    for result in store.results(cls.id):
        last = result
    if last is None:
        out_console.print(f"\nchecks: no stored run yet; `theorycheck run {cls.id} --quick` lists them with their "
                          "quantifiers and the controls' margins")
        return
    seeds = last.seeds
    span = f"{seeds[0]}..{seeds[-1]}" if seeds == list(range(seeds[0], seeds[0] + len(seeds))) else ",".join(map(str, seeds))
    out_console.print(f"\nlast run: {last.preset} preset, seeds {span}, level {last.level:.0%}: "
                      f"{last.verdict.value} ({last.message})", markup=False)
    table = Table(title="checks", header_style="bold")
    for col in ("check", "role", "quantifier", "value vs tolerance", "passed"):
        table.add_column(col)
    for c in last.checks:
        table.add_row(c.name, c.role, c.quantifier, format_value(c), str(c.passed))
    out_console.print(table)
    table = Table(title="controls (margin: past the tolerance; near miss <= 3)", header_style="bold")
    for col in ("control", "quantifier", "value vs tolerance", "margin", "rejected"):
        table.add_column(col)
    for c in last.controls:
        table.add_row(c.name, c.quantifier, format_value(c), f"{c.margin:.3g}", str(c.passed is False))
    out_console.print(table)


@app.command()
def run(
    selectors: list[str] = typer.Argument(None, help="claim ids or family names"),
    all_: bool = typer.Option(False, "--all", help="run the whole catalog"),
    quick: bool = typer.Option(False, "--quick", help=PRESET_HELP),
    full: bool = typer.Option(False, "--full", help=PRESET_HELP),
    seeds: Optional[str] = typer.Option(None, "--seeds", help=SEEDS_HELP),
    level: float = typer.Option(0.95, "--level", help=LEVEL_HELP),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N"),
    sets: list[str] = typer.Option([], "--set", help="override a parameter: key=value (repeatable)"),
    params_file: Optional[Path] = typer.Option(None, "--params", help="TOML file of parameter overrides"),
    claims: list[Path] = typer.Option([], "--claims", help="load claims from this Python file (repeatable)"),
    fmt: str = typer.Option("table", "--format", help="table, json, md, html or latex"),
    out: Optional[Path] = typer.Option(None, "--out", help="directory for the report and figures"),
    store_path: Optional[Path] = typer.Option(None, "--store", help="results store (default ./.theorycheck)"),
    no_store: bool = typer.Option(False, "--no-store", help="neither read nor write the store"),
    rerun: bool = typer.Option(False, "--rerun", help="run again even if the store has this run"),
    predict_rate: Optional[str] = typer.Option(None, "--predict-rate",
                                               help="replace a claim's predicted rate law, e.g. '1/log(t)'"),
    detail: bool = typer.Option(False, "--detail", "-v", help="print every check, control and observation"),
) -> None:
    """Run claims; exit 0 if all agree, 1 if any disagrees or is inconclusive, 2 on errors."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from theorycheck.report.documents import FORMATS
    from theorycheck.verify.registry import load_claims, resolve
    from theorycheck.verify.runner import build_params, check_seeds, run_claim
    from theorycheck.verify.stats import check_level
    from theorycheck.numerics.device import resolve_device

    if fmt not in ("table", *FORMATS):
        raise InputError(f"unknown --format {fmt!r}; choose table, json, md, html or latex")
    preset = preset_name(quick, full)
    catalog = load_claims(claims)
    if all_:
        chosen = list(catalog.values())
    elif selectors:
        chosen = resolve(selectors, catalog)
    else:
        raise InputError("name claims or families to run, or pass --all")
    overrides = {**read_params_file(params_file), **parse_sets(sets)}
    if predict_rate is not None:
        overrides["predicted_rate"] = predict_rate
        lacking = [c.id for c in chosen if "predicted_rate" not in c.Params.__dataclass_fields__]
        if lacking:
            raise InputError(f"--predict-rate: claim {lacking[0]} declares no predicted rate law")
    resolve_device(device)
    level = check_level(level)
    for cls in chosen:  # validate everything before training anything
        build_params(cls, preset, overrides)
        check_seeds(seeds, cls, preset)
    prepare_out(out)
    store = open_store(store_path, not no_store)
    results = []
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
                  transient=True) as progress:
        task = progress.add_task("starting", total=len(chosen))
        for cls in chosen:
            progress.update(task, description=f"{cls.id} ({preset})")
            result = run_claim(cls, preset, seeds, overrides, device, store, rerun, STATE["debug"], level)
            if result.cached:
                err_console.print(f"{cls.id}: served from the store ({store.root}); --rerun to train again")
            results.append(result)
            progress.advance(task)
    write_outputs(results, fmt, out, detail=detail)
    raise typer.Exit(exit_code(results))


@app.command()
def sweep(
    claim: str = typer.Argument(..., help="claim id"),
    grid: list[str] = typer.Option(..., "--grid", help="name=start:stop:num[:log] or name=v1,v2 (repeat for a product)"),
    quick: bool = typer.Option(False, "--quick", help=PRESET_HELP),
    full: bool = typer.Option(False, "--full", help=PRESET_HELP),
    seeds: Optional[str] = typer.Option(None, "--seeds", help=SEEDS_HELP),
    level: float = typer.Option(0.95, "--level", help=LEVEL_HELP),
    device: str = typer.Option("auto", "--device"),
    sets: list[str] = typer.Option([], "--set", help="fixed override key=value"),
    params_file: Optional[Path] = typer.Option(None, "--params", help="TOML file of fixed overrides"),
    claims: list[Path] = typer.Option([], "--claims", help="load claims from this Python file"),
    executor: str = typer.Option("local", "--executor", help="local, processes, dask or submitit"),
    workers: Optional[int] = typer.Option(None, "--workers", help="processes / LocalCluster workers"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="dask scheduler address (tcp://host:port)"),
    partition: Optional[str] = typer.Option(None, "--partition", help="SLURM partition (submitit)"),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="submitit cluster: slurm (default) or local"),
    out: Optional[Path] = typer.Option(None, "--out", help="directory for the phase diagram and report"),
    fmt: str = typer.Option("table", "--format", help="table, json, md, html or latex"),
    store_path: Optional[Path] = typer.Option(None, "--store"),
    rerun: bool = typer.Option(False, "--rerun"),
) -> None:
    """Run a parameter grid, storing each cell as it finishes (an interrupted sweep resumes)."""
    from theorycheck.report.sweeps import phase_diagram
    from theorycheck.verify.registry import load_claims, resolve
    from theorycheck.verify.runner import check_seeds
    from theorycheck.verify.stats import check_level
    from theorycheck.verify.executors import EXECUTORS
    from theorycheck.verify.sweep import grid_cells, parse_axis, run_sweep
    from theorycheck.numerics.device import resolve_device

    preset = preset_name(quick, full)
    (cls,) = resolve([claim], load_claims(claims))[:1]
    axes = [parse_axis(g) for g in grid]
    fixed = {**read_params_file(params_file), **parse_sets(sets)}
    resolve_device(device)
    check_level(level)
    check_seeds(seeds, cls, preset)
    grid_cells(cls, axes, preset, fixed)  # every cell's parameters are valid before anything is written
    if executor not in EXECUTORS:
        raise InputError(f"unknown executor {executor!r}; choose from {', '.join(EXECUTORS)}")
    prepare_out(out)
    options: dict[str, Any] = {}
    if executor in ("processes", "dask"):
        options["workers"] = workers
    if executor == "dask":
        options["scheduler"] = scheduler
    if executor == "submitit":
        options.update(partition=partition, cluster=cluster)
    store = open_store(store_path)
    done = []

    def report_cell(result) -> None:
        done.append(result)
        cell = ", ".join(f"{a.name}={result.params[a.name]}" for a in axes)
        err_console.print(f"[{len(done)}] {cell}: {result.verdict.value}")

    results = run_sweep(cls, axes, store, preset, seeds, fixed, device, executor, options, rerun,
                        [str(c) for c in claims], report_cell, level)
    err_console.print(f"{len(results)} cells, {len(results) - len(done)} served from the store")
    write_outputs(results, fmt, out)
    if out is not None:
        paths = phase_diagram(results, [a.name for a in axes], out / "sweep")
        err_console.print(f"phase diagram: {', '.join(str(p) for p in paths)}")
    raise typer.Exit(exit_code(results))


@app.command()
def falsify(
    claim: str = typer.Argument(..., help="claim id"),
    budget: int = typer.Option(40, "--budget", help="trials to evaluate in all (stored trials count; whole batches)"),
    vary: list[str] = typer.Option([], "--vary", help="search only these: alpha,n or alpha=1e-3:10:log or "
                                   "loss=logistic,exp (repeatable; default: every searchable parameter)"),
    quick: bool = typer.Option(False, "--quick", help=PRESET_HELP),
    full: bool = typer.Option(False, "--full", help=PRESET_HELP),
    seeds: Optional[str] = typer.Option(None, "--seeds", help=SEEDS_HELP + "; the block is shifted by a searched "
                                        "offset"),
    fixed_seeds: bool = typer.Option(False, "--fixed-seeds", help="do not search seed blocks"),
    level: float = typer.Option(0.95, "--level", help=LEVEL_HELP),
    device: str = typer.Option("auto", "--device"),
    sets: list[str] = typer.Option([], "--set", help="fixed override key=value (repeatable)"),
    params_file: Optional[Path] = typer.Option(None, "--params", help="TOML file of fixed overrides"),
    claims: list[Path] = typer.Option([], "--claims", help="load claims from this Python file"),
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
    store_path: Optional[Path] = typer.Option(None, "--store", help="results store (default ./.theorycheck)"),
) -> None:
    """Search a claim's admissible parameters and seeds for a counterexample; exit 1 if one is found and
    confirmed, 0 if none is found within the budget, 2 if every trial was an error."""
    from theorycheck.report.documents import write_atomic
    from theorycheck.report.falsify import falsify_figures, print_falsify, trial_line
    from theorycheck.verify.executors import EXECUTORS
    from theorycheck.verify.falsify import falsify as search
    from theorycheck.verify.registry import load_claims, resolve
    from theorycheck.numerics.device import resolve_device

    preset = preset_name(quick, full)
    (cls,) = resolve([claim], load_claims(claims))[:1]
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


def stored_figures(results: Sequence, folder: Path) -> list[list[Path]]:
    """The figure files that ``write_outputs`` drew for each result (matched by name and cell tag)."""
    from theorycheck.report.figures import slug

    if not folder.is_dir():
        return []
    repeated = len({r.claim for r in results}) < len(results)
    return [sorted(folder.glob(f"{slug(r.claim)}__{f'cell{i:03d}__' if repeated else ''}*"))
            for i, r in enumerate(results)]


@app.command()
def report(
    source: Path = typer.Argument(..., help="a directory written by run/sweep --out, or a store directory"),
    fmt: str = typer.Option("html", "--format", help="html, md, latex or json"),
    out: Optional[Path] = typer.Option(None, "--out", help="output file (default: SOURCE/report.<ext>)"),
) -> None:
    """Render stored results as a document (HTML embeds the figures)."""
    from theorycheck.report import documents
    from theorycheck.verify.store import Store, result_from_json

    if fmt not in documents.FORMATS:
        raise InputError(f"unknown --format {fmt!r}; choose from {', '.join(documents.FORMATS)}")
    if (source / "results.json").is_file():
        doc = json.loads((source / "results.json").read_text())
        if doc.get("schema") != documents.SCHEMA:
            raise InputError(f"{source}/results.json has schema {doc.get('schema')!r}; this version reads {documents.SCHEMA}")
        results = [result_from_json(r) for r in doc["results"]]
        figures = stored_figures(results, source / "figures")
        base = source
    elif (source / "index.sqlite").is_file():
        results = list(Store(source).results())
        figures, base = [], source
    else:
        raise InputError(f"{str(source)!r} holds neither results.json nor a store (index.sqlite)")
    target = out or source / f"report.{documents.EXTENSIONS[fmt]}"
    documents.write_atomic(target, documents.render(fmt, results, figures, target.parent if out else base))
    err_console.print(f"wrote {target}")


@app.command()
def figure(
    claim: str = typer.Argument(..., help="claim id"),
    out: Path = typer.Option(..., "--out", help="output file; its suffix (.pdf, .png, .svg, .pgf) sets the format"),
    check: Optional[str] = typer.Option(None, "--check", help="which check (default: the key check)"),
    width: str = typer.Option("one-column", "--width", help="one-column or two-column"),
    quick: bool = typer.Option(False, "--quick", help=PRESET_HELP),
    full: bool = typer.Option(False, "--full", help=PRESET_HELP),
    claims: list[Path] = typer.Option([], "--claims"),
    store_path: Optional[Path] = typer.Option(None, "--store"),
    device: str = typer.Option("auto", "--device"),
) -> None:
    """A paper figure for a claim's check: from the latest stored run, or a fresh run when none is stored."""
    from theorycheck.report import figures
    from theorycheck.verify.registry import load_claims, resolve
    from theorycheck.verify.runner import run_claim

    if width not in figures.WIDTHS:
        raise InputError(f"unknown --width {width!r}; choose from {', '.join(figures.WIDTHS)}")
    fmt = out.suffix.lstrip(".")
    if fmt not in figures.FORMATS:
        raise InputError(f"--out {str(out)!r}: suffix must be one of {', '.join('.' + f for f in figures.FORMATS)}")
    (cls,) = resolve([claim], load_claims(claims))[:1]
    store = open_store(store_path)
    stored = [r for r in store.results(cls.id) if any(c.curve is not None for c in r.checks)]
    result = stored[-1] if stored else run_claim(cls, preset_name(quick, full), None, {}, device, store)
    candidates = [c for c in result.checks + result.controls if c.curve is not None]
    if check is not None:
        candidates = [c for c in candidates if c.name == check]
        if not candidates:
            names = [c.name for c in result.checks + result.controls if c.curve is not None]
            raise InputError(f"claim {cls.id} has no check {check!r} with a figure; choose from {names}")
    if not candidates:
        raise InputError(f"claim {cls.id} produced no check with a figure")
    fig = figures.check_figure(candidates[0], cls.id, width)
    figures.save(fig, out.parent / out.stem, [fmt])
    err_console.print(f"wrote {out}")


@app.command()
def export(
    store_path: Optional[Path] = typer.Option(None, "--store"),
    out: Optional[Path] = typer.Option(None, "--out", help="JSON Lines file (default: stdout)"),
) -> None:
    """The store as JSON Lines: one row per (claim, parameters, seed)."""
    from theorycheck.report.documents import write_atomic
    from theorycheck.verify.export import export_rows

    store = open_store(store_path)
    text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in export_rows(store))
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text)
        err_console.print(f"wrote {text.count(chr(10))} rows to {out}")


@app.command()
def new(
    name: str = typer.Argument(..., help="claim id as family.name, e.g. mine.gd-least-squares"),
    out: Optional[Path] = typer.Option(None, "--out", help="file to write (default: <name>.py)"),
) -> None:
    """Write a documented, working template claim to start a new theorem from."""
    from theorycheck.verify.scaffold import write_template

    path = write_template(name, out)
    err_console.print(f"wrote {path}; run it with: theorycheck run --claims {path} {name} --quick")


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point: one-line errors and exit code 2 unless --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = app(args, standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (TheorycheckError, FileNotFoundError) as err:
        if "--debug" in args:
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; finished runs are stored", file=sys.stderr)
        sys.exit(130)
    except Exception as err:  # click usage errors and anything unexpected
        import click

        if isinstance(err, click.exceptions.ClickException):
            err.show()
            sys.exit(2)
        if isinstance(err, click.exceptions.Abort):
            sys.exit(130)
        if "--debug" in args:
            raise
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
