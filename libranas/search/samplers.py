"""Samplers: the strategy of a search, behind a narrow ask-and-tell interface.

The loop (:class:`~libranas.search.SearchLoop`) owns everything that is the same for every
strategy: batching, constraints, the duplicate cache, storage, resuming and timing. A sampler
only proposes architectures and learns from their outcomes:

- ``start(context)``: begin with no history (``context``: the space, the objectives, and
  questions about architectures the loop can answer);
- ``ask(n, rng, context)``: ``n`` :class:`Proposal` objects for the next batch, drawing every
  random choice from ``rng`` (a fresh :class:`numpy.random.Generator` per batch, derived from
  the search's seed and the batch number);
- ``tell(evaluations, notes)``: the :class:`Evaluation` of each proposal of the batch, in
  order (``status`` ``"new"``, ``"cached"``, ``"violates"`` or ``"excluded"``). ``notes`` is
  a JSON-serialisable dict stored with the batch: a sampler may write state there that
  ``tell`` alone cannot rebuild (e.g. a cache Optuna's NSGA-II keeps in the study), and reads
  it back when the batch is replayed.

Because every batch draws from its own seeded generator and a sampler's state is a function
of what it was told, replaying the stored evaluations through ``tell`` (with no ``ask``)
rebuilds the state exactly: a resumed search continues as an uninterrupted one would.
``tell`` therefore also receives evaluations of architectures it never proposed (the initial
architectures, and the whole history on a resume), with ``handle=None``.

Samplers here: :class:`RandomSampler`, :class:`EvolutionSampler` (aging evolution);
:class:`~libranas.search.OptunaSampler` wraps Optuna's samplers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

__all__ = [
    "BaseSampler",
    "Evaluation",
    "EvolutionSampler",
    "Proposal",
    "RandomSampler",
    "SearchContext",
]

#: what the loop decided about a proposal
STATUSES = ("new", "cached", "violates", "excluded")


@dataclass
class Proposal:
    """An architecture a sampler proposes.

    Attributes
    ----------
    arch : object
        Canonical architecture (``space.validate``).
    info : dict
        Sampler-specific, JSON-serialisable facts kept in the storage and in the result's
        history columns (e.g. ``{"parent": 3}``); a sampler may complete it in ``tell``.
    handle : object
        In-process object of the sampler (e.g. an Optuna trial); never stored.
    """

    arch: Any
    info: dict[str, Any] = field(default_factory=dict)
    handle: Any = None


@dataclass
class Evaluation:
    """The outcome of one proposal, as told to the sampler and stored by the loop.

    Attributes
    ----------
    arch : object
        Canonical architecture.
    status : {"new", "cached", "violates", "excluded"}
        ``"new"``: scored now; ``"cached"``: scored before, its score reused; ``"violates"``:
        breaks the constraints, never scored; ``"excluded"``: in the search's ``exclude``
        list, never scored.
    score : float
        NaN unless ``status`` is ``"new"`` or ``"cached"`` (NaN also when the scorer failed).
    metrics : dict of str to float
        Extra objectives (``params``, ``flops``, ``latency``) of new and cached ones.
    info : dict
        The proposal's ``info``.
    order : int
        Position in the history (-1 for violating and excluded proposals).
    handle : object
        The proposal's handle, None when replayed from storage or not proposed.
    """

    arch: Any
    status: str
    score: float = float("nan")
    metrics: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    order: int = -1
    handle: Any = None

    @property
    def scored(self) -> bool:
        """True for ``"new"`` and ``"cached"`` outcomes (the architecture has a score)."""
        return self.status in ("new", "cached")


class SearchContext(Protocol):
    """What a sampler may ask of the loop."""

    space: Any
    objectives: list[str]

    def admissible(self, arch: Any) -> bool:
        """Whether ``arch`` satisfies the constraints."""

    def is_new(self, arch: Any) -> bool:
        """Whether ``arch`` was neither scored, excluded, nor already placed in this batch."""


class BaseSampler:
    """Interface of a search strategy (see the module docstring)."""

    #: name stored with the search's settings
    name = "base"
    #: default values of the sampler's history columns (e.g. ``{"parent": -1}``)
    info_defaults: dict[str, Any] = {}

    def get_config(self) -> dict[str, Any]:
        """The settings that define the strategy (stored; a resume must match them)."""
        return {"name": self.name}

    def batch_size(self, generation: int, default: int) -> int:
        """How many proposals batch ``generation`` should hold (the loop's batch size)."""
        return default

    def start(self, context: SearchContext) -> None:
        """Begin a search with no history."""

    def ask(self, n: int, rng: np.random.Generator, context: SearchContext) -> list[Proposal]:
        """``n`` proposals for the next batch; every random choice from ``rng``."""
        raise NotImplementedError

    def tell(self, evaluations: list[Evaluation], notes: dict[str, Any] | None = None) -> None:
        """Learn the outcomes of a batch (or of replayed / given architectures).

        ``notes``: the batch's stored notes (written by a live ``tell``, read on a replay).
        """

    @property
    def population(self) -> list[Any]:
        """The current population, for samplers that keep one (else empty)."""
        return []


def draw_new(
    context: SearchContext, rng: np.random.Generator, taken: set, tries: int
) -> Any | None:
    """A random admissible architecture that is new and not in ``taken``, or None after
    ``tries`` draws."""
    space = context.space
    for _ in range(tries):
        arch = space.validate(space.sample(1, rng)[0])
        if arch not in taken and context.admissible(arch) and context.is_new(arch):
            return arch
    return None


class RandomSampler(BaseSampler):
    """Uniform random search: each proposal a random new admissible architecture.

    Parameters
    ----------
    max_tries : int, default=1000
        Draws per proposal before giving up on finding a new admissible architecture (then
        the last draw is proposed as it is and the loop marks it cached / violating).

    Examples
    --------
    >>> from libranas.search import SearchLoop
    >>> res = SearchLoop("nb201", lambda archs: [a.count("conv") for a in archs],
    ...                  RandomSampler(), n_trials=30, random_state=0).run()
    >>> res.n_scored, bool(res.history["arch"].is_unique)
    (30, True)
    """

    name = "random"

    def __init__(self, max_tries: int = 1000) -> None:
        self.max_tries = max_tries

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "max_tries": int(self.max_tries)}

    def ask(self, n: int, rng: np.random.Generator, context: SearchContext) -> list[Proposal]:
        taken: set = set()
        out = []
        for _ in range(n):
            arch = draw_new(context, rng, taken, self.max_tries)
            if arch is None:  # exhausted: propose a draw anyway, the loop classifies it
                arch = context.space.validate(context.space.sample(1, rng)[0])
            taken.add(arch)
            out.append(Proposal(arch))
        return out


