"""The development tables, the selection rule and the held-out rows of ``zero_label.py``.

The protocol is in ``zero_label.py``'s docstring; this module computes (no report text):
where the tables are, the log-rank fusion, the rule (:func:`select`) and the search-specific
variant tried (:func:`select_search`), and the default's rho on every benchmark.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import _common as C
import numpy as np
import pandas as pd
from _common import AZNAS_SET, log_ranks, rho_last

OUT = C.RESULTS
REPORT = OUT / "zero_label.md"
SEARCH_DIR = OUT / "zero_label_search"
AF_TARGET = "c100_kd_acc"
ZL_CELLS = C.CACHE / "zero_label_cells.csv"

#: issue 11's target for the live NB201 search (mean test accuracy of the returned cell)
SEARCH_TARGET = 93.8

DEV = "nb201-cifar10"
HELD_OUT = ("nb201-cifar100", "nb201-imagenet16-120", "nb301-cifar10")
BENCHES = (DEV, *HELD_OUT)
#: the 200-epoch test accuracy of the same cells (NATS-Bench, bundled 15k tables' meta)
TEST_TARGET = {
    "nb201-cifar10": ("nb201-15k-cifar10", "cifar10_test_acc_200ep"),
    "nb201-cifar100": ("nb201-15k-cifar100", "cifar100_test_acc_200ep"),
    "nb201-imagenet16-120": ("nb201-15k-imagenet16-120", "imagenet16_test_acc_200ep"),
}
#: the paper's LIBRA (in-sample selection) Spearman rho, Table 2 (METHOD.md / ANCHORS.md)
PAPER_LIBRA = {
    "nb201-cifar10": 0.89,
    "nb201-cifar100": 0.90,
    "nb201-imagenet16-120": 0.87,
    "nb301-cifar10": 0.74,
}
RHO_MARGIN = 0.01  # sets this close to the best NB201 CIFAR-10 rho stay candidates
TIE = 0.005  # AutoFormer rhos this close are ties, broken by cost
MAX_SET = 2 if C.QUICK else 4  # --quick: sets of 1-2 proxies (the report's code, in seconds)


def quiet_load(name: str, libranas_proxies: Any = None) -> Any:
    return C.quiet_benchmark(name, libranas_proxies)


# ------------------------------------------------------------------------- fusions


def fused(lr: pd.DataFrame, cols: list[str]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(lr[cols].to_numpy(), axis=1)


# ---------------------------------------------------------------------- dev tables


def dev_nb201() -> tuple[pd.DataFrame, np.ndarray]:
    from libranas.datasets import load_libranas_table

    bench = quiet_load(DEV, libranas_proxies=False)
    t = load_libranas_table(DEV)
    done = [p for p in t.values.columns if t.computed[p].all()]
    return t.values.loc[bench.X.index, done], bench.y.to_numpy()


def dev_autoformer() -> tuple[pd.DataFrame, np.ndarray]:
    return C.autoformer_proxies(AF_TARGET)


def nb201_costs() -> pd.Series:
    """Median CPU seconds per NB201 CIFAR-10 cell of every proxy alone (one thread)."""
    return C.nb201_proxy_costs()


# ------------------------------------------------------------------------ selection


#: the pool the default was first chosen from (commit 1ac752f): the 20 proxies of the first
#: tables; AZ-NAS's four joined the NB201 CIFAR-10 table later (after the default's NB301
#: result had been seen), so the report applies the same rule to both pools
FIRST_POOL_LEFT_OUT = tuple(sorted(AZNAS_SET))


def rule_pick(table: pd.DataFrame, margin: float = RHO_MARGIN) -> dict[str, Any]:
    """The rule (module notes; ``margin``: its RHO_MARGIN) on a table of every set's
    ``rho_c10``, ``rho_af`` and ``cost``: the sets kept, the ties and the chosen set."""
    best_c10 = table["rho_c10"].max()
    near = table[table["rho_c10"] >= best_c10 - margin]
    best_af = near["rho_af"].max()
    tied = near[near["rho_af"] >= best_af - TIE].sort_values(["cost", "rho_af"], ascending=[1, 0])
    return {
        "best_c10": best_c10,
        "near": near,
        "tied": tied,
        "chosen": tuple(sorted(tied.iloc[0]["set"])),
    }


def select(verbose: bool = True, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """Apply the rule (module notes) to every proxy computed on both development sets but
    ``leave_out``, and return the chosen set with the candidates' table (``sets``: every
    set's rhos and cost, for :func:`rule_pick` with another margin)."""
    c10, y10 = dev_nb201()
    af, yaf = dev_autoformer()
    costs = nb201_costs()
    pool = [p for p in c10.columns if p in af.columns and p in costs.index and p not in leave_out]
    lr10, lraf = log_ranks(c10[pool]), log_ranks(af[pool])
    rows = []
    for k in range(1, MAX_SET + 1):
        for s in itertools.combinations(pool, k):
            cols = list(s)
            rows.append(
                {
                    "set": cols,
                    "rho_c10": rho_last(fused(lr10, cols), y10),
                    "rho_af": rho_last(fused(lraf, cols), yaf),
                    "cost": float(costs[cols].sum()),
                }
            )
    table = pd.DataFrame(rows)
    pick = rule_pick(table)
    best_c10, near, tied, chosen = pick["best_c10"], pick["near"], pick["tied"], pick["chosen"]
    singles = table[table["set"].map(len) == 1]
    out = {
        "pool": pool,
        "n_sets": len(table),
        "best_c10": best_c10,
        "near": near.sort_values("rho_af", ascending=False),
        "tied": tied,
        "chosen": chosen,
        "costs": costs,
        "singles": singles.set_index(singles["set"].map(lambda s: s[0])),
        "n_dev": (len(y10), len(yaf)),
        "sets": table,
    }
    if verbose:
        print(f"pool ({len(pool)}): {pool}")
        print(f"{len(table)} sets; best NB201 CIFAR-10 log-rank rho {best_c10:.4f}")
        print(near.sort_values("rho_af", ascending=False).head(10).to_string())
        print(f"chosen: {chosen}")
    return out


