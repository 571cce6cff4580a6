"""Bounds on what a run may take: worker processes, torch threads, sampled architectures.

Kept apart from the commands so that every entry point (CLI, estimators) applies the same
bounds.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "DEFAULT_TORCH_THREADS",
    "MAX_RANDOM_ARCHS",
    "available_cores",
    "cap_n_jobs",
    "check_random_count",
    "set_torch_threads",
]

#: torch threads per process when the CLI is not told otherwise (``--torch-threads``).
#: Measured (benchmarks/results/torch_threads.md, the shared 2-core machine under load):
#: torch's default (2 threads) was 5.7x slower than 1 thread with 1 worker and 4.2x with 2
#: joblib workers. Scores are identical across n_jobs as long as one value is used everywhere
#: (the featurizer gives its workers the same ``n_threads``).
DEFAULT_TORCH_THREADS = 1

#: most random architectures one command samples (``--random``); beyond, give a file
MAX_RANDOM_ARCHS = 1_000_000


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one).

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _local_backend() -> bool:
    """True unless a joblib ``parallel_config`` selected a cluster backend (Dask, Ray...),
    whose workers are not this machine's cores."""
    try:
        from joblib.parallel import get_active_backend
    except ImportError:  # pragma: no cover
        return True
    backend, _ = get_active_backend()
    return type(backend).__name__ in (
        "LokyBackend",
        "MultiprocessingBackend",
        "ThreadingBackend",
        "SequentialBackend",
    )


def cap_n_jobs(n_jobs: int | None, n_tasks: int, cores: int | None = None) -> int | None:
    """``n_jobs`` bounded by the work (``n_tasks``) and, on a local backend, the cores.

    ``None`` stays None (joblib's default: 1, or a ``parallel_config``'s); ``-1`` means all
    cores, ``-k`` all but ``k - 1`` (joblib's rule); a positive value is capped at the cores
    and at the number of tasks, so no worker is started that has nothing to do. Never below 1.

    Examples
    --------
    >>> cap_n_jobs(100_000, 5, cores=2)
    2
    >>> cap_n_jobs(64, 2, cores=16)
    2
    >>> cap_n_jobs(-1, 100, cores=4)
    4
    >>> cap_n_jobs(None, 10) is None
    True
    """
    if n_jobs is None:
        return None
    cores = available_cores() if cores is None else int(cores)
    if n_jobs < 0:
        n_jobs = max(1, cores + 1 + n_jobs)
    if cores is not None and _local_backend():
        n_jobs = min(n_jobs, cores)
    return max(1, min(int(n_jobs), max(1, int(n_tasks))))


def set_torch_threads(n_threads: int | None) -> int:
    """Set torch's intra-op threads of this process (``None``: :data:`DEFAULT_TORCH_THREADS`);
    returns the value set. Worker processes get the same value through
    ``ProxyFeaturizer(n_threads=...)``."""
    import torch

    n = DEFAULT_TORCH_THREADS if n_threads is None else int(n_threads)
    if n < 1:
        raise ValueError(f"torch threads must be >= 1, got {n}")
    torch.set_num_threads(n)
    return n


def check_random_count(n: int, space: Any) -> None:
    """Refuse sampling more distinct architectures than the space holds, or more than
    :data:`MAX_RANDOM_ARCHS` (memory grows with the list), before anything is drawn.

    Examples
    --------
    >>> check_random_count(10, "nb201")
    >>> check_random_count(20_000, "nb201")
    Traceback (most recent call last):
    ...
    ValueError: --random 20000 exceeds what can be supplied: the space holds 15625 architectures
    """
    from libranas.search.loop import check_budget

    check_budget(n, space, None, "--random")
    if n > MAX_RANDOM_ARCHS:
        raise ValueError(
            f"--random {n} exceeds {MAX_RANDOM_ARCHS} architectures per command; score them "
            "in parts (--seed differs per part) or from --archs-file"
        )
