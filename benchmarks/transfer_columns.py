"""Zero-label transfer between spaces: which columns and which model transfer.

``network_features.py transfer`` fits :class:`libranas.transfer.TransferRanker` (gradient
boosting) on every column the tables share -- the 11 NAS-Bench-Suite-Zero proxies every table
has and the 260 whole-network features -- and ranks NB301 with zero NB301 labels at rho 0.243,
far below the training-free default (0.553). This study asks whether the network features
are what fails to transfer, with five candidates, each a leave-one-space-out run over the 12
tables of ``network_features.transfer_tables`` (NB201 x 3 tasks, NB301, TransNAS-Bench-101-micro
x 7 tasks, AutoFormer-Tiny ``c100_kd_acc``; a held-out table's own space never in training;
columns and target rank-normalised within each table, tables weighted equally):

- ``proxies / boosting``, ``proxies / ridge``: the 11 proxies only;
- ``proxies+network / boosting`` (the study's transfer), ``proxies+network / ridge``;
- ``network / ridge``: the network features only.

``ridge`` is ``sklearn.linear_model.Ridge(alpha=1.0)`` (not tuned), ``boosting`` the
TransferRanker default.

Rule (written down with this script, before its first run from a commit): the candidate with
the highest mean zero-label rho over the 12 held-out tables, NB301 counted on its
**development half** only (``libranas.spaces.darts.nb301_split``, the split of
``darts_default.py``); NB301's **held-out half** is reported for the chosen candidate, with the
training-free default (log-rank of ``TRAINING_FREE_DEFAULT``) and NB301's stored DARTS default
on the same half beside it. Disclosure: a scratch run of the same five candidates (same code
path) had printed every number, the held-out half's included, before the rule was written;
the rule reads only the development columns. The other 11 tables are both selection and
report (no table is held out from the choice of five candidates): their numbers are
optimistic by the choice among five.

    python benchmarks/transfer_columns.py            # about 5 min on 2 cores
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NB301 = "nb301-cifar10"
CANDIDATES = [
    ("proxies / boosting", "proxies", "boosting"),
    ("proxies / ridge", "proxies", "ridge"),
    ("proxies+network / boosting", "proxies+network", "boosting"),
    ("proxies+network / ridge", "proxies+network", "ridge"),
    ("network / ridge", "network", "ridge"),
]


def _estimator(kind: str):
    from sklearn.linear_model import Ridge

    return None if kind == "boosting" else Ridge(alpha=1.0)


def _columns(X: pd.DataFrame, which: str) -> list[str]:
    proxies = [c for c in X.columns if c.startswith("proxy:")]
    network = [c for c in X.columns if not c.startswith("proxy:")]
    return {"proxies": proxies, "network": network, "proxies+network": proxies + network}[which]


def run(held_out: list[str]) -> tuple[pd.DataFrame, dict]:
    import network_features as NF

    from libranas.metrics import kendall, spearman
    from libranas.spaces import get_space
    from libranas.spaces.darts import nb301_split
    from libranas.transfer import transfer_predictions

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables, baselines, _what = NF.transfer_tables()
    dev = nb301_split(list(tables[NB301][0].index))
    rows = []
    for label, which, kind in CANDIDATES:
        start = time.perf_counter()
        for name in held_out:
            y = np.asarray(tables[name][1], dtype=float)
            # TransferRanker fitted on the tables of every other space, its ranking of name
            pred = transfer_predictions(tables, name, columns=_columns(tables[name][0], which),
                                        estimator=_estimator(kind), random_state=0)  # fmt: skip
            parts = {"all": slice(None)}
            if name == NB301:
                parts = {"all": slice(None), "development half": dev, "held-out half": ~dev}
            for part, m in parts.items():
                rows.append({"candidate": label, "held_out": name, "part": part,
                             "n": int(len(y[m])), "rho": spearman(y[m], pred[m]),
                             "tau": kendall(y[m], pred[m])})  # fmt: skip
        print(f"{label}: {time.perf_counter() - start:.0f} s", flush=True)
    extra = {}
    if NB301 in held_out:
        from libranas.proxies.aznas import log_rank_sum

        y = np.asarray(tables[NB301][1], dtype=float)
        base = np.asarray(baselines[NB301], dtype=float)
        extra["generic training-free default (log-rank of TRAINING_FREE_DEFAULT)"] = (spearman(y[~dev], base[~dev]),
                                          kendall(y[~dev], base[~dev]))  # fmt: skip
        from libranas import load_benchmark

        proxies = list(get_space("nb301").training_free_default())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib = load_benchmark(NB301, libranas_proxies=proxies)
        score = log_rank_sum(lib.X.loc[tables[NB301][0].index, [f"lib_{p}" for p in proxies]])
        score = np.asarray(score, dtype=float)
        extra[f"DARTS default ({', '.join(proxies)})"] = (spearman(y[~dev], score[~dev]),
                                                          kendall(y[~dev], score[~dev]))  # fmt: skip
    return pd.DataFrame(rows), extra


def report(res: pd.DataFrame, extra: dict, held_out: list[str]) -> str:
    sel = res[(res.part == "all") | (res.part == "development half")]
    sel = sel[~((sel.held_out == NB301) & (sel.part == "all"))]
    mean = sel.groupby("candidate", sort=False).rho.mean()
    chosen = mean.idxmax()
    lines = [
        "# Zero-label transfer between spaces: which columns and which model transfer",
        "",
        f"Made by `python benchmarks/transfer_columns.py` (protocol and rule: the script's "
        f"docstring). Held-out tables: {len(held_out)}; target: each table's accuracy "
        "(NB201 / NB301 validation, TNB101 task metric, AutoFormer c100_kd_acc); zero labels "
        "of the held-out table; one fit per held-out table (deterministic, seed 0), so no "
        "spread over splits: rho and tau on every architecture of the held-out table (NB301: "
        "on each half).",
        "",
        "## Rule: mean zero-label rho, NB301 on its development half",
        "",
        "| candidate | mean rho over the held-out tables (selection) |",
        "|---|---|",
    ]
    lines += [f"| {c} | {v:.3f}{' (chosen)' if c == chosen else ''} |" for c, v in mean.items()]
    if NB301 in held_out:
        n301 = res[(res.held_out == NB301)].set_index(["candidate", "part"])
        lines += ["", "## NB301 with zero NB301 labels", "",
                  "| ranking | development half rho / tau | held-out half rho / tau | all 725 rho |",
                  "|---|---|---|---|"]  # fmt: skip
        for c in mean.index:
            d, h, a = (n301.loc[(c, p)] for p in ("development half", "held-out half", "all"))
            mark = " (chosen)" if c == chosen else ""
            lines.append(f"| transfer: {c}{mark} | {d.rho:.3f} / {d.tau:.3f} | "
                         f"{h.rho:.3f} / {h.tau:.3f} | {a.rho:.3f} |")  # fmt: skip
        for label, (rho, tau) in extra.items():
            lines.append(f"| {label}, zero labels | | {rho:.3f} / {tau:.3f} | |")
        held = n301.loc[(chosen, "held-out half")].rho
        lines += ["", f"Chosen candidate on NB301's held-out half: rho {held:.3f} "
                  f"(issue 22 asks >= 0.60: "
                  f"{'met' if held >= 0.60 else f'not met, {0.60 - held:.3f} short'})."]  # fmt: skip
    wide = res[res.part != "development half"]
    wide = wide[~((wide.held_out == NB301) & (wide.part == "all"))]
    table = wide.pivot_table(index="held_out", columns="candidate", values="rho", sort=False)
    lines += ["", "## Every held-out table (rho; NB301: held-out half)", "",
              "| held out | " + " | ".join(table.columns) + " |",
              "|---|" + "---|" * len(table.columns)]  # fmt: skip
    for name, row in table.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--held-out", nargs="*", default=None,
                    help="tables to hold out (default: all 12; --quick: NB301 and one TNB task)")  # fmt: skip
    args = ap.parse_args()
    import network_features as NF

    held_out = args.held_out or (
        [NB301, "tnb101-micro-jigsaw"] if C.QUICK else [*NF.BENCHMARKS, "autoformer-tiny"]
    )
    NF._torch_one_thread()
    res, extra = run(held_out)
    C.write_results(C.RESULTS / "transfer_columns.md", report(res, extra, held_out))


if __name__ == "__main__":
    main()
