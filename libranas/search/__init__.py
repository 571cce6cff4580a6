"""Zero-shot architecture search: aging evolution, Optuna samplers, constraints, storage.

The loop, the scorer and the storage are separate pieces:

- loops: :class:`EvolutionarySearch` (aging evolution) and :class:`OptunaSearch`
  (TPE / NSGA-II through Optuna's ask-and-tell, single or multi-objective);
- scorers: any ``list_of_archs -> scores`` function or fitted pipeline,
  :class:`TabularScorer` (bundled proxy tables), :class:`LiveScorer` (a ProxyFeaturizer
  pipeline), :func:`calibrate_libra` to fit a LIBRA pipeline on a few labels;
- storage: :class:`JSONLStorage` (resumable, append-only file), :class:`InMemoryStorage`,
  or an Optuna RDB / journal storage for :class:`OptunaSearch`;
- :class:`Constraints`: max params / FLOPs / HW-NAS-Bench latency, enforced before scoring.

Optuna is imported only when an Optuna search runs.

>>> from libranas.search import EvolutionarySearch, Constraints
>>> EvolutionarySearch("nb201", len).population
50
"""

from libranas.search.constraints import HW_DEVICES, Constraints, nb201_mflops
from libranas.search.evolution import EvolutionarySearch, SearchResult
from libranas.search.optuna_search import OptunaSearch, suggest_architecture
from libranas.search.scorers import (
    LiveScorer,
    TabularScorer,
    as_scorer,
    calibrate_libra,
    make_libra_pipeline,
    nb201_pruned,
    nb201_search_table,
)
from libranas.search.storage import BaseStorage, InMemoryStorage, JSONLStorage, get_storage

__all__ = [
    "HW_DEVICES",
    "BaseStorage",
    "Constraints",
    "EvolutionarySearch",
    "InMemoryStorage",
    "JSONLStorage",
    "LiveScorer",
    "OptunaSearch",
    "SearchResult",
    "TabularScorer",
    "as_scorer",
    "calibrate_libra",
    "get_storage",
    "make_libra_pipeline",
    "nb201_mflops",
    "nb201_pruned",
    "nb201_search_table",
    "suggest_architecture",
]
