"""The ``libranas search`` subcommand (wired into ``libranas.cli`` by :func:`add_search_parser`).

Example::

    libranas search --space nb201 --task cifar10 --budget 1000 --labelled 100 --seed 0 \\
        --storage runs/c10.jsonl --output runs/c10.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any


def _float_or_none(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def run_search(args: argparse.Namespace) -> int:
    """Handler of ``libranas search``: run, print a summary, write ``--output``."""
    import warnings

    from libranas.search.protocol import METHODS, search_nb201

    if args.space != "nb201":
        print(
            f"error: the search command supports --space nb201 (bundled labels and tables); "
            f"for {args.space!r} use libranas.search.EvolutionarySearch / OptunaSearch",
            file=sys.stderr,
        )
        return 2
    if args.method not in METHODS:  # argparse choices already guard this
        return 2
    constraints: dict[str, Any] = {}
    for key in ("max_params", "max_flops", "max_latency", "device"):
        if getattr(args, key) is not None:
            constraints[key] = getattr(args, key)
    live = None
    if args.mode == "live":
        if not args.data:
            print("error: --mode live needs --data (an .npz image batch)", file=sys.stderr)
            return 2
        live = {"data": args.data, "batch_size": args.live_batch}
        if args.proxies:
            live["proxies"] = args.proxies.split(",")
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            result = search_nb201(
                args.task,
                budget=args.budget,
                labelled=args.labelled,
                method=args.method,
                mode=args.mode,
                refine=not args.no_refine,
                population=args.population,
                batch_size=args.batch_size,
                constraints=constraints or None,
                storage=args.storage,
                live_options=live,
                random_state=args.seed,
            )
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"best architecture: {result['best_arch']}")
    print(
        f"  predicted score {result['predicted_score']:.4g}; true 200-epoch test accuracy "
        f"{result['test_acc']:.2f} (optimum {result['optimum_test_acc']}); validation "
        f"accuracy {result['valid_acc']:.2f}"
    )
    print(
        f"  {result['n_evaluated']} architectures evaluated ({result['n_labelled']} labelled, "
        f"counted in), {result['mode']} proxies, LIBRA selected {result['selected_proxies']}, "
        f"{result['seconds']:.1f} s ({result['score_seconds']:.2f} s scoring)"
    )
    print("trajectory (evaluated -> best so far by the scorer of the time, its test accuracy):")
    traj = result["trajectory"]
    marks = sorted({min(len(traj), n) for n in (1, 10, 30, 100, 300, 1000, 3000, len(traj))})
    last = None
    for i in marks:
        n, arch, _, acc = traj[i - 1]
        if (n, arch) != last:
            print(f"  {n:6d}  {acc:6.2f}  {arch}")
            last = (n, arch)
    if args.output:
        out = dict(result)
        out["valid_acc"] = _float_or_none(out["valid_acc"])
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)
        print(f"results written to {args.output}")
    return 0


def add_search_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``search`` subcommand to an argparse ``subparsers`` object.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="libranas")
    >>> _ = add_search_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["search", "--budget", "300"])
    >>> args.budget, args.labelled, args.func is run_search
    (300, 100, True)
    """
    from libranas.search.protocol import METHODS

    p = subparsers.add_parser(
        "search",
        help="zero-shot architecture search on NAS-Bench-201 (tabular or live proxies)",
        description=(
            "Search NB201 with a LIBRA pipeline calibrated on a few labelled architectures "
            "(validation accuracies from the bundled table). Prints the best architecture, its "
            "true test accuracy and the trajectory. The labelled architectures count in the "
            "budget."
        ),
    )
    p.add_argument("--space", default="nb201", help="search space (only nb201 here)")
    p.add_argument("--task", default="cifar10", choices=["cifar10", "cifar100", "imagenet16-120"])
    p.add_argument(
        "--budget", type=int, default=1000, help="architectures evaluated (default 1000)"
    )
    p.add_argument("--labelled", type=int, default=100, help="labelled architectures (default 100)")
    p.add_argument("--method", default="evolution", choices=list(METHODS))
    p.add_argument("--mode", default="tabular", choices=["tabular", "live"])
    p.add_argument("--no-refine", action="store_true", help="one-round calibration (random labels)")
    p.add_argument("--population", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=10, help="children scored per call")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--storage", default=None, help="resumable state (evolution: JSON lines file)")
    p.add_argument("--output", "-o", default=None, help="write the results (JSON) here")
    p.add_argument("--max-params", type=float, default=None, help="millions of parameters")
    p.add_argument("--max-flops", type=float, default=None, help="MFLOPs (multiply-adds)")
    p.add_argument("--max-latency", type=float, default=None, help="ms on --device")
    p.add_argument("--device", default=None, help="HW-NAS-Bench device of --max-latency")
    p.add_argument("--data", default=None, help="live mode: .npz image batch")
    p.add_argument("--proxies", default=None, help="live mode: comma-separated proxies")
    p.add_argument("--live-batch", type=int, default=64, help="live mode: images per batch")
    p.set_defaults(func=run_search)
    return p
