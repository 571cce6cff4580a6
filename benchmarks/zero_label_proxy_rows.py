"""Every proxy, transfer, in-sample LIBRA, published scores, VKDNW and AZ-NAS rows of
``zero_label.py``'s report (computation only; the text is in ``zero_label_sections.py``).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import _common as C
import numpy as np
import pandas as pd
from _common import rho_last
from zero_label_rows import BENCHES, DEV, PAPER_LIBRA, ZL_CELLS, quiet_load, test_target


def every_proxy_rows() -> pd.DataFrame:
    """Spearman rho of every proxy column (libranas' and NAS-Bench-Suite-Zero's) with the
    validation and (NB201) test targets, over the rows each was computed on."""
    from libranas.datasets import load_libranas_table

    out = []
    for name in BENCHES:
        bench = quiet_load(name, libranas_proxies=False)
        t = load_libranas_table(name)
        y = bench.y.to_numpy()
        test = test_target(name, bench.X.index)
        for p in t.values.columns:
            done = t.computed.loc[bench.X.index, p].to_numpy()
            if not done.any():
                continue
            v = t.values.loc[bench.X.index, p].to_numpy()[done]
            out.append(
                {
                    "benchmark": name,
                    "proxy": f"lib_{p}",
                    "n": int(done.sum()),
                    "rho_val": C.spearman(v, y[done])[0],
                    "rho_test": None if test is None else C.spearman(v, test[done])[0],
                }
            )
        for p in bench.X.columns:
            v = bench.X[p].to_numpy()
            out.append(
                {
                    "benchmark": name,
                    "proxy": f"{p} (NB-Suite-Zero)",
                    "n": int(np.isfinite(v).sum()),
                    "rho_val": C.spearman(v, y)[0],
                    "rho_test": None if test is None else C.spearman(v, test)[0],
                }
            )
    return pd.DataFrame(out)


def transfer_rows(default: tuple[str, ...]) -> pd.DataFrame:
    """LIBRA's selection made with the labels of one benchmark, the other ranked without any
    of its labels (``libranas.evaluation.evaluate_transfer``), on the columns both hold for
    every architecture (NAS-Bench-Suite-Zero's and the complete libranas ones)."""
    from libranas.evaluation import evaluate_transfer, summarize_transfer

    benches = {n: quiet_load(n) for n in BENCHES}
    runs = [
        evaluate_transfer(benches[src], benches[tgt], n_labelled=100, seeds=range(30))
        for src, tgt in itertools.permutations(BENCHES, 2)
    ]
    return summarize_transfer(pd.concat(runs, ignore_index=True))


def in_sample_rows() -> list[dict[str, Any]]:
    """The paper's protocol: LIBRA's selection with every label, ``rank-mean`` fusion,
    evaluated on the same architectures, with the full pool (NAS-Bench-Suite-Zero's columns
    and every complete libranas column), against the paper's numbers."""
    from libranas.datasets import load_libranas_table
    from libranas.evaluation import METHODS, _rank_scores

    out = []
    for name in BENCHES:
        t = load_libranas_table(name)
        pools = [("NB-Suite-Zero only", False, None)]
        if t.computed.all().any():
            pools.append(("+ libranas (complete columns)", None, None))
        if not t.computed.all().any():  # no complete libranas column
            # the rows a partial table has computed for most of its proxies: indicative only
            counts = t.computed.sum()
            best = counts[counts == counts.max()].index
            rows = t.computed[best].all(axis=1)
            pools.append((f"+ libranas {list(best)} on their {int(rows.sum())} rows", None, rows))
        for label, mode, rows in pools:
            bench = quiet_load(name, libranas_proxies=mode)
            X, y = bench.X, bench.y
            if rows is not None:
                keep = rows.loc[X.index].to_numpy()
                lib = t.values.loc[X.index, list(best)]
                X = pd.concat([X, lib.add_prefix("lib_")], axis=1)[keep]
                y = y[keep]
            model = METHODS["libra+rank-mean"](0, []).fit(X, y)
            rho, tau, unscored = _rank_scores(y.to_numpy(), model.predict(X))
            out.append(
                {
                    "benchmark": name,
                    "pool": label,
                    "n_columns": X.shape[1],
                    "n_rows": len(y),
                    "selected": "+".join(model.named_steps["select"].selected_),
                    "rho": rho,
                    "tau": tau,
                    "paper": PAPER_LIBRA[name],
                }
            )
    return out


def published_scores_rows(default: tuple[str, ...]) -> tuple[int, list[dict[str, Any]]]:
    """The default against VKDNW's and AZ-NAS's aggregates on the same NB201 CIFAR-10 cells
    (those ``zero_label_proxies.py`` scored with VKDNW and AZ-NAS, same seeds and batch)."""
    from libranas import ZCRanker
    from libranas.datasets import load_libranas_table
    from libranas.proxies.aznas import aznas_aggregate
    from libranas.proxies.vkdnw import vkdnw_aggregate

    z = pd.read_csv(ZL_CELLS)
    z = z[z["variant"] == "default"].set_index("arch")
    bench = quiet_load(DEV, libranas_proxies=False)
    cells = [a for a in z.index if a in bench.X.index]
    lib = load_libranas_table(DEV).values.loc[cells]
    table = z.loc[cells].copy()
    for c in ("meco", "zico"):
        table[c] = lib[c]
    val = bench.y.loc[cells].to_numpy()
    test = test_target(DEV, cells)
    X = lib[list(default)]
    scores = {
        f"training-free default ({', '.join(default)})": ZCRanker("log-rank").fit(X).predict(X),
        "VKDNW_agg (vkdnw_single, jacov, az_expressivity, az_trainability, flops)": (
            vkdnw_aggregate(table)
        ),
        "AZ-NAS (the four az_*, real images)": aznas_aggregate(table),
        "vkdnw_single": table["vkdnw_single"].to_numpy(float),
        "meco": table["meco"].to_numpy(float),
    }
    rows = [
        {
            "score": k,
            "rho_val": rho_last(np.asarray(v, float), val),
            "rho_test": rho_last(np.asarray(v, float), test),
        }
        for k, v in scores.items()
    ]
    return len(cells), rows


#: VKDNW_agg's published rho on NB201 (VKDNW paper, Table 1; ANCHORS.md)
VKDNW_PUBLISHED = {"nb201-cifar10": 0.919, "nb201-cifar100": 0.919, "nb201-imagenet16-120": 0.906}


VKDNW_CACHE = C.CACHE / "proxy_tables" / "{name}__nb201-vkdnw__full.csv"


def vkdnw_held_out_rows(default: tuple[str, ...]) -> list[dict[str, Any]]:
    """VKDNW_agg on the NB201 tables for which ``proxy_tables.py`` group ``nb201-vkdnw``
    computed ``vkdnw_single`` (run on a prefix of the random cell order: a uniform subset;
    not exported, so the shipped tables stay complete), its other components and the
    default from the shipped table, on the same cells."""
    from libranas import ZCRanker
    from libranas.datasets import load_libranas_table
    from libranas.proxies.vkdnw import VKDNW_AGG_PROXIES, vkdnw_aggregate

    rows = []
    for name in VKDNW_PUBLISHED:
        path = Path(str(VKDNW_CACHE).format(name=name))
        if not path.exists():
            continue
        vk = pd.read_csv(path).drop_duplicates("arch", keep="last").set_index("arch")
        t = load_libranas_table(name)
        bench = quiet_load(name, libranas_proxies=False)
        others = [p for p in VKDNW_AGG_PROXIES if p != "vkdnw_single"]
        need = list(dict.fromkeys([*others, *default]))
        have = t.computed.loc[bench.X.index, need].all(axis=1)
        cells = [a for a in bench.X.index[have.to_numpy()] if a in vk.index]
        if len(cells) < 20:
            continue
        X = t.values.loc[cells, need].copy()
        X["vkdnw_single"] = vk.loc[cells, "vkdnw_single"].astype(float)
        val = bench.y.loc[cells].to_numpy()
        test = test_target(name, cells)
        scores = {
            "VKDNW_agg": vkdnw_aggregate(X),
            "vkdnw_single": X["vkdnw_single"].to_numpy(float),
            "default": ZCRanker("log-rank").fit(X[list(default)]).predict(X[list(default)]),
        }
        row: dict[str, Any] = {"benchmark": name, "n": len(cells), "of": len(bench)}
        for k, v in scores.items():
            v = np.asarray(v, float)
            row[k] = (rho_last(v, val), rho_last(v, test), C.bootstrap_rho(v, test)[1:])
        row["published"] = VKDNW_PUBLISHED[name]
        rows.append(row)
    return rows


#: AZ-NAS's published rho (no labels; ANCHORS.md): its paper, and the re-run in VKDNW's paper
AZNAS_PUBLISHED = {
    "nb201-cifar10": (0.91, 0.892),
    "nb201-cifar100": (0.90, 0.880),
    "nb201-imagenet16-120": (0.89, 0.859),
    "nb301-cifar10": (0.70, None),
}


def with_aznas(default: tuple[str, ...]) -> list[tuple[str, pd.DataFrame, np.ndarray, Any, int]]:
    """Per benchmark whose table holds AZ-NAS's proxies: ``(name, X, y, test, n_rows)`` on the
    rows where they and the default are computed (test: None without a test target)."""
    from libranas.datasets import load_libranas_table
    from libranas.proxies.aznas import AZNAS_PROXIES

    out = []
    for name in BENCHES:
        t = load_libranas_table(name)
        if not set(AZNAS_PROXIES) <= set(t.values.columns):
            continue
        bench = quiet_load(name, libranas_proxies=False)
        have = t.computed.loc[bench.X.index, [*AZNAS_PROXIES, *default]].all(axis=1).to_numpy()
        if not have.any():
            continue
        test = test_target(name, bench.X.index)
        out.append(
            (
                name,
                t.values.loc[bench.X.index][have],
                bench.y.to_numpy()[have],
                None if test is None else test[have],
                len(bench),
            )
        )
    return out


def aznas_rows(default: tuple[str, ...]) -> list[dict[str, Any]]:
    """AZ-NAS's aggregate of the shipped az_* columns on every benchmark whose table holds
    them, next to the default on the same rows (rows where both are computed)."""
    from libranas import ZCRanker
    from libranas.proxies.aznas import AZNAS_PROXIES, aznas_aggregate

    rows = []
    for name, X, y, test, of in with_aznas(default):
        az = aznas_aggregate(X)
        dflt = ZCRanker("log-rank").fit(X[list(default)]).predict(X[list(default)])
        rows.append(
            {
                "benchmark": name,
                "n": len(X),
                "of": of,
                "az_val": rho_last(az, y),
                "az_ci": C.bootstrap_rho(az, y)[1:],
                "az_test": None if test is None else rho_last(az, test),
                "default_val": rho_last(dflt, y),
                "singles": {c: C.spearman(X[c], y)[0] for c in AZNAS_PROXIES},
                "published": AZNAS_PUBLISHED.get(name, (None, None)),
            }
        )
    return rows


GAUSS_CACHE = C.CACHE / "proxy_tables" / "{name}__nb201-az__gauss.csv"
NB301_INITS = C.CACHE / "nb301_inits.csv"


def aznas_gauss_rows() -> list[dict[str, Any]]:
    """AZ-NAS on a standard Gaussian batch (its own NB201 code's input; proxy_tables.py
    setting ``gauss`` for NB201, nb301_inits.py --gaussian for an NB301 subset) next to the
    shipped image-batch columns on the same cells."""
    from libranas.datasets import load_libranas_table
    from libranas.proxies.aznas import AZNAS_PROXIES, aznas_aggregate

    rows = []
    for name in BENCHES:
        if name.startswith("nb201"):
            path = Path(str(GAUSS_CACHE).format(name=name))
            if not path.exists():
                continue
            g = pd.read_csv(path).drop_duplicates("arch", keep="last").set_index("arch")
            source = f"proxy_tables.py --run {name}:nb201-az:gauss"
        else:
            if not NB301_INITS.exists():
                continue
            g = pd.read_csv(NB301_INITS)
            g = g[g["variant"] == "gaussian"].drop_duplicates("arch", keep="last")
            g = g.set_index("arch")
            source = "nb301_inits.py --gaussian"
        bench = quiet_load(name, libranas_proxies=False)
        shipped = load_libranas_table(name)
        cells = [a for a in bench.X.index if a in g.index]
        cells = [a for a in cells if shipped.computed.loc[a, list(AZNAS_PROXIES)].all()]
        if len(cells) < 20:
            continue
        pos = bench.X.index.get_indexer(cells)
        y = bench.y.to_numpy()[pos]
        test = test_target(name, bench.X.index)
        gauss = aznas_aggregate(g.loc[cells, list(AZNAS_PROXIES)].astype(float))
        img = aznas_aggregate(shipped.values.loc[cells, list(AZNAS_PROXIES)].astype(float))
        rows.append(
            {
                "benchmark": name,
                "n": len(cells),
                "of": len(bench),
                "source": source,
                "gauss_val": rho_last(gauss, y),
                "gauss_test": None if test is None else rho_last(gauss, test[pos]),
                "img_val": rho_last(img, y),
                "img_test": None if test is None else rho_last(img, test[pos]),
                "published": AZNAS_PUBLISHED.get(name, (None, None)),
                "progressivity": (
                    C.spearman(g.loc[cells, "az_progressivity"], y)[0],
                    C.spearman(shipped.values.loc[cells, "az_progressivity"], y)[0],
                ),
            }
        )
    return rows
