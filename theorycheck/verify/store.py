"""Results store: a SQLite index plus compressed npz artifacts, keyed by a content hash.

Layout under the store root (``./.theorycheck`` by default, ``--store`` or ``THEORYCHECK_STORE``)::

    index.sqlite            one row per run: key, claim, params, seeds, verdict, result JSON
    artifacts/<key>.npz     the trajectory and the curves the figures need

The key hashes the claim id, its parameters, the seeds, the confidence level, the package version
and the source of the code (the package and the claim's module or ``--claims`` file), so a repeated
run is served from the store and an edited claim is computed again. Writes are atomic: the artifact goes to a temporary file that is
renamed into place, and the index row is written in one transaction after it; a run interrupted
at any point leaves either no row or a complete one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from theorycheck.errors import InputError
from theorycheck.verify.claim import CheckResult, Claim, Curve, Verdict
from theorycheck.verify.provenance import code_hash

DEFAULT_ROOT = ".theorycheck"


def run_key(claim: str, params: dict[str, Any], seeds: Sequence[int], level: float = 0.95, code: str = "") -> str:
    """Content hash of a run: claim id, parameters, seeds, level, package version and code hash."""
    import theorycheck

    payload = json.dumps({"claim": claim, "params": params, "seeds": list(seeds), "level": level,
                          "version": theorycheck.__version__, "code": code}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def claim_key(claim: type[Claim], params: dict[str, Any], seeds: Sequence[int], level: float) -> str:
    """The store key of a run of ``claim`` (its code hash included)."""
    return run_key(claim.id, params, seeds, level, code_hash(claim))


def public_mode() -> int:
    """The mode an ordinary new file gets (0644 under the usual umask 022); temporary files start at 0600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def default_root() -> Path:
    return Path(os.environ.get("THEORYCHECK_STORE", DEFAULT_ROOT))