#: a search-specific set (``select_search``, tried and not adopted: zero_label.md): a search
#: returns the top of its ranking, so the set is judged by the expected accuracy of the top
#: cell among TOP_POP random development cells (TOP_DRAWS draws, one fixed seed)
TOP_POP = 100
TOP_DRAWS = 1000
SEARCH_GAIN = 0.1  # accuracy points an added proxy must gain on that expectation


def top_draws(n: int, pop: int = TOP_POP, draws: int = TOP_DRAWS, seed: int = 0) -> np.ndarray:
    """``draws`` random populations of ``pop`` of ``n`` rows (without replacement)."""
    rng = np.random.default_rng(seed)
    return np.array([rng.choice(n, min(pop, n), replace=False) for _ in range(draws)])


def expected_top(score: np.ndarray, y: np.ndarray, draws: np.ndarray) -> float:
    """Mean target of the top-scored row of each random population (an unscored row is
    never the top): what a search that evaluates such a population returns, on average."""
    s = np.where(np.isnan(score), -np.inf, score)[draws]
    return float(y[draws[np.arange(len(draws)), s.argmax(axis=1)]].mean())


def select_search(verbose: bool = True, base: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The search-specific rule, on NB201 CIFAR-10 (development data) only: start from the
    training-free default; add the pool proxy (the pool of ``select``) whose addition most
    raises ``expected_top`` (validation accuracy) among those that keep the set's log-rank
    rho within RHO_MARGIN of the default's; repeat while an addition gains SEARCH_GAIN
    points or more."""
    from libranas.proxies import TRAINING_FREE_DEFAULT

    base = tuple(TRAINING_FREE_DEFAULT if base is None else base)
    c10, y10 = dev_nb201()
    af, _ = dev_autoformer()
    costs = nb201_costs()
    pool = [p for p in c10.columns if p in af.columns and p in costs.index]
    lr10 = log_ranks(c10[pool])
    draws = top_draws(len(y10))
    current = list(base)
    floor = rho_last(fused(lr10, current), y10) - RHO_MARGIN
    value = expected_top(fused(lr10, current), y10, draws)
    steps = []
    while True:
        cands = []
        for p in pool:
            if p in current:
                continue
            f = fused(lr10, [*current, p])
            cands.append(
                {"add": p, "rho_c10": rho_last(f, y10), "top": expected_top(f, y10, draws)}
            )
        table = pd.DataFrame(cands)
        ok = table[table["rho_c10"] >= floor].sort_values("top", ascending=False)
        if ok.empty:
            break
        best = ok.iloc[0]
        gain = float(best["top"] - value)
        steps.append({"set": list(current), "top": value, "candidates": ok, "gain": gain})
        if gain < SEARCH_GAIN:
            break
        current.append(str(best["add"]))
        value = float(best["top"])
    chosen = tuple(current)
    if verbose:
        for st in steps:
            print(f"from {st['set']} (expected top {st['top']:.3f}):")
            print(st["candidates"].head(5).to_string(index=False))
        print(f"search-rule set: {chosen} (expected top {value:.3f})")
    return {"chosen": chosen, "steps": steps, "top": value, "rho_floor": floor, "n_dev": len(y10)}


def test_target(name: str, index: Any) -> np.ndarray | None:
    """The 200-epoch test accuracy of the cells ``index`` (NB201 only; None otherwise)."""
    if name not in TEST_TARGET:
        return None
    from libranas.spaces import get_space

    big, column = TEST_TARGET[name]
    meta = quiet_load(big).meta
    space = get_space("nb201")
    return meta.loc[[space.to_string(a) for a in index], column].to_numpy(float)


def held_out_rows(default: tuple[str, ...]) -> list[dict[str, Any]]:
    """The default's log-rank (and each of its proxies) on every benchmark, on the rows the
    libranas table has computed for all of them."""
    from libranas import ZCRanker
    from libranas.datasets import load_libranas_table

    rows = []
    for name in BENCHES:
        bench = quiet_load(name, libranas_proxies=False)
        t = load_libranas_table(name)
        cols = list(default)
        have = t.computed.loc[bench.X.index, cols].all(axis=1).to_numpy()
        X = t.values.loc[bench.X.index, cols][have]
        y = bench.y.to_numpy()[have]
        test = test_target(name, bench.X.index)
        score = ZCRanker("log-rank").fit(X).predict(X)
        row = {
            "benchmark": name,
            "role": "development" if name == DEV else "not read by the rule",
            "n": int(have.sum()),
            "of": len(bench),
            "rho_val": rho_last(score, y),
            "tau_val": C.kendall(np.where(np.isnan(score), -np.inf, score), y),
            "ci_val": C.bootstrap_rho(score, y)[1:],
            "rho_test": None if test is None else rho_last(score, test[have]),
            "singles": {c: C.spearman(X[c], y)[0] for c in cols},
        }
        rows.append(row)
    return rows


#: the issue's zero-label floors per benchmark (validation target)
FLOORS = {
    "nb201-cifar10": 0.91,
    "nb201-cifar100": 0.90,
    "nb201-imagenet16-120": 0.89,
    "nb301-cifar10": 0.60,
}


def floor_sets() -> tuple[list[str], pd.DataFrame]:
    """Diagnostic, not a selection (it reads every benchmark's labels): the log-rank rho of
    every set of 1 to MAX_SET proxies complete on all four tables, on each table and on
    AutoFormer-Tiny, and whether it meets every floor."""
    from libranas.datasets import load_libranas_table

    tabs = {}
    for name in FLOORS:
        bench = quiet_load(name, libranas_proxies=False)
        t = load_libranas_table(name)
        done = [p for p in t.values.columns if t.computed[p].all()]
        tabs[name] = (t.values.loc[bench.X.index, done], bench.y.to_numpy())
    af, yaf = dev_autoformer()
    pool = sorted(set.intersection(*(set(x.columns) for x, _ in tabs.values())) & set(af))
    lrs = {name: log_ranks(x[pool]) for name, (x, _) in tabs.items()}
    lraf = log_ranks(af[pool])
    rows = []
    for k in range(1, MAX_SET + 1):
        for cols in map(list, itertools.combinations(pool, k)):
            row: dict[str, Any] = {"set": tuple(cols)}
            row.update({n: rho_last(fused(lrs[n], cols), tabs[n][1]) for n in FLOORS})
            row["autoformer"] = rho_last(fused(lraf, cols), yaf)
            rows.append(row)
    table = pd.DataFrame(rows)
    table["margin"] = np.min([table[n] - f for n, f in FLOORS.items()], axis=0)
    table["meets"] = table["margin"] >= 0
    return pool, table
