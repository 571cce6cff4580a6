"""The search protocol behind ``libranas search`` and ``benchmarks/search_nb201.py``.

:func:`search` runs on any search space:

- **label-free** (``labelled=0``, any space): the scorer is a training-free rank fusion of
  the proxies, ``ZCRanker(ranker)`` with ``ranker="log-rank"`` by default (the mean over the
  proxies of log(rank / n), every proxy read as bigger = better), fitted without labels
  (``ZCRanker.fit(X)``): the fit only sets the reference the ranks are taken in. The first
  reference is ``n_ref = max(2, min(population, budget // 4))`` random architectures (``budget
  // 2`` without ``refine``), which open the search as its initial architectures; a score is
  then fixed for the whole phase (ranks interpolated within the reference). A rank cannot
  exceed the reference's best, so architectures better than every reference architecture on
  every proxy tie; ``refine=True`` (the default) therefore re-fits the reference on every
  architecture evaluated in the first half of the budget before spending the second half
  (starting from the best), and the architecture returned is the best by the log-rank among
  *all* evaluated architectures (the reference re-fitted on all of them, as AZ-NAS ranks its
  candidates).
- **labelled** (``labelled > 0``): needs the space's search table
  (:func:`libranas.datasets.nb201_search.search_table`; NB201 has one) for the validation
  accuracies of the labelled architectures; the LIBRA pipeline (LibraSelector + ZCRanker) is
  calibrated on them; with ``refine=True`` the search runs in two phases and the pipeline
  is re-fitted twice on the best-scored architectures' labels (see below).

Proxies come from the search table (``mode="tabular"``: milliseconds per architecture) or
are computed on the built networks (``mode="live"``: a
:class:`~libranas.featurizer.ProxyFeaturizer`, ``live_options`` its arguments).

Budget accounting: ``budget`` is the number of distinct architectures *evaluated*, i.e. whose
proxies were looked up (tabular) or computed (live). The ``labelled`` architectures (or the
label-free reference) are part of it. Test accuracies are never read by the search; they are
only reported, where the space has a search table.

Calibration in rounds (``labelled > 0`` and ``refine=True``, the default): half of the labels
(rounded up) go to random architectures before the search, and the pipeline is fitted on
them; the search spends half of the budget; half of the remaining labels go to the
best-scored architectures found so far (that have a validation label) and the pipeline is
re-fitted; the search spends the rest of the budget with it (starting from the best
architectures found so far); the last labels go to the best-scored architectures of the
whole search and the pipeline is re-fitted once more. The architecture returned is the one
the final pipeline scores highest among *all* evaluated ones. With ``refine=False`` all
labels are random and there is one round.

Memory is bounded by the budget: the scorer keeps one proxy row per evaluated architecture,
and live networks are built, scored and dropped one at a time. Every phase is recorded in
``storage`` (studies ``phase1`` and ``phase2``), so a killed search resumes exactly. The
storage holds scores, not proxies: on a resume, the live proxies the scorer is re-fitted on
(the labelled / reference architectures, and the first phase's for the second reference) are
recomputed unless ``live_options["store"]`` names a score store (``libranas search`` puts one
next to ``--storage``).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from libranas._warnings import user_stacklevel
from libranas.search.constraints import resolve_constraints
from libranas.search.evolution import EvolutionarySearch, RandomSearch
from libranas.search.optuna_search import OptunaSearch
from libranas.search.scorers import LiveScorer, TabularScorer, make_libra_pipeline
from libranas.search.storage import get_storage

__all__ = ["METHODS", "search", "search_nb201"]

METHODS = ("evolution", "random", "tpe")


def _table(space: Any, task: str | None, required: bool, **options: Any) -> Any:
    """The space's search table, or None when it has none and none is ``required``."""
    from libranas.datasets import search_table

    try:
        return search_table(space, task, **options)
    except ValueError as exc:
        if required or not str(exc).startswith("no search table"):
            raise
        return None