class Store:
    """The results store at ``root`` (created on first write)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.artifacts = self.root / "artifacts"

    def validate(self) -> "Store":
        """Raise InputError (one line, in words) when the store cannot be used: its path is a file, it
        cannot be created or written, or its index is not a SQLite database. Called before any training."""
        where = str(self.root)
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"store {where!r} is a file, not a directory; give --store a directory")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"store {where!r} cannot be created: {err.strerror or err}") from None
        if not os.access(self.root, os.W_OK):
            raise InputError(f"store {where!r} is not writable")
        index = self.root / "index.sqlite"
        if index.exists():
            try:
                with contextlib.closing(sqlite3.connect(index, timeout=30)) as con:
                    con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            except sqlite3.DatabaseError as err:
                raise InputError(f"store index {str(index)!r} is not a readable SQLite database ({err}); "
                                 "move it away or give another --store") from None
        return self

    def _connect(self) -> sqlite3.Connection:
        self.root.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.root / "index.sqlite", timeout=30)
        con.execute(
            "CREATE TABLE IF NOT EXISTS runs (key TEXT PRIMARY KEY, claim TEXT NOT NULL, params TEXT NOT NULL,"
            " seeds TEXT NOT NULL, verdict TEXT NOT NULL, result TEXT NOT NULL, created REAL NOT NULL)"
        )
        return con

    def get(self, claim: type[Claim], params: dict[str, Any], seeds: Sequence[int], level: float = 0.95) -> Any:
        """The stored :class:`Result` of this exact run (same code, parameters, seeds and level), or None."""
        key = claim_key(claim, params, seeds, level)
        if not (self.root / "index.sqlite").exists():
            return None
        with self._connect() as con:
            row = con.execute("SELECT result FROM runs WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        result = result_from_json(json.loads(row[0]), self._load_curves(key))
        result.cached = True
        return result

    def put(self, result: Any, claim: type[Claim]) -> str:
        """Store a result of ``claim`` atomically; return its key."""
        key = claim_key(claim, result.params, result.seeds, result.level)
        self.artifacts.mkdir(parents=True, exist_ok=True)
        arrays = _result_arrays(result)
        fd, tmp = tempfile.mkstemp(dir=self.artifacts, suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez_compressed(fh, **arrays)
            os.chmod(tmp, public_mode())
            os.replace(tmp, self.artifacts / f"{key}.npz")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        record = result.to_json()
        record["cached"] = False
        with self._connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, result.claim, json.dumps(result.params, sort_keys=True), json.dumps(result.seeds),
                 result.verdict.value, json.dumps(record), time.time()),
            )
        return key

    def __len__(self) -> int:
        if not (self.root / "index.sqlite").exists():
            return 0
        with self._connect() as con:
            return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def results(self, claim: str | None = None) -> Iterator[Any]:
        """Every stored result (optionally of one claim), oldest first."""
        if not (self.root / "index.sqlite").exists():
            return
        with self._connect() as con:
            query = "SELECT key, result FROM runs" + (" WHERE claim = ?" if claim else "") + " ORDER BY created"
            rows = con.execute(query, (claim,) if claim else ()).fetchall()
        for key, text in rows:
            result = result_from_json(json.loads(text), self._load_curves(key))
            result.cached = True
            yield result

    def _load_curves(self, key: str) -> dict[Any, Curve]:
        path = self.artifacts / f"{key}.npz"
        if not path.exists():
            return {}
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        return curves_from_arrays(arrays)


#: Curve fields stored as arrays, as dicts of arrays, and (all others) as JSON metadata
_CURVE_ARRAYS = ("x", "y", "predicted")
_CURVE_SERIES = ("extra", "predicted_extra")


def _result_arrays(result: Any) -> dict[str, np.ndarray]:
    """The trajectory and every check's and control's curve as named arrays (``curve/<kind>:<index>/...``)."""
    arrays: dict[str, np.ndarray] = {}
    if result.trajectory is not None:
        arrays.update({f"trajectory/{k}": np.asarray(v) for k, v in result.trajectory.to_arrays().items()})
    meta = {}
    for kind, checks in (("check", result.checks), ("control", result.controls)):
        for index, check in enumerate(checks):
            curve = check.curve
            if curve is None:
                continue
            slot = f"{kind}:{index}"
            info = {"name": check.name}
            for f in dataclasses.fields(Curve):
                value = getattr(curve, f.name)
                if f.name in _CURVE_ARRAYS:
                    if value is not None:
                        arrays[f"curve/{slot}/{f.name}"] = np.asarray(value, dtype=float)
                elif f.name in _CURVE_SERIES:
                    for label, series in value.items():
                        arrays[f"curve/{slot}/{f.name}/{label}"] = np.asarray(series, dtype=float)
                else:
                    info[f.name] = _plain_json(value)
            meta[slot] = info
    arrays["curves_meta"] = np.array(json.dumps(meta))
    return arrays


def _plain_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def curves_from_arrays(arrays: dict[str, np.ndarray]) -> dict[Any, Curve]:
    """Curves keyed by ``(kind, index)``, or by check name in stores written before curves had slots."""
    meta = json.loads(str(arrays.get("curves_meta", np.array("{}"))))
    names = {f.name for f in dataclasses.fields(Curve)}
    curves: dict[Any, Curve] = {}
    for slot, info in meta.items():
        fields = {f: arrays[f"curve/{slot}/{f}"] for f in _CURVE_ARRAYS if f"curve/{slot}/{f}" in arrays}
        for group in _CURVE_SERIES:
            prefix = f"curve/{slot}/{group}/"
            fields[group] = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        options = {k: v for k, v in info.items() if k in names and k not in fields}
        if options.get("checked_at") is not None:
            options["checked_at"] = tuple(options["checked_at"])
        curve = Curve(**fields, **options)
        if ":" in slot and "name" in info:
            kind, index = slot.split(":", 1)
            curves[(kind, int(index))] = curve
        else:  # an older store: curves keyed by check name
            curves[slot] = curve
    return curves


def check_from_json(record: dict[str, Any], curve: Curve | None = None) -> CheckResult:
    nan = float("nan")
    interval = record.get("interval")
    optional = {k: record[k] for k in ("quantifier", "level", "role", "worst_seed", "worst_item", "labels", "threshold",
                                       "threshold_relation") if record.get(k) is not None}
    return CheckResult(
        **optional,
        margin=nan if record.get("margin") is None else record["margin"],
        name=record["name"],
        value=nan if record.get("value") is None else record["value"],
        tolerance=nan if record.get("tolerance") is None else record["tolerance"],
        relation=record.get("relation", "<="),
        passed=record.get("passed"),
        per_seed=[nan if v is None else v for v in record.get("per_seed", [])],
        interval=None if interval is None else tuple(nan if v is None else v for v in interval),
        reason=record.get("reason", ""),
        curve=curve,
    )


def result_from_json(record: dict[str, Any], curves: dict[Any, Curve] | None = None) -> Any:
    """Rebuild a :class:`~theorycheck.verify.runner.Result` from its JSON record (and stored curves)."""
    from theorycheck.verify.runner import Result

    curves = curves or {}

    slotted = any(isinstance(k, tuple) for k in curves)

    def curve(kind: str, index: int, name: str) -> Curve | None:
        return curves.get((kind, index)) if slotted else curves.get(name)

    return Result(
        claim=record["claim"],
        verdict=Verdict(record["verdict"]),
        seconds=record["seconds"],
        params=record["params"],
        checks=[check_from_json(c, curve("check", i, c["name"])) for i, c in enumerate(record.get("checks", []))],
        controls=[check_from_json(c, curve("control", i, c["name"])) for i, c in enumerate(record.get("controls", []))],
        message=record.get("message", ""),
        seeds=record.get("seeds", []),
        preset=record.get("preset", "default"),
        provenance=record.get("provenance", {}),
        observations={k: float("nan") if v is None else v for k, v in record.get("observations", {}).items()},
        level=record.get("level", 0.95),
        outside=list(record.get("outside_assumptions") or []),
    )
