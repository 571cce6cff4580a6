"""The registry of benchmark studies: what each measures, how to regenerate it, how long.

One :class:`Study` per module of ``benchmarks/``. ``steps`` are the command lines (arguments
of ``python benchmarks/<module>.py``) that regenerate the results files from the caches in
``benchmarks/data`` (resuming a stopped run); ``quick`` runs the same code on a tiny subset
into a scratch folder (``--quick``: seconds to a minute; CI runs every study so). Times are
on the reference machine (2 shared cores, no GPU): ``time_cached`` with the committed caches,
``time_uncached`` to recompute everything the caches hold.

To add a study: write ``benchmarks/<name>.py`` (protocol in its docstring, computation in
functions, the report written once through ``_common.write_results``), then add its entry
here with a ``quick`` invocation that finishes in under a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Study:
    name: str
    module: str  # benchmarks/<module>.py
    measures: str
    results: tuple[str, ...]  # files under benchmarks/results
    steps: tuple[tuple[str, ...], ...]  # full regeneration (resumes from the caches)
    time_cached: str
    time_uncached: str
    caches: tuple[str, ...] = ()  # files or folders under benchmarks/data it writes
    #: the tiny-subset run; None where no such run exists yet (the reason in quick_note)
    quick: tuple[tuple[str, ...], ...] | None = None
    #: caches of OTHER studies (under benchmarks/data, or results files) a quick run reads;
    #: copied into the scratch folder, so the quick run never writes to the real ones
    quick_inputs: tuple[str, ...] = ()
    quick_note: str = ""
    #: the command(s) that recompute the caches from nothing (hours: time_uncached)
    recompute: str = ""
    needs_data: bool = True  # reads ../shared/data (image batches, source tables)
    extra: dict[str, str] = field(default_factory=dict)


STUDIES: dict[str, Study] = {
    s.name: s
    for s in [
        Study(
            "predictors",
            "predictors",
            "few-label performance predictors: ZCRanker on proxies / one-hot / graph features, "
            "30 splits, every bundled table",
            ("predictors.md", "predictors_dev.md"),
            ((), ("--dev",)),
            "about 1 min",
            "about 3 h",
            caches=("predictors_runs.csv",),
            quick=(("--quick",),),
            needs_data=False,
            recompute="python benchmarks/predictors.py --n-jobs 2",
        ),
        Study(
            "combination",
            "combination",
            "LIBRA proxy combinations vs the paper's Table 1 (100 labels, 30 seeds, every table)",
            ("combination.md", "combination_raw.csv"),
            ((),),
            "about 10 min (no cache)",
            "about 10 min",
            quick=((),),
            needs_data=False,
        ),
        Study(
            "ranker_study",
            "ranker_study",
            "ZCRanker methods and XGBoost settings on NB201 CIFAR-10 (100 labels, 10 seeds)",
            ("ranker_study.md",),
            ((),),
            "about 3 min (no cache)",
            "about 3 min",
            quick=((),),
            needs_data=False,
        ),
        Study(
            "search_nb201",
            "search_nb201",
            "zero-shot search on NB201 from the tables: random / evolution / TPE, 3 budgets",
            ("search_nb201.md", "search_nb201.json"),
            (("--from-json",),),
            "seconds (re-renders search_nb201.json)",
            "about 10 min per seed and task",
            quick=(("--seeds", "1", "--budgets", "30", "--tasks", "cifar10"),),
            needs_data=False,
        ),
        Study(
            "search_pick_rules",
            "search_pick_rules",
            "which proxy set a training-free NB201 search should rank with (10 seeds per set)",
            ("search_pick_rules.md",),
            ((),),
            "about 5 min (no cache)",
            "about 5 min",
            quick=((),),
            needs_data=False,
        ),
        Study(
            "fidelity",
            "fidelity",
            "our proxies vs NAS-Bench-Suite-Zero's precomputed values on NB201 cells",
            ("fidelity.md", "fidelity.csv"),
            (("--report-only",),),
            "seconds",
            "about 10 h (every cell of three tasks)",
            caches=("fidelity_cells.csv",),
            quick=(("--tasks", "cifar10", "--n-cells", "2"),),
            recompute="python benchmarks/fidelity.py --tasks cifar10 cifar100 imagenet16-120",
        ),
        Study(
            "featurizer_speed",
            "featurizer_speed",
            "one shared NetworkPass vs one pass per proxy vs ProxyFeaturizer.transform (speed)",
            ("featurizer_speed.md",),
            (("--n-cells", "10", "--threads", "1"),),
            "about 15 min (timing: always recomputed)",
            "about 15 min",
            caches=("featurizer_speed_raw.csv",),
            quick=(("--n-cells", "1", "--proxies", "params", "nwot", "snip"),),
            recompute="python benchmarks/featurizer_speed.py --n-cells 10 --threads 1",
        ),
        Study(
            "lswag_nb201",
            "lswag_nb201",
            "L-SWAG on NB201 vs the paper (rho 0.79/0.83/0.80), its ablation, the band",
            ("lswag_nb201.md", "lswag_nb201.csv"),
            (("--report-only",),),
            "about 1 min",
            "about 12 h (2,173 cells)",
            caches=("lswag_cells.csv", "lswag_calibration.csv"),
            quick=(("--tasks", "cifar10", "--n-cells", "3", "--n-calibration", "2"),),
            recompute="python benchmarks/lswag_nb201.py  (every cell of the three tasks, then the report)",
        ),
        Study(
            "lswag_band",
            "lswag_band",
            "which L-SWAG layer band generalises on NB201 (rule chosen on CIFAR-10)",
            ("lswag_band.md",),
            ((),),
            "about 1 min (reads lswag_nb201's caches)",
            "that of lswag_nb201",
            quick=((),),
            quick_inputs=("lswag_cells.csv", "lswag_calibration.csv"),
        ),
        Study(
            "lswag_autoformer",
            "lswag_autoformer",
            "L-SWAG and every proxy on 100 trained AutoFormer-Tiny ViTs (7 targets)",
            ("lswag_autoformer.md", "lswag_autoformer.csv", "lswag_autoformer_profile.json"),
            (("report",),),
            "about 3 min (report from lswag_autoformer.csv)",
            "about 2 h",
            quick=(
                (
                    "score",
                    "--n-nets",
                    "2",
                    "--proxies",
                    "lswag",
                    "lswag_lambda",
                    "lswag_psi",
                    "zico",
                    "params",
                    "--csv",
                    "lswag_autoformer_quick_scores.csv",
                ),
                ("report",),
            ),
            quick_inputs=("results:lswag_autoformer.csv", "results:lswag_autoformer_profile.json"),
            quick_note="scores 2 networks with 5 proxies, then reports from a copy of the "
            "committed scores "
            "(100 bootstrap resamples and 2 splits instead of 1000 and 10)",
            recompute="python benchmarks/lswag_autoformer.py all",
        ),
        Study(
            "lswag_vit",
            "lswag_vit",
            "every proxy on AutoFormer-Tiny (100 subnets) and PiT (no ground truth)",
            ("lswag_vit.md",),
            (("report",),),
            "about 1 min",
            "about 3 h",
            caches=("lswag_vit_autoformer.csv", "lswag_vit_pit.csv"),
            quick=(("report",),),
            quick_inputs=(
                "lswag_vit_autoformer.csv",
                "lswag_vit_pit.csv",
                "results:lswag_autoformer.csv",
            ),
            recompute="python benchmarks/lswag_vit.py all",
        ),
        Study(
            "proxy_tables",
            "proxy_tables",
            "the shipped libranas proxy tables (NB201 x3, NB301): provenance, cost, agreement",
            ("proxy_tables.md",),
            (("--report",),),
            "about 2 min",
            "days (every proxy on every cell; resumable)",
            caches=("proxy_tables/",),
            quick=(("--report",),),
            quick_inputs=("proxy_tables/", "lswag_cells.csv", "zero_label_cells.csv"),
            recompute="python benchmarks/proxy_tables.py --run --report  (then --cost / --agreement / --verify-imports as its docstring says)",
        ),
        Study(
            "zero_label_proxies",
            "zero_label_proxies",
            "the newer proxies (AZ-NAS, VKDNW, ...) on NB201 cells, and k initialisations",
            ("new_proxies.md",),
            (("report",),),
            "about 1 min",
            "about 6 h",
            caches=("zero_label_cells.csv", "zero_label_inits.csv"),
            quick=(("score", "--n-cells", "2", "--variants", "default"), ("report",)),
            recompute="python benchmarks/zero_label_proxies.py score --n-cells 200; ... inits --n-cells 50 --k 3",
        ),
        Study(
            "zero_label",
            "zero_label",
            "the training-free default: proxy-set selection rule on dev tables, held-out rho",
            ("zero_label.md",),
            (("report",),),
            "about 5 min (reads every cache of benchmarks/data)",
            "that of proxy_tables, zero_label_search, nb301_inits, lswag_vit",
            quick=(("report",),),
            quick_inputs=("*", "results:lswag_autoformer.csv", "results:zero_label_search"),
        ),
        Study(
            "zero_label_search",
            "zero_label_search",
            "training-free evolutionary search on NB201 / DARTS / AutoFormer with the default",
            ("zero_label_search_independent.md", "zero_label_search_top_proxies.md"),
            (("second",), ("report",), ("top-proxies",)),
            "seconds (the table of the finished independent seeds; the runs: recompute)",
            "about 10 h per space and seed",
            caches=("zero_label_search/",),
            quick=(
                ("nb201", "--seeds", "0", "--budget", "6", "--population", "3"),
                ("second",),
                ("report",),
                ("top-proxies",),
            ),
            quick_inputs=(
                "results:zero_label_search_dev.json",
                "results:zero_label_search_second_dev.json",
            ),
            recompute="sh benchmarks/zero_label_search_runs.sh  (NB201, independent seeds: dev "
            "100-101, select, the second stage's dev scores and select-second, held-out seeds "
            "(CIFAR-10 0-9, CIFAR-100 and ImageNet16-120 0-4), their second-stage scores); "
            "python benchmarks/zero_label_search.py "
            "darts autoformer-tiny --shared-init",
        ),
        Study(
            "search_cost",
            "search_cost",
            "live zero-label NB201 search: seconds per evaluated cell, before vs after, side "
            "by side (and with --n-jobs 2), and where the time goes",
            ("search_cost.md",),
            (("--cells", "20", "--reps", "3", "--profile", "--before", "25fe4ec"),),
            "about 15 min (timing: always recomputed)",
            "about 15 min",
            quick=(("--quick",),),
        ),
        Study(
            "nb301_inits",
            "nb301_inits",
            "averaging k initialisations on NB301 (noise control of the zero-label ranking)",
            ("nb301_inits.md",),
            (("--report",),),
            "seconds",
            "about 4 h (150 cells x 3 inits)",
            caches=("nb301_inits.csv",),
            quick=(("--run", "--report", "--n-cells", "2", "--k", "2", "--verify", "1"),),
            quick_note="2 cells (the report's minimum in --quick; 20 in a full run)",
            recompute="python benchmarks/nb301_inits.py --run --n-cells 150 --k 3",
        ),
        Study(
            "torch_threads",
            "torch_threads",
            "torch threads per joblib worker: the default of --torch-threads (ratio to 1 thread)",
            ("torch_threads.md",),
            (("--n-cells", "6", "--repeats", "3"),),
            "about 5 min on 2 cores (no cache: every run is timed)",
            "about 5 min",
            quick=(("--n-cells", "1", "--repeats", "1"),),
        ),
        Study(
            "darts_default",
            "darts_default",
            "NB301 development / held-out halves and the DARTS training-free default chosen by "
            "the generic rule on the development half (zero labels)",
            ("darts_default.md",),
            (("report",),),
            "about 1 min",
            "about 1 min (select: every set of 1-4 of 16 proxies on the development half)",
            quick=(("select", "--quick"),),
            quick_inputs=(
                "results:lswag_autoformer.csv",
                "lswag_vit_autoformer.csv",
                "proxy_tables/cost.csv",
            ),
            recompute="python benchmarks/darts_default.py select --store; "
            "python benchmarks/darts_default.py report",
        ),
        Study(
            "semi_supervised",
            "semi_supervised",
            "SemiSupervisedRanker vs ZCRanker() at 32/64/100/128 labels, 30 splits, NB201 x 3, "
            "NB301, TNB101-micro x 7",
            ("semi_supervised.md",),
            (("--report-only",),),
            "seconds",
            "about 2.5 h (the inner cross-validation fits ZCRanker() 4 times per split)",
            caches=("semi_supervised_runs.csv", "semi_supervised_runs_linear.csv"),
            quick=(("--quick",),),
            needs_data=False,
            recompute="python benchmarks/semi_supervised.py",
        ),
        Study(
            "semi_network",
            "semi_network",
            "SemiSupervisedRanker on network features vs on the hand-made graph features, "
            "100 labels x 30 splits, NB201 x 3, NB301, TNB101-micro x 7",
            ("semi_network.md",),
            (("report",),),
            "seconds",
            "about 1.5 h (development 15 min, runs 75 min)",
            caches=(
                "semi_network_runs.csv",
                "semi_network_all_runs.csv",
                "semi_network_dev_runs.csv",
                "semi_network_runs_old_cellgraph.csv",
                "semi_network_dev_runs_old_cellgraph.csv",
            ),
            quick=(("--quick",),),
            quick_inputs=("network_features/",),
            quick_note="2 splits of NB301",
            recompute="python benchmarks/semi_network.py dev; python benchmarks/semi_network.py runs",
        ),
        Study(
            "autoformer_rankers",
            "autoformer_rankers",
            "a user's own space with few labels (AutoFormer-Tiny, 100 subnets): the few-label "
            "ranker each feature set's development splits choose, proxies vs network features, "
            "10/20/50 labels x 30 splits, 7 targets",
            ("autoformer_rankers.md",),
            (("report",),),
            "seconds",
            "about 30 min (development 2 min, runs 25 min)",
            caches=("autoformer_rankers_runs.csv", "autoformer_rankers_dev_runs.csv"),
            quick=(("--quick",),),
            quick_inputs=(
                "network_features/",
                "network_features_autoformer_runs.csv",
                "lswag_vit_autoformer.csv",
                "results:lswag_autoformer.csv",
            ),
            quick_note="2 development and 2 reported splits of c100_kd_acc at 20 labels",
            recompute="python benchmarks/autoformer_rankers.py dev; "
            "python benchmarks/autoformer_rankers.py runs --n-jobs 2",
        ),
        Study(
            "network_features",
            "network_features",
            "architecture features read from the PyTorch network (ArchFeaturizer 'network') vs "
            "the hand-made graph features, 100 labels x 30 splits; AutoFormer-Tiny at 10/20/50 "
            "labels; leave-one-space-out transfer",
            ("network_features.md",),
            (("report",),),
            "seconds",
            "about 6 h (features 15 min, runs 3 h, autoformer 30 min, transfer 2 h)",
            caches=(
                "network_features/",
                "network_features_runs.csv",
                "network_features_dev_runs.csv",
                "network_features_dev_runs_s22.csv",
                "network_features_runs_s22.csv",
                "network_features_transfer_runs_s22.csv",
                "network_features_autoformer_runs.csv",
                "network_features_transfer_runs.csv",
                "network_features_cost.csv",
            ),
            quick=(
                ("runs", "--benchmarks", "tnb101-micro-jigsaw", "--seeds", "1"),
                ("report",),
            ),
            quick_inputs=("network_features/", "predictors_runs.csv"),
            recompute="python benchmarks/network_features.py features; ... cost; ... runs; "
            "... autoformer; ... transfer; ... report",
        ),
        Study(
            "transfer_columns",
            "transfer_columns",
            "zero-label transfer between spaces: proxies and/or network features, boosting or "
            "ridge (leave one space out; NB301 development / held-out halves)",
            ("transfer_columns.md",),
            ((),),
            "about 5 min (no cache: every fit is rerun)",
            "about 5 min",
            quick=((),),
            quick_inputs=(
                "network_features/",
                "lswag_vit_autoformer.csv",
                "results:lswag_autoformer.csv",
            ),
            quick_note="NB301 and one TNB101-micro task held out (of 12)",
        ),
        Study(
            "scale",
            "scale",
            "featurizer throughput and a full-table run with a store (scale)",
            ("scale.md",),
            (("report",),),
            "seconds",
            "about 2 h",
            caches=("scale_throughput.json", "scale_full.jsonl"),
            quick=(("throughput", "--n-archs", "2", "--batch", "2", "--rounds", "1"),),
            quick_inputs=("scale_full.jsonl",),
            recompute="python benchmarks/scale.py throughput; python benchmarks/scale.py full",
        ),
    ]
}
