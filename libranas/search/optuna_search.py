"""Architecture search with Optuna samplers (TPE, NSGA-II, random, ...) behind the one loop.

:class:`OptunaSampler` adapts an Optuna study to the ask-and-tell interface of
:mod:`libranas.search.samplers`: ``ask`` asks trials and turns each into an architecture with
the space's :meth:`~libranas.spaces.SearchSpace.suggest` (one categorical parameter per
decision, so every space with ``suggest`` works); ``tell`` tells each trial its outcome
(``"violates"`` and ``"excluded"`` proposals as ``PRUNED``, a NaN score as ``FAIL``, a
duplicate its cached score), and adds the architectures it never proposed (the initial
ones, or the whole history on a resume) as finished trials
(``study.add_trial(optuna.trial.create_trial(params=space.trial_params(a),
distributions=space.trial_distributions(a), ...))``).

Resuming is exact: the Optuna sampler is created anew for every batch, seeded from the
batch's generator, and the study is rebuilt trial by trial (parameters, values, states and
the sampler's system attributes, e.g. NSGA-II's generation) from the loop's storage, so the
next batch sees the same study and the same seed as in an uninterrupted run.

Optuna is imported lazily (inside the functions).
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np

from libranas.search.loop import SearchLoop
from libranas.search.result import SearchResult, jsonable
from libranas.search.samplers import BaseSampler, Evaluation, Proposal, SearchContext

__all__ = ["OBJECTIVES", "OptunaSampler", "OptunaSearch", "suggest_architecture"]

#: objective name -> direction
OBJECTIVES = {
    "score": "maximize",
    "params": "minimize",
    "flops": "minimize",
    "latency": "minimize",
}
#: user attribute marking a study libranas created in ``study_storage`` (and may rebuild)
_MIRROR_ATTR = "libranas_mirror"


def _import_optuna() -> Any:
    from libranas._optional import require

    return require("optuna", "Optuna searches")


def suggest_architecture(trial: Any, space: Any) -> Any:
    """Suggest one architecture of ``space`` through an Optuna ``trial`` (define-by-run).

    The space's :meth:`~libranas.spaces.SearchSpace.suggest`, canonicalised
    (``space.validate``); a space without it raises a ``ValueError``.

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
    try:
        return space.validate(space.suggest(trial))
    except NotImplementedError as exc:
        raise ValueError(f"no Optuna suggestion rule: {exc}") from None


def _resolve_storage(storage: Any) -> Any:
    """None, an Optuna storage, an RDB URL, or a journal file path."""
    if storage is None or not isinstance(storage, (str, os.PathLike)):
        return storage
    text = os.fspath(storage)
    if "://" in text:
        return text  # RDB URL, e.g. sqlite:///search.db
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(text))


