"""libranas: zero-shot neural architecture search with scikit-learn estimators.

The three estimators compose in a :class:`sklearn.pipeline.Pipeline`:

- :class:`ProxyFeaturizer` scores architectures with zero-cost proxies (L-SWAG first),
- :class:`LibraSelector` picks the LIBRA proxy subset for a benchmark,
- :class:`ZCRanker` turns the selected scores into a ranking;
- :class:`SemiSupervisedRanker` ranks from a few labels and the unlabelled architectures;
- :class:`ArchFeaturizer` adds features of the architecture itself (graph features,
  one-hot encoding) next to the proxies.

Heavy dependencies (torch, xgboost, optuna) are imported lazily, so ``import libranas``
stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it; resolved on first attribute access (PEP 562)
_LAZY = {
    "ProxyFeaturizer": "libranas.featurizer",
    "ArchFeaturizer": "libranas.arch_featurizer",
    "LibraSelector": "libranas.selector",
    "ZCRanker": "libranas.ranker",
    "SemiSupervisedRanker": "libranas.semi_supervised",
    "Benchmark": "libranas.datasets",
    "load_benchmark": "libranas.datasets",
    "list_benchmarks": "libranas.datasets",
    "load_zc_table": "libranas.datasets",
    "list_tasks": "libranas.datasets",
    "get_space": "libranas.spaces",
    "list_spaces": "libranas.spaces",
    "list_proxies": "libranas.proxies",
    "ScoreStore": "libranas.store",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'libranas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
