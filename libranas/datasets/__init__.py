"""Benchmark tables: NAS-Bench-Suite-Zero zero-cost tables and bundled NB201/NB301/TNB101 data.

>>> from libranas.datasets import load_benchmark
>>> b = load_benchmark("nb301-cifar10")
>>> len(b), b.space
(725, 'nb301')
"""

from libranas.datasets.bundled import (
    BENCHMARKS,
    LIBRANAS_PREFIX,
    TNB101_MICRO_TASKS,
    LibranasTable,
    bundled_path,
    describe_benchmark,
    libranas_table_path,
    list_benchmarks,
    load_benchmark,
    load_libranas_table,
    load_nb201_table,
)
from libranas.datasets.images import load_image_batch
from libranas.datasets.nb201_search import nb201_search_table, search_table
from libranas.datasets.sources import (
    batch_from_dataset,
    batch_from_folder,
    cache_dir,
    load_dataset_batch,
)
from libranas.datasets.zc_tables import (
    Benchmark,
    NonFiniteValuesWarning,
    list_tasks,
    load_zc_table,
)

__all__ = [
    "BENCHMARKS",
    "LIBRANAS_PREFIX",
    "TNB101_MICRO_TASKS",
    "Benchmark",
    "LibranasTable",
    "batch_from_dataset",
    "batch_from_folder",
    "NonFiniteValuesWarning",
    "bundled_path",
    "cache_dir",
    "describe_benchmark",
    "libranas_table_path",
    "list_benchmarks",
    "list_tasks",
    "load_benchmark",
    "load_dataset_batch",
    "load_image_batch",
    "load_libranas_table",
    "load_nb201_table",
    "load_zc_table",
    "nb201_search_table",
    "search_table",
]