def _live_proxies(
    mode: str, proxies: str | Sequence[str], live_options: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Live mode: a list ``proxies`` is the featurizer's proxy set (so it is never ignored)."""
    if mode != "live":
        return live_options
    if isinstance(proxies, str):
        if proxies != "all":
            raise ValueError(
                f"proxies={proxies!r} names a set of search-table columns (tabular mode); in "
                "live mode pass a list of registered proxies"
            )
        return live_options
    names = [str(p) for p in proxies]
    opts = dict(live_options or {})
    if "proxies" in opts and list(opts["proxies"]) != names:
        raise ValueError(
            f"proxies={names} and live_options['proxies']={list(opts['proxies'])} disagree; "
            "give the set once"
        )
    opts["proxies"] = names
    return opts


def _check_task_data(task: str, data: Any) -> None:
    """A batch of one dataset's images for another dataset's task is refused: its labels may
    fit the networks' classes (10 CIFAR-10 classes in a 100-class CIFAR-100 network) and every
    proxy would be computed, on the wrong images."""
    from libranas.datasets.images import named_dataset

    want, got = named_dataset(task), named_dataset(data)
    if want is not None and got is not None and want != got:
        raise ValueError(
            f"task {task!r} but the live batch {str(data)!r} holds {got} images; score "
            f"{task} networks on {want} images (or name another task)"
        )


def _live_scorer(
    space: Any,
    task: str | None,
    ranker: str,
    labelled: int,
    seed: int,
    live_options: dict[str, Any] | None,
) -> LiveScorer:
    """Live mode's scorer: ProxyFeaturizer, LibraSelector (with labels) and ZCRanker."""
    from sklearn.pipeline import Pipeline

    from libranas.featurizer import ProxyFeaturizer
    from libranas.ranker import TRAINING_FREE_METHODS, ZCRanker
    from libranas.selector import LibraSelector

    opts = dict(live_options or {})
    if "data" not in opts:
        raise ValueError(
            "live mode needs live_options['data']: an (x, y) batch or the path of an .npz image "
            "batch (e.g. cifar10_960_uint8.npz)"
        )
    opts.setdefault("random_state", seed)
    if not labelled and "proxies" not in opts:
        # the space's own stored default (DARTS) with the featurizer settings it was chosen at
        from libranas.proxies import training_free_options, training_free_search_default

        opts["proxies"] = list(training_free_search_default(space))
        for key, value in training_free_options(space).items():
            opts.setdefault(key, value)
    if task is not None:
        _check_task_data(task, opts["data"])
        if "num_classes" not in opts:
            opts["num_classes"] = space.task_setting(task)["num_classes"]
    steps: list[tuple[str, Any]] = [("features", ProxyFeaturizer(space, **opts))]
    if labelled:
        steps.append(("select", LibraSelector()))
    params: dict[str, Any] = {"random_state": seed}
    if ranker in TRAINING_FREE_METHODS:
        params["signs"] = "auto" if labelled else None
    else:
        params.update(rank_transform=True, n_jobs=1)
    steps.append(("rank", ZCRanker(ranker, **params)))
    return LiveScorer(Pipeline(steps).set_output(transform="pandas"))


def _tabular_scorer(table: Any, ranker: str, labelled: int, seed: int) -> TabularScorer:
    """Tabular mode's scorer: a rank fusion of the table's proxies, or the LIBRA pipeline."""
    encoding = [c for c in table.X.columns if c.startswith("enc:")]
    if not labelled:  # a rank fusion of the proxy columns only
        from libranas.datasets import Benchmark
        from libranas.ranker import ZCRanker

        proxies = [c for c in table.X.columns if c not in encoding]
        table = Benchmark(
            table.name,
            table.space,
            table.task,
            table.X[proxies],
            table.y,
            table.target,
            meta=table.meta,
            source=table.source,
        )
        return TabularScorer(table, ZCRanker(ranker, random_state=seed))
    pipe = make_libra_pipeline(ranker, passthrough=encoding or None, random_state=seed, n_jobs=1)
    return TabularScorer(table, pipe)


class _Tracker:
    """Evaluation order and the anytime trajectory (best so far by the scorer of the time)."""

    def __init__(self) -> None:
        self.order: list[Any] = []
        self.seen: set = set()
        self.best: tuple[Any, float] | None = None
        self.trajectory: list[tuple[int, Any, float]] = []

    def add(self, archs: list[Any], scores: np.ndarray) -> None:
        """Record ``archs`` in evaluation order; update the best so far and the trajectory."""
        for a, s in zip(archs, scores, strict=True):
            if a not in self.seen:
                self.seen.add(a)
                self.order.append(a)
            if not np.isnan(s) and (self.best is None or s > self.best[1]):
                self.best = (a, float(s))
            if self.best is not None:
                self.trajectory.append((len(self.order), self.best[0], self.best[1]))

    def reset_best(self, archs: list[Any], scores: np.ndarray) -> None:
        """Forget the best (the scorer changed) and take it again from ``archs``' scores."""
        self.best = None
        self.add(archs, scores)


def _run_phase(
    method: str,
    space: Any,
    scorer: Any,
    n_new: int,
    start: list[Any],
    exclude: list[Any],
    settings: dict[str, Any],
    study: str,
    seed: int,
) -> tuple[list[Any], np.ndarray]:
    """Evaluate ``start`` plus ``n_new`` new architectures; returns them with their scores."""
    common = dict(
        constraints=settings["constraints"],
        storage=settings["storage"],
        study_name=study,
        random_state=seed,
    )
    batch = settings["batch_size"]
    if method == "evolution":
        population = settings["population"]
        pop = max(len(start), min(population, len(start) + n_new), 1)
        search: Any = EvolutionarySearch(
            space,
            scorer,
            population=pop,
            sample_size=min(settings["sample_size"], pop),
            cycles=len(start) + n_new - pop,
            batch_size=batch,
            initial_population=list(start),
            exclude=exclude,
            **common,
        )
    elif method == "random":
        search = RandomSearch(
            space,
            scorer,
            n_trials=len(start) + n_new,
            batch_size=batch,
            initial=list(start),
            exclude=exclude,
            **common,
        )
    elif method == "tpe":
        initial = list(dict.fromkeys(list(start) + list(exclude)))
        search = OptunaSearch(
            space,
            scorer,
            n_trials=len(initial) + n_new,
            batch_size=batch,
            sampler="tpe",
            initial_archs=initial,
            **common,
        )
    else:
        raise ValueError(f"unknown method {method!r}; known: {METHODS}")
    h = search.run().history
    h = h[~h["cached"]]
    return list(h["arch"]), h["score"].to_numpy(dtype=float)


def _check_first_round(scorer: Any, labelled: int, refine: bool) -> None:
    """Refuse a label count whose first calibration round LibraSelector cannot fit."""
    selector = scorer.pipeline.named_steps.get("select")
    if selector is None:
        return
    need = selector._min_rows()
    first = math.ceil(labelled / 2) if refine else labelled
    if first < need:
        where = f"the first calibration (refine: half the labels) uses {first}" if refine else ""
        raise ValueError(
            f"labelled={labelled}: LibraSelector needs at least {need} labelled architectures"
            + (f" and {where}" if where else "")
            + f"; use labelled >= {2 * need - 1 if refine else need}"
            + (" or refine=False (--no-refine)" if refine else "")
        )


#: version of the "protocol" record a search storage holds
PROTOCOL_FORMAT = 1


def _scorer_proxies(scorer: Any) -> list[str]:
    """The proxies a scorer reads, resolved (a live featurizer is fitted here, so a bad proxy
    name or unreadable data fails before the storage records anything)."""
    if isinstance(scorer, LiveScorer):
        scorer._ensure_featurizer()
        return [str(p) for p in scorer.featurizer.proxies_]
    return [str(c) for c in scorer.columns_ if not str(c).startswith("enc:")]


def _describe_live(scorer: Any) -> dict[str, Any]:
    """What makes a live score: the featurizer's score-store key without the library version
    (space, fingerprints of the image batch and of the scoring options, init seed), so the
    record does not depend on where the data lies."""
    scorer._ensure_featurizer()
    context, _ = scorer.featurizer._score_context()
    return {
        "space": context.space,
        "data_fp": context.data_fp,
        "seed": int(context.seed),
        "options_fp": context.options_fp,
    }


def _check_protocol_record(store: Any, settings: dict[str, Any]) -> None:
    """A storage holds one search: record its settings, refuse a resume with other ones.

    The search loop checks each phase's own settings, but not the task, the proxies, the
    ranker or the budget that decide the phases; without this record a resume under other
    settings would silently reuse (or extend, then reject half-way) the stored phases. Only
    the keys both records have are compared, so a later format that records more still
    resumes older searches.
    """
    if store is None:
        return
    settings = json.loads(json.dumps({"format": PROTOCOL_FORMAT, **settings}))
    records = store.read("protocol")
    if not records:
        if any(store.read(study) for study in ("phase1", "phase2")):
            warnings.warn(
                f"{_where(store)} was written before searches recorded their settings; they "
                "cannot be checked, so make sure this resume uses the same ones",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            return
        store.append("protocol", {"kind": "protocol", "settings": settings})
        return
    stored = records[0].get("settings", {})
    diff = sorted(k for k in set(stored) & set(settings) if stored[k] != settings[k])
    if diff:
        changes = "; ".join(f"{k}: stored {stored[k]!r}, now {settings[k]!r}" for k in diff)
        raise ValueError(
            f"{_where(store)} holds a search run with other settings ({changes}); resume it "
            "with the same settings or use another storage"
        )


def _where(store: Any) -> str:
    """The storage as messages name it: its path, else its repr."""
    path = getattr(store, "path", None)
    return f"storage {str(path)!r}" if path is not None else f"storage {store!r}"


def _check(
    budget: Any,
    labelled: Any,
    method: str,
    mode: str,
    random_state: Any,
    ranker: Any = None,
    population: Any = 1,
) -> None:
    """Refuse a bad budget, label count, method, mode, seed, ranker or population."""
    from libranas._validation import check_int
    from libranas.ranker import METHODS as RANKERS

    if ranker is not None and ranker not in RANKERS:
        raise ValueError(f"unknown ranker {ranker!r}; known: {RANKERS}")
    for name, v, low in (
        ("budget", budget, 2),
        ("labelled", labelled, 0),
        ("population", population, 1),
    ):
        try:
            check_int(v, name, low=low)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
    if labelled == 1:
        raise ValueError("labelled must be 0 (label-free) or >= 2, got 1")
    if labelled > budget:
        raise ValueError(f"labelled={labelled} exceeds budget={budget} (labels count as evaluated)")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {METHODS}")
    if mode not in ("tabular", "live"):
        raise ValueError(f"mode must be 'tabular' or 'live', got {mode!r}")
    try:
        check_int(random_state, "random_state", low=0)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def search(
    space: Any = "nb201",
    task: str | None = None,
    budget: int = 1000,
    labelled: int = 100,
    method: str = "evolution",
    mode: str = "tabular",
    refine: bool = True,
    ranker: str | None = None,
    proxies: str | Sequence[str] | None = "all",
    population: int = 50,
    sample_size: int = 10,
    batch_size: int = 10,
    constraints: Any = None,
    storage: Any = None,
    live_options: dict[str, Any] | None = None,
    random_state: int = 0,
    rescore_top: int = 0,
    rescore_draws: int = 2,
    rescore_batches: Callable[[int], Any] | None = None,
    second_stage: str | None = "auto",
    second_stage_top: int = 20,
) -> dict[str, Any]:
    """Zero-shot search of ``space``, label-free or with a LIBRA pipeline calibrated on
    ``labelled`` architectures (see the module notes).

    Parameters
    ----------
    space : str or SearchSpace, default="nb201"
    task : str, optional
        The task: the search table's labels and the networks' classes (NB201:
        ``"cifar10"`` (default), ``"cifar100"``, ``"imagenet16-120"``).
    budget : int, default=1000
        Distinct architectures evaluated, the labelled ones included.
    labelled : int, default=100
        Architectures whose validation accuracy the pipeline is fitted on (0: label-free;
        else >= 2 and <= budget; needs a search table).
    method : {"evolution", "random", "tpe"}
        Aging evolution, random search, or Optuna TPE (all the one loop,
        :class:`~libranas.search.SearchLoop`).
    mode : {"tabular", "live"}
        Proxies from the space's search table, or computed by a ProxyFeaturizer
        (``live_options``: its arguments, ``data`` required).
    refine : bool, default=True
        Calibrate on half of the labels, then re-fit on the best-scored architectures'
        labels after each of the two search phases (module notes; labelled searches only).
    ranker : str, optional
        ZCRanker method: default ``"xgboost"`` with labels, ``"log-rank"`` without (which
        must then be a training-free one, ``"log-rank"`` or ``"rank-mean"``).
    proxies : {"all", "freerea"}, list of str or None, default="all"
        None is "all". Tabular mode: the search table's proxy columns (see
        :func:`~libranas.datasets.nb201_search.nb201_search_table`; a list keeps exactly
        those). Live mode: a list is the proxies computed (``"all"``: ``live_options``'
        ``proxies``, else :func:`libranas.proxies.training_free_search_default` of the space
        without labels, every registered proxy with them).
    population, sample_size, batch_size : int
        Evolution / batch settings.
    constraints : Constraints, dict or None
        Never evaluated nor returned when violated; labelled architectures satisfy them too.
        A dict gets ``task`` added.
    storage : path, BaseStorage or None
        The loops' storage (studies ``phase1`` and ``phase2``); the search resumes from it.
        Study ``protocol`` records the settings (task, mode, budget, labels, method, ranker,
        proxies, live scoring settings): resuming with other settings raises a
        ``ValueError`` naming them, before anything is computed or appended.
    live_options : dict, optional
        ProxyFeaturizer arguments for ``mode="live"`` (``data`` required; ``proxies``,
        ``batch_size``, ``device``, ``store``, ...). Label-free, ``proxies`` defaults to
        :func:`libranas.proxies.training_free_search_default` of the space (the space's stored
        default, DARTS's, else :data:`libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT`).
        Its ``random_state`` (the networks' initialisation and the image-batch draw) is
        ``random_state`` unless given here, so every search seed is an independent draw of
        initialisations and batch (and a score store keys on both); fix it here to share
        scores across search seeds.
    random_state : int, default=0
        Seed of the search (its random choices) and, unless ``live_options`` fixes it, of
        the live networks' initialisation and image batch.
    rescore_top : int, default=0
        The top-end step (label-free live searches): after the budget, the ``rescore_top``
        best evaluated architectures (by the final log-rank) are scored again under
        ``rescore_draws`` more independent draws (each its own initialisation seed and
        batch), and the one with the best mean log-rank over every draw's proxies, ranked
        within those architectures, is returned as ``result["rescore"]["best_arch"]``
        (the default's pick stays ``best_arch``). 0: no step. It re-scores evaluated
        architectures only (``rescore_top * rescore_draws`` more networks) and is not part
        of the storage's protocol record: a finished search resumed with another
        ``rescore_top`` / ``rescore_draws`` computes the step alone.
    rescore_draws : int, default=2
        Independent draws of the top-end step (>= 1).
    rescore_batches : callable, optional
        ``seed -> data``: the batch of the draw with that seed (e.g. a drawn ``.npz`` batch
        with folded labels). Default: the featurizer's own ``data`` under the draw's
        ``random_state`` (an ``.npz`` path or dataset name is redrawn; an ``(x, y)`` batch
        stays the same, only the initialisations change).
    second_stage : "auto", str or None, default="auto"
        The second stage (label-free live searches): a registered proxy computed on the
        ``second_stage_top`` best evaluated architectures only (by the final log-rank; one
        more network each, the search's own initialisation and batch); the one it scores
        highest (NaN last) is the architecture the search returns (``best_arch``, with its
        scores and accuracies; the fusion's own best is kept as
        ``result["second_stage"]["fusion_best_arch"]``, and ``result["returned_by"]`` says
        which one was returned). ``"auto"``: the space's
        :meth:`~libranas.spaces.base.SearchSpace.second_stage_proxy` where the search computes
        the space's training-free search default (NB201: ``"synflow"``), else none. None: no
        second stage. A proxy that fails on every candidate picks nothing (the fusion's best
        is returned). ``"synflow"`` was chosen for NB201 by
        ``benchmarks/zero_label_search.py`` (development seeds, a rule declared before the
        held-out runs; made the default by a rule declared before four new searches): held
        out, it raised the returned cell's mean test accuracy on CIFAR-10, CIFAR-100 and
        ImageNet16-120, though each task's paired interval includes 0
        (``zero_label_search_independent.md``). Not for DARTS: on the NAS-Bench-301 table
        SynFlow ranks the top cells against accuracy (``zero_label_search_top_proxies.md``).
        Like the top-end step, it is not part of the storage's protocol record. Either
        step that raises leaves the search's own result intact: its entry then holds
        ``error`` and no pick, and a ``RuntimeWarning`` names it.
    second_stage_top : int, default=20
        How many of the best evaluated architectures the second stage scores (>= 2; every
        evaluated one where fewer were evaluated: ``result["second_stage"]["top_k"]``).

    Returns
    -------
    dict
        ``space``, ``best_arch``, ``predicted_score``, ``proxy_scores`` (the best's proxy
        values), ``test_acc`` / ``valid_acc`` / ``optimum_test_acc`` (None without a search
        table; reported only), ``n_evaluated``, ``n_labelled``, ``labelled`` (architectures),
        ``selected_proxies``, ``trajectory`` (list of ``[n_evaluated, best_arch, score,
        test_acc]``), ``seconds``, ``score_seconds`` (wall time inside the scorer) and the
        settings; with ``rescore_top``, ``rescore`` (the top-end step: ``best_arch``,
        ``test_acc``, ``candidates`` in the default's order, each draw's ``seeds`` and proxy
        ``rows``, ``scores``, ``seconds``); ``returned_by`` (``"fusion"`` or
        ``"second_stage"``) and, where a second stage ran, ``second_stage`` (``proxy``,
        ``best_arch``, ``default_rank`` (its rank in the fusion's order),
        ``fusion_best_arch``, ``test_acc``, ``candidates`` in the fusion's order and their
        ``scores``, ``seconds``).

    Examples
    --------
    >>> r = search("nb201", "cifar10", budget=60, labelled=20, population=10, random_state=0)
    >>> r["n_evaluated"], r["n_labelled"], r["test_acc"] > 85
    (60, 20, True)
    >>> r = search("nb201", budget=30, labelled=0, population=10, random_state=0)
    >>> r["n_labelled"], r["selected_proxies"][:2]
    (0, ['freerea_synflow', 'freerea_logsynflow'])
    """
    t0 = time.perf_counter()
    _check_rescore(rescore_top, rescore_draws, rescore_batches, labelled, mode)
    _check_second_stage(second_stage, second_stage_top, labelled, mode)
    state = _prepare(
        space, task, budget, labelled, method, mode, refine, ranker, proxies, population,
        constraints, live_options, random_state,
    )  # fmt: skip
    _open_storage(state, storage, batch_size, population, sample_size)
    labels, tracker = _run_phases(state)
    result = _result(state, labels, tracker, t0)
    if rescore_top:
        result["rescore"] = _after_search(
            "the top-end step",
            lambda: _rescore_top(state, tracker, rescore_top, rescore_draws, rescore_batches),
            {"top_k": rescore_top, "draws": rescore_draws},
        )
        result["seconds"] = time.perf_counter() - t0
    result["returned_by"] = "fusion"
    stage = _resolve_second_stage(second_stage, state)
    if stage is not None:
        second = _after_search(
            "the second stage",
            lambda: _second_stage(state, tracker, stage, second_stage_top),
            {"proxy": stage, "top_k": second_stage_top},
        )
        second["fusion_best_arch"] = result["best_arch"]
        result["second_stage"] = second
        if second["best_arch"] is not None:
            result.update(_returned_fields(state, labels, second))
            result["returned_by"] = "second_stage"
        result["seconds"] = time.perf_counter() - t0
    return result


def _resolve_second_stage(second_stage: str | None, state: _SearchState) -> str | None:
    """``"auto"``: the space's stored second-stage proxy where a label-free live search
    computes the space's training-free search default (what the proxy was chosen on)."""
    if second_stage != "auto":
        return second_stage
    if state.labelled or state.mode != "live":
        return None
    from libranas.proxies import training_free_search_default

    computed = list(getattr(state.scorer.featurizer, "proxies", None) or ())
    if computed != list(training_free_search_default(state.space)):
        return None
    return state.space.second_stage_proxy()


def _returned_fields(state: _SearchState, lab: list[Any], second: dict[str, Any]) -> dict:
    """``best_arch`` and what goes with it (scores, accuracies) for the second stage's pick."""
    score = second["fusion_scores"][second["default_rank"] - 1]
    return _pick_fields(state, lab, second["best_arch"], score)


def _pick_fields(state: _SearchState, lab: list[Any], best: Any, score: float) -> dict:
    """The returned architecture's fields: itself, its fused score, proxy scores, accuracies."""
    table = state.table
    features = state.scorer.features([best])
    return {
        "best_arch": best,
        "predicted_score": float(score),
        "proxy_scores": {
            str(c): float(v) for c, v in features.iloc[0].items() if not str(c).startswith("enc:")
        },
        "test_acc": None if table is None else float(table.meta["test_acc"][best]),
        "valid_acc": None if table is None else float(table.y[best]),
        "best_is_labelled": best in set(lab),
    }


def _after_search(what: str, step: Callable[[], dict[str, Any]], settings: dict) -> dict:
    """Run a step that follows the search. If it raises, the search's own result is kept:
    the step's entry says what failed (``error``, no pick) and a warning names it."""
    t0 = time.perf_counter()
    try:
        return step()
    except Exception as exc:  # an extra step must never lose the search it follows
        error = f"{type(exc).__name__}: {exc}"
        warnings.warn(
            f"{what} failed after the search ({error}); the search's own result is kept",
            RuntimeWarning,
            stacklevel=3,
        )
        return {**settings, "error": error, "best_arch": None, "default_rank": None,
                "test_acc": None, "valid_acc": None, "candidates": [], "scores": [],
                "n_networks": 0, "seconds": time.perf_counter() - t0}  # fmt: skip


def _check_second_stage(proxy: Any, top: Any, labelled: Any, mode: str) -> None:
    """Refuse bad second-stage settings before the search runs."""
    from libranas._validation import check_int
    from libranas.proxies import list_proxies

    try:
        check_int(top, "second_stage_top", low=2)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    if proxy is None or proxy == "auto":
        return
    if not isinstance(proxy, str) or proxy not in list_proxies():
        raise ValueError(
            f"second_stage must be 'auto', None or one registered proxy "
            f"({', '.join(list_proxies())}), got {proxy!r}"
        )
    if labelled or mode != "live":
        raise ValueError(
            "second_stage re-scores a label-free live search (labelled=0, mode='live'); "
            f"got labelled={labelled}, mode={mode!r}"
        )


def _top_candidates(state: _SearchState, tracker: _Tracker, top: int) -> tuple[list, np.ndarray]:
    """The ``top`` best evaluated architectures by the final scorer, best first, and the
    order (indices into ``tracker.order``) they came from."""
    evaluated = tracker.order
    final = np.asarray(state.scorer(evaluated), dtype=float)
    order = np.argsort(np.where(np.isnan(final), -np.inf, -final), kind="stable")
    return [evaluated[i] for i in order[: min(top, len(evaluated))]], final[order]


def _second_stage(state: _SearchState, tracker: _Tracker, proxy: str, top: int) -> dict[str, Any]:
    """The second stage: ``proxy`` on the ``top`` best evaluated architectures (the search's
    own featurizer settings, one more network each); its highest-scored one is the pick."""
    from sklearn.base import clone

    t0 = time.perf_counter()
    candidates, final = _top_candidates(state, tracker, top)
    base = state.scorer.featurizer
    # the store object itself, not a copy (clone deep-copies non-estimator parameters)
    feat = clone(base).set_params(proxies=[proxy], store=base.store)
    scores = np.asarray(feat.fit(candidates).transform(candidates), dtype=float)[:, 0]
    table = state.table
    if np.isnan(scores).all():  # the proxy failed on every candidate: it picks nothing
        best_i, best = None, None
    else:
        best_i = int(np.argmax(np.where(np.isnan(scores), -np.inf, scores)))
        best = candidates[best_i]
    known = table is not None and best is not None
    return {
        "proxy": proxy,
        "top_k": len(candidates),
        "best_arch": best,
        "default_rank": None if best_i is None else best_i + 1,
        "test_acc": float(table.meta["test_acc"][best]) if known else None,
        "valid_acc": float(table.y[best]) if known else None,
        "candidates": candidates,
        "scores": [float(v) for v in scores],
        "fusion_scores": [float(v) for v in final[: len(candidates)]],
        "n_networks": len(candidates) * int(base.n_inits),
        "seconds": time.perf_counter() - t0,
    }


def _check_rescore(top: Any, draws: Any, batches: Any, labelled: Any, mode: str) -> None:
    """Refuse bad top-end step settings: rescore_top, rescore_draws or rescore_batches."""
    from libranas._validation import check_int

    for name, v, low in (("rescore_top", top, 0), ("rescore_draws", draws, 1)):
        try:
            check_int(v, name, low=low)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
    if batches is not None and not callable(batches):
        raise TypeError(f"rescore_batches must be a function of a seed, got {batches!r}")
    if top and (labelled or mode != "live"):
        raise ValueError(
            "rescore_top re-scores a label-free live search (labelled=0, mode='live'); "
            f"got labelled={labelled}, mode={mode!r}"
        )
    if top == 1:
        raise ValueError("rescore_top must be 0 (no step) or >= 2 (a choice among the top)")


def rescore_seeds(seed: int, draws: int) -> list[int]:
    """Seeds of the top-end step's draws: independent of the search's own draw ``seed``.

    Examples
    --------
    >>> rescore_seeds(0, 2) == rescore_seeds(0, 3)[:2], 0 in rescore_seeds(0, 3)
    (True, False)
    """
    return [
        int(np.random.SeedSequence([int(seed), 23, j]).generate_state(1)[0] >> 1)
        for j in range(1, draws + 1)
    ]


def _rescore_top(
    state: _SearchState,
    tracker: _Tracker,
    top: int,
    draws: int,
    batches: Callable[[int], Any] | None,
) -> dict[str, Any]:
    """The top-end step: the ``top`` best evaluated architectures (final log-rank) scored
    under ``draws`` more (initialisation, batch) draws; the pick is the best mean log-rank
    over every draw's proxies, ranked within these architectures."""
    import pandas as pd
    from sklearn.base import clone

    t0 = time.perf_counter()
    scorer = state.scorer
    candidates, final = _top_candidates(state, tracker, top)
    base = scorer.featurizer
    seeds = rescore_seeds(base.seed_, draws)
    frames = [scorer.features(candidates)]
    for s in seeds:
        # the store object itself, not a copy (clone deep-copies non-estimator parameters)
        feat = clone(base).set_params(random_state=s, store=base.store)
        if batches is not None:
            feat.set_params(data=batches(s))
        rows = feat.fit(candidates).transform(candidates)
        frames.append(pd.DataFrame(np.asarray(rows, dtype=float), columns=scorer.columns_))
    stacked = pd.concat(
        [f.reset_index(drop=True).add_suffix(f"@{d}") for d, f in enumerate(frames)], axis=1
    )
    fusion = clone(scorer._model()).fit(stacked)
    fused = np.asarray(fusion.predict(stacked), dtype=float)
    best_i = int(np.nanargmax(fused))
    best = candidates[best_i]
    table = state.table
    return {
        "top_k": len(candidates),
        "draws": int(draws),
        "seeds": [int(base.seed_), *seeds],
        "best_arch": best,
        "default_rank": best_i + 1,
        "predicted_score": float(fused[best_i]),
        "test_acc": None if table is None else float(table.meta["test_acc"][best]),
        "valid_acc": None if table is None else float(table.y[best]),
        "candidates": candidates,
        "default_scores": [float(v) for v in final[: len(candidates)]],
        "scores": [float(v) for v in fused],
        "proxies": list(scorer.columns_),
        "rows": [f.to_numpy(dtype=float).tolist() for f in frames],
        "n_networks": len(candidates) * int(draws) * int(base.n_inits),
        "seconds": time.perf_counter() - t0,
    }


@dataclass
class _SearchState:
    """What the phases of :func:`search` share: the validated settings, the resolved space,
    table and constraints, the scorer, and the loops' settings and storage."""

    space: Any
    task: str | None
    table: Any
    scorer: Any
    constraints: Any
    budget: int
    labelled: int
    method: str
    mode: str
    refine: bool
    ranker: str
    seed: int
    store: Any = None
    settings: dict[str, Any] = field(default_factory=dict)


def _prepare(
    space: Any,
    task: str | None,
    budget: int,
    labelled: int,
    method: str,
    mode: str,
    refine: bool,
    ranker: str | None,
    proxies: Any,
    population: int,
    constraints: Any,
    live_options: dict[str, Any] | None,
    random_state: int,
) -> _SearchState:
    """Validate the settings; resolve the space, the search table, the constraints and the
    scorer (tabular or live)."""
    from libranas.ranker import TRAINING_FREE_METHODS
    from libranas.spaces import get_space

    _check(budget, labelled, method, mode, random_state, ranker, population)
    space = get_space(space)
    ranker = ranker or ("xgboost" if labelled else "log-rank")
    if not labelled and ranker not in TRAINING_FREE_METHODS:
        raise ValueError(
            f"a label-free search needs a training-free ranker {TRAINING_FREE_METHODS}, "
            f"got {ranker!r}"
        )
    seed = int(random_state)
    if proxies is None:
        proxies = "all"
    elif not isinstance(proxies, str):
        proxies = list(proxies)  # duplicates: refused by the table or the featurizer
    if mode == "tabular" and live_options is not None:
        raise ValueError("live_options apply to mode='live'; tabular mode reads the search table")
    live_options = _live_proxies(mode, proxies, live_options)
    table = _table(
        space,
        task,
        required=bool(labelled) or mode == "tabular",
        **({"proxies": proxies} if mode == "tabular" else {}),
    )
    if table is not None:
        task = table.task
    fitted = resolve_constraints(
        dict(constraints, task=task) if isinstance(constraints, dict) else constraints, space
    )
    if mode == "tabular":
        scorer: Any = _tabular_scorer(table, ranker, labelled, seed)
    else:
        scorer = _live_scorer(space, task, ranker, labelled, seed, live_options)
    if labelled:
        _check_first_round(scorer, labelled, refine)
    return _SearchState(
        space, task, table, scorer, fitted, budget, labelled, method, mode, refine, ranker, seed
    )


def _open_storage(
    state: _SearchState, storage: Any, batch_size: int, population: int, sample_size: int
) -> None:
    """Open the storage (a resume under other settings is refused) and set the loops' settings."""
    state.store = get_storage(storage)
    _check_protocol_record(state.store, _protocol_settings(state))
    state.settings = {
        "constraints": state.constraints,
        "storage": state.store,
        "batch_size": batch_size,
        "population": population,
        "sample_size": sample_size,
    }


def _protocol_settings(state: _SearchState) -> dict[str, Any]:
    """The settings a storage records for one search (a resume must repeat them)."""
    return {
        "task": state.task,
        "mode": state.mode,
        "budget": int(state.budget),
        "labelled": int(state.labelled),
        "method": state.method,
        "refine": bool(state.refine),
        "ranker": state.ranker,
        "proxies": _scorer_proxies(state.scorer),
        "live": _describe_live(state.scorer) if state.mode == "live" else None,
    }


def _run_phases(state: _SearchState) -> tuple[list[Any], _Tracker]:
    """Both phases of the search: the labelled architectures and the tracker."""
    rng = np.random.default_rng([state.seed, 7])
    s = state
    if s.labelled:
        return _labelled_search(
            s.space, s.table, s.scorer, s.constraints, rng, s.budget, s.labelled, s.method,
            s.refine, s.settings, s.seed,
        )  # fmt: skip
    tracker = _label_free_search(
        s.space, s.scorer, s.constraints, rng, s.budget, s.method, s.refine, s.settings, s.seed
    )
    return [], tracker


def _result(state: _SearchState, lab: list[Any], tracker: _Tracker, t0: float) -> dict[str, Any]:
    """The returned record: the best evaluated architecture under the final scorer."""
    table, scorer = state.table, state.scorer
    evaluated = tracker.order
    final = np.asarray(scorer(evaluated), dtype=float)
    best_i = int(np.nanargmax(final))
    best = evaluated[best_i]

    def test_acc(arch: Any) -> float | None:
        return None if table is None else float(table.meta["test_acc"][arch])

    selector = scorer.pipeline.named_steps.get("select") if state.labelled else None
    return {
        "space": getattr(state.space, "name", str(state.space)),
        "task": state.task,
        "method": state.method,
        "mode": state.mode,
        "refine": bool(state.refine),
        "seed": state.seed,
        "budget": state.budget,
        **_pick_fields(state, lab, best, final[best_i]),
        "optimum_test_acc": None if table is None else float(table.meta["test_acc"].max()),
        "n_evaluated": len(evaluated),
        "n_labelled": len(lab),
        "labelled": lab,
        "selected_proxies": list(getattr(selector, "selected_", list(scorer.columns_))),
        "label_source": None if table is None else table.target,
        "trajectory": [[n, a, s, test_acc(a)] for n, a, s in tracker.trajectory],
        "seconds": time.perf_counter() - t0,
        "score_seconds": float(scorer.seconds_),
    }


def _second_phase(
    method: str,
    space: Any,
    scorer: Any,
    archs1: list[Any],
    budget: int,
    tracker: _Tracker,
    settings: dict[str, Any],
    seed: int,
) -> None:
    """Re-score the first phase with the re-fitted scorer and spend the rest of the budget,
    starting from its best architectures."""
    rescored = np.asarray(scorer(archs1), dtype=float)
    tracker.reset_best(archs1, rescored)
    top = [archs1[i] for i in np.argsort(-rescored, kind="stable")]
    archs2, scores2 = _run_phase(
        method,
        space,
        scorer,
        budget - len(set(archs1)),
        top[: settings["population"]],
        archs1,
        settings,
        "phase2",
        seed + 1,
    )
    tracker.add(archs2, scores2)


def _label_free_search(
    space: Any,
    scorer: Any,
    fitted: Any,
    rng: np.random.Generator,
    budget: int,
    method: str,
    refine: bool,
    settings: dict[str, Any],
    seed: int,
) -> _Tracker:
    """The label-free phases: a random rank reference, re-fitted (refine) for the second half."""
    n_ref = max(2, min(settings["population"], budget // (4 if refine else 2)))
    ref: list[Any] = []
    while len(ref) < n_ref:  # the rank reference: random admissible architectures
        a = space.validate(space.sample(1, rng)[0])
        if a not in ref and (fitted is None or fitted.mask([a])[0]):
            ref.append(a)
    scorer.fit(ref)
    tracker = _Tracker()
    n1 = budget // 2 if refine else budget
    archs1, scores1 = _run_phase(
        method, space, scorer, max(0, n1 - n_ref), ref, [], settings, "phase1", seed
    )
    tracker.add(archs1, scores1)
    if refine and budget > len(set(archs1)):
        scorer.fit(archs1)  # the reference grows to every architecture evaluated so far
        _second_phase(method, space, scorer, archs1, budget, tracker, settings, seed)
    scorer.fit(tracker.order)  # the final ranking: among all evaluated architectures
    return tracker


def _labelled_search(
    space: Any,
    table: Any,
    scorer: Any,
    fitted: Any,
    rng: np.random.Generator,
    budget: int,
    labelled: int,
    method: str,
    refine: bool,
    settings: dict[str, Any],
    seed: int,
) -> tuple[list[Any], _Tracker]:
    """The labelled phases: random labels, then (refine) the best-scored ones'; labels, tracker."""
    y = table.y
    pool = [a for a in table.archs if not np.isnan(y[a])]
    if fitted is not None:
        pool = [a for a, ok in zip(pool, fitted.mask(pool), strict=True) if ok]
    if len(pool) < labelled:
        raise ValueError(
            f"only {len(pool)} architectures have a validation label; labelled={labelled}"
        )
    n0 = math.ceil(labelled / 2) if refine else labelled
    lab = [pool[i] for i in rng.choice(len(pool), size=n0, replace=False)]
    scorer.fit(lab, y[lab].to_numpy())

    def label_top(archs: list[Any], scores: np.ndarray, n: int) -> None:
        """Label the ``n`` best-scored unlabelled architectures (that have a label), re-fit."""
        known = set(lab)
        ranked = [archs[i] for i in np.argsort(-scores, kind="stable")]
        lab.extend([a for a in ranked if a not in known and not np.isnan(y[a])][:n])
        scorer.fit(lab, y[lab].to_numpy())

    tracker = _Tracker()
    n1 = budget // 2 if refine else budget
    archs1, scores1 = _run_phase(
        method, space, scorer, max(0, n1 - len(lab)), lab, [], settings, "phase1", seed
    )
    tracker.add(archs1, scores1)
    if refine:
        n_mid = (labelled - n0) // 2 + (labelled - n0) % 2
        label_top(archs1, scores1, n_mid)
        _second_phase(method, space, scorer, archs1, budget, tracker, settings, seed)
        evaluated = tracker.order
        label_top(evaluated, np.asarray(scorer(evaluated), dtype=float), labelled - len(lab))
    return lab, tracker


def search_nb201(task: str = "cifar10", **kwargs: Any) -> dict[str, Any]:
    """:func:`search` on the NB201 space (kept for existing scripts).

    Examples
    --------
    >>> search_nb201("cifar10", budget=40, labelled=14, population=10)["n_evaluated"]
    40
    """
    return search("nb201", task, **kwargs)
