"""Architecture search with Optuna samplers (TPE, NSGA-II, ...), batched ask-and-tell.

:func:`suggest_architecture` turns an Optuna trial into an architecture of a space
(define-by-run: one categorical parameter per decision; AutoFormer's per-layer decisions are
suggested only for the layers the suggested depth has). :class:`OptunaSearch` asks a batch
of trials, scores the batch in one scorer call, and tells the results; objectives can mix the
predicted quality (maximised) with params / FLOPs / latency (minimised), giving a Pareto
front. Any Optuna storage works (``"sqlite:///file.db"``, a journal file, an RDB URL), so a
search resumes after a crash and several processes can share one study.

Optuna is imported lazily (inside the functions).
"""

from __future__ import annotations

import json
import numbers
import os
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from libranas.search.evolution import SearchResult
from libranas.search.scorers import as_scorer

__all__ = ["OBJECTIVES", "OptunaSearch", "architecture_params", "suggest_architecture"]

#: objective name -> direction
OBJECTIVES = {
    "score": "maximize",
    "params": "minimize",
    "flops": "minimize",
    "latency": "minimize",
}


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("OptunaSearch needs optuna: `pip install optuna`") from exc
    return optuna


def suggest_architecture(trial: Any, space: Any) -> Any:
    """Suggest one architecture of ``space`` through ``trial`` (define-by-run).

    - NB201: one categorical per edge, named ``"edge_<to><-<from>"``, over the 5 operations.
    - AutoFormer: ``embed_dim``, ``depth``, then ``num_heads_<l>`` and ``mlp_ratio_<l>`` for
      ``l < depth`` only.
    - any other space with a ``suggest(trial)`` method: that method.

    Returns the canonical architecture (``space.validate``).

    Examples
    --------
    >>> import optuna
    >>> from libranas.spaces import get_space
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    >>> arch = suggest_architecture(study.ask(), get_space("nb201"))
    >>> arch.count("~")
    6
    """
    from libranas.spaces import get_space

    space = get_space(space)
    name = getattr(space, "name", "")
    if name == "nb201":
        ops = [
            trial.suggest_categorical(f"edge_{to}<-{src}", list(space.ops))
            for to, src in space.edges
        ]
        return space.validate(
            f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"
        )
    if name.startswith("autoformer"):
        choices = space.choices
        embed = trial.suggest_categorical("embed_dim", list(choices["embed_dim"]))
        depth = trial.suggest_categorical("depth", list(choices["depth"]))
        heads = [
            trial.suggest_categorical(f"num_heads_{i}", list(choices["num_heads"]))
            for i in range(depth)
        ]
        mlp = [
            trial.suggest_categorical(f"mlp_ratio_{i}", list(choices["mlp_ratio"]))
            for i in range(depth)
        ]
        return space.validate(
            {"embed_dim": embed, "depth": depth, "num_heads": heads, "mlp_ratio": mlp}
        )
    suggest = getattr(space, "suggest", None)
    if callable(suggest):
        return space.validate(suggest(trial))
    raise ValueError(
        f"no Optuna suggestion rule for space {name or type(space).__name__!r}: supported are "
        "nb201 and autoformer-*, or a space with a suggest(trial) method"
    )


