"""ProxyFeaturizer: architectures in, a matrix of zero-cost proxy scores out.

Each architecture is built at random initialisation (a seed derived from the architecture
itself), run through one shared :class:`~libranas.proxies._engine.NetworkPass` over one
fixed batch, and scored by every requested proxy. The L-SWAG layer band is calibrated once
per search space in :meth:`ProxyFeaturizer.fit`.

This module holds the estimator; the batch it loads and checks is in ``_featurizer_batch``,
streaming scores through a store in ``_featurizer_store``, and the work done per architecture
(in this process or a joblib worker) in ``_featurizer_workers``.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from libranas._batch_checks import (
    check_batch_size,
    check_option_values,
)
from libranas._featurizer_batch import load_batch, model_only
from libranas._featurizer_store import read_stored, score_context, store_put
from libranas._featurizer_workers import (  # noqa: F401 - looked up here (tests patch them)
    _build,
    _layer_values,
    _score_archs,
    _Scored,
    _tensors,
    arch_seed,
)
from libranas._validation import as_seed, check_unique
from libranas._validation import is_int as _is_int
from libranas._warnings import user_stacklevel

__all__ = ["ProxyFailedWarning", "ProxyFeaturizer", "arch_seed"]

#: the L-SWAG family, listed first (in this order) by default
LSWAG_PROXIES = ("lswag", "lswag_lambda", "lswag_psi")
_DTYPES = ("float32", "float64")
#: most architectures per joblib task when several workers share the work
MAX_CHUNK = 8


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

    @staticmethod
    def _model_only(name: str) -> bool:
        return model_only(name)

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
        needs_batch = [p for p in self.proxies_ if not self._model_only(p)]
        x, y, self.data_source_ = load_batch(
            self.data,
            self.batch_size,
            self.num_classes,
            self.input_shape,
            self.space_,
            self.seed_,
            needs_batch,
        )
        self.data_ = (x, y)
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
                    stacklevel=user_stacklevel(),
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
        (at least 4 chunks per worker, sizes rounded down so that short lists spread evenly).

        Every chunk, in this process or a worker, runs with the same number of torch
        threads, so results do not depend on ``n_jobs`` or the backend.
        """
        import torch
        from joblib import Parallel, delayed, effective_n_jobs

        if not archs:
            return
        n_workers = max(1, effective_n_jobs(self.n_jobs))
        # rounded down: a search's batch of 10 on 2 workers is 10 chunks of 1 (5 + 5 per
        # worker), not 5 of 2 (3 + 2, the call waiting on the third)
        size = 1 if n_workers == 1 else max(1, min(MAX_CHUNK, len(archs) // (4 * n_workers)))
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
        todo, failed = read_stored(out, store, context, first, proxies)
        for i, proxy, reason in failed:
            self._warn_failed(i, canonical[i], proxy, f"{reason} (read from the store)")
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
                        store_ok = store_put(
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
                stacklevel=user_stacklevel(),
            )

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
            stacklevel=user_stacklevel(),
        )

    def _score_context(self) -> tuple[Any, dict[str, tuple[str, Any]]]:
        """Store key of this fitted featurizer's scores, and what its fingerprints stand for."""
        return score_context(
            self.space_,
            self.data_,
            self.seed_,
            self.lswag_band_,
            self.options,
            self.dtype_,
            self.num_classes_,
            self.device_,
            getattr(self, "size_prior_", None),
            self.n_inits,
        )
