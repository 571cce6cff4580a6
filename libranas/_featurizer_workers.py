"""Work done per architecture by :class:`~libranas.featurizer.ProxyFeaturizer`: seeds, builds,
the shared pass and the proxies' scores.

Module level (no estimator) so that joblib workers (loky re-imports modules) can unpickle the
functions by reference.
"""

from __future__ import annotations

import math
import os
import threading
import zlib
from typing import Any

import numpy as np

from libranas._validation import is_int as _is_int

#: torch's RNG is process-global: architectures scored by threads of one process (joblib's
#: threading backend) take turns, so each one's seeded build and pass see only its own seed
_TORCH_RNG_LOCK = threading.Lock()


class _Scored(tuple):
    """``(scores, failures)`` of :func:`_score_archs`, unpacked as before, with ``notes``:
    ``(row, proxy family, message)`` of the documented fallbacks the proxies applied."""

    notes: list[tuple[int, str, str]]


def _scored(out: np.ndarray, failures: list[Any], notes: list[Any]) -> _Scored:
    result = _Scored((out, failures))
    result.notes = notes
    return result


def arch_seed(canonical: Any, random_state: int, init: int = 0) -> int:
    """Seed of one architecture's initialisation: a function of the architecture and the seed only.

    ``SeedSequence([random_state, crc32(repr(canonical))])``, so the same architecture gets
    the same weights whatever its position in the list, the other architectures and the
    number of jobs. Initialisation ``init >= 1`` of the same architecture (``n_inits`` of
    :class:`~libranas.featurizer.ProxyFeaturizer`) uses
    ``SeedSequence([random_state, crc32(...), init])``.

    Examples
    --------
    >>> arch_seed("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 0) == arch_seed(
    ...     "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 0)
    True
    >>> arch_seed("a", 0) != arch_seed("a", 1)
    True
    >>> len({arch_seed("a", 0, init) for init in range(3)})
    3
    """
    if not _is_int(init) or init < 0:
        raise ValueError(f"init must be an int >= 0, got {init!r}")
    crc = zlib.crc32(repr(canonical).encode("utf-8"))
    entropy = [int(random_state), crc] + ([int(init)] if init else [])
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def _set_worker_threads(n_threads: int, parent_pid: int) -> None:
    """In a worker process, use ``n_threads`` torch threads (the caller sets its own)."""
    import torch

    if os.getpid() != parent_pid and torch.get_num_threads() != n_threads:
        torch.set_num_threads(n_threads)


def _tensors(x: np.ndarray, y: np.ndarray, device: str, dtype: str) -> tuple[Any, Any]:
    import torch

    xt = torch.as_tensor(x).to(device=device, dtype=getattr(torch, dtype))
    yt = torch.as_tensor(y, dtype=torch.long).to(device)
    return xt, yt


def _build(space: Any, arch: Any, seed: int, num_classes: int | None, device: str, dtype: str):
    """Build ``arch`` on the CPU under ``seed`` (same weights on every device), then move it."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = space.build(arch, num_classes=num_classes)
    return model.to(device=device, dtype=getattr(torch, dtype))


def _rng_devices(device: str) -> list[int]:
    import torch

    dev = torch.device(device)
    if dev.type != "cuda":
        return []
    return [dev.index if dev.index is not None else torch.cuda.current_device()]


def _score_archs(
    space: Any,
    archs: list[Any],
    seeds: list[tuple[int, ...]],
    x: np.ndarray,
    y: np.ndarray,
    proxies: list[str],
    options: dict[str, Any],
    device: str,
    dtype: str,
    num_classes: int,
    n_threads: int,
    parent_pid: int,
) -> tuple[np.ndarray, list[tuple[int, str, str]]]:
    """Score ``archs``: one network and one shared pass per architecture and initialisation.

    ``seeds[i]`` holds one seed per initialisation of ``archs[i]``; each proxy's score is the
    mean of its values over the initialisations where it succeeded (with one seed: the
    value itself). Returns the ``(len(archs), len(proxies))`` scores (NaN where a proxy
    failed on every initialisation) and the failures as ``(row, proxy, reason)`` (the first
    initialisation's reason).
    """
    import torch

    from libranas.proxies._engine import NetworkPass, plan_for
    from libranas.proxies._registry import get_proxy

    _set_worker_threads(n_threads, parent_pid)
    infos = [get_proxy(name) for name in proxies]
    plan = plan_for(proxies)
    xt, yt = _tensors(x, y, device, dtype)
    out = np.full((len(archs), len(proxies)), np.nan, dtype=np.float64)
    failures: list[tuple[int, str, str]] = []
    notes: dict[tuple[int, str], str] = {}  # (row, family) -> the first initialisation's note
    for row, (arch, arch_seeds) in enumerate(zip(archs, seeds, strict=True)):
        inits = (int(arch_seeds),) if np.ndim(arch_seeds) == 0 else tuple(arch_seeds)
        total = np.zeros(len(proxies))
        count = np.zeros(len(proxies), dtype=int)
        reasons: dict[int, str] = {}
        for seed in inits:
            with _TORCH_RNG_LOCK, torch.random.fork_rng(devices=_rng_devices(device)):
                torch.manual_seed(seed)
                model = _build(space, arch, seed, num_classes, device, dtype)
                npass = NetworkPass(model, xt, yt, seed=seed, options=options, plan=plan)
                for col, info in enumerate(infos):
                    try:
                        value = float(info.func(npass))
                    except Exception as exc:  # noqa: BLE001 - one proxy failing must not stop the rest
                        reasons.setdefault(col, f"{type(exc).__name__}: {exc}")
                        continue
                    if math.isfinite(value):
                        total[col] += value
                        count[col] += 1
                    else:
                        reasons.setdefault(col, f"non-finite score {value}")
                for family, message in npass.cache.get("notes", {}).items():
                    notes.setdefault((row, family), message)
            del npass, model
        for col, info in enumerate(infos):
            if count[col]:
                out[row, col] = total[col] / count[col]
            else:
                failures.append((row, info.name, reasons[col]))
    return _scored(out, failures, [(r, f, m) for (r, f), m in notes.items()])


def _layer_values(
    space: Any,
    archs: list[Any],
    seeds: list[tuple[int, ...]],
    x: np.ndarray,
    y: np.ndarray,
    options: dict[str, Any],
    device: str,
    dtype: str,
    num_classes: int,
    n_threads: int,
    parent_pid: int,
) -> list[np.ndarray | str]:
    """Per-layer L-SWAG log sigma of each architecture (or the reason it failed)."""
    import torch

    from libranas.proxies._engine import NetworkPass
    from libranas.proxies.lswag import layer_log_sigma

    _set_worker_threads(n_threads, parent_pid)
    xt, yt = _tensors(x, y, device, dtype)
    out: list[np.ndarray | str] = []
    for arch, arch_seeds in zip(archs, seeds, strict=True):
        seed = int(arch_seeds) if np.ndim(arch_seeds) == 0 else int(arch_seeds[0])
        with _TORCH_RNG_LOCK, torch.random.fork_rng(devices=_rng_devices(device)):
            torch.manual_seed(seed)
            model = _build(space, arch, seed, num_classes, device, dtype)
            npass = NetworkPass(model, xt, yt, seed=seed, options={**options, "lswag_band": None})
            try:
                out.append(np.asarray(layer_log_sigma(npass), dtype=np.float64))
            except Exception as exc:  # noqa: BLE001 - reported by the caller
                out.append(f"{type(exc).__name__}: {exc}")
        del npass, model
    return out
