"""Executors: one interface over work units (claim x parameters x seed batch).

``local`` runs in this process, ``processes`` on several cores, ``dask`` on a
``distributed.Client`` (an address, or a LocalCluster when none is given), ``submitit`` on
SLURM (or submitit's local executor). Workers only compute; the client writes the store.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from theorycheck.errors import InputError

EXECUTORS = ("local", "processes", "dask", "submitit")


@dataclass(frozen=True)
class WorkUnit:
    """Everything a worker needs to run one cell: the claim is looked up by id on the worker."""

    index: int
    claim: str
    params: dict[str, Any]
    seeds: tuple[int, ...]
    preset: str
    device: str
    claim_files: tuple[str, ...] = ()
    level: float = 0.95
    allow_outside: tuple[str, ...] = ()


def compute(unit: WorkUnit) -> tuple[int, Any]:
    """Worker side: rebuild the claim and its parameters, run it, return (index, Result)."""
    from theorycheck.verify.registry import load_claims
    from theorycheck.verify.runner import build_params_outside, execute

    catalog = load_claims(unit.claim_files)
    claim = catalog[unit.claim]
    params, outside = build_params_outside(claim, unit.preset, unit.params, unit.allow_outside)
    return unit.index, execute(claim, params, list(unit.seeds), unit.device, preset=unit.preset, level=unit.level,
                               outside=outside)


class Executor:
    """Context manager; ``run(units)`` yields (index, Result) as units complete."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        pass

    def run(self, units: Sequence[WorkUnit]) -> Iterator[tuple[int, Any]]:
        raise NotImplementedError


class LocalExecutor(Executor):
    def run(self, units: Sequence[WorkUnit]) -> Iterator[tuple[int, Any]]:
        for unit in units:
            yield compute(unit)


class ProcessExecutor(Executor):
    def __init__(self, workers: int | None = None):
        self.pool = ProcessPoolExecutor(max_workers=workers)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)

    def run(self, units: Sequence[WorkUnit]) -> Iterator[tuple[int, Any]]:
        futures = [self.pool.submit(compute, u) for u in units]
        for future in as_completed(futures):
            yield future.result()


class DaskExecutor(Executor):
    """A ``distributed.Client`` at ``scheduler``, or a LocalCluster of ``workers`` processes."""

    def __init__(self, scheduler: str | None = None, workers: int = 2):
        try:
            from distributed import Client, LocalCluster, as_completed as dask_completed
        except ImportError:
            raise InputError("the dask executor needs dask.distributed: pip install 'theorycheck[dask]'") from None
        self._as_completed = dask_completed
        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout=10)
            except OSError as err:
                raise InputError(f"cannot reach the dask scheduler at {scheduler!r}: {err}") from None
        else:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def run(self, units: Sequence[WorkUnit]) -> Iterator[tuple[int, Any]]:
        futures = [self.client.submit(compute, u, pure=False) for u in units]
        for future in self._as_completed(futures):
            yield future.result()


class SubmititExecutor(Executor):
    """SLURM through submitit (``partition`` etc.); ``cluster='local'`` uses submitit's local executor.

    Jobs are checkpointable: submitit requeues a preempted job and reruns the unit.
    """

    def __init__(self, folder: str = ".theorycheck/submitit", cluster: str | None = None, partition: str | None = None,
                 timeout_min: int = 60, gpus_per_node: int = 0, cpus_per_task: int = 2):
        try:
            import submitit
        except ImportError:
            raise InputError("the submitit executor needs submitit: pip install 'theorycheck[slurm]'") from None
        self.executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
        options: dict[str, Any] = {"timeout_min": timeout_min, "cpus_per_task": cpus_per_task}
        if partition:
            options["slurm_partition"] = partition
        if gpus_per_node:
            options["gpus_per_node"] = gpus_per_node
        self.executor.update_parameters(**options)

    def run(self, units: Sequence[WorkUnit]) -> Iterator[tuple[int, Any]]:
        jobs = [self.executor.submit(_Checkpointable(), u) for u in units]
        for job in jobs:
            yield job.result()


class _Checkpointable:
    """A callable submitit can requeue after preemption (the unit simply reruns)."""

    def __call__(self, unit: WorkUnit) -> tuple[int, Any]:
        return compute(unit)

    def checkpoint(self, unit: WorkUnit) -> Any:
        import submitit

        return submitit.helpers.DelayedSubmission(self, unit)


def make_executor(name: str, **options: Any) -> Executor:
    """Build an executor by name; unknown names and options raise InputError."""
    classes = {"local": LocalExecutor, "processes": ProcessExecutor, "dask": DaskExecutor, "submitit": SubmititExecutor}
    if name not in classes:
        raise InputError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
    options = {k: v for k, v in options.items() if v is not None}
    try:
        return classes[name](**options)
    except TypeError as err:
        raise InputError(f"executor {name!r}: {err}") from None
