"""``benchmarks/results/zero_label.md``: :func:`report` writes every section, in order, from
one shared context (the sections on the choice and the benchmarks are in
``zero_label_sections.py``; the top of the ranking, transfer, searches and noise control
here).
"""

from __future__ import annotations

import json
from typing import Any

import _common as C
import numpy as np
from _common import AZNAS_SET, SEARCH_RULE_SET
from zero_label_proxy_rows import in_sample_rows, transfer_rows
from zero_label_rows import (
    BENCHES,
    FIRST_POOL_LEFT_OUT,
    HELD_OUT,
    REPORT,
    SEARCH_TARGET,
    TOP_DRAWS,
    TOP_POP,
    held_out_rows,
    select,
)
from zero_label_sections import (
    against_published,
    aznas_every_benchmark,
    aznas_gaussian,
    default_on_every_benchmark,
    every_proxy,
    how_the_default_was_chosen,
    search_default,
    vkdnw_held_out,
)
from zero_label_top_rows import evaluated_test_accs, search_rows, search_top_end, top_pick_rows


def report() -> None:
    """Write zero_label.md: the sections below, in order, from one shared context."""
    from libranas.proxies import TRAINING_FREE_DEFAULT, list_proxies

    sel = select(verbose=False)
    first = select(verbose=False, leave_out=FIRST_POOL_LEFT_OUT)
    default = tuple(sorted(TRAINING_FREE_DEFAULT))
    ctx: dict[str, Any] = {
        "sel": sel,
        "first": first,
        "default": default,
        "previous": first["chosen"] if first["chosen"] != default else None,
        "outside": sorted(set(list_proxies()) - set(sel["pool"])),
        "held": held_out_rows(default),
    }
    lines: list[str] = []
    for section in REPORT_SECTIONS:
        lines += section(ctx)
    lines.append("")
    C.write_results(REPORT, "\n".join(lines) + "\n")


