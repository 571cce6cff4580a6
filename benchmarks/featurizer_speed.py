"""Shared pass vs one pass per proxy, and ProxyFeaturizer.transform, on NB201 cells.

For each cell (the first n of the NAS-Bench-Suite-Zero CIFAR-10 table in the benchmarks'
fixed random order), one network is built at initialisation (seed from the architecture)
and scored with the full proxy set on the same real CIFAR-10 batch of 64, three ways:

- shared: one :class:`NetworkPass` for all proxies, planned as ProxyFeaturizer plans it
  (one fused forward serves activations, input Jacobian, loss gradients and GraSP's
  Hessian-gradient product);
- previous engine: one NetworkPass for all proxies without the plan (the engine before
  fusion; per-sample gradients by ``vmap`` in both), for the speed-up of that change;
- separate: a fresh :class:`NetworkPass` per proxy (each proxy pays for its own passes,
  as in NAS-Bench-Suite-Zero), same model state, batch and seed;
- featurizer: ``ProxyFeaturizer(...).transform(cells)`` (band None, so no calibration),
  which should equal the shared engine plus a small overhead.

One warm-up cell runs first (not timed); the shared and separate runs alternate their order
from cell to cell; torch threads are pinned. Scores of the three ways are checked to agree.

    python benchmarks/featurizer_speed.py --n-cells 10 --threads 1
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def shared(model, x, y, seed, proxies, *, previous: bool = False):
    import torch

    from libranas.proxies import get_proxy
    from libranas.proxies._engine import NetworkPass, plan_for

    m = copy.deepcopy(model)
    times, values = {}, {}
    if previous:
        plan, options = (), {"per_sample_impl": "vmap"}
    else:
        plan, options = plan_for(proxies), {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        t_all = time.perf_counter()
        npass = NetworkPass(m, x, y, seed=seed, options=options, plan=plan)
        for p in proxies:
            t = time.perf_counter()
            values[p] = _call(get_proxy(p).func, npass)
            times[p] = time.perf_counter() - t
        total = time.perf_counter() - t_all
    return total, times, values


def separate(model, x, y, seed, proxies):
    import torch

    from libranas.proxies import get_proxy
    from libranas.proxies._engine import NetworkPass

    times, values = {}, {}
    for p in proxies:
        m = copy.deepcopy(model)  # same model state for every proxy, copied outside the timer
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            t = time.perf_counter()
            npass = NetworkPass(m, x, y, seed=seed)
            values[p] = _call(get_proxy(p).func, npass)
            times[p] = time.perf_counter() - t
    return sum(times.values()), times, values


def _call(func, npass) -> float:
    try:
        v = float(func(npass))
    except Exception:  # noqa: BLE001 - a failure is NaN, as score_network does
        return float("nan")
    return v if math.isfinite(v) else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n-cells", type=int, default=10)
    p.add_argument("--tasks", nargs="+", default=["cifar10"], help="one task (default cifar10)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--proxies", nargs="+", default=None, help="default: every registered proxy")
    args = p.parse_args()
    if len(args.tasks) != 1:
        raise SystemExit("featurizer_speed times one task; pass a single --tasks value")
    C.setup_torch(args.threads)
    import torch

    from libranas.featurizer import ProxyFeaturizer
    from libranas.proxies import list_proxies

    task = C.parse_tasks(args.tasks)[0]
    proxies = args.proxies or list_proxies()
    bench = C.load_table(task)
    order = C.cell_order(bench.X.index)
    warm, cells = order[args.n_cells], order[: args.n_cells]
    x, y = C.load_batch(task)

    # ProxyFeaturizer on the same batch and seeds, no calibration (band None)
    feat = ProxyFeaturizer(
        "nb201",
        proxies=proxies,
        data=(x.numpy(), y.numpy()),
        batch_size=C.BATCH,
        device="cpu",
        lswag_band=None,
        num_classes=task.num_classes,
        n_threads=args.threads,
        random_state=C.INIT_SEED,
    )
    feat.fit()

    # warm-up (not timed): every way on one other cell
    wm = C.build(warm, task.num_classes, C.init_seed(warm))
    shared(wm, x, y, C.init_seed(warm), proxies)
    separate(wm, x, y, C.init_seed(warm), proxies)
    shared(wm, x, y, C.init_seed(warm), proxies, previous=True)
    feat.transform([warm])
    print("warm-up done", flush=True)

    rows, per_proxy = [], []
    max_diff = feat_diff = prev_diff = 0.0
    n_warn = 0
    ways = ["shared", "separate", "featurizer", "previous"]
    for i, arch in enumerate(cells):
        seed = C.init_seed(arch)
        t = time.perf_counter()
        model = C.build(arch, task.num_classes, seed)
        t_build = time.perf_counter() - t
        out = {}
        for way in ways[i % 4 :] + ways[: i % 4]:  # rotate the order from cell to cell
            if way == "shared":
                out[way] = shared(model, x, y, seed, proxies)
            elif way == "previous":
                out[way] = shared(model, x, y, seed, proxies, previous=True)
            elif way == "separate":
                out[way] = separate(model, x, y, seed, proxies)
            else:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    t = time.perf_counter()
                    z = feat.transform([arch])[0]
                    out[way] = (time.perf_counter() - t, None, dict(zip(proxies, z, strict=True)))
                n_warn += len(caught)
        (ts, tsp, vs), (tp, tpp, vp), (tf, _, vf), (to, _, vo) = (
            out["shared"],
            out["separate"],
            out["featurizer"],
            out["previous"],
        )
        for q in proxies:
            for other, store in ((vp, "sep"), (vf, "feat"), (vo, "prev")):
                a, b = vs[q], float(other[q])
                if math.isfinite(a) and math.isfinite(b):
                    d = abs(a - b) / max(abs(b), 1e-12)
                elif math.isfinite(a) != math.isfinite(b):
                    d = float("inf")
                else:
                    d = 0.0
                if store == "sep":
                    max_diff = max(max_diff, d)
                elif store == "prev":
                    prev_diff = max(prev_diff, d)
                else:
                    feat_diff = max(feat_diff, d)
            per_proxy.append({"arch": arch, "proxy": q, "shared_s": tsp[q], "separate_s": tpp[q]})
        rows.append(
            {
                "arch": arch,
                "build_s": t_build,
                "shared_s": ts,
                "separate_s": tp,
                "featurizer_s": tf,
                "previous_s": to,
                "ratio": tp / ts,
            }
        )
        print(
            f"{i + 1}/{len(cells)} shared {ts:.1f}s separate {tp:.1f}s featurizer {tf:.1f}s "
            f"previous {to:.1f}s ratio {tp / ts:.2f}",
            flush=True,
        )

    r = pd.DataFrame(rows)
    pp = pd.DataFrame(per_proxy).groupby("proxy")[["shared_s", "separate_s"]].mean()
    pp = pp.loc[proxies]
    ratio_total = r["separate_s"].sum() / r["shared_s"].sum()
    lines = [
        "# Shared pass vs one pass per proxy (NB201, CPU)",
        "",
        f"Generated by `python benchmarks/featurizer_speed.py --n-cells {args.n_cells} "
        f"--threads {args.threads}` (git {C.code_version()}).",
        "",
        "## Protocol",
        f"- CPU: {C.cpu_name()}; torch {torch.__version__}; torch threads pinned to "
        f"{args.threads}; the machine (2 cores) was shared with other running jobs, so "
        "absolute times are inflated and noisy; the ratio is measured side by side on the "
        "same cells in the same run.",
        f"- Cells: the first {len(cells)} cells of the NAS-Bench-Suite-Zero {task.name} table in "
        f"the benchmarks' fixed random order; one warm-up cell (not timed). "
        f"Batch: {task.describe_batch()}. Init seed `arch_seed(cell, {C.INIT_SEED})`.",
        f"- Proxies ({len(proxies)}): {', '.join(proxies)}. Library default options "
        "(exact per-sample gradients, `vmap` for these CNNs; L-SWAG band None).",
        "- shared = one NetworkPass for all proxies with the featurizer's plan (one fused "
        "forward serves activation codes, input Jacobian, loss gradients and GraSP's "
        "Hessian-gradient product); separate = a fresh NetworkPass per proxy, no plan "
        "(same model state, copied outside the timer), as tools that run each proxy on its "
        "own do; featurizer = `ProxyFeaturizer(lswag_band=None, n_threads=...)`"
        ".transform([cell]) (builds the network itself); previous engine = one NetworkPass, "
        "no plan (the engine before the fused pass). The order of the four ways rotates from "
        "cell to cell.",
        "",
        "## Results",
        "",
        "| way | seconds per architecture (mean) | median | ratio to shared |",
        "|---|---|---|---|",
        f"| shared pass (full set) | {r['shared_s'].mean():.2f} | {r['shared_s'].median():.2f} | 1.00 |",
        f"| one pass per proxy | {r['separate_s'].mean():.2f} | {r['separate_s'].median():.2f} | "
        f"{ratio_total:.2f} |",
        f"| ProxyFeaturizer.transform (includes building the network) | "
        f"{r['featurizer_s'].mean():.2f} | {r['featurizer_s'].median():.2f} | "
        f"{r['featurizer_s'].sum() / r['shared_s'].sum():.2f} |",
        f"| previous engine (no fused pass) | {r['previous_s'].mean():.2f} | "
        f"{r['previous_s'].median():.2f} | {r['previous_s'].sum() / r['shared_s'].sum():.2f} |",
        f"| building the network (not in shared / separate) | {r['build_s'].mean():.2f} | "
        f"{r['build_s'].median():.2f} | |",
        "",
        f"Ratio separate / shared: {ratio_total:.2f} over all cells (per cell: median "
        f"{r['ratio'].median():.2f}, min {r['ratio'].min():.2f}, max {r['ratio'].max():.2f}); "
        f"goal >= 3: {'met' if ratio_total >= 3 else 'NOT met'}.",
        "",
        f"Agreement: max relative difference shared vs separate {max_diff:.1e}; featurizer vs "
        f"shared engine {feat_diff:.1e} ({n_warn} warnings during transform); previous engine "
        f"vs shared {prev_diff:.1e}.",
        "",
        "### Per proxy (mean seconds per architecture)",
        "",
        "| proxy | own passes (separate) | increment in the shared pass |",
        "|---|---|---|",
    ]
    for q, row in pp.iterrows():
        lines.append(f"| {q} | {row['separate_s']:.3f} | {row['shared_s']:.3f} |")
    lines += [
        "",
        "The increment in the shared pass is the time of the proxy's call when the proxies run "
        "in the order listed: the first proxy that needs a pass pays for it, later ones reuse it "
        "(the first proxy needing the fused batch-loss pass pays for all of it).",
        "",
        "## Reading (generated from the numbers)",
        "",
    ]
    top = pp["separate_s"].sort_values(ascending=False)
    lines.append(
        f"- The full set costs {r['shared_s'].mean():.1f} s per architecture with the shared "
        f"pass and {r['separate_s'].mean():.1f} s with one pass per proxy ({ratio_total:.1f}x)."
    )
    lines.append(
        "- Most expensive on their own: "
        + ", ".join(f"{q} {v:.2f} s" for q, v in top.head(5).items())
        + f" (together {top.head(5).sum() / top.sum():.0%} of the separate total)."
    )
    from libranas.proxies import get_proxy

    own = [q for q in proxies if get_proxy(q).requires & {"own_pass", "hessian_grad"}]
    own_s = pp.loc[own, "separate_s"].sum()
    lines.append(
        f"- Passes that serve one proxy only ({', '.join(own)}; measured on their own) cost "
        f"{own_s:.1f} s, {own_s / r['shared_s'].mean():.0%} of the shared total: they bound "
        "the ratio of the full set (GraSP's double backward is the largest)."
    )
    if "lswag_lambda" in pp.index:
        floor = own_s + pp.loc["lswag_lambda", "separate_s"]
        lines.append(
            f"- A floor for the shared time: those passes plus the per-sample gradients "
            f"(lswag_lambda on its own, {pp.loc['lswag_lambda', 'separate_s']:.2f} s), which no "
            f"other pass can provide (BatchNorm fixed to batch statistics), sum to {floor:.1f} s; "
            f"even if everything else were free the ratio could not exceed "
            f"{r['separate_s'].mean() / floor:.2f}."
        )
    lines.append(
        f"- Against the previous engine the shared pass is "
        f"{r['previous_s'].sum() / r['shared_s'].sum():.2f}x faster on the same cells."
    )
    over = r["featurizer_s"].sum() / (r["shared_s"].sum() + r["build_s"].sum()) - 1
    lines.append(
        f"- ProxyFeaturizer.transform is {over:+.0%} relative to the bare shared engine plus "
        "building the network "
        + (
            "(small overhead, as expected)."
            if abs(over) < 0.15
            else "(more than 15%: look into it; "
            "timings on this shared machine vary by 30-50% run to run)."
        )
    )
    C.write_results(C.RESULTS / "featurizer_speed.md", "\n".join(lines) + "\n")
    pd.DataFrame(per_proxy).to_csv(C.CACHE / "featurizer_speed_raw.csv", index=False)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