class EvolutionSampler(BaseSampler):
    """Aging (regularized) evolution, Real et al., "Regularized Evolution for Image Classifier
    Architecture Search", AAAI 2019.

    The first batch fills the population (``population`` architectures: the loop's initial
    ones, then random new ones). Each later proposal mutates the winner of a tournament of
    ``sample_size`` members drawn without replacement (one decision changed,
    :meth:`SearchSpace.mutate`). Every told architecture joins the population and the oldest
    members leave it, so it always holds the ``population`` newest.

    Parameters
    ----------
    population : int, default=50
    sample_size : int, default=10
        Tournament size.
    max_tries : int, default=100
        Mutations tried per child to find one that satisfies the constraints and is new (a
        new tournament every 10). When they all fail, a random new architecture is proposed
        (``parent=-1``); only when none can be drawn either (a nearly exhausted space) the
        first admissible child that was already scored (or proposed in this batch) is
        proposed: the loop reuses its score (``cached``).

    Notes
    -----
    *NaN scores* (e.g. a live proxy that failed): such a member never wins a tournament
    unless the whole tournament is NaN (then the first drawn member is the parent).

    Examples
    --------
    >>> from libranas.search import SearchLoop
    >>> def n_convs(archs):
    ...     return [a.count("conv_3x3") for a in archs]
    >>> res = SearchLoop("nb201", n_convs, EvolutionSampler(population=10, sample_size=3),
    ...                  n_trials=100, batch_size=5, random_state=0).run()
    >>> res.best_score
    6.0
    """

    name = "aging-evolution"
    info_defaults = {"parent": -1}

    def __init__(self, population: int = 50, sample_size: int = 10, max_tries: int = 100) -> None:
        self.population_size = population
        self.sample_size = sample_size
        self.max_tries = max_tries

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "population": int(self.population_size),
            "sample_size": int(self.sample_size),
            "max_tries": int(self.max_tries),
        }

    def batch_size(self, generation: int, default: int) -> int:
        return int(self.population_size) if generation == 0 else default

    def start(self, context: SearchContext) -> None:
        # (order, arch, score) of the members, oldest first
        self._members: deque = deque()
        self._last_scored: dict[Any, int] = {}

    @property
    def population(self) -> list[Any]:
        return [arch for _, arch, _ in self._members]

    def tell(self, evaluations: list[Evaluation], notes: dict[str, Any] | None = None) -> None:
        for ev in evaluations:
            if not ev.scored:
                continue
            self._members.append((ev.order, ev.arch, float(ev.score)))
            if ev.status == "new":
                self._last_scored[ev.arch] = ev.order
        while len(self._members) > self.population_size:
            self._members.popleft()

    def _tournament(self, rng: np.random.Generator) -> tuple[int, Any]:
        members = list(self._members)
        k = min(self.sample_size, len(members))
        drawn = rng.choice(len(members), size=k, replace=False)
        best = members[int(drawn[0])]
        for i in drawn:
            m = members[int(i)]
            if not np.isnan(m[2]) and (np.isnan(best[2]) or m[2] > best[2]):
                best = m
        return best[0], best[1]

    def _child(self, rng: np.random.Generator, context: SearchContext, taken: set) -> Proposal:
        space = context.space
        fallback = None
        parent, arch = self._tournament(rng)
        for attempt in range(self.max_tries):
            if attempt and attempt % 10 == 0:
                parent, arch = self._tournament(rng)
            child = space.validate(space.mutate(arch, rng))
            if not context.admissible(child):
                continue
            if child not in taken and context.is_new(child):
                return Proposal(child, {"parent": int(parent)})
            if fallback is None and (child in taken or child in self._last_scored):
                fallback = Proposal(child, {"parent": int(parent)})  # will reuse a score
        random_arch = draw_new(context, rng, taken, self.max_tries * 10)
        if random_arch is not None:
            return Proposal(random_arch, {"parent": -1})
        if fallback is None:
            raise RuntimeError(
                f"could not find a child satisfying the constraints in {self.max_tries} "
                "mutations nor a new random architecture (space exhausted?)"
            )
        return fallback

    def ask(self, n: int, rng: np.random.Generator, context: SearchContext) -> list[Proposal]:
        taken: set = set()
        out = []
        for _ in range(n):
            if self._members:
                proposal = self._child(rng, context, taken)
            else:  # the first batch: random members (after the loop's initial ones)
                arch = draw_new(context, rng, taken, self.max_tries * 10)
                if arch is None:
                    raise RuntimeError(
                        "could not draw a new architecture satisfying the constraints in "
                        f"{self.max_tries * 10} tries (space exhausted?)"
                    )
                proposal = Proposal(arch, {"parent": -1})
            taken.add(proposal.arch)
            out.append(proposal)
        return out
