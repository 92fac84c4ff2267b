"""theorycheck: check theorems of deep-learning theory against simulations.

Public API::

    from theorycheck import run, load_claims, Result                     # run claims
    from theorycheck import Claim, Params, Source, register, seed_check, Curve, Trajectory   # write one
"""

from __future__ import annotations

__version__ = "0.1.0"

from theorycheck.errors import InputError  # noqa: E402
from theorycheck.numerics.trajectory import Recorder, Trajectory, log_spaced_steps  # noqa: E402
from theorycheck.verify.claim import CheckResult, Claim, Curve, Params, Source, Verdict  # noqa: E402
from theorycheck.verify.rates import law_check, predicted_law  # noqa: E402
from theorycheck.verify.registry import load_claims, register  # noqa: E402
from theorycheck.verify.runner import Result, run  # noqa: E402
from theorycheck.verify.stats import Quantifier, guard_items, seed_check  # noqa: E402

__all__ = ["CheckResult", "Claim", "Curve", "InputError", "Params", "Quantifier", "Recorder", "Result", "Source",
           "Trajectory", "Verdict", "__version__", "guard_items", "law_check", "load_claims", "log_spaced_steps",
           "predicted_law", "register", "run", "seed_check"]
