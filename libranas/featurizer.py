"""ProxyFeaturizer: architectures in, a matrix of zero-cost proxy scores out.

Each architecture is built at random initialisation (a seed derived from the architecture
itself), run through one shared :class:`~libranas.proxies._engine.NetworkPass` over one
fixed batch, and scored by every requested proxy. The L-SWAG layer band is calibrated once
per search space in :meth:`ProxyFeaturizer.fit`.
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from libranas._batch_checks import (
    check_batch_size,
    check_labels,
    check_option_values,
    check_short_batch,
    fit_image_size,
)
from libranas._validation import as_seed, check_unique
from libranas._validation import is_int as _is_int

__all__ = ["ProxyFailedWarning", "ProxyFeaturizer", "arch_seed"]

#: the L-SWAG family, listed first (in this order) by default
LSWAG_PROXIES = ("lswag", "lswag_lambda", "lswag_psi")
_DTYPES = ("float32", "float64")
#: most architectures per joblib task when several workers share the work
MAX_CHUNK = 8


#: torch's RNG is process-global: architectures scored by threads of one process (joblib's
#: threading backend) take turns, so each one's seeded build and pass see only its own seed
_TORCH_RNG_LOCK = threading.Lock()


def _uint8_images(x: np.ndarray) -> np.ndarray:
    """uint8 images ``(N, 3, H, W)`` -> float32 normalised with the ImageNet statistics
    (:func:`libranas.datasets.images.normalize_uint8`); any other array unchanged."""
    if x.dtype != np.uint8:
        return x
    from libranas.datasets.images import normalize_uint8

    try:
        return normalize_uint8(x, "imagenet")
    except ValueError as exc:
        raise ValueError(f"data x: {exc}") from None


class ProxyFailedWarning(UserWarning):
    """A proxy raised (or returned a non-finite value) on one architecture; its cell is NaN.

    Attributes ``proxy``, ``arch`` and ``reason`` (None when built from a message only) let a
    caller summarise failures per proxy.
    """

    def __init__(
        self, message: str, proxy: str | None = None, arch: Any = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.proxy, self.arch, self.reason = proxy, arch, reason


class ProxyNoteWarning(UserWarning):
    """A proxy applied a documented fallback on one architecture (e.g. L-SWAG's band had no
    varying gradient); its score is finite, and the note is kept in ``notes_``."""


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
    :class:`ProxyFeaturizer`) uses ``SeedSequence([random_state, crc32(...), init])``.

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


# ==================================================================================
# work done per architecture (module level: picklable for joblib workers)
# ==================================================================================


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


# ==================================================================================
# the estimator
# ==================================================================================


class ProxyFeaturizer(TransformerMixin, BaseEstimator):
    """Score architectures of a search space with zero-cost proxies.

    ``transform(archs)`` returns one row per architecture and one float64 column per proxy.
    Every architecture is built at random initialisation with a seed derived from
    ``random_state`` and the architecture itself (:func:`arch_seed`), so its scores do not
    depend on the order of ``archs`` or on ``n_jobs``. All proxies of one architecture share
    one :class:`~libranas.proxies._engine.NetworkPass` (each forward / backward runs once);
    networks are discarded after scoring.

    Parameters
    ----------
    space : str or SearchSpace, default="nb201"
        A registered space name (:func:`libranas.spaces.list_spaces`) or a space object.
    proxies : list of str, default=None
        Proxy names (:func:`libranas.proxies.list_proxies`), one output column each, in this
        order. ``None``: every registered proxy, the L-SWAG family first
        (``lswag, lswag_lambda, lswag_psi``), then the others sorted by name.
    data : arrays, Dataset, DataLoader, dataset name, folder, .npz path or None, default=None
        The batch every network is scored on.

        - ``(x, y)``: arrays or tensors; ``x`` floating point ``(N, C, H, W)`` (already
          normalised) or uint8 images ``(N, 3, H, W)`` (normalised with the ImageNet
          statistics, :func:`libranas.datasets.images.normalize_uint8`; for a dataset's own
          statistics normalise them first), ``y`` integer class labels ``(N,)``. The first
          ``batch_size`` samples are used (all of them when there are fewer).
        - ``"cifar10"`` or ``"cifar100"``: ``batch_size`` training images drawn from the
          dataset, downloaded once through torchvision into ``$LIBRANAS_CACHE`` (default
          ``~/.cache/libranas``; offline, an ``OSError`` says where to put the files),
          normalised with the dataset's statistics and resized to the space's input size
          (:func:`libranas.datasets.sources.load_dataset_batch`).
        - a ``torch.utils.data.Dataset`` of ``(image, label)`` items, or the path of an
          ImageFolder-style directory (``root/<class>/<image>``): ``batch_size`` items
          drawn from ``random_state``, resized to the space's input size (``input_shape``
          or the space's ``default_input_shape``); raw images (PIL, uint8) are normalised
          with the ImageNet statistics, float tensors taken as already normalised
          (:mod:`libranas.datasets.sources`).
        - a ``torch.utils.data.DataLoader`` yielding ``(x, y)`` batches: the first
          ``batch_size`` samples it yields, iterated with torch's global RNG seeded from
          ``random_state`` (so a shuffling loader gives the same batch every fit).
        - a path to an ``.npz`` file of uint8 images (``x`` and ``y`` arrays):
          ``batch_size`` images drawn with
          :func:`libranas.datasets.load_image_batch` (normalisation inferred from the file
          name, e.g. ``cifar10_960_uint8.npz``).
        - ``None``: only allowed when every proxy reads the network alone (``params``,
          ``flops``, ``l2_norm``); the networks then see a zero batch of shape
          ``(2, *input_shape)``.
    batch_size : int, default=64
        Samples in the batch (the paper uses 64; at least 2, per-sample statistics need them;
        at most :data:`~libranas._batch_checks.MAX_BATCH_SIZE`, 4096). An ``(x, y)`` pair or
        a DataLoader with fewer samples is used as it is, with a ``BatchNoteWarning``.
        Image size: with ``input_shape``, array, ``.npz`` and DataLoader images of another
        size are resized to it (bilinear, antialiased, as a Dataset's are), with a note;
        without it they keep their size, with a note when it differs from the space's
        default input. Labels must be integers (float labels are refused, everywhere).
    device : str or torch.device, default="auto"
        ``"auto"``: CUDA when available, else the CPU. ``"cuda"`` without a CUDA device is
        an error at :meth:`fit`.
    lswag_band : "auto", "stored", "calibrate", (lo, hi) or None, default="auto"
        Layer band of the L-SWAG proxies, as depth percentiles ``0 <= lo < hi <= 100``.
        ``"stored"`` uses the band shipped with the space for this setting
        (:meth:`~libranas.spaces.SearchSpace.lswag_band`; an error when the space stores
        none); ``"calibrate"`` runs the paper's calibration in :meth:`fit` (see Notes);
        ``"auto"`` is ``"stored"`` where the space stores a band (NAS-Bench-201,
        AutoFormer and PiT at the settings they were studied at), else ``"calibrate"``;
        ``None`` uses every layer.
    n_calibration : int, default=20
        Random architectures used by the ``"auto"`` band calibration. The paper uses 1000;
        20 keeps :meth:`fit` under a minute on a CPU at batch 64 (NB201: about 3 s per
        architecture on one busy core).
    num_classes : int, default=None
        Output classes of the built networks; labels must lie in ``[0, num_classes)``.
        ``None``: the space's default (the output width of ``space.build(arch)``; 10 for
        NAS-Bench-201), never inferred from the labels.
    input_shape : tuple of int, default=None
        ``(C, H, W)`` of the zero batch used when ``data=None`` (it sets the resolution
        ``flops`` is counted at). ``None``: the space's ``default_input_shape`` attribute;
        an error if the space has none. With data, it must match the batch if given.
    options : dict, default=None
        Extra options for the shared pass and the proxies (e.g.
        ``{"per_sample": "chunks"}``, ``{"per_sample_chunk": 8}``). Only declared keys are
        accepted (:func:`libranas.proxies.list_options` lists them; a proxy declares its own
        with ``register_proxy(..., options=...)``); any other key is a ``ValueError`` in
        :meth:`fit`. The band is set with ``lswag_band``, not here.
    n_jobs : int, default=None
        Parallel jobs over architectures (joblib; ``None`` = 1 unless a
        :func:`joblib.parallel_config` context says otherwise, which also selects the
        backend, e.g. Dask or Ray). Each worker builds its own networks from picklable
        architectures and the numpy batch. Threads of one process (joblib's threading
        backend) score one architecture at a time, since torch's RNG is process-global; use
        processes (the default loky backend) or a cluster backend for parallelism.
    n_threads : int, default=None
        Torch threads used to score every architecture, in this process and in every
        worker alike (``None``: this process's ``torch.get_num_threads()`` at
        :meth:`transform`). CPU reductions depend on the thread count, so one value for all
        workers is what makes the scores identical bit for bit whatever ``n_jobs``. With
        several worker processes on a CPU, set it to ``cpu_count // n_jobs`` (e.g. 1) to
        avoid oversubscription.
    random_state : int, RandomState, Generator or None, default=0
        Seed of the network initialisations, the calibration architectures and the batch
        draw. ``None`` (or a generator) draws a seed at :meth:`fit`, stored as ``seed_``.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the networks and the batch. The output is always float64.
    verbose : int, default=0
        ``0``: silent. ``>= 1``: a progress bar over the architectures in :meth:`transform`
        and the band calibration (tqdm on stderr; shown only when stderr is a terminal) and
        a calibration summary; ``>= 2`` also joblib's own progress messages.
    n_inits : int, default=1
        Initialisations per architecture: each proxy's score is the mean of its values over
        ``n_inits`` networks of the architecture, initialised with seeds
        ``arch_seed(arch, seed_, i)`` for ``i = 0 .. n_inits - 1`` (:func:`arch_seed`; the
        first is the single-init seed, so ``n_inits=1`` gives the same scores as before),
        all on the same batch. The raw values are averaged, as each proxy defines them (a
        log-scale proxy such as ``nwot`` is averaged on its log scale); an initialisation on
        which a proxy fails is left out of its mean (NaN only when it fails on all). Cost
        grows linearly with ``n_inits``. The L-SWAG band calibration uses one
        initialisation per calibration architecture.
    store : None, str, path-like or :class:`~libranas.store.ScoreStore`, default=None
        A resumable on-disk score store (SQLite). :meth:`transform` looks every
        (architecture, proxy) cell up there first, computes only the missing ones and writes
        each computed chunk of architectures as soon as it is scored (one transaction), so a
        featurization that is interrupted, even killed, resumes where it stopped, and later
        runs in any process reuse the scores. Rows are keyed by the space (its ``repr``),
        the canonical architecture, the proxy, a fingerprint of the batch (bytes, shape,
        dtype of ``x`` and ``y``), ``seed_``, the libranas version and a fingerprint of the
        options that change values (band, ``options``, dtype, classes, device type,
        ``n_inits`` when it is not 1). Failed cells are stored as NaN with their error (and
        warned about again when read back); :meth:`~libranas.store.ScoreStore.delete_failures`
        clears them for a retry.

    Attributes
    ----------
    space_ : SearchSpace
        The resolved search space.
    proxies_ : list of str
        The output columns, in order.
    device_ : str
        The resolved device, e.g. ``"cpu"`` or ``"cuda"``.
    seed_ : int
        The resolved seed.
    data_ : tuple of ndarray
        The batch ``(x, y)`` every network is scored on (numpy, so the fitted featurizer
        pickles).
    data_source_ : dict
        Where the batch came from: ``kind`` (``"arrays"``, ``"dataloader"``, ``"dataset"``,
        ``"dataset-name"``, ``"folder"``, ``"npz"`` or ``"zeros"``) and, for the drawn
        sources, the ``indices`` drawn, the ``size`` images were resized to and the
        ``normalization`` applied (see :mod:`libranas.datasets.sources`).
    size_prior_ : (float, float) or None
        reg-SWAP's ``(mu, sigma)`` (millions of parameters) used: the space's
        :meth:`~libranas.spaces.SearchSpace.size_prior` unless ``options`` give
        ``reg_swap_mu`` / ``reg_swap_sigma``; None when ``reg_swap`` is not computed or both
        options are given.
    num_classes_ : int
        Output classes of the networks.
    lswag_band_ : (float, float) or None
        The band given to the L-SWAG proxies (None: all layers).
    lswag_profile_ : ndarray of shape (10,) or None
        The calibration profile: mean per-layer log sigma of the calibration networks by
        depth decile (``None`` unless the band was calibrated). Plot it to see the spike.
    calibration_archs_ : list or None
        The architectures the band was calibrated on.
    calibration_seconds_ : float
        Wall time of the calibration (0 when there was none).

    Notes
    -----
    **Band calibration** (``lswag_band="calibrate"``, or ``"auto"`` for a space that stores
    no band, and an L-SWAG proxy requested), as in the
    paper: ``n_calibration`` *random* architectures of the space (not the ``archs`` given
    to :meth:`fit`) are scored at initialisation; each network's per-layer log sigma
    (:func:`libranas.proxies.lswag.layer_log_sigma`) is binned by relative depth into 10
    bins and averaged over networks (:func:`~libranas.proxies.lswag.depth_profile`); the
    band is the spike of that profile (:func:`~libranas.proxies.lswag.choose_band`).
    Without an L-SWAG proxy no calibration runs and ``lswag_band_`` is None.

    **Failures.** A proxy that raises or returns a non-finite value on one architecture
    gives NaN in that cell and a :class:`ProxyFailedWarning` naming the architecture, the
    proxy and the reason; the other cells are computed as usual. An invalid architecture
    is an error (``ValueError`` / ``TypeError`` naming its position and value) before
    anything is scored.

    **Checks at fit.** Parameters, proxy names (``ValueError`` listing the known ones),
    the device, the batch, and that the batch fits the space: one random architecture is
    built and run on 2 samples (``ValueError`` "data batch of shape ... does not fit
    space ...").

    **Scaling out** (the user guide's "Scaling" page has the details). Any joblib backend
    works: ``with joblib.parallel_config(backend="dask"):`` around :meth:`fit` /
    :meth:`transform` with a ``distributed.Client`` connected (``pip install
    libranas[distributed]``), or Ray's (``ray.util.joblib.register_ray()``, then
    ``backend="ray"``). Workers receive chunks of canonical architectures, their seeds and
    the numpy batch, build the networks themselves and return floats; with the same
    ``n_threads`` everywhere the scores equal a sequential run's bit for bit. Several GPUs:
    start one Dask worker per GPU with ``CUDA_VISIBLE_DEVICES=i dask worker <scheduler>
    --nthreads 1`` and use ``device="cuda"``. A ``store`` stays with the caller, which
    writes each chunk as it comes back.

    ``archs`` is a list of architectures in any form the space accepts, so scikit-learn's
    ``check_estimator`` does not apply (``input_tags.two_d_array=False``).

    Examples
    --------
    >>> import torch
    >>> from libranas.featurizer import ProxyFeaturizer
    >>> x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    >>> feat = ProxyFeaturizer("nb201", proxies=["params", "nwot"], data=(x, y), device="cpu")
    >>> archs = ["(0, 2, 3, 2, 3, 1)", "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"]
    >>> Z = feat.fit_transform(archs)
    >>> Z.shape, Z.dtype
    ((2, 2), dtype('float64'))
    >>> list(feat.get_feature_names_out())
    ['params', 'nwot']
    >>> bool(Z[0, 0] > Z[1, 0])  # the first cell has more convolutions
    True
    >>> bool((feat.transform(archs[::-1]) == Z[::-1]).all())  # same arch, same scores
    True
    """  # noqa: E501

    def __init__(
        self,
        space: Any = "nb201",
        proxies: Sequence[str] | None = None,
        data: Any = None,
        batch_size: int = 64,
        device: Any = "auto",
        lswag_band: Any = "auto",
        n_calibration: int = 20,
        num_classes: int | None = None,
        input_shape: Sequence[int] | None = None,
        options: dict[str, Any] | None = None,
        n_jobs: int | None = None,
        n_threads: int | None = None,
        random_state: Any = 0,
        dtype: str = "float32",
        verbose: int = 0,
        store: Any = None,
        n_inits: int = 1,
    ) -> None:
        self.space = space
        self.proxies = proxies
        self.data = data
        self.batch_size = batch_size
        self.device = device
        self.lswag_band = lswag_band
        self.n_calibration = n_calibration
        self.num_classes = num_classes
        self.input_shape = input_shape
        self.options = options
        self.n_jobs = n_jobs
        self.n_threads = n_threads
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose
        self.store = store
        self.n_inits = n_inits

    # ------------------------------------------------------------------ sklearn plumbing
    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # X is a list of architectures
        tags.target_tags.required = False
        return tags

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The proxy names, one per output column.

        Parameters
        ----------
        input_features : ignored
            Present for scikit-learn API compatibility.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "proxies_")
        return np.asarray(self.proxies_, dtype=object)

    # ------------------------------------------------------------------ parameter checks
    def _check_params(self) -> None:
        check_batch_size(self.batch_size)  # issue 25: bounded (MAX_BATCH_SIZE)
        if not _is_int(self.n_calibration) or self.n_calibration < 1:
            raise ValueError(f"n_calibration must be an int >= 1, got {self.n_calibration!r}")
        if self.num_classes is not None and (not _is_int(self.num_classes) or self.num_classes < 1):
            raise ValueError(f"num_classes must be None or an int >= 1, got {self.num_classes!r}")
        if self.n_jobs is not None and (not _is_int(self.n_jobs) or self.n_jobs == 0):
            raise ValueError(f"n_jobs must be None or a nonzero int, got {self.n_jobs!r}")
        if self.n_threads is not None and (not _is_int(self.n_threads) or self.n_threads < 1):
            raise ValueError(f"n_threads must be None or an int >= 1, got {self.n_threads!r}")
        if not _is_int(self.verbose) or self.verbose < 0:
            raise ValueError(f"verbose must be an int >= 0, got {self.verbose!r}")
        if not _is_int(self.n_inits) or self.n_inits < 1:
            raise ValueError(f"n_inits must be an int >= 1, got {self.n_inits!r}")
        from libranas.store import resolve_store

        resolve_store(self.store)  # TypeError for anything but None, a path or a ScoreStore
        if self.options is not None:
            if not isinstance(self.options, dict) or not all(
                isinstance(k, str) for k in self.options
            ):
                raise TypeError(f"options must be a dict with str keys, got {self.options!r}")
            if "lswag_band" in self.options:
                raise ValueError(
                    "set the L-SWAG band with the lswag_band parameter, not options['lswag_band']"
                )
            from libranas.proxies._registry import check_options

            check_options(self.options)  # a misspelled key is an error, not silently ignored
            check_option_values(self.options)  # issue 25: a bad value too, before any NaN

    def _resolve_dtype(self) -> str:
        import torch

        if isinstance(self.dtype, torch.dtype):
            name = str(self.dtype).removeprefix("torch.")
        else:
            name = self.dtype
        if name not in _DTYPES:
            raise ValueError(f"dtype must be one of {_DTYPES}, got {self.dtype!r}")
        return name

    def _resolve_device(self) -> str:
        import torch

        if isinstance(self.device, str) and self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if not isinstance(self.device, (str, torch.device)):
            raise TypeError(f"device must be 'auto', a str or a torch.device, got {self.device!r}")
        try:
            dev = torch.device(self.device)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"invalid device {self.device!r}: {exc}") from None
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise ValueError(
                    f"device={self.device!r} but no CUDA device is available; "
                    "use device='cpu' or 'auto'"
                )
            if dev.index is not None and dev.index >= torch.cuda.device_count():
                raise ValueError(
                    f"device={self.device!r} but only {torch.cuda.device_count()} CUDA "
                    "device(s) are available"
                )
        return str(dev)

    def _resolve_seed(self) -> int:
        # an int is the seed itself; a Generator / RandomState / None gives one drawn seed
        return as_seed(self.random_state)

    def _resolve_proxies(self) -> list[str]:
        from libranas.proxies import list_proxies

        known = list_proxies()
        if self.proxies is None:
            first = [p for p in LSWAG_PROXIES if p in known]
            return first + [p for p in known if p not in first]
        if isinstance(self.proxies, str) or not isinstance(self.proxies, Sequence | np.ndarray):
            raise TypeError(f"proxies must be None or a list of proxy names, got {self.proxies!r}")
        names = list(self.proxies)
        if not names:
            raise ValueError("proxies is empty; pass None for all proxies or a list of names")
        bad = [p for p in names if not isinstance(p, str) or p not in known]
        if bad:
            raise ValueError(f"unknown proxies {bad}; known proxies: {known}")
        check_unique(names, "proxies")
        return names

    # ------------------------------------------------------------------ the batch
    def _load_batch(self, seed: int, model_only: bool) -> tuple[np.ndarray, np.ndarray]:
        data = self.data
        if data is None:
            if not model_only:
                raise ValueError(
                    "data=None, but the proxies "
                    f"{[p for p in self.proxies_ if not self._model_only(p)]} need a batch: "
                    "pass data=(x, y) arrays or tensors, a torch DataLoader, or the path of an "
                    ".npz file of uint8 images (e.g. cifar10_960_uint8.npz)"
                )
            shape = self.input_shape
            if shape is None:
                shape = getattr(self.space_, "default_input_shape", None)
            if shape is None:
                raise ValueError(
                    f"data=None: pass input_shape=(C, H, W) (the space {self.space_!r} has no "
                    "default_input_shape), or pass data"
                )
            shape = self._check_shape(shape)
            self.data_source_ = {"kind": "zeros", "shape": [2, *shape]}
            return np.zeros((2, *shape), np.float32), np.zeros(2, np.int64)
        if isinstance(data, (str, os.PathLike)):
            x, y = self._from_path(data, seed)
        elif isinstance(data, (tuple, list)):
            if len(data) != 2:
                raise ValueError(f"data must be an (x, y) pair, got a sequence of {len(data)}")
            x, y = self._as_numpy(data[0], "x"), self._as_numpy(data[1], "y")
            x, y = x[: self.batch_size], y[: self.batch_size]
            check_short_batch(len(x), self.batch_size, "data (x, y)")
            self.data_source_ = {"kind": "arrays", "n": int(len(x))}
        elif (type(data).__name__ == "DataLoader" or hasattr(data, "dataset")) and (
            not self._is_dataset(data)
        ):
            x, y = self._from_loader(data, seed)
            check_short_batch(len(x), self.batch_size, "the DataLoader")
            self.data_source_ = {"kind": "dataloader", "n": int(len(x))}
        elif self._is_dataset(data):
            from libranas.datasets.sources import batch_from_dataset

            x, y, self.data_source_ = batch_from_dataset(
                data, self.batch_size, size=self._target_size(), random_state=seed
            )
        else:
            raise TypeError(
                "data must be an (x, y) pair of arrays/tensors, a torch Dataset or DataLoader, "
                "a dataset name ('cifar10', 'cifar100'), an image folder, a path to an .npz "
                f"image file or None, got {type(data).__name__}"
            )
        return self._check_batch(x, y)

    @staticmethod
    def _is_dataset(data: Any) -> bool:
        try:
            from torch.utils.data import Dataset, IterableDataset
        except ImportError:  # pragma: no cover - torch is needed to score anyway
            return False
        return isinstance(data, (Dataset, IterableDataset))

    def _target_size(self) -> tuple[int, int] | None:
        """``(H, W)`` of the networks' input: ``input_shape`` or the space's default."""
        shape = self.input_shape or getattr(self.space_, "default_input_shape", None)
        return None if shape is None or len(shape) < 3 else (int(shape[-2]), int(shape[-1]))

    def _from_path(self, data: str | os.PathLike, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """A dataset name, an image folder or an ``.npz`` file of uint8 images."""
        from libranas.datasets import load_image_batch
        from libranas.datasets.sources import (
            DATASET_NAMES,
            batch_from_folder,
            load_dataset_batch,
        )

        if isinstance(data, str) and data.lower() in DATASET_NAMES and not os.path.exists(data):
            x, y, self.data_source_ = load_dataset_batch(
                data, self.batch_size, size=self._target_size(), random_state=seed
            )
        elif os.path.isdir(data):
            x, y, self.data_source_ = batch_from_folder(
                data, self.batch_size, size=self._target_size(), random_state=seed
            )
        else:
            x, y = load_image_batch(
                data, n=self.batch_size, num_classes=self.num_classes, random_state=seed
            )
            self.data_source_ = {"kind": "npz", "path": str(data), "n": int(len(x))}
        return x, y

    @staticmethod
    def _as_numpy(value: Any, what: str) -> np.ndarray:
        if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
            value = value.detach().cpu().numpy()
        if not isinstance(value, np.ndarray):
            raise TypeError(f"data {what} must be a numpy array or a torch tensor, got {value!r}")
        return value

    def _from_loader(self, loader: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
        import torch

        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        have = 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for k, batch in enumerate(loader):
                if not isinstance(batch, (tuple, list)) or len(batch) < 2:
                    raise ValueError(
                        f"the DataLoader must yield (x, y) batches; batch {k} is "
                        f"{type(batch).__name__}"
                    )
                xs.append(self._as_numpy(batch[0], "x"))
                ys.append(self._as_numpy(batch[1], "y"))
                have += len(xs[-1])
                if have >= self.batch_size:
                    break
        if not xs:
            raise ValueError("the DataLoader yielded no batch")
        return np.concatenate(xs)[: self.batch_size], np.concatenate(ys)[: self.batch_size]

    def _check_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = _uint8_images(x)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(
                f"data x must be uint8 images or floating point (normalised images), got dtype "
                f"{x.dtype}"
            )
        y = check_labels(y)  # issue 25: float labels refused, the same for .npz files
        if y.ndim != 1 or x.ndim < 2 or len(x) != len(y):
            raise ValueError(
                f"data x of shape {x.shape} and y of shape {y.shape} do not form a batch: "
                "y must be 1-D with one label per sample of x"
            )
        if len(x) < 2:
            raise ValueError(f"the batch needs at least 2 samples, got {len(x)}")
        if not np.isfinite(x).all():
            raise ValueError("data x contains NaN or infinite values")
        # issue 25: arrays, .npz files and DataLoaders against the networks' input size
        # (a Dataset, a dataset name or a folder were resized when loaded: a no-op for them)
        from libranas.datasets.images import named_dataset

        x = fit_image_size(
            x,
            self._target_size(),
            self.input_shape is not None,
            "the data batch",
            named_dataset(self.data) if isinstance(self.data, (str, os.PathLike)) else None,
        )
        if self.input_shape is not None and tuple(x.shape[1:]) != self._check_shape(
            self.input_shape
        ):
            raise ValueError(
                f"input_shape={tuple(self.input_shape)} but the data batch has shape {x.shape}"
            )
        return np.ascontiguousarray(x), y

    @staticmethod
    def _check_shape(shape: Any) -> tuple[int, ...]:
        if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence | np.ndarray):
            raise TypeError(f"input_shape must be a tuple of ints, got {shape!r}")
        if not shape or not all(_is_int(s) and s > 0 for s in shape):
            raise ValueError(f"input_shape must be a tuple of positive ints, got {shape!r}")
        return tuple(int(s) for s in shape)

    @staticmethod
    def _model_only(name: str) -> bool:
        from libranas.proxies import get_proxy

        return get_proxy(name).requires <= {"model"}

    def _check_fits_space(self, given: list[Any] | None = None) -> int:
        """Run one random architecture (the first of ``given`` when the space cannot sample,
        e.g. a timm space without a model list) on 2 samples; return the number of output
        classes."""
        import torch

        x, y = self.data_
        try:
            arch = self.space_.sample(1, random_state=self.seed_)[0]
        except NotImplementedError as exc:
            if not given:
                raise ValueError(
                    f"{exc}; or pass the architectures to fit(archs): the first one checks "
                    "that the batch fits the networks"
                ) from exc
            arch = given[0]
        seed = arch_seed(self.space_.validate(arch), self.seed_)
        try:
            model = _build(self.space_, arch, seed, self.num_classes, self.device_, self.dtype_)
            xt, _ = _tensors(x[:2], y[:2], self.device_, self.dtype_)
            with torch.no_grad():
                out = model(xt)
        except Exception as exc:  # noqa: BLE001 - any failure of this forward (timm asserts)
            raise ValueError(
                f"data batch of shape {x.shape} does not fit space {self.space_!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 2:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"data batch of shape {x.shape} does not fit space {self.space_!r}: the "
                f"network returned {shape} for 2 samples instead of (2, num_classes) logits"
            )
        return int(out.shape[1])

    # ------------------------------------------------------------------ fit / transform
    def _canonical(self, archs: Any) -> list[Any]:
        return self.space_.validate_many(archs)

    def fit(self, archs: Any = None, y: Any = None) -> ProxyFeaturizer:
        """Resolve the space, proxies, device and batch; calibrate the L-SWAG band.

        Parameters
        ----------
        archs : list of architectures, optional
            Only validated (each must be valid in the space). The band calibration uses
            random architectures of the space, not these (as in the paper).
        y : ignored
            Present for pipeline compatibility.

        Returns
        -------
        self : ProxyFeaturizer
        """
        from libranas._optional import require
        from libranas.spaces import get_space

        require("torch", "ProxyFeaturizer")  # one line naming the extra, not a traceback
        self._check_params()
        self.dtype_ = self._resolve_dtype()
        self.space_ = get_space(self.space)
        self.proxies_ = self._resolve_proxies()
        self.device_ = self._resolve_device()
        self.seed_ = self._resolve_seed()
        if archs is not None:
            given = self._canonical(archs)
        else:
            given = None
        model_only = all(self._model_only(p) for p in self.proxies_)
        self.data_ = self._load_batch(self.seed_, model_only)
        self.num_classes_ = self._check_fits_space(given)
        if self.num_classes is not None and self.num_classes_ != self.num_classes:
            raise ValueError(
                f"num_classes={self.num_classes} but the network of space {self.space_!r} "
                f"outputs {self.num_classes_} classes"
            )
        labels = self.data_[1]
        if self.data is not None and (labels.min() < 0 or labels.max() >= self.num_classes_):
            raise ValueError(
                f"labels range {labels.min()}..{labels.max()} does not fit num_classes="
                f"{self.num_classes_} (the networks' output width); pass num_classes= or fold "
                "the labels (e.g. load_image_batch(..., fold_labels=True))"
            )
        self.size_prior_ = self._resolve_size_prior()
        self._fit_band()
        return self

    def _fit_band(self) -> None:
        from libranas.proxies.lswag import check_band, choose_band, depth_profile

        self.lswag_band_ = None
        self.lswag_profile_ = None
        self.calibration_archs_ = None
        self.calibration_seconds_ = 0.0
        band = self.lswag_band
        uses_lswag = any(p in LSWAG_PROXIES for p in self.proxies_)
        if isinstance(band, str):
            if band not in ("auto", "stored", "calibrate"):
                raise ValueError(
                    "lswag_band must be 'auto', 'stored', 'calibrate', None or (lo, hi), got "
                    f"{band!r}"
                )
            if not uses_lswag:
                self.lswag_band_ = None
                return
            # a stored band: no calibration on every fit (the paper's is still "calibrate")
            if band == "stored" or (band == "auto" and self.space_.lswag_band() is not None):
                self._stored_band()
                return
        else:
            self.lswag_band_ = check_band(band)
            return
        start = time.perf_counter()
        rng = np.random.default_rng([self.seed_, 1])  # independent of the fit-check draw
        archs = [self.space_.validate(a) for a in self.space_.sample(self.n_calibration, rng)]
        results: list[np.ndarray | str] = []
        with self._progress(len(archs), "L-SWAG band calibration") as bar:
            for a, b, chunk in self._parallel(_layer_values, archs, []):
                results.extend(chunk)
                bar.update(b - a)
        values = [r for r in results if not isinstance(r, str)]
        for arch, r in zip(archs, results, strict=True):
            if isinstance(r, str):
                warnings.warn(
                    f"band calibration: architecture {arch!r} skipped: {r}",
                    ProxyFailedWarning,
                    stacklevel=3,
                )
        if not values:
            raise ValueError(
                f"band calibration failed on all {len(archs)} architectures; pass an explicit "
                "lswag_band=(lo, hi) or None"
            )
        self.lswag_profile_ = depth_profile(values, n_bins=10)
        self.lswag_band_ = choose_band(self.lswag_profile_)
        self.calibration_archs_ = archs
        self.calibration_seconds_ = time.perf_counter() - start
        if self.verbose:
            print(
                f"[ProxyFeaturizer] calibrated L-SWAG band {self.lswag_band_} on {len(values)} "
                f"architectures in {self.calibration_seconds_:.1f} s; profile "
                f"{np.round(self.lswag_profile_, 2).tolist()}"
            )

    def _stored_band(self) -> None:
        """``lswag_band="stored"``: the band the space ships (:meth:`SearchSpace.lswag_band`)."""
        band = self.space_.lswag_band()
        if band is None:
            raise ValueError(
                f"lswag_band='stored': no stored L-SWAG band for space {self.space_.name!r} "
                f"({self.space_!r}); use "
                "lswag_band='auto' to calibrate, None for all layers, or an explicit (lo, hi)"
            )
        self.lswag_band_ = (float(band[0]), float(band[1]))
        profile = self.space_.lswag_profile()
        self.lswag_profile_ = None if profile is None else np.asarray(profile, dtype=np.float64)

    def _resolve_size_prior(self) -> tuple[float, float] | None:
        """reg-SWAP's ``(mu, sigma)`` from the space (:meth:`SearchSpace.size_prior`) unless
        ``options`` set them; None when ``reg_swap`` is not computed."""
        if "reg_swap" not in self.proxies_:
            return None
        options = self.options or {}
        if "reg_swap_mu" in options and "reg_swap_sigma" in options:
            return None
        prior = getattr(self.space_, "size_prior", None)
        mu, sigma = prior() if prior is not None else (1.5, 1.5)
        return float(options.get("reg_swap_mu", mu)), float(options.get("reg_swap_sigma", sigma))

    def _pass_options(self) -> dict[str, Any]:
        options = {**(self.options or {}), "lswag_band": self.lswag_band_}
        prior = getattr(self, "size_prior_", None)
        if prior is not None:
            options["reg_swap_mu"], options["reg_swap_sigma"] = prior
        return options

    def _progress(self, total: int, desc: str) -> Any:
        """A tqdm bar over ``total`` architectures: off at ``verbose=0`` or off a terminal."""
        from tqdm import tqdm

        return tqdm(
            total=total,
            desc=desc,
            unit="arch",
            disable=None if self.verbose else True,  # None: off when stderr is not a TTY
            dynamic_ncols=True,
        )

    def _parallel(
        self, func: Any, archs: list[Any], extra: list[Any], n_inits: int = 1
    ) -> Iterator[tuple[int, int, Any]]:
        """Run ``func`` over chunks of ``archs`` with joblib; yield ``(start, stop, result)``.

        Chunks come back in input order, one chunk per joblib task. On a backend that can
        stream results (joblib ``return_as="generator"``: loky, threading, Dask, ...),
        ``pre_dispatch`` (2 per worker) chunks are in flight and a new one is dispatched
        when one finishes. On a backend that cannot (Ray's joblib backend), chunks run in
        waves of 2 per worker (:meth:`_waves`), one joblib call each on one pool of
        workers. A chunk's arguments are built only when it is dispatched and no network
        outlives its chunk, so memory is the output plus the chunks in flight (and any
        finished ones the caller has not consumed yet), whatever the number of
        architectures. One architecture per chunk when running in this process (the finest
        resume points for a store); with several workers, up to :data:`MAX_CHUNK` per chunk
        (at least 4 chunks per worker).

        Every chunk, in this process or a worker, runs with the same number of torch
        threads, so results do not depend on ``n_jobs`` or the backend.
        """
        import torch
        from joblib import Parallel, delayed, effective_n_jobs

        if not archs:
            return
        n_workers = max(1, effective_n_jobs(self.n_jobs))
        size = 1 if n_workers == 1 else max(1, min(MAX_CHUNK, -(-len(archs) // (4 * n_workers))))
        starts = range(0, len(archs), size)
        threads = torch.get_num_threads() if self.n_threads is None else int(self.n_threads)
        x, y = self.data_
        tail = (x, y, *extra, self._pass_options(), self.device_, self.dtype_, self.num_classes_)
        pid = os.getpid()
        seed = self.seed_

        def job(a: int) -> Any:
            part = archs[a : a + size]
            seeds = [tuple(arch_seed(arch, seed, i) for i in range(n_inits)) for arch in part]
            return delayed(func)(self.space_, part, seeds, *tail, threads, pid)

        # batch_size=1: a chunk is already a batch; joblib's auto-batching would group
        # chunks (coarser store commits) and let more of them run ahead of the consumer
        options = dict(n_jobs=self.n_jobs, verbose=max(0, self.verbose - 1), batch_size=1)
        try:
            parallel = Parallel(return_as="generator", **options)
        except ValueError as exc:  # e.g. "Backend RayBackend does not support return_as=..."
            if "return_as" not in str(exc):
                raise
            parallel = None
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            if parallel is not None:
                results = parallel(job(a) for a in starts)
            else:
                results = self._waves(Parallel(return_as="list", **options), job, starts, n_workers)
            for a, result in zip(starts, results, strict=True):
                yield a, min(a + size, len(archs)), result
        finally:
            torch.set_num_threads(before)

    @staticmethod
    def _waves(parallel: Any, job: Any, starts: Sequence[int], n_workers: int) -> Iterator[Any]:
        """Results of ``job(a)`` for every chunk start, on a backend that cannot stream:
        waves of 2 chunks per worker, each one joblib call on the same pool of workers
        (``with parallel``), yielded in order as each wave finishes."""
        wave = 2 * n_workers
        with parallel:
            for w in range(0, len(starts), wave):
                yield from parallel(job(a) for a in starts[w : w + wave])

    def transform(self, archs: Any) -> np.ndarray:
        """Score every architecture with every proxy.

        Parameters
        ----------
        archs : list of architectures
            Any form the space accepts (e.g. NB201 strings, NASLib tuples or indices).

        Returns
        -------
        ndarray of float64, shape (n_archs, n_proxies)
            Columns in ``proxies_`` order; NaN where a proxy failed (with a
            :class:`ProxyFailedWarning`). Where a proxy applied a documented fallback
            (L-SWAG's band without a varying gradient), the score is finite and
            ``notes_[position]`` lists it (with a :class:`ProxyNoteWarning`); scores read
            from a store carry no note.

        Raises
        ------
        ValueError, TypeError
            An invalid architecture (the message gives its index), before anything runs.
        """
        from libranas.store import arch_key, resolve_store

        check_is_fitted(self, "proxies_")
        canonical = self._canonical(archs)
        self.notes_: dict[int, list[str]] = {}  # position -> fallbacks applied (this call)
        proxies = list(self.proxies_)
        out = np.full((len(canonical), len(proxies)), np.nan, dtype=np.float64)
        if not canonical:
            return out
        keys = [arch_key(a) for a in canonical]
        first: dict[str, int] = {}  # each distinct architecture is scored once
        for i, key in enumerate(keys):
            first.setdefault(key, i)

        store = resolve_store(self.store)
        owned = store is not None and store is not self.store  # opened here from a path
        try:
            context, descriptions = self._score_context() if store is not None else (None, None)
            todo = self._read_stored(out, store, context, first, canonical, proxies)
            self._compute_missing(
                out, todo, len(first), canonical, keys, proxies, store, context, descriptions
            )
        finally:
            if owned:
                store.close()
        self._copy_duplicates(out, keys, first)
        return out

    # the helpers of transform call the warning helpers one frame deeper than transform:
    # their stacklevels count it, so that warnings point at transform's caller

    def _read_stored(
        self,
        out: np.ndarray,
        store: Any,
        context: Any,
        first: dict[str, int],
        canonical: list[Any],
        proxies: list[str],
    ) -> dict[tuple[int, ...], list[int]]:
        """Fill ``out`` with the stored scores; the architectures left to compute, grouped
        by their missing columns."""
        stored = store.get(context, list(first), proxies) if store is not None else {}
        todo: dict[tuple[int, ...], list[int]] = {}  # missing columns -> architectures
        for key, i in first.items():
            missing = []
            for col, proxy in enumerate(proxies):
                hit = stored.get((key, proxy))
                if hit is None:
                    missing.append(col)
                    continue
                out[i, col] = hit[0]
                if hit[1] is not None:
                    self._warn_failed(i, canonical[i], proxy, f"{hit[1]} (read from the store)")
            if missing:
                todo.setdefault(tuple(missing), []).append(i)
        return todo

    def _compute_missing(
        self,
        out: np.ndarray,
        todo: dict[tuple[int, ...], list[int]],
        n_distinct: int,
        canonical: list[Any],
        keys: list[str],
        proxies: list[str],
        store: Any,
        context: Any,
        descriptions: Any,
    ) -> None:
        """Score the missing columns (in parallel chunks) into ``out``, writing each chunk
        to the store."""
        n_todo = sum(len(rows) for rows in todo.values())
        store_ok = True  # False after a failed write: keep computing, stop writing
        with self._progress(n_distinct, "ProxyFeaturizer") as bar:
            bar.update(n_distinct - n_todo)
            for cols, rows in todo.items():
                names = [proxies[c] for c in cols]
                part = [canonical[i] for i in rows]
                chunks = self._parallel(_score_archs, part, [names], self.n_inits)
                for a, b, result in chunks:
                    scores, failures = result
                    idx = rows[a:b]
                    out[np.ix_(idx, cols)] = scores
                    self._keep_notes(idx, canonical, getattr(result, "notes", ()))
                    errors = {}
                    for row, proxy, reason in failures:
                        errors[(row, proxy)] = reason
                        self._warn_failed(idx[row], canonical[idx[row]], proxy, reason)
                    if store is not None and store_ok:
                        store_ok = self._store_put(
                            store,
                            context,
                            [
                                (keys[i], name, float(scores[r, j]), errors.get((r, name)))
                                for r, i in enumerate(idx)
                                for j, name in enumerate(names)
                            ],
                            descriptions,
                        )
                        descriptions = None  # recorded with the first chunk
                    bar.update(b - a)

    def _copy_duplicates(self, out: np.ndarray, keys: list[str], first: dict[str, int]) -> None:
        """Repeated architectures take the row (and notes) of their first occurrence."""
        for i, key in enumerate(keys):
            if first[key] != i:
                out[i] = out[first[key]]
                if first[key] in self.notes_:
                    self.notes_[i] = self.notes_[first[key]]

    def _keep_notes(self, idx: list[int], canonical: list[Any], notes: Any) -> None:
        """The fallbacks applied on computed architectures: ``notes_`` and a warning each."""
        for row, _family, message in notes:
            self.notes_.setdefault(idx[row], []).append(message)
            warnings.warn(
                f"architecture {idx[row]} ({canonical[idx[row]]!r}): {message}",
                ProxyNoteWarning,
                stacklevel=6,
            )

    @staticmethod
    def _store_put(store: Any, context: Any, records: list[Any], descriptions: Any) -> bool:
        """Write one chunk's scores; on a store error warn once and return False.

        A store that cannot be written (read-only file, full disk, locked past the timeout)
        must not cost the scores being computed: they are still returned by
        :meth:`transform`, with a :class:`~libranas.store.ScoreStoreWarning`.
        """
        import sqlite3

        from libranas.store import ScoreStoreWarning

        try:
            store.put(context, records, descriptions)
        except (sqlite3.Error, OSError, ValueError) as exc:
            warnings.warn(
                f"score store {store.path!r} could not be written ({type(exc).__name__}: "
                f"{exc}); the scores of this call are computed and returned but not stored",
                ScoreStoreWarning,
                stacklevel=6,
            )
            return False
        return True

    @staticmethod
    def _warn_failed(i: int, arch: Any, proxy: str, reason: str) -> None:
        warnings.warn(
            ProxyFailedWarning(
                f"proxy {proxy!r} failed on architecture {i} ({arch!r}): {reason}; its score "
                "is NaN",
                proxy,
                arch,
                reason,
            ),
            stacklevel=5,  # transform's helper < transform < sklearn's set_output wrapper
        )

    def _score_context(self) -> tuple[Any, dict[str, tuple[str, Any]]]:
        """Store key of this fitted featurizer's scores, and what its fingerprints stand for."""
        import torch

        from libranas import __version__
        from libranas.store import ScoreContext, data_fingerprint, options_fingerprint

        x, y = self.data_
        values = {  # everything but the batch and the seed that changes a score
            "lswag_band": None if self.lswag_band_ is None else list(self.lswag_band_),
            "options": self.options or {},
            "dtype": self.dtype_,
            "num_classes": int(self.num_classes_),
            "device": torch.device(self.device_).type,
        }
        prior = getattr(self, "size_prior_", None)
        if prior is not None and tuple(prior) != (1.5, 1.5):  # absent for NB201's prior
            values["reg_swap_prior"] = [float(prior[0]), float(prior[1])]
        if self.n_inits != 1:  # absent for one init: stores written before n_inits still match
            values["n_inits"] = int(self.n_inits)
        context = ScoreContext(
            space=repr(self.space_),
            data_fp=data_fingerprint(x, y),
            seed=int(self.seed_),
            version=__version__,
            options_fp=options_fingerprint(values),
        )
        data = {"x_shape": list(x.shape), "x_dtype": str(x.dtype), "y_shape": list(y.shape)}
        return context, {context.options_fp: ("options", values), context.data_fp: ("data", data)}
