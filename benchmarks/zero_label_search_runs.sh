#!/bin/sh
# The issue-23 runs of zero_label_search.py, resumable (rerun this script: a finished seed is
# skipped, a killed one resumes from its record): the development seeds, the declared
# selection of the top-end step's (K, M) and of the second stage's K, then the held-out seeds,
# their second-stage scores, then the report.
# Run from the repository root:  nohup nice -n 10 sh benchmarks/zero_label_search_runs.sh \
#   > benchmarks/data/zero_label_search/logs/runs.log 2>&1 &
# Two streams on two cores (each run is one process, one torch thread; different files):
#   sh benchmarks/zero_label_search_runs.sh cifar10     # held-out CIFAR-10 seeds 0-4
#   sh benchmarks/zero_label_search_runs.sh others      # CIFAR-100 and ImageNet16-120, seed by seed
set -e
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python}"
# N_JOBS=2 on an otherwise idle 2-core machine: two worker processes (the same scores)
Z="benchmarks/zero_label_search.py"
J="--n-jobs ${N_JOBS:-1}"
# session 25: CIFAR-10 seeds 5-9 added (declared in zero_label_search.py before they ran)
cifar10() { "$PY" $Z nb201 --seeds 0 1 2 3 4 5 6 7 8 9 $J; }
others() {
    for s in 0 1 2 3 4; do
        "$PY" $Z nb201 --task cifar100 --seeds "$s" $J
        "$PY" $Z nb201 --task imagenet16-120 --seeds "$s" $J
    done
}
case "${1:-all}" in
cifar10) cifar10 ;;
others) others ;;
all)
    "$PY" $Z nb201 --seeds 100 101 $J
    if [ ! -f benchmarks/results/zero_label_search_dev.json ]; then "$PY" $Z select; fi
    # the second stage (SynFlow on the default's top K): K chosen on the development seeds
    "$PY" $Z second --dev
    if [ ! -f benchmarks/results/zero_label_search_second_dev.json ]; then "$PY" $Z select-second; fi
    cifar10
    others
    "$PY" $Z second
    "$PY" $Z report
    ;;
*) echo "unknown stream '$1' (cifar10, others or all)" >&2; exit 2 ;;
esac