def architecture_params(space: Any, arch: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trial parameters and distributions :func:`suggest_architecture` gives ``arch``.

    Used to add already evaluated architectures to a study (``study.add_trial``).

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> params, dists = architecture_params(get_space("nb201"), 0)
    >>> params["edge_1<-0"], len(dists)
    ('avg_pool_3x3', 6)
    """
    from optuna.distributions import CategoricalDistribution

    from libranas.spaces import get_space

    space = get_space(space)
    name = getattr(space, "name", "")
    params: dict[str, Any] = {}
    dists: dict[str, Any] = {}
    if name == "nb201":
        for (to, src), op in zip(space.edges, space.to_ops(arch), strict=True):
            params[f"edge_{to}<-{src}"] = op
            dists[f"edge_{to}<-{src}"] = CategoricalDistribution(list(space.ops))
        return params, dists
    if name.startswith("autoformer"):
        a = space.validate(arch)
        choices = space.choices
        for key in ("embed_dim", "depth"):
            params[key] = getattr(a, key)
            dists[key] = CategoricalDistribution(list(choices[key]))
        for i in range(a.depth):
            for key in ("num_heads", "mlp_ratio"):
                params[f"{key}_{i}"] = getattr(a, key)[i]
                dists[f"{key}_{i}"] = CategoricalDistribution(list(choices[key]))
        return params, dists
    raise ValueError(f"no Optuna parameter rule for space {name or type(space).__name__!r}")


def _arch_to_json(arch: Any) -> str:
    if hasattr(arch, "to_dict"):
        arch = arch.to_dict()
    return json.dumps(arch)


def _resolve_storage(storage: Any) -> Any:
    """None, an Optuna storage, an RDB URL, or a journal file path (``.log``/``.jsonl``)."""
    if storage is None or not isinstance(storage, (str, os.PathLike)):
        return storage
    text = os.fspath(storage)
    if "://" in text:
        return text  # RDB URL, e.g. sqlite:///search.db
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(text))


class OptunaSearch:
    """Batched ask-and-tell search with an Optuna sampler, one or several objectives.

    Parameters
    ----------
    space : str or SearchSpace
        Any space :func:`suggest_architecture` supports.
    scorer : callable or object with ``predict``
        ``list_of_archs -> scores`` (higher = better), called once per batch.
    n_trials : int, default=100
        Distinct architectures to score (study-wide, so resumed or shared studies stop at the
        same total). A suggestion equal to an already scored architecture is told its cached
        score and does not count.
    batch_size : int, default=10
        Trials asked before scoring them together.
    sampler : {"tpe", "nsga2", "random"} or optuna sampler, default="tpe"
        ``"tpe"``: ``TPESampler(multivariate=True, constant_liar=True)`` (the liar keeps the
        trials of one batch apart). ``"nsga2"``: ``NSGAIISampler(population_size=batch_size)``.
    objectives : list of str, default=("score",)
        Among :data:`OBJECTIVES`: ``"score"`` (maximised) and ``"params"``, ``"flops"``,
        ``"latency"`` (minimised; units of :mod:`libranas.search.constraints`).
    constraints : Constraints, dict or None
        Trials whose architecture violates them are never scored: they are told ``PRUNED``
        (user attribute ``"violates"``) and never appear in the results.
    dataset : str, default="cifar10"
        NB201 dataset of the params / FLOPs / latency objectives.
    device : str, optional
        HW-NAS-Bench device of the ``"latency"`` objective.
    storage : None, str, path or optuna storage
        ``None``: in memory. A string with ``://`` is an RDB URL (``"sqlite:///s.db"``); any
        other path is an Optuna journal file. A study that exists is continued.
    study_name : str, default="libranas-search"
    max_tries : int, default=20
        The search stops (with a warning) after ``max_tries * n_trials`` asked trials even if
        fewer than ``n_trials`` distinct architectures were scored.
    initial_archs : list, optional
        Architectures to give the sampler first: when the study is new, they are scored (one
        scorer call) and added as completed trials (``study.add_trial``); they count towards
        ``n_trials``. Each must satisfy the constraints.
    random_state : int or None
        Seed of the sampler.

    Attributes
    ----------
    study_ : optuna.Study
    result_ : SearchResult
        ``history`` holds every scored (COMPLETE) trial of the study: ``order``, ``arch``,
        ``score``, one column per extra objective, ``trial``, ``cached``; for several
        objectives ``pareto_front`` holds the non-dominated trials.

    Notes
    -----
    Resuming continues from the completed trials of the stored study; trials left RUNNING by
    a crashed process are ignored. Unlike :class:`EvolutionarySearch`, the continuation is
    not bit-identical to an uninterrupted run (Optuna samplers do not persist their random
    state).

    Examples
    --------
    >>> from libranas.search import OptunaSearch
    >>> def n_convs(archs):
    ...     return [a.count("conv") for a in archs]
    >>> res = OptunaSearch("nb201", n_convs, n_trials=30, batch_size=10, random_state=0).run()
    >>> res.n_scored, res.best_score >= 4
    (30, True)
    >>> front = OptunaSearch("nb201", n_convs, n_trials=30, sampler="nsga2",
    ...                      objectives=["score", "params"], random_state=0).run().pareto_front
    >>> bool(front["params"].is_monotonic_increasing)
    True
    """

    def __init__(
        self,
        space: Any,
        scorer: Any,
        n_trials: int = 100,
        batch_size: int = 10,
        sampler: Any = "tpe",
        objectives: Any = ("score",),
        constraints: Any = None,
        dataset: str = "cifar10",
        device: str | None = None,
        storage: Any = None,
        study_name: str = "libranas-search",
        max_tries: int = 20,
        initial_archs: list[Any] | None = None,
        random_state: int | None = None,
    ) -> None:
        self.space = space
        self.scorer = scorer
        self.n_trials = n_trials
        self.batch_size = batch_size
        self.sampler = sampler
        self.objectives = objectives
        self.constraints = constraints
        self.dataset = dataset
        self.device = device
        self.storage = storage
        self.study_name = study_name
        self.max_tries = max_tries
        self.initial_archs = initial_archs
        self.random_state = random_state

    def _check_params(self) -> list[str]:
        for name, low in (("n_trials", 1), ("batch_size", 1), ("max_tries", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
                raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
        objectives = (
            [self.objectives] if isinstance(self.objectives, str) else list(self.objectives)
        )
        if not objectives or len(set(objectives)) != len(objectives):
            raise ValueError(f"objectives must be distinct names, got {self.objectives!r}")
        bad = [o for o in objectives if o not in OBJECTIVES]
        if bad:
            raise ValueError(f"unknown objective(s) {bad}; known: {list(OBJECTIVES)}")
        if "score" not in objectives:
            raise ValueError("objectives must include 'score' (the predicted quality)")
        rs = self.random_state
        if rs is not None and (isinstance(rs, bool) or not isinstance(rs, numbers.Integral)):
            raise TypeError(f"random_state must be None or an int, got {type(rs).__name__}")
        return objectives

    def _make_sampler(self, optuna: Any) -> Any:
        s = self.sampler
        if not isinstance(s, str):
            if not isinstance(s, optuna.samplers.BaseSampler):
                raise TypeError(
                    f"sampler must be a name or an Optuna sampler, got {type(s).__name__}"
                )
            return s
        seed = self.random_state
        if s == "tpe":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)
        if s == "nsga2":
            return optuna.samplers.NSGAIISampler(
                seed=seed, population_size=max(2, int(self.batch_size))
            )
        if s == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        raise ValueError(f"unknown sampler {s!r}; use 'tpe', 'nsga2', 'random' or a sampler")

    def run(self) -> SearchResult:
        """Run (or continue) the search; returns and stores the result in ``result_``."""
        from libranas.search.constraints import metric_functions, resolve_constraints
        from libranas.spaces import get_space

        optuna = _import_optuna()
        start = time.perf_counter()
        objectives = self._check_params()
        space = get_space(self.space)
        score_fn = as_scorer(self.scorer)
        constraints = resolve_constraints(self.constraints, space)
        extra = [o for o in objectives if o != "score"]
        metric_fns = metric_functions(space, extra, dataset=self.dataset, device=self.device)
        study = optuna.create_study(
            storage=_resolve_storage(self.storage),
            sampler=self._make_sampler(optuna),
            study_name=self.study_name,
            directions=[OBJECTIVES[o] for o in objectives],
            load_if_exists=True,
        )
        stored = study.user_attrs.get("libranas_objectives")
        if stored is None:
            study.set_user_attr("libranas_objectives", objectives)
            study.set_user_attr("libranas_space", repr(space))
        elif stored != objectives or study.user_attrs.get("libranas_space") != repr(space):
            raise ValueError(
                f"study {self.study_name!r} was created for space "
                f"{study.user_attrs.get('libranas_space')} with objectives {stored}; this search "
                f"has {repr(space)} and {objectives}"
            )
        self.study_ = study
        complete = optuna.trial.TrialState.COMPLETE
        score_seconds = 0.0
        if self.initial_archs and not study.get_trials(deepcopy=False):
            initial = list(dict.fromkeys(space.validate(a) for a in self.initial_archs))
            if constraints is not None and not constraints.mask(initial).all():
                raise ValueError("some initial_archs violate the constraints")
            s0 = time.perf_counter()
            scores = score_fn(initial)
            metrics = {m: fn(initial) for m, fn in metric_fns.items()}
            score_seconds += time.perf_counter() - s0
            for i, arch in enumerate(initial):
                params, dists = architecture_params(space, arch)
                values = [float(scores[i])] + [float(metrics[m][i]) for m in extra]
                nan = np.isnan(values[0])
                study.add_trial(
                    optuna.trial.create_trial(
                        params=params,
                        distributions=dists,
                        values=None if nan else values,
                        state=optuna.trial.TrialState.FAIL if nan else complete,
                        user_attrs={"arch": _arch_to_json(arch), "cached": False},
                    )
                )
        cache: dict[str, list[float]] = {}
        for t in study.get_trials(deepcopy=False, states=(complete,)):
            cache.setdefault(t.user_attrs["arch"], list(t.values))
        asked = 0
        while len(cache) < self.n_trials:
            if asked >= self.max_tries * self.n_trials:
                warnings.warn(
                    f"OptunaSearch stopped after {asked} trials with {len(cache)} distinct "
                    f"architectures scored (n_trials={self.n_trials}): the sampler keeps "
                    "suggesting scored or constrained-out architectures",
                    RuntimeWarning,
                    stacklevel=2,
                )
                break
            k = min(self.batch_size, self.n_trials - len(cache))
            trials = [study.ask() for _ in range(k)]
            asked += k
            archs = [suggest_architecture(t, space) for t in trials]
            ok = constraints.mask(archs) if constraints is not None else np.ones(k, bool)
            to_score: dict[str, Any] = {}
            for t, arch, good in zip(trials, archs, ok, strict=True):
                key = _arch_to_json(arch)
                t.set_user_attr("arch", key)
                if good and key not in cache and key not in to_score:
                    to_score[key] = arch
            if to_score:
                s0 = time.perf_counter()
                scores = score_fn(list(to_score.values()))
                metrics = {m: fn(list(to_score.values())) for m, fn in metric_fns.items()}
                score_seconds += time.perf_counter() - s0
                for i, key in enumerate(to_score):
                    cache[key] = [float(scores[i])] + [float(metrics[m][i]) for m in extra]
            for t, good in zip(trials, ok, strict=True):
                key = t.user_attrs["arch"]
                if not good:
                    t.set_user_attr("violates", True)
                    study.tell(t, state=optuna.trial.TrialState.PRUNED)
                    continue
                values = cache[key]
                t.set_user_attr("cached", key not in to_score)
                to_score.pop(key, None)  # later duplicates of this batch reuse the score
                if np.isnan(values[0]):
                    study.tell(t, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(t, values if len(values) > 1 else values[0])
        self.result_ = self._result(study, space, objectives, start, score_seconds)
        return self.result_

    def _result(
        self, study: Any, space: Any, objectives: list[str], start: float, score_seconds: float
    ) -> SearchResult:
        import optuna

        extra = [o for o in objectives if o != "score"]
        rows = []
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            arch = space.validate(json.loads(t.user_attrs["arch"]))
            row = {"order": len(rows), "arch": arch, "score": t.values[0]}
            row.update({m: v for m, v in zip(extra, t.values[1:], strict=True)})
            row.update({"trial": t.number, "cached": bool(t.user_attrs.get("cached", False))})
            rows.append(row)
        history = pd.DataFrame(rows, columns=["order", "arch", "score", *extra, "trial", "cached"])
        if history.empty:
            raise ValueError("no trial completed: every scored architecture got a NaN score")
        i = int(history["score"].to_numpy().argmax())
        front = None
        if extra:
            numbers_ = {t.number for t in study.best_trials}
            front = (
                history[history["trial"].isin(numbers_) & ~history["cached"]]
                .drop_duplicates("arch")
                .sort_values(extra[0])
                .reset_index(drop=True)
            )
        return SearchResult(
            best_arch=history["arch"].iloc[i],
            best_score=float(history["score"].iloc[i]),
            history=history,
            n_scored=int((~history["cached"]).sum()),
            population=[],
            seconds=time.perf_counter() - start,
            score_seconds=score_seconds,
            pareto_front=front,
        )
