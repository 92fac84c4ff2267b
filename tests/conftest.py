import os

# One BLAS / torch thread: the suite's problems are small batched tensors, for which a second
# thread costs more in synchronization than it gains (and CI has two cores shared with pytest).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def toy_claims() -> str:
    return str(FIXTURES / "toy_claims.py")


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from theorycheck.cli import main

    def invoke(*args: str):
        with pytest.raises(SystemExit) as done:
            main(list(args))
        out = capsys.readouterr()
        return done.value.code, out.out, out.err

    return invoke


#: the held-out seed block of the test suite, chosen once (presets were tuned on seeds 0..N-1): a claim's
#: quick preset must agree on seeds HELD_OUT_START .. HELD_OUT_START + N - 1 as well
HELD_OUT_START = 7919

_QUICK_RUNS: dict = {}


def held_out_seeds(cls) -> list[int]:
    count = cls.preset_seeds.get("quick", cls.default_seeds)
    return list(range(HELD_OUT_START, HELD_OUT_START + count))


@pytest.fixture(scope="session")
def quick_run():
    """``quick_run(cls, seeds=None)``: the claim's quick preset on the CPU, run once per session and shared
    between test files (the catalog tests and the family tests read the same runs)."""
    from theorycheck.verify.runner import run_claim

    def get(cls, seeds=None):
        key = (cls.id, None if seeds is None else tuple(seeds))
        if key not in _QUICK_RUNS:
            _QUICK_RUNS[key] = run_claim(cls, preset="quick", seeds=seeds, device="cpu")
        return _QUICK_RUNS[key]

    return get