class OptunaSampler(BaseSampler):
    """An Optuna sampler behind the loop's ask-and-tell interface.

    Parameters
    ----------
    sampler : {"tpe", "nsga2", "random"} or callable, default="tpe"
        ``"tpe"``: ``TPESampler(multivariate=True, constant_liar=True)`` (the liar keeps the
        trials of one batch apart). ``"nsga2"``: ``NSGAIISampler(population_size=
        max(2, population_size))``. ``"random"``: ``RandomSampler``. A callable
        ``seed -> optuna sampler`` for any other (it is called once per batch with the batch's
        seed; a sampler *instance* cannot be re-seeded, so it is refused).
    population_size : int, default=10
        NSGA-II's population (the loop's batch size in :class:`OptunaSearch`).
    study_storage : None, str, path or optuna storage
        Where the Optuna study is also written, to inspect it with Optuna's tools (a string
        with ``://`` is an RDB URL, any other path a journal file). The study is rebuilt there
        on every run from the loop's storage; an existing study of that name that libranas
        did not create is an error. None: in memory only.
    study_name : str, default="libranas-search"
        Name of the study in ``study_storage``.

    Attributes
    ----------
    study_ : optuna.Study
        The study (after the loop started).

    Examples
    --------
    >>> from libranas.search import SearchLoop
    >>> res = SearchLoop("darts", lambda archs: [0.0] * len(archs), OptunaSampler("random"),
    ...                  n_trials=4, batch_size=2, random_state=0).run()
    >>> res.n_scored, list(res.history["trial"])
    (4, [0, 1, 2, 3])
    """

    name = "optuna"
    info_defaults = {"trial": -1}

    def __init__(
        self,
        sampler: Any = "tpe",
        population_size: int = 10,
        study_storage: Any = None,
        study_name: str = "libranas-search",
    ) -> None:
        self.sampler = sampler
        self.population_size = population_size
        self.study_storage = study_storage
        self.study_name = study_name

    def get_config(self) -> dict[str, Any]:
        self._check()
        s = self.sampler
        kind = s if isinstance(s, str) else f"{getattr(s, '__module__', '')}.{s.__qualname__}"
        config = {"name": self.name, "sampler": kind}
        if s == "nsga2":
            config["population_size"] = int(self.population_size)
        return config

    def _check(self) -> None:
        optuna = _import_optuna()
        s = self.sampler
        if isinstance(s, optuna.samplers.BaseSampler):
            raise TypeError(
                "pass a callable seed -> sampler (e.g. lambda seed: optuna.samplers."
                "CmaEsSampler(seed=seed)) instead of a sampler instance: the loop re-seeds "
                "the sampler for every batch so that a resumed search is exact"
            )
        if isinstance(s, str) and s not in ("tpe", "nsga2", "random"):
            raise ValueError(f"unknown sampler {s!r}; use 'tpe', 'nsga2', 'random' or a callable")
        if not isinstance(s, str) and not callable(s):
            raise TypeError(f"sampler must be a name or a callable, got {type(s).__name__}")

    def _make(self, seed: int) -> Any:
        optuna = _import_optuna()
        s = self.sampler
        if s == "tpe":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)
        if s == "nsga2":
            return optuna.samplers.NSGAIISampler(
                seed=seed, population_size=max(2, int(self.population_size))
            )
        if s == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        return s(seed)

    def _create_study(self, directions: list[str]) -> Any:
        optuna = _import_optuna()
        storage = _resolve_storage(self.study_storage)
        if storage is None:
            return optuna.create_study(directions=directions)
        try:
            old = optuna.load_study(study_name=self.study_name, storage=storage)
        except KeyError:
            old = None
        if old is not None:
            if not old.user_attrs.get(_MIRROR_ATTR):
                raise ValueError(
                    f"study {self.study_name!r} already exists in {self.study_storage!r} and "
                    "was not created by libranas; use another study_name"
                )
            optuna.delete_study(study_name=self.study_name, storage=storage)
        study = optuna.create_study(
            storage=storage, study_name=self.study_name, directions=directions
        )
        study.set_user_attr(_MIRROR_ATTR, True)
        return study

    def start(self, context: SearchContext) -> None:
        self._check()
        self._space = context.space
        self._objectives = list(context.objectives)
        self.study_ = self._create_study([OBJECTIVES[o] for o in self._objectives])
        self._n_trials = 0
        self._study_attrs: dict[str, Any] = {}

    def ask(self, n: int, rng: np.random.Generator, context: SearchContext) -> list[Proposal]:
        from libranas._validation import as_seed

        self.study_.sampler = self._make(as_seed(rng))
        out = []
        for _ in range(n):
            trial = self.study_.ask()
            self._n_trials += 1
            arch = suggest_architecture(trial, self._space)
            out.append(Proposal(arch, {"trial": trial.number}, handle=trial))
        return out

    def _values(self, ev: Evaluation) -> tuple[Any, list[float] | None]:
        optuna = _import_optuna()
        state = optuna.trial.TrialState
        if not ev.scored:
            return state.PRUNED, None
        values = [ev.score] + [ev.metrics[m] for m in self._objectives[1:]]
        if any(np.isnan(v) for v in values):
            return state.FAIL, None
        return state.COMPLETE, values

    def tell(self, evaluations: list[Evaluation], notes: dict[str, Any] | None = None) -> None:
        optuna = _import_optuna()
        study = self.study_
        told = []
        # asked trials first (their numbers are taken); replayed ones carry their number, so
        # they are added in the order the uninterrupted run created them
        order = sorted(
            range(len(evaluations)),
            key=lambda i: (evaluations[i].handle is None, evaluations[i].info.get("trial", i)),
        )
        for ev in (evaluations[i] for i in order):
            state, values = self._values(ev)
            attrs = {"arch": json.dumps(jsonable(ev.arch)), "status": ev.status}
            if ev.handle is not None:
                for key, value in attrs.items():
                    ev.handle.set_user_attr(key, value)
                study.tell(ev.handle, values, state=state)
                told.append(ev)
                continue
            ev.info["trial"] = self._n_trials
            study.add_trial(
                optuna.trial.create_trial(
                    state=state,
                    values=values,
                    params=self._space.trial_params(ev.arch),
                    distributions=self._space.trial_distributions(ev.arch),
                    user_attrs=attrs,
                    system_attrs=ev.info.get("system_attrs", {}),
                )
            )
            self._n_trials += 1
        if told:  # what the sampler wrote on the trials (e.g. NSGA-II's generation) is stored
            trials = study.get_trials(deepcopy=False)
            for ev in told:
                ev.info["system_attrs"] = dict(trials[ev.info["trial"]].system_attrs)
        self._sync_study_attrs({} if notes is None else notes)

    def _sync_study_attrs(self, notes: dict[str, Any]) -> None:
        """Store the study system attributes the sampler set during the batch (NSGA-II caches
        each generation's parent population there, in an order a recomputation would not
        give), or restore them from the notes of a replayed batch."""
        storage, study_id = self.study_._storage, self.study_._study_id
        if "study_system_attrs" in notes:
            for key, value in notes["study_system_attrs"].items():
                storage.set_study_system_attr(study_id, key, value)
        else:
            current = storage.get_study_system_attrs(study_id)
            new = {k: v for k, v in current.items() if self._study_attrs.get(k) != v}
            if new:
                notes["study_system_attrs"] = new
        self._study_attrs = dict(storage.get_study_system_attrs(study_id))


