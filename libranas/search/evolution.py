"""Aging (regularized) evolution and random search: the one loop with their samplers.

:class:`EvolutionarySearch` is :class:`~libranas.search.SearchLoop` with an
:class:`~libranas.search.EvolutionSampler` (Real et al., "Regularized Evolution for Image
Classifier Architecture Search", AAAI 2019); :class:`RandomSearch` the same loop with a
:class:`~libranas.search.RandomSampler`. Both keep the loop's storage format, so any of them
resumes exactly from its storage.
"""

from __future__ import annotations

from typing import Any

from libranas.search.loop import SearchLoop
from libranas.search.result import SearchResult
from libranas.search.samplers import EvolutionSampler, RandomSampler

__all__ = ["EvolutionarySearch", "RandomSearch", "SearchResult"]


class EvolutionarySearch:
    """Aging evolution over a search space, scored by a zero-cost scorer.

    Starting from ``population`` architectures (``initial_population`` first, then random
    ones, scored in one call), each generation produces ``batch_size`` children: for each,
    ``sample_size`` members of the population are drawn at random (without replacement), the
    best-scored one is mutated (one decision changed, :meth:`SearchSpace.mutate`). The whole
    generation is scored in **one** scorer call, the children join the population and the
    same number of the *oldest* members leave it. The search stops after ``cycles`` children.

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
        Children scored after the initial population; ``population + cycles`` architectures
        are scored in all (the search's ``n_trials``).
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
        members or children. May overlap ``initial_population``.
    storage : None, str, path or BaseStorage
        Where every generation is recorded (a path means a JSON-lines file); a search whose
        study is in the storage resumes from it (see :class:`~libranas.search.SearchLoop`).
    study_name : str, default="evolution"
        Name of the search inside the storage.
    max_tries : int, default=100
        Mutations tried per child (see :class:`~libranas.search.EvolutionSampler`).
    random_state : None, int, numpy RandomState or Generator
        Seed of every random choice. Same seed (and deterministic scorer), same search.

    Attributes
    ----------
    result_ : SearchResult
        Set by :meth:`run`; ``history`` has the columns ``order, arch, score, generation,
        cached, parent``.
    resumed_from_ : int
        Generations found in the storage when :meth:`run` started (0: fresh).

    Notes
    -----
    *Duplicates.* A child equal to an evaluated architecture is re-drawn, so the evaluated
    architectures are distinct and ``n_scored`` is ``population + cycles`` in a large space.

    *NaN scores* (e.g. a live proxy that failed) are kept in the history as NaN; such an
    architecture never wins a tournament (unless the whole sample is NaN) and is never
    returned as best.

    *Resuming.* A search killed at any point finishes, when run again on its storage, with
    exactly the result of an uninterrupted run (with a deterministic scorer). The stored
    settings (space, sizes, seed, constraints, initial population, exclusions) must match
    (``ValueError`` naming the difference); ``cycles`` may grow to extend a finished search.

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

    def _check_params(self) -> None:
        from libranas._validation import check_int

        for name, low in (
            ("population", 1),
            ("sample_size", 1),
            ("cycles", 0),
            ("batch_size", 1),
            ("max_tries", 1),
        ):
            try:
                check_int(getattr(self, name), name, low=low)
            except TypeError as exc:
                raise ValueError(str(exc)) from None
        n_initial = len(self.initial_population or [])
        if n_initial > self.population:
            raise ValueError(
                f"initial_population has {n_initial} architectures, more than "
                f"population={self.population}"
            )

    def run(self) -> SearchResult:
        """Run (or resume) the search; returns and stores :class:`SearchResult` in ``result_``."""
        self._check_params()
        loop = SearchLoop(
            self.space,
            self.scorer,
            EvolutionSampler(self.population, self.sample_size, self.max_tries),
            n_trials=self.population + self.cycles,
            batch_size=self.batch_size,
            constraints=self.constraints,
            initial=self.initial_population,
            exclude=self.exclude,
            storage=self.storage,
            study_name=self.study_name,
            random_state=self.random_state,
        )
        self.result_ = loop.run()
        self.resumed_from_ = loop.resumed_from_
        return self.result_


class RandomSearch:
    """Random search: score ``n_trials`` distinct random architectures in batches.

    Parameters
    ----------
    space : str or SearchSpace
    scorer : callable or object with ``predict``
    n_trials : int, default=100
        Distinct architectures scored (the initial ones included).
    batch_size : int, default=10
    constraints : Constraints, dict or None
    initial : list, optional
        Architectures scored first.
    exclude : list, optional
        Architectures never drawn.
    storage : None, str, path or BaseStorage
        The loop's storage (resumable).
    study_name : str, default="random"
    random_state : None, int, numpy RandomState or Generator

    Attributes
    ----------
    result_ : SearchResult
    resumed_from_ : int

    Examples
    --------
    >>> from libranas.search import RandomSearch
    >>> res = RandomSearch("nb201", lambda archs: [a.count("conv") for a in archs],
    ...                    n_trials=50, random_state=0).run()
    >>> res.n_scored, res.best_score >= 4
    (50, True)
    """

    def __init__(
        self,
        space: Any,
        scorer: Any,
        n_trials: int = 100,
        batch_size: int = 10,
        constraints: Any = None,
        initial: list[Any] | None = None,
        exclude: list[Any] | None = None,
        storage: Any = None,
        study_name: str = "random",
        random_state: Any = None,
    ) -> None:
        self.space = space
        self.scorer = scorer
        self.n_trials = n_trials
        self.batch_size = batch_size
        self.constraints = constraints
        self.initial = initial
        self.exclude = exclude
        self.storage = storage
        self.study_name = study_name
        self.random_state = random_state

    def run(self) -> SearchResult:
        """Run (or resume) the search; returns and stores the result in ``result_``."""
        loop = SearchLoop(
            self.space,
            self.scorer,
            RandomSampler(),
            n_trials=self.n_trials,
            batch_size=self.batch_size,
            constraints=self.constraints,
            initial=self.initial,
            exclude=self.exclude,
            storage=self.storage,
            study_name=self.study_name,
            random_state=self.random_state,
        )
        self.result_ = loop.run()
        self.resumed_from_ = loop.resumed_from_
        return self.result_