def _top_of_the_ranking(ctx: dict[str, Any]) -> list[str]:
    """The top of the ranking on every benchmark."""
    default = ctx["default"]
    lines: list[str] = []
    tops = top_pick_rows(default)
    if tops:
        lines += [
            "### The top of the ranking",
            "",
            "A search returns the top of its ranking, so the top matters more than rho. Per "
            "table (NB201: the 200-epoch test accuracy, which no rule read; NB301: the "
            "surrogate's validation accuracy): rho, the target of each score's first cell and "
            f"the mean of its first 10, the expected target of its top cell in a random "
            f"population of {TOP_POP} of the table's cells ({TOP_DRAWS} draws: what a search "
            "evaluating such a population returns) next to the best possible (oracle), the "
            "table's best cell, and how many cells beat the first one. The search-rule set was "
            "chosen on NB201 CIFAR-10's validation accuracy; its other rows are held out.",
            "",
            "| benchmark | target | n | score | rho | first cell | first 10 (mean) | "
            f"expected top of {TOP_POP} | oracle | best in table | cells better than the first |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in tops:
            lines.append(
                f"| {r['benchmark']} | {r['target']} | {r['n']} | {r['score']} | "
                f"{r['rho']:.3f} | {r['top1']:.2f} | {r['top10']:.2f} | "
                f"{r['expected_top']:.2f} | {r['oracle_top']:.2f} | {r['best']:.2f} | "
                f"{r['better_than_top1']} |"
            )
        lines.append("")
    return lines


def _transfer_and_in_sample(ctx: dict[str, Any]) -> list[str]:
    """Transfer, and the paper's in-sample LIBRA protocol against the zero-label default."""
    from libranas.datasets import load_libranas_table

    default = ctx["default"]
    held = ctx["held"]
    lines: list[str] = []
    tr = transfer_rows(default)
    lines += [
        "## Transfer: select with one benchmark's labels, rank another with none",
        "",
        "`libranas.evaluation.evaluate_transfer` (also `libranas evaluate --transfer "
        "SOURCE:TARGET`): LIBRA's selection fitted on 100 labelled architectures of the source "
        "(30 splits), the target ranked by `ZCRanker('log-rank')` of the selected proxies, each "
        "oriented as on the source, fitted without labels; all of the target's "
        "architectures evaluated. Columns: those both benchmarks hold for every architecture.",
        "",
        "| source -> target | selected (most frequent) | rho (mean ± std) | tau | n |",
        "|---|---|---|---|---|",
    ]
    for _, r in tr.iterrows():
        lines.append(
            f"| {r['source']} -> {r['target']} | {r['selected']} | {r['rho_mean']:.3f} ± "
            f"{r['rho_std']:.3f} | {r['tau_mean']:.3f} | {r['n_evaluated']} |"
        )

    ins = in_sample_rows()
    lines += [
        "",
        "## The paper's in-sample LIBRA protocol with the full pool",
        "",
        "LIBRA's selection with every label of the benchmark, `rank-mean` fusion, evaluated on "
        "the same architectures (the paper's protocol; it uses every label, so it is not a "
        "zero-label result). Pool: NAS-Bench-Suite-Zero's columns, then with every libranas "
        "column computed for all architectures.",
        "",
        "| benchmark | pool | columns | architectures | selected | rho | tau | paper |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in ins:
        lines.append(
            f"| {r['benchmark']} | {r['pool']} | {r['n_columns']} | {r['n_rows']} | "
            f"{r['selected']} | {r['rho']:.3f} | {r['tau']:.3f} | {r['paper']:.2f} |"
        )

    lines += [
        "",
        "Against the paper (best full-architecture pool per benchmark): "
        + "; ".join(
            f"{name} {best['rho']:.3f} vs {best['paper']:.2f} ({best['rho'] - best['paper']:+.3f})"
            for name in BENCHES
            for best in [
                max(
                    (
                        r
                        for r in ins
                        if r["benchmark"] == name
                        and r["n_rows"] == max(q["n_rows"] for q in ins if q["benchmark"] == name)
                    ),
                    key=lambda r: r["rho"],
                )
            ]
        )
        + ". LIBRA's in-sample selection is the paper's method, reproduced as written "
        "(METHOD.md); where it falls short the pool differs: the paper's tables had its own "
        "L-SWAG / ZiCo / SWAP columns on its own seeds and batches"
        + "".join(
            f"; the shipped {name} table holds {len(full)} libranas proxies for every "
            f"cell ({', '.join(full)}), the others ({', '.join(part) or 'none'}) on part of "
            "them only"
            for name in HELD_OUT[2:]
            for table in [load_libranas_table(name)]
            for full in [[p for p in table.computed.columns if table.computed[p].all()]]
            for part in [[p for p in table.computed.columns if p not in full]]
        )
        + ". The zero-label default above (no label) "
        + "; ".join(
            f"{'beats' if d['rho_val'] > best else 'does not beat'} the best in-sample row on "
            f"{d['benchmark']} ({d['rho_val']:.3f} vs {best:.3f})"
            for d in held
            for best in [max(r["rho"] for r in ins if r["benchmark"] == d["benchmark"])]
        )
        + ".",
    ]
    return lines


def _live_search(ctx: dict[str, Any]) -> list[str]:
    """Live zero-label searches."""

    lines: list[str] = []
    sr = search_rows()
    lines += [
        "",
        "## Live zero-label search",
        "",
        "`python benchmarks/zero_label_search.py`: `libranas search --mode live --labelled 0` "
        "(the training-free default of the time, or the `--proxies` a row names, fused by "
        "log-rank; aging evolution; a batch of 64 images of the row's task (ImageNet16-120: "
        "the 1000-class labels folded, `--fold-labels`), `--init-seed 0` so that seeds share "
        "one proxy store per task), "
        f"CPU: {C.cpu_name()}, one torch thread, on a 2-core machine shared with the "
        "proxy-table jobs (wall seconds are inflated by them). NB201: the returned cell's "
        "200-epoch test accuracy on the searched task, looked up after the search.",
        "",
    ]
    if not sr:
        lines.append("No search finished yet (`benchmarks/results/zero_label_search/`).")
    else:
        lines += [
            "| space | task | proxies | seed | evaluated | test acc | scoring s / network | "
            "wall s | best arch |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in sr:
            per = r.get("score_seconds", 0) / max(1, r.get("n_evaluated", 1))
            lines.append(
                f"| {r.get('space')} | {r.get('task') or '-'} | "
                f"{', '.join(r.get('selected_proxies', []))} | "
                f"{r.get('seed')} | {r.get('n_evaluated')} | "
                f"{C.fmt(r.get('test_acc') or np.nan, 2)} | {per:.1f} | "
                f"{r.get('seconds', 0):.0f} | `{json.dumps(r.get('best_arch'))}` |"
            )
        nb = [r for r in sr if r.get("space") == "nb201" and r.get("test_acc")]
        by_set: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in nb:
            key = (r.get("task", "cifar10"), ", ".join(r.get("selected_proxies", [])))
            by_set.setdefault(key, []).append(r)
        lines += [
            "",
            "NB201 summary (test accuracy of the returned cell on the searched task; the "
            "space's optimum in the last column):",
            "",
            "| task | proxies | seeds | mean test acc | sd | optimum |",
            "|---|---|---|---|---|---|",
        ]
        for (task, label), runs in sorted(by_set.items()):
            accs = [r["test_acc"] for r in runs]
            sd = f"{np.std(accs, ddof=1):.2f}" if len(runs) > 1 else "-"
            lines.append(
                f"| {task} | {label} | {len(runs)} | {np.mean(accs):.2f} | {sd} | "
                f"{runs[0].get('optimum_test_acc') or np.nan:.2f} |"
            )
        lines += [
            "",
            f"CIFAR-10 target: {SEARCH_TARGET} over 5 seeds (published training-free "
            "searches: 93.5-93.8).",
        ]
        if nb:
            lines += [
                "",
                "Where the pick is lost (from each search's record of the evaluated cells):",
                "",
                "| task | proxies | seed | evaluated | best test acc among them | median | "
                "cells better than the returned one |",
                "|---|---|---|---|---|---|---|",
            ]
            for r in nb:
                task = r.get("task", "cifar10")
                ev = evaluated_test_accs(r["name"], task)
                if ev is None:
                    continue
                lines.append(
                    f"| {task} | {', '.join(r.get('selected_proxies', []))} | {r['seed']} | "
                    f"{len(ev)} | {ev.max():.2f} | {np.median(ev):.2f} | "
                    f"{int((ev > r['test_acc']).sum())} |"
                )
    return lines


def _search_top_end(ctx: dict[str, Any]) -> list[str]:
    """The top end: how well each set separates the best cells of the space."""
    from libranas.proxies import TRAINING_FREE_DEFAULT

    lines: list[str] = []
    for label, proxies in (
        ("ranking default", tuple(TRAINING_FREE_DEFAULT)),
        ("search-rule set", SEARCH_RULE_SET),
        ("AZ-NAS", AZNAS_SET),
    ):
        top = search_top_end(proxies)
        if top is None:
            continue
        tab, f = top
        lines += [
            "",
            f"### The top end: how the {label} ranks the cells the searches evaluated",
            "",
            f"Every distinct cell the NB201 searches evaluated that has the {label}'s proxies "
            f"in their shared store ({f['n']}, all seeds and sets; one init and batch), those "
            "proxies and their log-rank fusion (reference: these cells) against the 200-epoch "
            f"CIFAR-10 test accuracy. Best of these cells {f['best']:.2f}; "
            f"{f['n_above_target']} reach {SEARCH_TARGET} (the target); the fusion's top cell "
            f"{f['top1']:.2f}, its top 10 {f['top10']:.2f} on average. A search returns its "
            "own evaluated set's top cell by its fusion.",
            "",
            "| cells | n | " + " | ".join(tab.columns[2:]) + " |",
            "|---|---|" + "---|" * (len(tab.columns) - 2),
        ]
        for _, r in tab.iterrows():
            lines.append(
                f"| {r['cells']} | {r['n']} | "
                + " | ".join(C.fmt(r[c]) for c in tab.columns[2:])
                + " |"
            )
        band, top1 = tab.iloc[1], tab.iloc[2]
        vals = [band[c] for c in tab.columns[2:]]
        lines += [
            "",
            f"Within {band['cells']} ({band['n']} of the {f['n']} cells) the proxies of the "
            f"{label} "
            f"and their fusion have rho {min(vals):.2f} to {max(vals):.2f} (fusion "
            f"{band['log-rank fusion']:.2f}); within the top 1% alone, fusion rho "
            f"{top1['log-rank fusion']:.2f} on {top1['n']} cells. How well a set separates "
            "the best 10% of the space is what decides which of them a search returns; "
            "other fusion rules for the final pick did not help on development tasks "
            "(`search_pick_rules.md`).",
        ]
    return lines


def _noise_control(ctx: dict[str, Any]) -> list[str]:
    """Noise control (n_inits) on NB201 and NB301."""
    lines: list[str] = []
    lines += [
        "",
        "## Noise control (n_inits)",
        "",
        "NB201 (`new_proxies.md`, 50 CIFAR-10 cells, k = 3 initialisations against 1, "
        "paired): the aggregates gain about 0.01 rho at 3x the cost; single proxies vary less "
        "than their rank differences.",
    ]
    import nb301_inits

    res = nb301_inits.study()
    if res is not None:
        k = res["k"]
        lines += [
            "",
            f"NB301 (`nb301_inits.md`: {res['n']} random cells of the table, k = 1..{k} "
            f"initialisations, {res['cpu']:.1f} CPU s per network and initialisation for the "
            "proxies of the three fusions): rho against the surrogate's validation accuracy.",
            "",
            f"| score | k=1 | k={k} | rho(k={k}) - rho(k=1) [95% paired bootstrap] |",
            "|---|---|---|---|",
        ]
        for name in ("ranking default", "search-rule set", "AZ-NAS (log-rank of the four az_*)"):
            r = res["table"][name]
            lo, hi = r["diff_ci"]
            lines.append(
                f"| {name} | {r['rho'][0]:.3f} | {r['rho'][-1]:.3f} | "
                f"{r['rho'][-1] - r['rho'][0]:+.3f} [{lo:+.3f}, {hi:+.3f}] |"
            )
        lines += [
            "",
            "Averaging initialisations does not lift NB301: the noise of one initialisation "
            "is not what keeps the fusions below 0.60 there. The shipped tables use one "
            "initialisation.",
        ]
    return lines


REPORT_SECTIONS = (
    how_the_default_was_chosen,
    search_default,
    default_on_every_benchmark,
    every_proxy,
    against_published,
    vkdnw_held_out,
    aznas_every_benchmark,
    aznas_gaussian,
    _top_of_the_ranking,
    _transfer_and_in_sample,
    _live_search,
    _search_top_end,
    _noise_control,
)