class OptunaSearch:
    """Batched ask-and-tell search with an Optuna sampler, one or several objectives.

    :class:`~libranas.search.SearchLoop` with an :class:`OptunaSampler`.

    Parameters
    ----------
    space : str or SearchSpace
        Any space with :meth:`~libranas.spaces.SearchSpace.suggest` (NB201, DARTS,
        AutoFormer, ...).
    scorer : callable or object with ``predict``
        ``list_of_archs -> scores`` (higher = better), called once per batch.
    n_trials : int, default=100
        Distinct architectures to score (the initial ones included). A suggestion equal to
        an already scored architecture is told its cached score and does not count.
    batch_size : int, default=10
        Trials asked before scoring them together.
    sampler : {"tpe", "nsga2", "random"} or callable, default="tpe"
        See :class:`OptunaSampler` (NSGA-II's population is ``batch_size``).
    objectives : list of str, default=("score",)
        ``"score"`` (maximised) and any of ``"params"``, ``"flops"``, ``"latency"``
        (minimised; units of :mod:`libranas.search.constraints`).
    constraints : Constraints, dict or None
        Trials whose architecture violates them are never scored: they are told ``PRUNED``
        (user attribute ``status="violates"``) and never appear in the results.
    task : str, optional
        Task of the params / FLOPs / latency objectives (:meth:`SearchSpace.task_setting`).
    device : str, optional
        Hardware device of the ``"latency"`` objective.
    storage : None, str, path or BaseStorage
        The loop's storage (a path: JSON-lines file); a stored search resumes exactly.
    study_name : str, default="libranas-search"
        Name of the search in ``storage`` (and of the Optuna study in ``study_storage``).
    study_storage : None, str, path or optuna storage
        Also write the Optuna study there (see :class:`OptunaSampler`).
    max_tries : int, default=20
        The search stops (with a warning) after ``max_tries * n_trials`` asked trials even if
        fewer than ``n_trials`` distinct architectures were scored.
    initial_archs : list, optional
        Architectures scored first and added to the study as finished trials; they count
        towards ``n_trials`` and must satisfy the constraints.
    random_state : None, int, numpy RandomState or Generator
        Seed (see :class:`~libranas.search.SearchLoop`).

    Attributes
    ----------
    study_ : optuna.Study
    result_ : SearchResult
        ``history`` holds every scored trial: ``order``, ``arch``, ``score``, one column per
        extra objective, ``generation``, ``cached``, ``trial``; with several objectives
        ``pareto_front`` holds the non-dominated architectures.
    resumed_from_ : int
        Batches found in ``storage``.

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
        task: str | None = None,
        device: str | None = None,
        storage: Any = None,
        study_name: str = "libranas-search",
        study_storage: Any = None,
        max_tries: int = 20,
        initial_archs: list[Any] | None = None,
        random_state: Any = None,
    ) -> None:
        self.space = space
        self.scorer = scorer
        self.n_trials = n_trials
        self.batch_size = batch_size
        self.sampler = sampler
        self.objectives = objectives
        self.constraints = constraints
        self.task = task
        self.device = device
        self.storage = storage
        self.study_name = study_name
        self.study_storage = study_storage
        self.max_tries = max_tries
        self.initial_archs = initial_archs
        self.random_state = random_state

    def run(self) -> SearchResult:
        """Run (or resume) the search; returns and stores the result in ``result_``."""
        sampler = OptunaSampler(
            self.sampler,
            population_size=self.batch_size if isinstance(self.batch_size, int) else 10,
            study_storage=self.study_storage,
            study_name=self.study_name,
        )
        loop = SearchLoop(
            self.space,
            self.scorer,
            sampler,
            n_trials=self.n_trials,
            batch_size=self.batch_size,
            constraints=self.constraints,
            objectives=self.objectives,
            task=self.task,
            device=self.device,
            initial=self.initial_archs,
            storage=self.storage,
            study_name=self.study_name,
            max_tries=self.max_tries,
            random_state=self.random_state,
        )
        self.result_ = loop.run()
        self.study_ = sampler.study_
        self.resumed_from_ = loop.resumed_from_
        return self.result_
