"""The NB201 search protocol behind ``libranas search`` and ``benchmarks/search_nb201.py``.

Budget accounting: ``budget`` is the number of distinct architectures *evaluated*, i.e. whose
proxies were looked up (tabular) or computed (live). The ``labelled`` architectures are part
of it (they are evaluated too, and additionally "trained": their validation accuracy is read
from the table). Test accuracies are never read by the search; they are only reported.

Calibration in rounds (``refine=True``, the default): half of the labels (rounded up) go to
random architectures before the search, and the pipeline is fitted on them; the search
spends half of the budget; half of the remaining labels go to the best-scored architectures
found so far (that have a validation label) and the LIBRA pipeline is re-fitted; the search
spends the rest of the budget with it (starting from the best architectures found so far);
the last labels go to the best-scored architectures of the whole search and the pipeline is
re-fitted once more. The architecture returned is the one the final pipeline scores highest
among *all* evaluated ones (it may be a labelled one). Labelling the top candidates is what
corrects the predictor's false positives, which a search, by construction, seeks out. With
``refine=False`` all labels are random and there is one round.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from libranas.search.constraints import resolve_constraints
from libranas.search.evolution import EvolutionarySearch
from libranas.search.optuna_search import OptunaSearch
from libranas.search.scorers import LiveScorer, TabularScorer, make_libra_pipeline
from libranas.search.scorers import nb201_search_table as _table
from libranas.search.storage import get_storage

__all__ = ["METHODS", "OPTIMUM_TEST_ACC", "search_nb201"]

METHODS = ("evolution", "random", "tpe")
#: best 200-epoch test accuracy in NAS-Bench-201 (the bundled table's maximum)
OPTIMUM_TEST_ACC = {"cifar10": 94.37, "cifar100": 73.51, "imagenet16-120": 47.31}


def _make_scorer(
    table: Any,
    mode: str,
    ranker: str,
    seed: int,
    live_options: dict[str, Any] | None,
) -> Any:
    if mode == "tabular":
        encoding = [c for c in table.X.columns if c.startswith("enc:")]
        return TabularScorer(
            table,
            make_libra_pipeline(ranker, passthrough=encoding or None, random_state=seed, n_jobs=1),
        )
    if mode != "live":
        raise ValueError(f"mode must be 'tabular' or 'live', got {mode!r}")
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
    opts.setdefault("space", "nb201")
    opts.setdefault("random_state", seed)
    proxies = opts.get("proxies")
    feat = ProxyFeaturizer(**opts)
    bias = "params" if proxies is None or "params" in proxies else None
    rank_params: dict[str, Any] = {"random_state": seed}
    if ranker in TRAINING_FREE_METHODS:
        rank_params["signs"] = "auto"
    else:
        rank_params.update(rank_transform=True, n_jobs=1)
    pipe = Pipeline(
        [
            ("features", feat),
            ("select", LibraSelector(bias=bias)),
            ("rank", ZCRanker(ranker, **rank_params)),
        ]
    ).set_output(transform="pandas")
    return LiveScorer(pipe)


class _Tracker:
    """Evaluation order and the anytime trajectory (best so far by the scorer of the time)."""

    def __init__(self) -> None:
        self.order: list[Any] = []
        self.seen: set = set()
        self.best: tuple[Any, float] | None = None
        self.trajectory: list[tuple[int, Any, float]] = []

    def add(self, archs: list[Any], scores: np.ndarray) -> None:
        for a, s in zip(archs, scores, strict=True):
            if a not in self.seen:
                self.seen.add(a)
                self.order.append(a)
            if not np.isnan(s) and (self.best is None or s > self.best[1]):
                self.best = (a, float(s))
            if self.best is not None:
                self.trajectory.append((len(self.order), self.best[0], self.best[1]))

    def reset_best(self, archs: list[Any], scores: np.ndarray) -> None:
        self.best = None
        self.add(archs, scores)


def _run_phase(
    method: str,
    space: Any,
    scorer: Any,
    n_new: int,
    start: list[Any],
    exclude: list[Any],
    constraints: Any,
    storage: Any,
    study: str,
    seed: int,
    population: int,
    sample_size: int,
    batch_size: int,
    rng: np.random.Generator,
) -> tuple[list[Any], np.ndarray]:
    """Evaluate ``start`` plus ``n_new`` new architectures; returns them with their scores."""
    if method == "evolution":
        pop = max(len(start), min(population, len(start) + n_new), 1)
        fill = pop - len(start)  # random members completing the initial population
        evo = EvolutionarySearch(
            space,
            scorer,
            population=pop,
            sample_size=min(sample_size, pop),
            cycles=n_new - fill,
            batch_size=batch_size,
            constraints=constraints,
            initial_population=list(start),
            exclude=exclude,
            storage=storage,
            study_name=study,
            random_state=seed,
        )
        res = evo.run()
        h = res.history[~res.history["cached"]]
        return list(h["arch"]), h["score"].to_numpy(dtype=float)
    if method == "random":
        archs = list(start)
        seen = set(archs) | set(exclude)
        new: list[Any] = []
        while len(new) < n_new:
            a = space.validate(space.sample(1, rng)[0])
            if a in seen or (constraints is not None and not constraints.mask([a])[0]):
                continue
            seen.add(a)
            new.append(a)
        archs += new
        return archs, np.asarray(scorer(archs), dtype=float)
    if method == "tpe":
        opt = OptunaSearch(
            space,
            scorer,
            n_trials=len(set(start) | set(exclude)) + n_new,
            batch_size=batch_size,
            sampler="tpe",
            constraints=constraints,
            storage=storage,
            study_name=study,
            initial_archs=list(dict.fromkeys(list(start) + list(exclude))),
            random_state=seed,
        )
        res = opt.run()
        h = res.history[~res.history["cached"]]
        return list(h["arch"]), h["score"].to_numpy(dtype=float)
    raise ValueError(f"unknown method {method!r}; known: {METHODS}")


def search_nb201(
    task: str = "cifar10",
    budget: int = 1000,
    labelled: int = 100,
    method: str = "evolution",
    mode: str = "tabular",
    refine: bool = True,
    ranker: str = "xgboost",
    proxies: str = "all",
    population: int = 50,
    sample_size: int = 10,
    batch_size: int = 10,
    constraints: Any = None,
    storage: Any = None,
    live_options: dict[str, Any] | None = None,
    random_state: int = 0,
) -> dict[str, Any]:
    """Search NAS-Bench-201 with a LIBRA pipeline calibrated on ``labelled`` architectures.

    Parameters
    ----------
    task : {"cifar10", "cifar100", "imagenet16-120"}
    budget : int, default=1000
        Distinct architectures evaluated, the labelled ones included (see the module notes).
    labelled : int, default=100
        Architectures whose validation accuracy the pipeline is fitted on (<= budget).
    method : {"evolution", "random", "tpe"}
        Aging evolution, random sampling (score ``budget`` random architectures, return the
        top), or Optuna TPE.
    mode : {"tabular", "live"}
        Proxies from the bundled tables (:func:`~libranas.search.nb201_search_table`), or
        computed by a ProxyFeaturizer (``live_options``: its arguments, ``data`` required).
    refine : bool, default=True
        Two-round calibration (module notes).
    ranker : str, default="xgboost"
        ZCRanker method of the LIBRA pipeline.
    proxies : {"all", "freerea"}
        Tabular columns (see :func:`~libranas.search.nb201_search_table`).
    population, sample_size, batch_size : int
        Evolution / batch settings.
    constraints : Constraints, dict or None
        Never evaluated nor returned when violated; labelled architectures satisfy them too.
    storage : path or None
        Evolution: a JSON-lines file (studies ``phase1``/``phase2``); TPE: an Optuna journal
        file or RDB URL. The search resumes from it.
    live_options : dict, optional
        ProxyFeaturizer arguments for ``mode="live"``.
    random_state : int, default=0

    Returns
    -------
    dict
        ``best_arch``, ``predicted_score``, ``test_acc`` (200 epochs, reported only),
        ``valid_acc`` (NaN when the table has none), ``optimum_test_acc``, ``n_evaluated``,
        ``n_labelled``, ``labelled`` (architectures), ``selected_proxies``, ``trajectory``
        (list of ``[n_evaluated, best_arch, score, test_acc]``), ``seconds``,
        ``score_seconds`` (wall time inside the scorer) and the settings.

    Examples
    --------
    >>> r = search_nb201("cifar10", budget=60, labelled=20, population=10, random_state=0)
    >>> r["n_evaluated"], r["n_labelled"], r["test_acc"] > 85
    (60, 20, True)
    """
    from libranas.spaces import get_space

    t0 = time.perf_counter()
    for name, v, low in (("budget", budget, 2), ("labelled", labelled, 2)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
    if labelled > budget:
        raise ValueError(f"labelled={labelled} exceeds budget={budget} (labels count as evaluated)")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {METHODS}")
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise ValueError(f"random_state must be an int, got {random_state!r}")
    table = _table(task, proxies, mode == "tabular")
    space = get_space("nb201")
    fitted = resolve_constraints(
        dict(constraints, dataset=task) if isinstance(constraints, dict) else constraints, space
    )
    scorer = _make_scorer(table, mode, ranker, int(random_state), live_options)
    store = get_storage(storage) if method == "evolution" else storage
    rng = np.random.default_rng([int(random_state), 7])
    y = table.y
    pool = [a for a in table.archs if not np.isnan(y[a])]
    if fitted is not None:
        pool = [a for a, ok in zip(pool, fitted.mask(pool), strict=True) if ok]
    n0 = math.ceil(labelled / 2) if refine else labelled
    if len(pool) < labelled:
        raise ValueError(
            f"only {len(pool)} architectures have a validation label; labelled={labelled}"
        )
    lab = [pool[i] for i in rng.choice(len(pool), size=n0, replace=False)]
    scorer.fit(lab, y[lab].to_numpy())

    tracker = _Tracker()
    n1 = budget // 2 if refine else budget
    archs1, scores1 = _run_phase(
        method, space, scorer, max(0, n1 - len(lab)), lab, [], fitted, store, "phase1",
        int(random_state), population, sample_size, batch_size, rng,
    )  # fmt: skip
    tracker.add(archs1, scores1)

    def label_top(archs: list[Any], scores: np.ndarray, n: int) -> None:
        """Label the ``n`` best-scored unlabelled architectures (that have a label), re-fit."""
        known = set(lab)
        ranked = [archs[i] for i in np.argsort(-scores, kind="stable")]
        lab.extend([a for a in ranked if a not in known and not np.isnan(y[a])][:n])
        scorer.fit(lab, y[lab].to_numpy())

    if refine:
        n_mid = (labelled - n0) // 2 + (labelled - n0) % 2
        label_top(archs1, scores1, n_mid)
        rescored = np.asarray(scorer(archs1), dtype=float)
        tracker.reset_best(archs1, rescored)
        top = [archs1[i] for i in np.argsort(-rescored, kind="stable")]
        archs2, scores2 = _run_phase(
            method, space, scorer, budget - len(set(archs1)), top[:population], archs1, fitted,
            store, "phase2", int(random_state) + 1, population, sample_size, batch_size, rng,
        )  # fmt: skip
        tracker.add(archs2, scores2)
        evaluated = tracker.order
        label_top(evaluated, np.asarray(scorer(evaluated), dtype=float), labelled - len(lab))
    evaluated = tracker.order
    final = np.asarray(scorer(evaluated), dtype=float)
    best_i = int(np.nanargmax(final))
    best = evaluated[best_i]
    test = table.meta["test_acc"]
    trajectory = [[n, a, s, float(test[a])] for n, a, s in tracker.trajectory]
    selector = scorer.pipeline.named_steps.get("select")
    return {
        "task": task,
        "method": method,
        "mode": mode,
        "refine": refine,
        "seed": int(random_state),
        "budget": budget,
        "best_arch": best,
        "predicted_score": float(final[best_i]),
        "test_acc": float(test[best]),
        "valid_acc": float(y[best]),
        "optimum_test_acc": OPTIMUM_TEST_ACC[task],
        "best_is_labelled": best in set(lab),
        "n_evaluated": len(evaluated),
        "n_labelled": len(lab),
        "labelled": lab,
        "selected_proxies": list(getattr(selector, "selected_", [])),
        "label_source": table.target,
        "trajectory": trajectory,
        "seconds": time.perf_counter() - t0,
        "score_seconds": float(scorer.seconds_),
    }
