"""Benchmark: trials per minute of ``theorycheck falsify``, and a falsification pass over true catalog claims.

Throughput: the same search (claim, quick preset, budget, sampler seed) on the ``local`` executor (one
core) and on ``processes`` with two workers (two cores), shrinking off. Each search runs in a fresh
temporary store, so nothing is served from an earlier run. Reports trials per minute and the mean run time
of a trial; ``toy.mean`` (a run of a few milliseconds) measures the search's own cost per trial (Optuna's
ask and tell, the SQLite study, the store) alone.

Findings (``--findings``): ``falsify`` over true catalog claims, each with the same budget. A counterexample
to a true theorem is a finding about a preset or a check; it is printed with its shrunk reproducer.

Usage::

    python benchmarks/falsify.py [--claim separable.gd-logistic] [--budget 24] [--executors local,processes]
    python benchmarks/falsify.py --findings [--budget 24] [--claims-list a,b,c]

The last line of the throughput part is ``trials/min <local> <processes>``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from theorycheck.verify.falsify import falsify  # noqa: E402
from theorycheck.verify.registry import load_claims  # noqa: E402
from theorycheck.verify.store import Store  # noqa: E402

TOY = str(Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "toy_claims.py")
#: true catalog claims searched by --findings (quick presets, a run of a second or less each)
FINDINGS = ("separable.gd-logistic", "separable.normalized-gd", "separable.gd-multiclass",
            "regularizers.diagonal-scale", "regularizers.kernel-to-rich", "rademacher.linear-l2")


def timed_search(claim: str, budget: int, executor: str, workers: int, claim_files=(), vary=None) -> dict:
    cls = load_claims(claim_files)[claim]
    options = {"workers": workers} if executor != "local" else {}
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        report = falsify(cls, budget=budget, preset="quick", executor=executor, executor_options=options,
                         store=Store(root), device="cpu", claim_files=claim_files, vary=vary, shrink_budget=0)
        wall = time.perf_counter() - start
    runs = sum(t.outcome.seconds for t in report.evaluated)
    trials = len(report.evaluated)
    return {"claim": claim, "executor": executor, "trials": trials, "wall": wall, "per_min": 60 * trials / wall,
            "run_mean": runs / trials, "report": report}


def throughput(args) -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, load average "
          f"{os.getloadavg()[0]:.1f} (measured under load when above the core count)")
    rows = []
    for claim, files in ((args.claim, ()), ("toy.mean", (TOY,))):
        for executor in args.executors.split(","):
            row = timed_search(claim, args.budget, executor, args.workers, files)
            rows.append(row)
            print(f"{claim:<28} {executor:<10} {row['trials']:>3} trials in {row['wall']:6.1f} s: "
                  f"{row['per_min']:7.1f} trials/min, a run {row['run_mean']:.3f} s on average")
    main = [r for r in rows if r["claim"] == args.claim]
    print("trials/min " + " ".join(f"{r['per_min']:.1f}" for r in main))


def findings(args) -> None:
    claims = args.claims_list.split(",") if args.claims_list else FINDINGS
    print(f"falsify over true catalog claims: quick presets, budget {args.budget}, sampler seed 0")
    for claim in claims:
        cls = load_claims()[claim]
        with tempfile.TemporaryDirectory() as root:
            start = time.perf_counter()
            report = falsify(cls, budget=args.budget, preset="quick", store=Store(root), device="cpu",
                             executor=args.executor, executor_options={"workers": args.workers}
                             if args.executor != "local" else {})
            wall = time.perf_counter() - start
        counts = (f"{len(report.evaluated)} trials ({len(report.by_verdict('agrees'))} agree, "
                  f"{len(report.counterexamples)} disagree, {len(report.inconclusive)} inconclusive, "
                  f"{len(report.errors)} errors, {len(report.pruned)} pruned) in {wall:.0f} s")
        print(f"\n{claim}: {counts}")
        print("  space: " + "; ".join(d.describe() for d in report.dimensions))
        ce = report.counterexample
        if ce is None:
            worst = report.worst(1)
            if worst:
                w = worst[0]
                print(f"  no counterexample; worst margin {w.margin:.3g} ({w.outcome.check}, {w.outcome.item}): "
                      f"{report.command(w.case)}")
        else:
            print(f"  COUNTEREXAMPLE (confirmed) at margin {ce.confirmation.margin:.3g}: {ce.confirmation.message}")
            print(f"  found:  {report.command(ce.trial.case)}")
            print(f"  shrunk ({'; '.join(ce.steps) or 'no simpler case fails'}): {report.command(ce.shrunk)}")
            print(f"          {ce.shrunk_outcome.message}")
            failing = {}
            for t in report.counterexamples:
                failing[t.outcome.check] = failing.get(t.outcome.check, 0) + 1
            print("  failing checks over the trials: " + ", ".join(f"{k} x{v}" for k, v in failing.items()))
        for t in report.errors[:2]:
            print(f"  error: {t.outcome.message}: {report.command(t.case)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claim", default="separable.gd-logistic")
    parser.add_argument("--budget", type=int, default=24)
    parser.add_argument("--executors", default="local,processes")
    parser.add_argument("--executor", default="local", help="executor of --findings")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--findings", action="store_true")
    parser.add_argument("--claims-list", default="")
    args = parser.parse_args()
    torch.set_num_threads(1)
    (findings if args.findings else throughput)(args)


if __name__ == "__main__":
    main()
