"""The one search loop: batching, constraints, the duplicate cache, storage, resuming, timing.

Every search of :mod:`libranas.search` is this loop with a sampler behind the ask-and-tell
interface of :mod:`libranas.search.samplers` (aging evolution, random, Optuna). Per batch:

1. ``sampler.ask(k, rng)`` proposes ``k`` architectures (``rng`` is the batch's own
   generator, ``default_rng([seed, generation])``);
2. the loop classifies each proposal: ``"violates"`` (breaks the constraints), ``"cached"``
   (scored before, or twice in this batch: its score is reused), ``"excluded"`` (in
   ``exclude``) or ``"new"``;
3. the new ones are scored in **one** scorer call (and their extra objectives measured);
4. ``sampler.tell(evaluations, notes)`` gives the sampler every outcome, in order;
5. the batch is appended to the storage as one record.

Storage format (one format for every sampler; a JSON-lines file or memory, see
:mod:`libranas.search.storage`): a study's first record is ``{"kind": "config", "config":
{...}}`` (the settings a resume must match); then one record per batch, ``{"kind": "batch",
"generation": g, "score_seconds": s, "evaluations": [{"arch": ..., "status": ..., "score":
..., "metrics": {...}, "info": {...}}, ...], "notes": {...}}`` (``"given": true`` marks the
initial architectures; ``notes`` is the sampler's, see :mod:`libranas.search.samplers`). A
search whose study is in the storage replays its batches (the history, the cache, and the
sampler through ``tell``) and goes on with the next batch, so a search
killed at any point (even ``SIGKILL``: each record is one flushed, fsync-ed line) finishes
exactly as an uninterrupted one would with a deterministic scorer.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from libranas._warnings import user_stacklevel
from libranas.search.constraints import METRICS, metric_functions, resolve_constraints
from libranas.search.result import SearchResult, jsonable, pareto_front
from libranas.search.samplers import BaseSampler, Evaluation, Proposal
from libranas.search.scorers import as_scorer
from libranas.search.storage import get_storage

__all__ = ["SearchLoop", "check_budget", "space_capacity"]

#: spaces up to this many architectures are enumerated to count those meeting the constraints
_ENUMERATE_LIMIT = 200_000

#: version of the storage format written by the loop
FORMAT = 2


def space_capacity(space: Any, constraints: Any = None) -> tuple[int | None, str]:
    """How many distinct architectures ``space`` can supply (under ``constraints``).

    Returns ``(count, how)``: the exact count for a space that lists its architectures
    (``all_archs``; the constraints applied), else the product of the choices of
    ``trial_choices`` (an upper bound; constraints not counted), else ``(None, "")``.

    Examples
    --------
    >>> space_capacity("nb201")
    (15625, 'the space holds 15625 architectures')
    """
    from libranas.spaces import get_space

    space = get_space(space)
    lister = getattr(space, "all_archs", None)
    if callable(lister):
        archs = lister()
        if constraints is not None and len(archs) <= _ENUMERATE_LIMIT:
            n = int(np.count_nonzero(constraints.mask(archs)))
            return n, f"{n} of the space's {len(archs)} architectures meet {constraints!r}"
        return len(archs), f"the space holds {len(archs)} architectures"
    try:
        choices = space.trial_choices()
    except (NotImplementedError, AttributeError, TypeError):
        return None, ""
    if not choices:
        return None, ""
    n = 1
    for options in choices.values():
        n *= max(1, len(options))
    return n, f"the space's choices combine into at most {n} architectures"


def check_budget(budget: int, space: Any, constraints: Any = None, what: str = "budget") -> None:
    """Refuse a budget of distinct architectures the space (and constraints) cannot supply.

    Examples
    --------
    >>> check_budget(100, "nb201")
    >>> check_budget(20_000, "nb201")
    Traceback (most recent call last):
    ...
    ValueError: budget 20000 exceeds what can be supplied: the space holds 15625 architectures
    """
    capacity, how = space_capacity(space, constraints)
    if capacity is not None and budget > capacity:
        raise ValueError(f"{what} {budget} exceeds what can be supplied: {how}")


class _State:
    """The history and the duplicate cache of a run; answers the sampler's questions."""

    def __init__(self, space: Any, objectives: list[str], constraints: Any, excluded: set):
        self.space = space
        self.objectives = objectives
        self.constraints = constraints
        self.excluded = excluded
        self.cache: dict[Any, tuple[float, dict[str, float]]] = {}
        self.rows: list[dict[str, Any]] = []
        self.pending: set = set()
        self.n_asked = 0

    # -- SearchContext
    def admissible(self, arch: Any) -> bool:
        return self.constraints is None or bool(self.constraints.mask([arch])[0])

    def is_new(self, arch: Any) -> bool:
        return arch not in self.cache and arch not in self.excluded and arch not in self.pending

    # -- bookkeeping
    @property
    def n_scored(self) -> int:
        return sum(not r["cached"] for r in self.rows)

    def record(self, ev: Evaluation, generation: int) -> None:
        """Give ``ev`` its order, add it to the history and the cache."""
        if not ev.scored:
            return
        ev.order = len(self.rows)
        if ev.status == "new":
            self.cache[ev.arch] = (ev.score, dict(ev.metrics))
        row = {"order": ev.order, "arch": ev.arch, "score": ev.score, **ev.metrics}
        row.update(generation=generation, cached=ev.status == "cached", info=ev.info)
        self.rows.append(row)


