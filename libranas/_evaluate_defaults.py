"""What ``libranas evaluate`` runs by default (a module without imports, so that building the
command line's parser stays light; :mod:`libranas.evaluation` re-exports these)."""

#: ``libranas evaluate`` without arguments (under a minute on 2 cores): the 724-cell NB201 tables
#: and NB301, a zero-label, two few-label and the strongest learned method, 10 splits
QUICK_BENCHMARKS = ("nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120", "nb301-cifar10")
QUICK_METHODS = ("best-proxy", "libra+rank-mean", "training-free-default", "ranker-all+graph")
QUICK_SEEDS, FULL_SEEDS = 10, 30
