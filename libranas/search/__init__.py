"""Zero-shot architecture search: one loop, pluggable samplers, constraints, storage.

The loop, the sampler, the scorer and the storage are separate pieces:

- the loop: :class:`SearchLoop` owns batching, constraints, the duplicate cache, storage,
  exact resuming and timing, for every strategy;
- samplers (ask-and-tell, :mod:`libranas.search.samplers`): :class:`EvolutionSampler` (aging
  evolution), :class:`RandomSampler`, :class:`OptunaSampler` (TPE / NSGA-II / random through
  Optuna); ready-made searches :class:`EvolutionarySearch`, :class:`RandomSearch`,
  :class:`OptunaSearch`;
- scorers: any ``list_of_archs -> scores`` function or fitted pipeline,
  :class:`TabularScorer` (proxy tables), :class:`LiveScorer` (a ProxyFeaturizer pipeline),
  :func:`calibrate_libra` to fit a LIBRA pipeline on a few labels;
- storage: :class:`JSONLStorage` (resumable, append-only file), :class:`InMemoryStorage`;
- :class:`Constraints`: max params / FLOPs / latency, enforced before scoring.

Nothing here knows a space by name: every space with ``sample``, ``mutate`` and ``suggest``
can be searched (NB201, DARTS, AutoFormer, ...). Optuna is imported only when an Optuna
search runs.

>>> from libranas.search import EvolutionarySearch, Constraints
>>> EvolutionarySearch("nb201", len).population
50
"""

from typing import Any

from libranas.search.constraints import Constraints
from libranas.search.evolution import EvolutionarySearch, RandomSearch
from libranas.search.loop import SearchLoop
from libranas.search.optuna_search import OptunaSampler, OptunaSearch, suggest_architecture
from libranas.search.result import SearchResult
from libranas.search.samplers import BaseSampler, EvolutionSampler, RandomSampler
from libranas.search.scorers import (
    LiveScorer,
    TabularScorer,
    as_scorer,
    calibrate_libra,
    make_libra_pipeline,
)
from libranas.search.storage import BaseStorage, InMemoryStorage, JSONLStorage, get_storage

__all__ = [
    "HW_DEVICES",
    "BaseSampler",
    "BaseStorage",
    "Constraints",
    "EvolutionSampler",
    "EvolutionarySearch",
    "InMemoryStorage",
    "JSONLStorage",
    "LiveScorer",
    "OptunaSampler",
    "OptunaSearch",
    "RandomSampler",
    "RandomSearch",
    "SearchLoop",
    "SearchResult",
    "TabularScorer",
    "as_scorer",
    "calibrate_libra",
    "get_storage",
    "make_libra_pipeline",
    "nb201_pruned",
    "nb201_search_table",
    "suggest_architecture",
]

#: names that moved out of libranas.search, still importable from here
_MOVED = {
    "HW_DEVICES": "libranas.datasets.nb201_search",
    "nb201_search_table": "libranas.datasets.nb201_search",
    "nb201_pruned": "libranas.spaces.nb201",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'libranas.search' has no attribute {name!r}")
