"""Provenance of a run: versions, git revision, dtype, device, seeds."""

from __future__ import annotations

import functools
import hashlib
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    import cvxpy
    import numpy
    import sympy
    import torch

    import theorycheck

    return {
        "theorycheck": theorycheck.__version__,
        "torch": torch.__version__,
        "cvxpy": cvxpy.__version__,
        "sympy": sympy.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def _git(*args: str) -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def git_revision() -> str | None:
    """The git commit of the installed source tree, when it is a checkout."""
    out = _git("rev-parse", "HEAD")
    return out.strip() or None if out else None


@functools.lru_cache(maxsize=1)
def git_dirty() -> bool | None:
    """Whether the package's checkout has uncommitted changes to tracked files (None outside a checkout)."""
    if git_revision() is None:
        return None
    out = _git("status", "--porcelain", "--untracked-files=no")
    return None if out is None else bool(out.strip())


@functools.lru_cache(maxsize=1)
def package_source_hash() -> str:
    """sha256 over the source of every module of the installed theorycheck package."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_hash(claim: type | None) -> str:
    """Hash of the code a claim's result depends on: the package's source and the claim's own module
    (a user's ``--claims`` file included), so an edited claim is recomputed rather than served."""
    digest = hashlib.sha256(package_source_hash().encode())
    if claim is not None:
        module = sys.modules.get(claim.__module__)
        source = getattr(module, "__file__", None)
        if source and Path(source).is_file():
            digest.update(Path(source).read_bytes())
        else:
            digest.update(claim.__module__.encode() + claim.__qualname__.encode())
    return digest.hexdigest()[:16]


def provenance(device: Any, seeds: Sequence[int], claim: type | None = None, dtype: str = "float64") -> dict[str, Any]:
    """What a stored record carries so that a reader can reproduce it."""
    from theorycheck.numerics.device import device_name

    return {
        "versions": dict(_versions()),
        "git": git_revision(),
        "git_dirty": git_dirty(),
        "code_hash": code_hash(claim),
        "dtype": dtype,
        "device": str(device),
        "device_name": device_name(device),
        "seeds": list(seeds),
    }
