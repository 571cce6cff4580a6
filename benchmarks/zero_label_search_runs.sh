#!/bin/sh
# The issue-23 runs of zero_label_search.py, one at a time, resumable (rerun this script: a
# finished seed is skipped, a killed one resumes from its storage): the development seeds,
# the declared selection of the top-end step's (K, M), then the held-out seeds.
# Run from the repository root:  nohup nice -n 10 sh benchmarks/zero_label_search_runs.sh \
#   > benchmarks/data/zero_label_search/logs/runs.log 2>&1 &
set -e
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python}"
# N_JOBS=2 on an otherwise idle 2-core machine: two worker processes (the same scores)
Z="benchmarks/zero_label_search.py"
J="--n-jobs ${N_JOBS:-1}"
"$PY" $Z nb201 --seeds 100 101 $J
if [ ! -f benchmarks/results/zero_label_search_dev.json ]; then "$PY" $Z select; fi
"$PY" $Z nb201 --seeds 0 1 2 3 4 $J
"$PY" $Z nb201 --task cifar100 --seeds 0 1 2 3 4 $J
"$PY" $Z nb201 --task imagenet16-120 --seeds 0 1 2 3 4 $J
"$PY" $Z report
