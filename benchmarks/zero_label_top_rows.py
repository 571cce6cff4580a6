"""The top of each ranking and the live searches' rows of ``zero_label.py``'s report
(computation only; the text is in ``zero_label_report.py``).
"""

from __future__ import annotations

import json
from typing import Any

import _common as C
import numpy as np
import pandas as pd
from _common import AZNAS_SET, SEARCH_RULE_SET, rho_last
from zero_label_proxy_rows import with_aznas
from zero_label_rows import SEARCH_DIR, SEARCH_TARGET, expected_top, top_draws


def top_pick_rows(default: tuple[str, ...]) -> list[dict[str, Any]]:
    """What each zero-label score puts at the top of a table (a search returns its top): the
    target of its first cell, the mean of its first 10, and ``expected_top`` (the mean target
    of its top cell in random populations of TOP_POP of the table's cells), with its rho; for
    the ranking default, the search-rule set and AZ-NAS (rows where all are computed). Target:
    the 200-epoch test accuracy on NB201, the surrogate's validation accuracy on NB301."""
    from libranas import ZCRanker
    from libranas.proxies.aznas import aznas_aggregate

    search = SEARCH_RULE_SET
    rows = []
    for name, X, y, test, _ in with_aznas((*default, *search)):
        target = y if test is None else test
        draws = top_draws(len(target))
        scores = {
            "ranking default": ZCRanker("log-rank").fit(X[list(default)]).predict(X[list(default)]),
            "search-rule set": ZCRanker("log-rank").fit(X[list(search)]).predict(X[list(search)]),
            "AZ-NAS": aznas_aggregate(X),
        }
        for label, score in scores.items():
            order = np.argsort(-np.where(np.isnan(score), -np.inf, score), kind="stable")
            rows.append(
                {
                    "benchmark": name,
                    "target": "validation (surrogate)" if test is None else "test (200 ep)",
                    "n": len(X),
                    "score": label,
                    "rho": rho_last(score, target),
                    "top1": float(target[order[0]]),
                    "top10": float(target[order[:10]].mean()),
                    "expected_top": expected_top(score, target, draws),
                    "oracle_top": expected_top(target.astype(float), target, draws),
                    "best": float(target.max()),
                    "better_than_top1": int((target > target[order[0]]).sum()),
                }
            )
    return rows


def evaluated_test_accs(name: str, task: str = "cifar10") -> np.ndarray | None:
    """Test accuracies on ``task`` of every NB201 cell a search evaluated (its --storage
    record, named as its results file ``name``.json)."""
    from libranas.datasets.nb201_search import nb201_search_table
    from libranas.search.storage import JSONLStorage

    path = C.CACHE / "zero_label_search" / f"{name}.jsonl"
    if not path.exists():
        return None
    archs = C.evaluated_archs(JSONLStorage(path))
    acc = nb201_search_table(task).meta["test_acc"]
    return np.array([acc[a] for a in archs], dtype=float)


def search_top_end(proxies: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, float]] | None:
    """How a set ranks the cells the NB201 live searches evaluated (all seeds, read from
    their shared proxy store; the cells with every proxy of the set stored): Spearman rho of
    each proxy and of the log-rank fusion against the 200-epoch CIFAR-10 test accuracy, over
    every such cell and within the best of them (the population a search's pick is made
    in)."""
    from scipy.stats import spearmanr

    from libranas import ZCRanker
    from libranas.datasets.nb201_search import nb201_search_table
    from libranas.spaces import get_space
    from libranas.store import ScoreStore

    path = C.CACHE / "zero_label_search" / "nb201_proxies.sqlite"
    if not path.exists():
        return None
    with ScoreStore(path) as store:
        rows = store.to_frame()
    # the store keys the space by its repr (name and options): the searches' default NB201
    space = repr(get_space("nb201"))
    rows = rows[rows["proxy"].isin(proxies) & (rows["space"] == space)]
    if rows[["data_fp", "seed", "options_fp"]].drop_duplicates().shape[0] != 1:
        raise SystemExit(f"{path}: expected one scoring context (one batch, one init seed)")
    X = rows.pivot(index="arch", columns="proxy", values="value")[list(proxies)]
    X = X.dropna()
    acc = nb201_search_table("cifar10", encoding=False).meta["test_acc"]
    y = acc.loc[X.index].to_numpy(dtype=float)
    space_acc = acc.to_numpy(dtype=float)
    fused = ZCRanker("log-rank").fit(X).predict(X)  # reference: every evaluated cell
    cols = {**{p: X[p].to_numpy() for p in X.columns}, "log-rank fusion": fused}
    subsets = {"every evaluated cell": np.ones(len(y), bool)}
    for q in (0.9, 0.99):
        thr = float(np.quantile(space_acc[np.isfinite(space_acc)], q))
        subsets[f"test acc >= {thr:.2f} (top {100 * (1 - q):.0f}% of the space)"] = y >= thr
    out = []
    for name, m in subsets.items():
        row = {"cells": name, "n": int(m.sum())}
        for c, v in cols.items():
            row[c] = spearmanr(v[m], y[m]).statistic if m.sum() > 2 else np.nan
        out.append(row)
    order = np.argsort(-fused, kind="stable")
    facts = {
        "n": len(y),
        "best": float(y.max()),
        "top1": float(y[order[0]]),
        "top10": float(y[order[:10]].mean()),
        "n_above_target": int((y >= SEARCH_TARGET).sum()),
    }
    return pd.DataFrame(out), facts


def search_means() -> dict[tuple[str, tuple[str, ...]], tuple[float, int]]:
    """Mean test accuracy and seed count of the NB201 live searches per (task, sorted
    proxies)."""
    out: dict[tuple[str, tuple[str, ...]], list[float]] = {}
    for r in search_rows():
        if r.get("space") == "nb201" and r.get("test_acc"):
            key = (r.get("task", "cifar10"), tuple(sorted(r.get("selected_proxies", []))))
            out.setdefault(key, []).append(float(r["test_acc"]))
    return {k: (float(np.mean(v)), len(v)) for k, v in out.items()}


def seed_acc(task: str, proxies: tuple[str, ...], seed: int) -> str:
    """The test accuracy of one NB201 live search (task, proxy set, seed), or 'not run'."""
    for r in search_rows():
        same = tuple(sorted(r.get("selected_proxies", []))) == tuple(sorted(proxies))
        if r.get("space") == "nb201" and r.get("task", "cifar10") == task and same:
            if r.get("seed") == seed and r.get("test_acc"):
                return f"{float(r['test_acc']):.2f}"
    return "not run"


def aznas_search_verdict(
    means: dict[tuple[str, tuple[str, ...]], tuple[float, int]], default: tuple[str, ...]
) -> str:
    """The declared held-out rule for AZ-NAS as search set, applied (zero_label_search.py)."""
    az = means.get(("cifar100", tuple(sorted(AZNAS_SET))))
    df = means.get(("cifar100", tuple(sorted(default))))
    if az is None or df is None or az[1] < 3 or df[1] < 3:
        return "The three seeds are not all run yet: no decision."
    if az[0] >= df[0]:
        return "By the declared rule AZ-NAS's proxies are the search default."
    return (
        "By the declared rule AZ-NAS's proxies are not the search default: "
        "`libranas search --labelled 0` keeps `TRAINING_FREE_DEFAULT`."
    )


def search_rows() -> list[dict[str, Any]]:
    if not SEARCH_DIR.exists():
        return []
    out = []
    for path in sorted(SEARCH_DIR.glob("*.json")):
        r = json.loads(path.read_text())
        out.append({"file": path.name, "name": path.stem, **r})
    return out
