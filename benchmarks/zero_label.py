"""Zero labels: the training-free default, its choice, and how it ranks held-out benchmarks.

Everything here reads tables that other scripts computed (no network is built):

- ``libranas/datasets/data/libranas_<benchmark>.csv.gz``: every registered proxy computed by
  libranas on the NAS-Bench-Suite-Zero cells (``benchmarks/proxy_tables.py``; partial
  tables are used on the rows they hold, and say so);
- ``benchmarks/results/lswag_autoformer.csv`` + ``cache/lswag_vit_autoformer.csv``: every
  proxy but VKDNW on the 100 AutoFormer-Tiny subnets of Auto-Prox (``lswag_vit.py``);
- ``benchmarks/data/proxy_tables/cost.csv``: CPU seconds per NB201 cell of every
  proxy alone (``proxy_tables.py --cost 8 --cost-benchmarks nb201-cifar10``);
- ``benchmarks/results/zero_label_search/*.json``: live zero-label searches, when run.

**Choosing** ``libranas.proxies.TRAINING_FREE_DEFAULT`` on development data only: NB201
CIFAR-10 (724 cells, NAS-Bench-Suite-Zero validation accuracy) and AutoFormer-Tiny (100
subnets, CIFAR-100 accuracy with distillation, ``c100_kd_acc``: the target on which the ViT
proxies are compared). Candidates: every registered proxy computed on both. For every set of
1..4 candidates, the log-rank fusion (``ZCRanker("log-rank")``, no labels) is scored on both.
Rule: keep the sets whose NB201 CIFAR-10 rho is within 0.01 of the best set's; among them
the best AutoFormer rho; sets within 0.005 of it go to the cheapest (sum of the single-proxy
CPU seconds per NB201 cell). The other benchmarks (NB201 CIFAR-100 / ImageNet16-120,
NB301) are never read by the choice. The report applies the rule to the present pool and to
the first one (without AZ-NAS's proxies, which were computed for every cell later) and
reports both picks.

    python benchmarks/zero_label.py select    # the choice, printed
    python benchmarks/zero_label.py report    # benchmarks/results/zero_label.md

The code, by what it does: ``zero_label_rows.py`` (the development tables, the rule, the
default on every benchmark), ``zero_label_proxy_rows.py`` (every proxy, transfer, in-sample
LIBRA, published scores, VKDNW, AZ-NAS), ``zero_label_top_rows.py`` (the top of each ranking,
the live searches); the report: ``zero_label_report.py`` (writes it, in order) with the
sections on the choice and the benchmarks in ``zero_label_sections.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zero_label_report import report
from zero_label_rows import select, select_search


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["select", "report"])
    args = p.parse_args(argv)
    if args.what == "select":
        select()
        select_search()
    else:
        report()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