class SearchLoop:
    """Batched search of ``space`` for the architectures ``scorer`` rates highest.

    Parameters
    ----------
    space : str or SearchSpace
    scorer : callable or object with ``predict``
        ``scorer(list_of_archs) -> scores`` (higher = better), called once per batch with the
        new architectures of the batch: a :class:`~libranas.search.TabularScorer`, a
        :class:`~libranas.search.LiveScorer`, a fitted pipeline, or any function.
    sampler : BaseSampler
        The strategy (:class:`~libranas.search.EvolutionSampler`,
        :class:`~libranas.search.RandomSampler`, :class:`~libranas.search.OptunaSampler`).
    n_trials : int, default=100
        Distinct architectures to score (the initial ones included). A resumed search may ask
        for more than it was run with, to extend it.
    batch_size : int, default=10
        Proposals per batch (the sampler may ask for another size, e.g. evolution fills its
        population in the first batch).
    constraints : Constraints, dict or None
        Resource bounds (:class:`~libranas.search.Constraints` or its keyword arguments):
        violating proposals are never scored nor returned.
    objectives : list of str, default=("score",)
        ``"score"`` (maximised) first, then any of ``"params"``, ``"flops"``, ``"latency"``
        (minimised; :mod:`libranas.search.constraints` for units): measured for every scored
        architecture, given to the sampler, and the result's ``pareto_front``.
    task : str, optional
        The task the objective metrics are measured for (:meth:`SearchSpace.task_setting`).
    device : str, optional
        Hardware device of the ``"latency"`` objective.
    initial : list, optional
        Architectures scored first (in the first batch) and told to the sampler; they count
        in ``n_trials`` and must satisfy the constraints.
    exclude : list, optional
        Architectures evaluated elsewhere: never scored (a sampler that proposes one is told
        ``"excluded"``). May overlap ``initial``.
    storage : None, str, path or BaseStorage
        Where every batch is recorded (a path means a JSON-lines file,
        :class:`~libranas.search.JSONLStorage`); a study found there is resumed.
    study_name : str, default="search"
        Name of the search inside the storage.
    max_tries : int, default=20
        The search stops with a warning after ``max_tries * n_trials`` proposals, even if
        fewer than ``n_trials`` new architectures were found (a sampler stuck on scored or
        violating architectures).
    random_state : None, int, numpy RandomState or Generator
        Seed of every random choice (one int seed is drawn from a RandomState / Generator).
        Same seed and deterministic scorer, same search. None: a fresh seed, or the stored one
        when the study is resumed.

    Attributes
    ----------
    result_ : SearchResult
    resumed_from_ : int
        Batches found in the storage when :meth:`run` started (0: a fresh search).
    seed_ : int
        The seed used.
    space_ : SearchSpace

    Examples
    --------
    >>> from libranas.search import SearchLoop, RandomSampler
    >>> loop = SearchLoop("nb201", lambda archs: [a.count("conv_3x3") for a in archs],
    ...                   RandomSampler(), n_trials=40, objectives=["score", "params"],
    ...                   random_state=0)
    >>> res = loop.run()
    >>> res.n_scored, bool(res.pareto_front["params"].is_monotonic_increasing)
    (40, True)
    """

    def __init__(
        self,
        space: Any,
        scorer: Any,
        sampler: BaseSampler,
        n_trials: int = 100,
        batch_size: int = 10,
        constraints: Any = None,
        objectives: Any = ("score",),
        task: str | None = None,
        device: str | None = None,
        initial: list[Any] | None = None,
        exclude: list[Any] | None = None,
        storage: Any = None,
        study_name: str = "search",
        max_tries: int = 20,
        random_state: Any = None,
    ) -> None:
        self.space = space
        self.scorer = scorer
        self.sampler = sampler
        self.n_trials = n_trials
        self.batch_size = batch_size
        self.constraints = constraints
        self.objectives = objectives
        self.task = task
        self.device = device
        self.initial = initial
        self.exclude = exclude
        self.storage = storage
        self.study_name = study_name
        self.max_tries = max_tries
        self.random_state = random_state

    # ------------------------------------------------------------------ setup
    def _check_params(self) -> list[str]:
        from libranas._validation import check_int, check_random_state

        for name, low in (("n_trials", 1), ("batch_size", 1), ("max_tries", 1)):
            try:
                check_int(getattr(self, name), name, low=low)
            except TypeError as exc:
                raise ValueError(str(exc)) from None
        check_random_state(self.random_state)
        if not isinstance(self.sampler, BaseSampler):
            raise TypeError(f"sampler must be a BaseSampler, got {type(self.sampler).__name__}")
        objectives = (
            [self.objectives] if isinstance(self.objectives, str) else list(self.objectives)
        )
        if not objectives or len(set(objectives)) != len(objectives):
            raise ValueError(f"objectives must be distinct names, got {self.objectives!r}")
        bad = [o for o in objectives if o != "score" and o not in METRICS]
        if bad:
            raise ValueError(f"unknown objective(s) {bad}; known: {['score', *METRICS]}")
        if objectives[0] != "score":
            raise ValueError(f"objectives must start with 'score', got {objectives}")
        return objectives

    def _initial(self, space: Any, constraints: Any) -> list[Any]:
        initial = [space.validate(a) for a in (self.initial or [])]
        if len(set(initial)) != len(initial):
            raise ValueError("the initial architectures contain duplicates")
        if len(initial) > self.n_trials:
            raise ValueError(
                f"{len(initial)} initial architectures exceed n_trials={self.n_trials}"
            )
        if constraints is not None and initial:
            bad = [a for a, ok in zip(initial, constraints.mask(initial), strict=True) if not ok]
            if bad:
                raise ValueError(
                    f"{len(bad)} initial architecture(s) violate the constraints "
                    f"{constraints!r}, e.g. {bad[0]!r}"
                )
        return initial

    def _config(
        self, seed: int, objectives: list[str], constraints: Any, initial: list[Any], excluded: set
    ) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "space": repr(self.space_),
            "sampler": self.sampler.get_config(),
            "batch_size": int(self.batch_size),
            "seed": seed,
            "objectives": objectives,
            "task": self.task,
            "device": self.device,
            "constraints": constraints.to_dict() if constraints is not None else None,
            "initial": jsonable(initial),
            "exclude": jsonable(sorted(excluded, key=repr)),
        }

    def _open_study(self, store: Any, config: dict[str, Any]) -> list[dict[str, Any]]:
        """The stored batch records of the study (after checking its settings), or []."""
        if store is None:
            return []
        records = store.read(self.study_name)
        if not records:
            store.append(self.study_name, {"kind": "config", "config": config})
            return []
        stored = records[0].get("config") if records[0].get("kind") == "config" else None
        if stored is None or stored.get("format") != FORMAT:
            raise ValueError(
                f"study {self.study_name!r} in {store!r} was not written by this version's "
                "search loop (no matching config record); use another study_name or storage"
            )
        if stored != config:
            diff = sorted(k for k in set(stored) | set(config) if stored.get(k) != config.get(k))
            raise ValueError(
                f"study {self.study_name!r} in {store!r} was run with different settings "
                f"({', '.join(diff)}); use another study_name or storage"
            )
        return records[1:]

    def _seed(self, store: Any) -> int:
        from libranas._validation import as_seed

        if self.random_state is None and store is not None:
            records = store.read(self.study_name)
            if records and records[0].get("kind") == "config":
                seed = records[0]["config"].get("seed")
                if seed is not None:
                    return int(seed)
        return as_seed(self.random_state)

    # ------------------------------------------------------------------ one batch
    def _classify(self, state: _State, proposals: list[Proposal], n_given: int) -> list[Evaluation]:
        archs = [p.arch for p in proposals]
        ok = state.constraints.mask(archs) if state.constraints is not None else None
        evals, fresh = [], set()
        for i, p in enumerate(proposals):
            if ok is not None and not ok[i]:
                status = "violates"
            elif p.arch in state.cache or p.arch in fresh:
                status = "cached"
            elif p.arch in state.excluded and i >= n_given:
                status = "excluded"
            else:
                status = "new"
                fresh.add(p.arch)
            evals.append(Evaluation(p.arch, status, info=p.info, handle=p.handle))
        return evals

    def _score(self, state: _State, evals: list[Evaluation]) -> float:
        """Score the new evaluations in one call, fill every scored one; returns the time."""
        new = [ev for ev in evals if ev.status == "new"]
        start = time.perf_counter()
        if new:
            archs = [ev.arch for ev in new]
            scores = self._score_fn(archs)
            metrics = {m: fn(archs) for m, fn in self._metric_fns.items()}
            for i, ev in enumerate(new):
                ev.score = float(scores[i])
                ev.metrics = {m: float(v[i]) for m, v in metrics.items()}
        seconds = time.perf_counter() - start
        done = {ev.arch: ev for ev in new}
        for ev in evals:
            if ev.status == "cached":
                src = done.get(ev.arch)
                ev.score, ev.metrics = (
                    (src.score, dict(src.metrics)) if src else state.cache[ev.arch]
                )
        return seconds

    @staticmethod
    def _record(
        generation: int, evals: list[Evaluation], n_given: int, seconds: float, notes: dict
    ) -> dict:
        items = []
        for i, ev in enumerate(evals):
            item = {
                "arch": jsonable(ev.arch),
                "status": ev.status,
                "score": ev.score,
                "metrics": ev.metrics,
                "info": ev.info,
            }
            if i < n_given:
                item["given"] = True
            items.append(item)
        return {
            "kind": "batch",
            "generation": generation,
            "score_seconds": seconds,
            "evaluations": items,
            "notes": notes,
        }

    def _check_record(self, store: Any, number: int, rec: Any) -> None:
        """A stored batch record has the shape the loop writes (else one clear error)."""
        problem = None
        if not isinstance(rec, dict) or rec.get("kind") != "batch":
            problem = "is not a batch record"
        elif not isinstance(rec.get("generation"), int) or not isinstance(
            rec.get("evaluations"), list
        ):
            problem = "lacks its generation or evaluations"
        else:
            keys = {"arch", "status", "score", "metrics", "info"}
            if any(not isinstance(it, dict) or not keys <= set(it) for it in rec["evaluations"]):
                problem = f"has an evaluation without one of {sorted(keys)}"
        if problem:
            raise ValueError(
                f"study {self.study_name!r} in {store!r}: record {number + 1} {problem}; the "
                "storage was edited or written by something else: give another storage, or "
                "delete that record and the ones after it to resume from the records before"
            )

    def _replay(self, state: _State, records: list[dict[str, Any]]) -> None:
        for rec in records:
            evals = []
            for item in rec["evaluations"]:
                ev = Evaluation(
                    self.space_.validate(item["arch"]),
                    item["status"],
                    float(item["score"]),
                    dict(item["metrics"]),
                    dict(item["info"]),
                )
                state.record(ev, rec["generation"])
                state.n_asked += not item.get("given", False)
                evals.append(ev)
            self.sampler.tell(evals, rec.get("notes", {}))

    # ------------------------------------------------------------------ the loop
    def run(self) -> SearchResult:
        """Run (or resume) the search; returns and stores the result in ``result_``."""
        from libranas.spaces import get_space

        start = time.perf_counter()
        objectives = self._check_params()
        self.space_ = space = get_space(self.space)
        self._score_fn = as_scorer(self.scorer)
        constraints = resolve_constraints(self.constraints, space)
        self._metric_fns = metric_functions(space, objectives[1:], self.task, self.device)
        initial = self._initial(space, constraints)
        excluded = {space.validate(a) for a in (self.exclude or [])}
        check_budget(self.n_trials, space, constraints, "n_trials")
        store = get_storage(self.storage)
        if store is None:
            return self._run(start, objectives, space, constraints, initial, excluded, None)
        # one search per storage: a second one is refused before it reads anything
        with store.writer():
            return self._run(start, objectives, space, constraints, initial, excluded, store)

    def _run(
        self,
        start: float,
        objectives: list[str],
        space: Any,
        constraints: Any,
        initial: list[Any],
        excluded: set,
        store: Any,
    ) -> SearchResult:
        self.seed_ = seed = self._seed(store)
        config = self._config(seed, objectives, constraints, initial, excluded)
        records = self._open_study(store, config)
        for number, rec in enumerate(records):
            self._check_record(store, number, rec)
        state = _State(space, objectives, constraints, excluded)
        self.sampler.start(state)
        self._replay(state, records)
        self.resumed_from_ = generation = len(records)
        if state.n_scored > self.n_trials:
            raise ValueError(
                f"study {self.study_name!r} already holds {state.n_scored} scored "
                f"architectures, more than n_trials={self.n_trials}"
            )
        score_seconds = 0.0
        while state.n_scored < self.n_trials:
            if state.n_asked >= self.max_tries * self.n_trials:
                warnings.warn(
                    f"the search stopped after {state.n_asked} proposals with "
                    f"{state.n_scored} distinct architectures scored (n_trials={self.n_trials}): "
                    "the sampler keeps proposing scored or constrained-out architectures",
                    RuntimeWarning,
                    stacklevel=user_stacklevel(),
                )
                break
            given = [Proposal(a) for a in initial] if generation == 0 else []
            want = self.sampler.batch_size(generation, int(self.batch_size))
            # the initial architectures open the first batch; k more are asked
            k = min(want, self.n_trials - state.n_scored) - len(given)
            state.pending = {p.arch for p in given}
            rng = np.random.default_rng([seed, generation])
            proposals = given + (self.sampler.ask(k, rng, state) if k > 0 else [])
            state.pending = set()
            evals = self._classify(state, proposals, len(given))
            seconds = self._score(state, evals)
            score_seconds += seconds
            for ev in evals:
                state.record(ev, generation)
            state.n_asked += len(proposals) - len(given)
            notes: dict[str, Any] = {}
            self.sampler.tell(evals, notes)
            if store is not None:
                record = self._record(generation, evals, len(given), seconds, notes)
                store.append(self.study_name, record)
            generation += 1
        self.result_ = self._result(state, objectives, start, score_seconds)
        return self.result_

    def _result(
        self, state: _State, objectives: list[str], start: float, score_seconds: float
    ) -> SearchResult:
        extra = objectives[1:]
        info_cols = list(self.sampler.info_defaults)
        rows = []
        for r in state.rows:
            row = {k: v for k, v in r.items() if k != "info"}
            for key, default in self.sampler.info_defaults.items():
                row[key] = r["info"].get(key, default)
            rows.append(row)
        columns = ["order", "arch", "score", *extra, "generation", "cached", *info_cols]
        history = pd.DataFrame(rows, columns=columns)
        scores = history["score"].to_numpy(dtype=float)
        # NaN or -inf: the scorer had nothing to go on (every proxy failed); never the best
        usable = ~np.isnan(scores) & (scores > -np.inf)
        if not usable.any():
            raise ValueError(
                "every scored architecture got a NaN or -inf score (or none was scored): the "
                "scorer is failing, e.g. every proxy failed on every architecture"
            )
        best = int(np.flatnonzero(usable)[np.argmax(scores[usable])])
        return SearchResult(
            best_arch=history["arch"].iloc[best],
            best_score=float(scores[best]),
            history=history,
            n_scored=int((~history["cached"]).sum()),
            population=list(self.sampler.population),
            seconds=time.perf_counter() - start,
            score_seconds=score_seconds,
            pareto_front=pareto_front(history, extra) if extra else None,
        )
