"""Aging (regularized) evolution, Real et al., "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019, with batched scoring and a resumable state.

The loop, the scorer and the storage are separate pieces (as in Optuna): the loop only needs a
space (``sample``, ``mutate``, ``validate``), a scorer (any ``list_of_archs -> scores``), and
optionally a storage to persist its state after every generation.
"""

from __future__ import annotations

import json
import numbers
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from libranas.search.constraints import resolve_constraints
from libranas.search.scorers import as_scorer
from libranas.search.storage import get_storage

__all__ = ["EvolutionarySearch", "SearchResult"]


@dataclass
class SearchResult:
    """What a search returns.

    Attributes
    ----------
    best_arch : object
        The best-scored architecture ever evaluated (canonical form).
    best_score : float
        Its score.
    history : pandas.DataFrame
        One row per evaluated architecture, in evaluation order: ``order``, ``arch``,
        ``score``, ``generation``, ``parent`` (order of the parent, -1 for random ones) and
        ``cached`` (True for a duplicate whose score was reused instead of re-scored).
    n_scored : int
        Architectures sent to the scorer (rows with ``cached=False``).
    population : list
        The final population (oldest first).
    seconds : float
        Wall time of the search (this process; a resumed search counts only its own part).
    score_seconds : float
        Part of ``seconds`` spent inside the scorer.
    pareto_front : pandas.DataFrame or None
        Multi-objective searches: the non-dominated architectures (history columns).
    """

    best_arch: Any
    best_score: float
    history: pd.DataFrame
    n_scored: int
    population: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    score_seconds: float = 0.0
    pareto_front: pd.DataFrame | None = None

    def trajectory(self) -> pd.DataFrame:
        """Best score so far after each scored architecture: ``n_scored``, ``best_score``,
        ``best_arch``."""
        h = self.history[~self.history["cached"]]
        scores = h["score"].to_numpy(dtype=float)
        best_idx, best, rows = -1, -np.inf, []
        for i, s in enumerate(scores):
            if not np.isnan(s) and (best_idx < 0 or s > best):
                best_idx, best = i, s
            rows.append(
                (
                    i + 1,
                    best if best_idx >= 0 else np.nan,
                    h["arch"].iloc[best_idx] if best_idx >= 0 else None,
                )
            )
        return pd.DataFrame(rows, columns=["n_scored", "best_score", "best_arch"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (history as a list of records)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            out = frame.to_dict(orient="records")
            for r in out:
                r["arch"] = _jsonable(r["arch"])
            return out

        return {
            "best_arch": _jsonable(self.best_arch),
            "best_score": self.best_score,
            "n_scored": self.n_scored,
            "seconds": self.seconds,
            "score_seconds": self.score_seconds,
            "population": _jsonable(list(self.population)),
            "history": records(self.history),
            "pareto_front": None if self.pareto_front is None else records(self.pareto_front),
        }


def _best(history: list[dict[str, Any]]) -> tuple[Any, float]:
    best_arch, best_score = None, np.nan
    for rec in history:
        s = rec["score"]
        if not np.isnan(s) and (best_arch is None or s > best_score):
            best_arch, best_score = rec["arch"], s
    if best_arch is None:
        raise ValueError("every scored architecture got a NaN score; the scorer is failing")
    return best_arch, float(best_score)


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _jsonable(arch: Any) -> Any:
    """JSON form of an architecture (or a list of them); ``space.validate`` restores it."""
    if isinstance(arch, list):
        return [_jsonable(a) for a in arch]
    if hasattr(arch, "to_dict"):
        arch = arch.to_dict()
    return json.loads(json.dumps(arch))


class EvolutionarySearch:
    """Aging evolution over a search space, scored by a zero-cost scorer.

    Starting from ``population`` architectures (``initial_population`` first, then random
    ones), each generation produces ``batch_size`` children: for each, ``sample_size``
    members of the population are drawn at random (without replacement), the best-scored one
    is mutated (one decision changed, :meth:`SearchSpace.mutate`). The whole generation is
    scored in **one** scorer call, the children join the population and the same number of
    the *oldest* members leave it. The search stops after ``cycles`` children.

    Parameters
    ----------
    space : str or SearchSpace
    scorer : callable or object with ``predict``
        ``scorer(list_of_archs) -> scores`` (higher = better), e.g. a
        :class:`~libranas.search.TabularScorer`, a :class:`~libranas.search.LiveScorer`, a
        fitted pipeline, or any function.
    population : int, default=50
        Population size (also the number of architectures scored first).
    sample_size : int, default=10
        Tournament size.
    cycles : int, default=450
        Children produced after the initial population; ``population + cycles`` architectures
        are evaluated in all.
    batch_size : int, default=10
        Children per generation (scored together).
    constraints : Constraints, dict or None
        Resource bounds (:class:`~libranas.search.Constraints`, or its keyword arguments).
        Architectures that violate them are discarded *before* scoring and never appear in the
        history or the result.
    initial_population : list, optional
        Architectures to start from (at most ``population``; e.g. already labelled ones).
        One that violates the constraints is a ``ValueError``.
    exclude : list, optional
        Architectures evaluated elsewhere (e.g. by an earlier search): never drawn as random
        members or children (treated like already evaluated ones). May overlap
        ``initial_population``.
    storage : str, path or BaseStorage, optional
        Where the state is saved after every generation (a path means a JSON-lines file). A
        search whose study already exists in the storage resumes from it.
    study_name : str, default="evolution"
        Name of the search inside the storage.
    max_tries : int, default=100
        Mutations tried to find a child that satisfies the constraints and was not evaluated
        before (a new tournament every 10). When they all fail, a random unseen architecture
        is drawn instead (``parent=-1``); only when none can be drawn either (a nearly
        exhausted space) an already evaluated child is accepted: its score is reused, it is
        not re-scored (``cached=True`` in the history).
    random_state : int, numpy Generator or None
        Seed of every random choice. Same seed (and deterministic scorer), same search.

    Attributes
    ----------
    result_ : SearchResult
        Set by :meth:`run`.
    resumed_from_ : int
        Number of generations found in the storage when :meth:`run` started (0: fresh).

    Notes
    -----
    *Duplicates.* A child equal to an evaluated architecture is re-drawn (see
    ``max_tries``), so the evaluated architectures are distinct and ``n_scored`` is exactly
    ``population + cycles`` in a large space.

    *NaN scores* (e.g. a live proxy that failed) are kept in the history as NaN; such an
    architecture never wins a tournament (unless the whole sample is NaN: then the first
    drawn member is the parent) and is never returned as best.

    *Resuming.* The state saved after each generation is the new history rows (architecture,
    score, parent), the population and the random generator's state. :meth:`run` on a storage
    holding the study replays it and continues, so a search killed at any point finishes with
    exactly the result of an uninterrupted run (with a deterministic scorer). The stored
    settings (space, sizes, seed, constraints, initial population) must match (``ValueError``
    naming the difference); ``cycles`` may grow to extend a finished search.

    Examples
    --------
    >>> from libranas.search import EvolutionarySearch
    >>> def n_convs(archs):  # a toy scorer: number of 3x3 convolutions
    ...     return [a.count("conv_3x3") for a in archs]
    >>> evo = EvolutionarySearch("nb201", n_convs, population=10, sample_size=3, cycles=90,
    ...                          batch_size=5, random_state=0)
    >>> res = evo.run()
    >>> res.best_score, res.n_scored
    (6.0, 100)
    >>> res.best_arch.count("conv_3x3")
    6
    """

    def __init__(
        self,
        space: Any,
        scorer: Any,
        population: int = 50,
        sample_size: int = 10,
        cycles: int = 450,
        batch_size: int = 10,
        constraints: Any = None,
        initial_population: list[Any] | None = None,
        exclude: list[Any] | None = None,
        storage: Any = None,
        study_name: str = "evolution",
        max_tries: int = 100,
        random_state: Any = None,
    ) -> None:
        self.space = space
        self.scorer = scorer
        self.population = population
        self.sample_size = sample_size
        self.cycles = cycles
        self.batch_size = batch_size
        self.constraints = constraints
        self.initial_population = initial_population
        self.exclude = exclude
        self.storage = storage
        self.study_name = study_name
        self.max_tries = max_tries
        self.random_state = random_state

    # ------------------------------------------------------------------ setup
    def _check_params(self) -> None:
        for name, low in (
            ("population", 1),
            ("sample_size", 1),
            ("cycles", 0),
            ("batch_size", 1),
            ("max_tries", 1),
        ):
            v = getattr(self, name)
            if not _is_int(v) or v < low:
                raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
        rs = self.random_state
        if not (rs is None or _is_int(rs) or isinstance(rs, np.random.Generator)):
            raise TypeError(
                f"random_state must be None, an int or a numpy Generator, got {type(rs).__name__}"
            )
        if _is_int(rs) and rs < 0:
            raise ValueError(f"random_state must be >= 0, got {rs}")

    def _config(self, space: Any, constraints: Any, initial: list[Any]) -> dict[str, Any]:
        return {
            "algorithm": "aging-evolution",
            "space": repr(space),
            "population": int(self.population),
            "sample_size": int(self.sample_size),
            "batch_size": int(self.batch_size),
            "max_tries": int(self.max_tries),
            "seed": int(self.random_state) if _is_int(self.random_state) else None,
            "constraints": constraints.to_dict() if constraints is not None else None,
            "initial_population": _jsonable(initial),
            "exclude": _jsonable(sorted(self._exclude, key=repr)),
        }

    # ------------------------------------------------------------------ helpers
    def _ok(self, arch: Any) -> bool:
        return self._constraints_ is None or bool(self._constraints_.mask([arch])[0])

    def _random_arch(self, rng: np.random.Generator, seen: set) -> Any:
        """A random architecture satisfying the constraints and not evaluated yet."""
        space = self.space_
        for _ in range(self.max_tries * 10):
            arch = space.validate(space.sample(1, rng)[0])
            if self._ok(arch) and arch not in seen:
                return arch
        raise RuntimeError(
            f"could not draw a new architecture satisfying the constraints in "
            f"{self.max_tries * 10} tries (space exhausted?)"
        )

    def _child(
        self, rng: np.random.Generator, pop: deque, history: list[dict], seen: set, scored: dict
    ) -> tuple[Any, int, bool]:
        """An admissible child: ``(child, parent order, already scored)``.

        Mutates the tournament winner; after every 10 failed mutations (child violating the
        constraints or already evaluated) a new tournament picks another parent. After
        ``max_tries`` failures, a random unseen architecture (parent -1); if none can be
        drawn either, an already scored child is accepted.
        """
        space = self.space_
        fallback = None
        parent = self._tournament(rng, pop, history)
        for attempt in range(self.max_tries):
            if attempt and attempt % 10 == 0:
                parent = self._tournament(rng, pop, history)
            child = space.validate(space.mutate(history[parent]["arch"], rng))
            if not self._ok(child):
                continue
            if child not in seen:
                return child, parent, False
            if fallback is None and child in scored:
                fallback = (child, parent)
        try:
            return self._random_arch(rng, seen), -1, False
        except RuntimeError:
            if fallback is None:
                raise
        return fallback[0], fallback[1], True

    def _tournament(self, rng: np.random.Generator, pop: deque, history: list[dict]) -> int:
        members = list(pop)
        k = min(self.sample_size, len(members))
        drawn = rng.choice(len(members), size=k, replace=False)
        best, best_score = members[int(drawn[0])], np.nan
        for i in drawn:
            order = members[int(i)]
            s = history[order]["score"]
            if not np.isnan(s) and (np.isnan(best_score) or s > best_score):
                best, best_score = order, s
        return best

    def _score(self, archs: list[Any]) -> np.ndarray:
        start = time.perf_counter()
        scores = self._score_fn(archs)
        self._score_seconds += time.perf_counter() - start
        return scores

    def _save(self, generation: int, new: list[dict], pop: deque, rng: np.random.Generator) -> None:
        if self._storage is None:
            return
        self._storage.append(
            self.study_name,
            {
                "kind": "generation",
                "generation": generation,
                "new": [
                    [_jsonable(r["arch"]), float(r["score"]), int(r["parent"]), bool(r["cached"])]
                    for r in new
                ],
                "population": [int(o) for o in pop],
                "rng": rng.bit_generator.state,
            },
        )

    # ------------------------------------------------------------------ the loop
    def run(self) -> SearchResult:
        """Run (or resume) the search; returns and stores :class:`SearchResult` in ``result_``."""
        from libranas.spaces import get_space

        start = time.perf_counter()
        self._check_params()
        self.space_ = space = get_space(self.space)
        self._score_fn = as_scorer(self.scorer)
        self._score_seconds = 0.0
        self._constraints_ = resolve_constraints(self.constraints, space)
        self._storage = get_storage(self.storage)
        initial = [space.validate(a) for a in (self.initial_population or [])]
        if len(initial) > self.population:
            raise ValueError(
                f"initial_population has {len(initial)} architectures, more than "
                f"population={self.population}"
            )
        if len(set(initial)) != len(initial):
            raise ValueError("initial_population contains duplicate architectures")
        if self._constraints_ is not None:
            bad = [
                a for a, ok in zip(initial, self._constraints_.mask(initial), strict=True) if not ok
            ]
            if bad:
                raise ValueError(
                    f"{len(bad)} architecture(s) of initial_population violate the constraints "
                    f"{self._constraints_!r}, e.g. {bad[0]!r}"
                )
        self._exclude = {space.validate(a) for a in (self.exclude or [])}
        config = self._config(space, self._constraints_, initial)
        rng = (
            self.random_state
            if isinstance(self.random_state, np.random.Generator)
            else np.random.default_rng(self.random_state)
        )

        history: list[dict[str, Any]] = []
        pop: deque = deque()
        generation = 0
        records = self._storage.read(self.study_name) if self._storage is not None else []
        self.resumed_from_ = 0
        if records:
            stored = records[0].get("config") if records[0].get("kind") == "config" else None
            if stored is None:
                raise ValueError(
                    f"study {self.study_name!r} in {self._storage!r} has no config record"
                )
            if stored != config:
                diff = sorted(
                    k for k in set(stored) | set(config) if stored.get(k) != config.get(k)
                )
                raise ValueError(
                    f"study {self.study_name!r} in {self._storage!r} was run with different "
                    f"settings ({', '.join(diff)}); use another study_name or storage"
                )
            for rec in records[1:]:
                for arch, score, parent, cached in rec["new"]:
                    history.append(
                        {
                            "order": len(history),
                            "arch": space.validate(arch),
                            "score": float(score),
                            "generation": rec["generation"],
                            "parent": parent,
                            "cached": cached,
                        }
                    )
                pop = deque(rec["population"])
                rng.bit_generator.state = rec["rng"]
                generation = rec["generation"] + 1
            self.resumed_from_ = generation
        elif self._storage is not None:
            self._storage.append(self.study_name, {"kind": "config", "config": config})

        seen = {r["arch"] for r in history} | self._exclude
        cached_scores = {r["arch"]: r["score"] for r in history if not r["cached"]}

        if generation == 0:  # the initial population
            archs = list(initial)
            seen.update(archs)  # (initial members may be in exclude: they are scored anyway)
            while len(archs) < self.population:
                arch = self._random_arch(rng, seen)
                archs.append(arch)
                seen.add(arch)
            scores = self._score(archs)
            new = []
            for arch, s in zip(archs, scores, strict=True):
                rec = {
                    "order": len(history),
                    "arch": arch,
                    "score": float(s),
                    "generation": 0,
                    "parent": -1,
                    "cached": False,
                }
                history.append(rec)
                new.append(rec)
                pop.append(rec["order"])
                cached_scores[arch] = float(s)
            self._save(0, new, pop, rng)
            generation = 1

        n_children = len(history) - self.population
        if n_children > self.cycles:
            raise ValueError(
                f"study {self.study_name!r} already holds {n_children} children, more than "
                f"cycles={self.cycles}"
            )
        while n_children < self.cycles:
            k = min(self.batch_size, self.cycles - n_children)
            children: list[tuple[Any, int, bool]] = []
            for _ in range(k):
                child, parent, dup = self._child(rng, pop, history, seen, cached_scores)
                seen.add(child)
                children.append((child, parent, dup))
            to_score = [c for c, _, dup in children if not dup]
            scores = iter(self._score(to_score) if to_score else [])
            new = []
            for child, parent, dup in children:
                s = cached_scores[child] if dup else float(next(scores))
                rec = {
                    "order": len(history),
                    "arch": child,
                    "score": s,
                    "generation": generation,
                    "parent": parent,
                    "cached": dup,
                }
                if not dup:
                    cached_scores[child] = s
                history.append(rec)
                new.append(rec)
                pop.append(rec["order"])
            while len(pop) > self.population:
                pop.popleft()
            self._save(generation, new, pop, rng)
            generation += 1
            n_children += k

        best_arch, best_score = _best(history)
        frame = pd.DataFrame(
            history, columns=["order", "arch", "score", "generation", "parent", "cached"]
        )
        self.result_ = SearchResult(
            best_arch=best_arch,
            best_score=best_score,
            history=frame,
            n_scored=int((~frame["cached"]).sum()),
            population=[history[o]["arch"] for o in pop],
            seconds=time.perf_counter() - start,
            score_seconds=self._score_seconds,
        )
        return self.result_
