"""The ``libranas search`` subcommand (wired into ``libranas.cli`` by :func:`add_search_parser`).

Examples::

    # NB201 from the bundled tables, LIBRA calibrated on 100 labelled cells
    libranas search --space nb201 --task cifar10 --budget 1000 --labelled 100 --seed 0 \\
        --storage runs/c10.jsonl --output runs/c10.json

    # any space, live proxies on real networks, no labels: a log-rank fusion of the
    # space's training-free search default (libranas.proxies.training_free_search_default)
    # unless --proxies
    libranas search --space darts --space-option channels=8 --space-option layers=2 \\
        --mode live --labelled 0 --data cifar10 --budget 20 --storage runs/darts.jsonl

Every argument is checked before anything is computed (the budget against what the space
and the constraints can supply); a user error prints one line ``error: ...`` on stderr and
exits with status 2. Results are printed before ``--output`` is written (atomically: a
temporary file renamed into place).

One search per ``--storage``: a second search on a storage file that another one is writing
is refused at once (one line, status 2; ``fcntl.flock`` on ``<storage>.lock``); rerun it when
the first is done to resume from the file. Proxy failures are shown, one line per proxy on
stderr (``warning: proxy 'nwot' failed on 64 of 64 architectures, first: ...``); a proxy that
failed on every architecture evaluated, or a best architecture on which every proxy failed,
makes the search exit with status 1 after printing its results (they rest on fewer proxies
than asked for). Other warnings are printed once each.

Exit status: 0 success; 1 results printed, but a requested proxy failed on every
architecture (or --output could not be written); 2 invalid arguments, input or storage files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

#: exit status of a user error (as argparse's own)
USAGE_ERROR = 2
#: exit status of a search that ran but whose results rest on fewer proxies than asked for
FAILED = 1


class _UserError(ValueError):
    """A problem with the command line, reported in one line."""


def _parse_value(text: str) -> Any:
    """A ``--space-option`` value: JSON when it parses (numbers, booleans, lists), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _format_arch(arch: Any) -> str:
    """An architecture as text: strings as they are, anything else as JSON."""
    from libranas.search.result import jsonable

    return arch if isinstance(arch, str) else json.dumps(jsonable(arch))


def _check_writable(path: str | None, what: str) -> None:
    if path is None:
        return
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise _UserError(f"{what} {path!r}: folder {str(folder)!r} does not exist")
    if Path(path).is_dir():
        raise _UserError(f"{what} {path!r} is a folder")
    if not os.access(folder, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        raise _UserError(f"{what} {path!r} is not writable")


def _space(args: argparse.Namespace) -> Any:
    from libranas.spaces import get_space

    options = {}
    for item in args.space_option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _UserError(f"--space-option must be KEY=VALUE, got {item!r}")
        options[key] = _parse_value(value)
    try:
        return get_space(args.space, **options)
    except TypeError as exc:  # an unknown option of the space's constructor
        raise _UserError(f"--space {args.space}: {exc}") from None


def _constraints(args: argparse.Namespace) -> dict[str, Any] | None:
    out = {
        k: getattr(args, k)
        for k in ("max_params", "max_flops", "max_latency", "device")
        if getattr(args, k) is not None
    }
    return out or None


def _folded_batch(args: argparse.Namespace, space: Any, n: int) -> tuple[Any, Any]:
    """``--fold-labels``: the ``.npz`` batch with its labels mapped to ``y % classes``, the
    classes of ``--task`` (e.g. 1000-class downsampled-ImageNet labels for ImageNet16-120's
    120-class networks); the same images as the featurizer would draw from the file."""
    import zipfile

    from libranas.datasets import load_image_batch
    from libranas.search.protocol import _check_task_data

    if not Path(args.data).is_file():
        raise _UserError(
            "--fold-labels folds the labels of an .npz batch; a dataset name or an image "
            "folder brings labels of its own"
        )
    if args.task is None:
        raise _UserError(
            "--fold-labels needs --task: the labels are folded to the task's number of classes"
        )
    try:
        classes = space.task_setting(args.task)["num_classes"]
        _check_task_data(args.task, args.data)
    except ValueError as exc:
        raise _UserError(str(exc)) from None
    try:
        return load_image_batch(
            args.data, n=n, num_classes=classes, fold_labels=True, random_state=_batch_seed(args)
        )
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise _UserError(f"--data {args.data!r}: {exc}") from None


def _batch_seed(args: argparse.Namespace) -> int:
    """Seed of the image-batch draw: --batch-seed, else --init-seed, else --seed."""
    for seed in (args.batch_seed, args.init_seed):
        if seed is not None:
            return seed
    return args.seed


def _npz_batch(args: argparse.Namespace, n: int) -> tuple[Any, Any]:
    """``--batch-seed`` (no --fold-labels): the ``.npz`` batch drawn with that seed, the same
    images as the featurizer would draw from the file under that seed."""
    import zipfile

    from libranas.datasets import load_image_batch

    if not Path(args.data).is_file():
        raise _UserError(
            "--batch-seed draws the images of an .npz --data file; a dataset name or an image "
            "folder is drawn with --init-seed (default: --seed)"
        )
    try:
        return load_image_batch(args.data, n=n, random_state=args.batch_seed)
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise _UserError(f"--data {args.data!r}: {exc}") from None


def _check_labels_fit(args: argparse.Namespace, space: Any) -> None:
    """An ``.npz`` batch whose labels exceed the task's classes is refused here, with the
    option that folds them (the featurizer's own error names a Python argument)."""
    import numpy as np

    try:
        classes = space.task_setting(args.task)["num_classes"]
        with np.load(args.data) as f:
            y = f["y"] if "y" in f else None
    except (ValueError, OSError, EOFError, KeyError):
        return  # unreadable or unknown task: reported by the featurizer or the protocol
    if y is not None and y.size and (y.min() < 0 or y.max() >= classes):
        raise _UserError(
            f"--data {args.data!r}: labels range {y.min()}..{y.max()} do not fit the "
            f"{classes} classes of task {args.task!r}; pass --fold-labels to use y % {classes}"
        )


def _live_options(args: argparse.Namespace, space: Any) -> dict[str, Any] | None:
    if args.mode != "live":
        return None
    from libranas.datasets.sources import DATASET_NAMES

    if not args.data:
        raise _UserError(
            "--mode live needs --data: a dataset name (cifar10, cifar100; downloaded once), "
            "an image folder, or an .npz file of uint8 images x and labels y"
        )
    named = args.data.lower() in DATASET_NAMES and not Path(args.data).exists()
    if not named and not Path(args.data).exists():
        raise _UserError(
            f"--data {args.data!r}: no such file or folder, and not a dataset name "
            f"{sorted(DATASET_NAMES)}"
        )
    options: dict[str, Any] = {
        "data": args.data,
        "batch_size": 64 if args.live_batch is None else args.live_batch,
        "device": args.torch_device or "auto",
    }
    if args.init_seed is not None:
        if args.init_seed < 0:
            raise _UserError(f"--init-seed must be >= 0, got {args.init_seed}")
        options["random_state"] = args.init_seed
    n_inits = 1 if args.n_inits is None else args.n_inits
    if n_inits < 1:
        raise _UserError(f"--n-inits must be >= 1, got {n_inits}")
    options["n_inits"] = n_inits
    from libranas._resources import DEFAULT_TORCH_THREADS

    options["n_threads"] = (
        DEFAULT_TORCH_THREADS if args.torch_threads is None else args.torch_threads
    )
    if options["n_threads"] < 1:
        raise _UserError(f"--torch-threads must be >= 1, got {args.torch_threads}")
    if args.batch_seed is not None and args.batch_seed < 0:
        raise _UserError(f"--batch-seed must be >= 0, got {args.batch_seed}")
    if args.n_jobs is not None:
        if args.n_jobs < 1:
            raise _UserError(f"--n-jobs must be >= 1, got {args.n_jobs}")
        options["n_jobs"] = args.n_jobs
    if args.fold_labels:
        options["data"] = _folded_batch(args, space, options["batch_size"])
    elif args.batch_seed is not None:
        if args.task is not None:
            _check_labels_fit(args, space)
        options["data"] = _npz_batch(args, options["batch_size"])
    elif args.task is not None and Path(args.data).is_file():
        _check_labels_fit(args, space)
    store = args.proxy_store
    if store is None and args.storage is not None:
        store = f"{args.storage}.proxies.sqlite"
    if store is not None:
        _check_writable(store, "--proxy-store")
        options["store"] = store
    return options


def _proxies(args: argparse.Namespace) -> str | list[str]:
    """``--proxies`` as a list (live: registered proxies; tabular: the table's columns), or
    "all"."""
    if args.proxies is None:
        return "all"
    from libranas.proxies import list_proxies

    names = [p.strip() for p in args.proxies.split(",") if p.strip()]
    if not names:
        raise _UserError("--proxies is empty; name at least one proxy")
    unknown = [p for p in names if p not in list_proxies()]
    if unknown and args.mode == "live":  # tabular: the table checks its own columns
        raise _UserError(f"unknown proxies {unknown}; known: {list_proxies()}")
    return names


#: options that only live scoring reads (refused in tabular mode rather than ignored)
LIVE_ONLY = (
    "data",
    "fold_labels",
    "batch_seed",
    "n_jobs",
    "rescore_top",
    "rescore_draws",
    "second_stage",
    "second_stage_top",
    "live_batch",
    "init_seed",
    "n_inits",
    "torch_device",
    "torch_threads",
    "proxy_store",
)


#: most images per live batch (the featurizer's own bound on batch_size)
MAX_LIVE_BATCH = 4096


def _check_budget(args: argparse.Namespace, space: Any) -> None:
    """The budget must fit what the space (and the constraints) can supply: checked here, in
    seconds, instead of a search that proposes forever."""
    from libranas.search.constraints import resolve_constraints
    from libranas.search.loop import check_budget

    try:
        constraints = resolve_constraints(_constraints(args), space)
        check_budget(args.budget, space, constraints, "--budget")
    except ValueError as exc:
        raise _UserError(str(exc)) from None


def _check_resume_seeds(args: argparse.Namespace) -> None:
    """A storage resumed with other seeds is refused here, before anything is computed (the
    search itself would find out only after fitting its scorer, which computes scores)."""
    if args.storage is None or not Path(args.storage).is_file():
        return
    from libranas.search.storage import JSONLStorage

    storage = JSONLStorage(args.storage)
    phase1 = storage.read("phase1")
    config = phase1[0].get("config", {}) if phase1 and isinstance(phase1[0], dict) else {}
    stored = config.get("seed") if isinstance(config, dict) else None
    if stored is not None and stored != args.seed:
        raise _UserError(
            f"--storage {args.storage!r} holds a search run with --seed {stored}; resume it "
            f"with --seed {stored} or give another --storage (nothing was computed)"
        )
    if args.mode != "live":
        return
    protocol = storage.read("protocol")
    settings = protocol[0].get("settings", {}) if protocol else {}
    live = settings.get("live") if isinstance(settings, dict) else None
    init = args.seed if args.init_seed is None else args.init_seed
    if isinstance(live, dict) and live.get("seed") is not None and live["seed"] != init:
        raise _UserError(
            f"--storage {args.storage!r} holds a search whose networks were initialised with "
            f"--init-seed {live['seed']}; resume it with that seed or give another --storage "
            "(nothing was computed)"
        )


def _report_warnings(
    caught: list[Any], n_evaluated: int, second: dict[str, Any] | None = None
) -> list[str]:
    """Print proxy failures (one line per proxy: count and first reason) and every other
    warning once; return the proxies that failed on every evaluated architecture. A
    ``--second-stage`` proxy that only the second stage computed is counted against its
    candidates (and judged by :func:`_proxies_failed_status`)."""
    from libranas.featurizer import ProxyFailedWarning

    failed: dict[str, dict[str, str]] = {}
    others: dict[str, None] = {}
    for w in caught:
        message = w.message
        if isinstance(message, ProxyFailedWarning) and message.proxy is not None:
            archs = failed.setdefault(message.proxy, {})
            archs.setdefault(repr(message.arch), str(message.reason))
        elif issubclass(w.category, UserWarning) or issubclass(w.category, RuntimeWarning):
            others.setdefault(str(message), None)
    everywhere = []
    for proxy, archs in failed.items():
        first = next(iter(archs.values()))
        if second and proxy == second["proxy"] and len(archs) <= second["top_k"]:
            if {repr(a) for a in second["candidates"]} >= set(archs):
                print(
                    f"warning: --second-stage proxy {proxy!r} failed on {len(archs)} of the "
                    f"{second['top_k']} second-stage candidates (NaN), first: {first}",
                    file=sys.stderr,
                )
                continue
        print(
            f"warning: proxy {proxy!r} failed on {len(archs)} of {n_evaluated} architectures "
            f"(NaN), first: {first}",
            file=sys.stderr,
        )
        if len(archs) >= n_evaluated:
            everywhere.append(proxy)
    for text in others:
        print(f"warning: {text}", file=sys.stderr)
    return everywhere


def _same_file(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and Path(a).resolve() == Path(b).resolve()


def _check_args(args: argparse.Namespace) -> None:
    from libranas.search.protocol import _check

    if args.mode == "tabular":
        given = [f"--{k.replace('_', '-')}" for k in LIVE_ONLY if getattr(args, k) is not None]
        if given:
            raise _UserError(
                f"{', '.join(given)}: live-mode options (--mode live); tabular mode reads the "
                "bundled table"
            )
    if args.live_batch is not None and args.live_batch < 2:
        raise _UserError(f"--live-batch must be >= 2, got {args.live_batch}")
    _check_second_stage_args(args)
    if args.device is not None and args.max_latency is None:
        raise _UserError("--device names the hardware of --max-latency; give --max-latency too")
    for name in ("population", "batch_size"):
        if getattr(args, name) < 1:
            raise _UserError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    _check(args.budget, args.labelled, args.method, args.mode, args.seed, args.ranker)
    if args.live_batch is not None and args.live_batch > MAX_LIVE_BATCH:
        raise _UserError(
            f"--live-batch {args.live_batch} exceeds {MAX_LIVE_BATCH} images (every network "
            "runs the whole batch at once)"
        )
    _check_writable(args.output, "--output")
    _check_writable(args.storage, "--storage")
    for other, what in ((args.storage, "--storage"), (args.proxy_store, "--proxy-store")):
        if _same_file(args.output, other):
            raise _UserError(
                f"--output and {what} are the same file; the results would overwrite it"
            )


def _check_second_stage_args(args: argparse.Namespace) -> None:
    """--second-stage / --second-stage-top, refused by their flags before anything runs
    (tabular mode: see LIVE_ONLY)."""
    if args.second_stage is None:
        if args.second_stage_top is not None:
            raise _UserError(
                "--second-stage-top sets how many --second-stage scores; give --second-stage"
            )
        return
    from libranas.proxies import list_proxies

    if args.second_stage == "none":
        if args.second_stage_top is not None:
            raise _UserError("--second-stage-top sets how many a second stage scores; "
                             "--second-stage none runs none")  # fmt: skip
        return
    if args.second_stage not in list_proxies():
        raise _UserError(
            f"--second-stage must be none or one registered proxy "
            f"({', '.join(list_proxies())}), got {args.second_stage!r}"
        )
    if args.labelled:
        raise _UserError(
            "--second-stage re-scores a label-free search's best architectures; give "
            f"--labelled 0 (got --labelled {args.labelled})"
        )
    if args.second_stage_top is not None and args.second_stage_top < 2:
        raise _UserError(
            f"--second-stage-top must be >= 2 (a choice among the top), got {args.second_stage_top}"
        )


def _print(result: dict[str, Any]) -> None:
    print(f"best architecture: {_format_arch(result['best_arch'])}")
    scores = ", ".join(f"{k} {v:.4g}" for k, v in result["proxy_scores"].items())
    print(f"  predicted score {result['predicted_score']:.4g}; proxies: {scores}")
    if result["test_acc"] is not None:
        valid = result["valid_acc"]
        print(
            f"  true 200-epoch test accuracy {result['test_acc']:.2f} (optimum "
            f"{result['optimum_test_acc']:.2f}); validation accuracy "
            + ("unknown" if valid is None or valid != valid else f"{valid:.2f}")
        )
    print(
        f"  {result['n_evaluated']} architectures of {result['space']} evaluated "
        f"({result['n_labelled']} labelled, counted in), {result['mode']} proxies, "
        f"{'LIBRA selected' if result['n_labelled'] else 'rank fusion of'} "
        f"{result['selected_proxies']}, {result['seconds']:.1f} s "
        f"({result['score_seconds']:.2f} s scoring)"
    )
    known = result["test_acc"] is not None
    print(
        "trajectory (evaluated -> best so far by the scorer of the time"
        + (", its test accuracy):" if known else ", its score):")
    )
    traj = result["trajectory"]
    marks = sorted({min(len(traj), n) for n in (1, 10, 30, 100, 300, 1000, 3000, len(traj))})
    last = None
    for i in marks:
        n, arch, score, acc = traj[i - 1]
        if (n, arch) != last:
            value = f"{acc:6.2f}" if known else f"{score:8.4g}"
            print(f"  {n:6d}  {value}  {_format_arch(arch)}")
            last = (n, arch)
    # the trajectory follows the fusion of its time; its last line is the fusion's best, which
    # is what was returned unless a second stage picked another (printed below)
    acc = f" (test accuracy {result['test_acc']:.2f})" if known else ""
    print(f"returned: {_format_arch(result['best_arch'])}{acc}")
    step = result.get("rescore")
    if step:
        what = f"top-end step (top {step['top_k']} re-scored with {step['draws']} more draws"
        _print_pick(what, step)
    second = result.get("second_stage")
    if second:
        _print_pick(f"second stage ({second['proxy']} on the top {second['top_k']}", second,
                    "the fusion's")  # fmt: skip
        if result.get("returned_by") == "second_stage":
            print(f"(the fusion's own best: {_format_arch(second['fusion_best_arch'])})")


def _print_pick(what: str, step: dict[str, Any], order: str = "the default's") -> None:
    """One line for a step's pick after the search: what it did, its cost, the pick (none
    where the second stage's proxy failed on every candidate)."""
    if step.get("error"):
        print(f"{what}): failed after the search, {step['error']}")
        return
    if step["best_arch"] is None:
        pick = f"no pick, {step.get('proxy')} failed on every candidate (NaN)"
    else:
        acc = f" (test accuracy {step['test_acc']:.2f})" if step["test_acc"] is not None else ""
        pick = f"{_format_arch(step['best_arch'])}{acc}, {order} #{step['default_rank']}"
    print(f"{what}, {step['n_networks']} networks, {step['seconds']:.1f} s): {pick}")


def _write_json(path: str, result: dict[str, Any]) -> None:
    from libranas.search.result import jsonable

    out = dict(result)
    out["best_arch"] = jsonable(out["best_arch"])
    out["labelled"] = jsonable(list(out["labelled"]))
    out["trajectory"] = [[n, jsonable(a), s, t] for n, a, s, t in out["trajectory"]]
    for key in ("rescore", "second_stage"):  # the steps after the search
        if out.get(key):
            step = dict(out[key])
            step["best_arch"] = jsonable(step["best_arch"])
            if "fusion_best_arch" in step:
                step["fusion_best_arch"] = jsonable(step["fusion_best_arch"])
            step["candidates"] = jsonable(list(step["candidates"]))
            step["scores"] = [None if v != v else v for v in step["scores"]]  # NaN: failed
            out[key] = step
    if out["valid_acc"] is not None and out["valid_acc"] != out["valid_acc"]:
        out["valid_acc"] = None  # NaN: no validation label
    folder = str(Path(path).resolve().parent)
    fd, tmp = tempfile.mkstemp(prefix=".libranas-", suffix=".json", dir=folder)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 -> what open() would have given
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_search(args: argparse.Namespace) -> int:
    """Handler of ``libranas search``: check, run, print a summary, write ``--output``."""
    try:
        space, live = _prepare(args)
        result, caught = _search(args, space, live)
    except (ValueError, TypeError, OSError) as exc:
        _print_error(args, exc)
        return USAGE_ERROR
    everywhere = _report_warnings(caught, result["n_evaluated"], result.get("second_stage"))
    _print(result)
    if args.output:
        try:
            _write_json(args.output, result)
        except OSError as exc:
            print(f"error: could not write {args.output!r}: {exc}", file=sys.stderr)
            return 1
        print(f"results written to {args.output}")
    return _proxies_failed_status(result, everywhere)


def _prepare(args: argparse.Namespace) -> tuple[Any, Any]:
    """Check the command line; the space and the live-mode options."""
    _check_args(args)
    _check_resume_seeds(args)
    space = _space(args)
    if args.mode == "tabular" and args.space_option:
        raise _UserError(
            "--space-option changes the networks, but tabular mode reads the bundled table "
            "of the space's default networks; use --mode live"
        )
    live = _live_options(args, space)
    if args.method == "tpe":
        from libranas._optional import missing_extra_message

        try:
            import optuna
        except ImportError:
            raise _UserError(missing_extra_message("optuna", "--method tpe")) from None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    _check_budget(args, space)
    return space, live


def _search(args: argparse.Namespace, space: Any, live: Any) -> tuple[dict[str, Any], list[Any]]:
    """Run the search; its result and the warnings it raised."""
    import warnings

    from libranas.datasets.zc_tables import NonFiniteValuesWarning
    from libranas.search.protocol import search
    from libranas.search.storage import BaseStorage, get_storage

    store = get_storage(args.storage) or BaseStorage()
    with warnings.catch_warnings(record=True) as caught, store.writer():
        warnings.simplefilter("always")
        # the bundled tables' own gaps are documented with the benchmarks
        warnings.simplefilter("ignore", NonFiniteValuesWarning)
        result = search(
            space,
            args.task,
            budget=args.budget,
            labelled=args.labelled,
            method=args.method,
            mode=args.mode,
            refine=not args.no_refine,
            ranker=args.ranker,
            proxies=_proxies(args),
            population=args.population,
            batch_size=args.batch_size,
            constraints=_constraints(args),
            storage=args.storage,
            live_options=live,
            random_state=args.seed,
            **_rescore_options(args, space),
            **_second_stage_options(args),
        )
    return result, caught


def _rescore_options(args: argparse.Namespace, space: Any) -> dict[str, Any]:
    """--rescore-top / --rescore-draws; with --fold-labels (and no --batch-seed) each draw
    folds the labels of its own drawn batch."""
    if not args.rescore_top:
        if args.rescore_draws is not None:
            raise _UserError("--rescore-draws sets the draws of --rescore-top; give --rescore-top")
        return {}
    out: dict[str, Any] = {
        "rescore_top": args.rescore_top,
        "rescore_draws": 2 if args.rescore_draws is None else args.rescore_draws,
    }
    if args.fold_labels and args.batch_seed is None:
        from libranas.datasets import load_image_batch

        classes = space.task_setting(args.task)["num_classes"]
        n = 64 if args.live_batch is None else args.live_batch
        out["rescore_batches"] = lambda seed: load_image_batch(
            args.data, n=n, num_classes=classes, fold_labels=True, random_state=seed
        )
    return out


def _second_stage_options(args: argparse.Namespace) -> dict[str, Any]:
    """--second-stage / --second-stage-top (checked: :func:`_check_second_stage_args`)."""
    if args.second_stage is None:  # the library's "auto": the space's stored proxy, if any
        return {}
    if args.second_stage == "none":
        return {"second_stage": None}
    out: dict[str, Any] = {"second_stage": args.second_stage}
    if args.second_stage_top is not None:
        out["second_stage_top"] = args.second_stage_top
    return out


def _print_error(args: argparse.Namespace, exc: Exception) -> None:
    """One line on stderr, with a hint where the input size does not fit the space."""
    hint = ""
    if "does not fit space" in str(exc):  # e.g. a 224-px ViT and a 32-px batch
        from libranas.cli._common import input_size_hint

        hint = input_size_hint(args.space, args.space_option, args.data)
    print(f"error: {str(exc).rstrip('.') if hint else exc}{hint}", file=sys.stderr)


def _proxies_failed_status(result: dict[str, Any], everywhere: list[str]) -> int:
    """FAILED, with an error naming them, when requested proxies failed on every architecture
    or every proxy failed on the best one, or the second stage's proxy failed on every
    candidate (no second-stage pick); else 0."""
    failed_steps = [(flag, result[key]["error"]) for key, flag in
                    (("rescore", "--rescore-top"), ("second_stage", "--second-stage"))
                    if result.get(key) and result[key].get("error")]  # fmt: skip
    for flag, error in failed_steps:
        print(
            f"error: the step of {flag} failed after the search ({error}); the search's own "
            "result above stands",
            file=sys.stderr,
        )
    if failed_steps:
        return FAILED
    second = result.get("second_stage")
    if second and second["best_arch"] is None:
        print(
            f"error: --second-stage {second['proxy']} failed on every one of the "
            f"{second['top_k']} candidates, so the second stage picked nothing; the search's "
            "own result above stands (check --data, or choose another --second-stage proxy)",
            file=sys.stderr,
        )
        return FAILED
    scores = list(result["proxy_scores"].values())
    if everywhere or (scores and all(v != v for v in scores)):
        what = (
            f"requested prox{'ies' if len(everywhere) > 1 else 'y'} {everywhere} failed on "
            "every architecture"
            if everywhere
            else "every proxy failed on the best architecture"
        )
        print(
            f"error: {what}; the results above rest on the other proxies only: check --data "
            "(e.g. a batch of identical images) or leave the proxy out with --proxies",
            file=sys.stderr,
        )
        return FAILED
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
    p = subparsers.add_parser(
        "search",
        help="zero-shot architecture search (tabular or live proxies, with or without labels)",
        description=(
            "Search a space for the architecture a zero-cost scorer rates best. With labels "
            "(--labelled N, spaces with a search table: nb201) a LIBRA pipeline is calibrated "
            "on N validation accuracies; with --labelled 0 (any space) the proxies are "
            "rank-fused without labels. Prints the best architecture, its scores and the "
            "trajectory. Labelled architectures count in the budget."
        ),
    )
    # declared in this order: the order of --help
    _add_space_arguments(p)
    _add_search_arguments(p)
    _add_output_arguments(p)
    _add_constraint_arguments(p)
    _add_live_arguments(p)
    p.set_defaults(func=run_search)
    return p


def _add_space_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", default="nb201", help="search space (see `libranas list spaces`)")
    p.add_argument(
        "--space-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option of the space, e.g. channels=8 or img_size=32 (repeatable)",
    )
    p.add_argument("--task", default=None, help="task, e.g. cifar10 (default: the space's)")


def _add_search_arguments(p: argparse.ArgumentParser) -> None:
    from libranas.search.protocol import METHODS

    p.add_argument("--budget", type=int, default=1000, help="architectures evaluated (1000)")
    p.add_argument("--labelled", type=int, default=100, help="labelled architectures (100)")
    p.add_argument("--method", default="evolution", choices=list(METHODS))
    p.add_argument("--mode", default="tabular", choices=["tabular", "live"])
    p.add_argument("--ranker", default=None, help="ZCRanker method (xgboost / log-rank)")
    p.add_argument("--no-refine", action="store_true", help="one-round calibration (random labels)")
    p.add_argument("--population", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=10, help="architectures scored per call")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the search and, in live mode, of the networks' initialisation and the "
        "image batch (unless --init-seed / --batch-seed fix them): each seed an independent draw",
    )
    p.add_argument(
        "--rescore-top",
        type=int,
        default=None,
        help="live mode, --labelled 0: the top-end step; re-score the K best evaluated "
        "architectures with --rescore-draws more (initialisation, batch) draws and also "
        "return the best by the mean log-rank over the draws (default: no step)",
    )
    p.add_argument(
        "--rescore-draws",
        type=int,
        default=None,
        help="live mode: independent draws of --rescore-top (default 2)",
    )
    p.add_argument(
        "--second-stage",
        default=None,
        metavar="PROXY",
        help="live mode, --labelled 0: score the best evaluated architectures with this proxy "
        "too and return its best; 'none': return the fusion's best (default: the space's "
        "stored proxy where the search computes the space's default proxies, NB201: synflow)",
    )
    p.add_argument(
        "--second-stage-top",
        type=int,
        default=None,
        help="how many of the best evaluated architectures --second-stage scores (default 20)",
    )


def _add_output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--storage", default=None, help="resumable search record (JSON lines)")
    p.add_argument("--output", "-o", default=None, help="write the results (JSON) here")


def _add_constraint_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-params", type=float, default=None, help="millions of parameters")
    p.add_argument("--max-flops", type=float, default=None, help="MFLOPs (multiply-adds)")
    p.add_argument("--max-latency", type=float, default=None, help="ms on --device")
    p.add_argument("--device", default=None, help="hardware device of --max-latency")


def _add_live_arguments(p: argparse.ArgumentParser) -> None:
    """Options of live mode (and --proxies, which tabular mode reads too)."""
    p.add_argument(
        "--data",
        default=None,
        help="live mode: cifar10 / cifar100 (downloaded once), an image folder or an .npz batch",
    )
    p.add_argument(
        "--fold-labels",
        action="store_true",
        default=None,
        help="live mode, .npz --data: map its labels to y %% (the classes of --task), e.g. "
        "1000-class downsampled-ImageNet labels for ImageNet16-120 (default: labels must fit)",
    )
    p.add_argument(
        "--proxies",
        default=None,
        help="comma-separated proxies: live mode, the proxies computed (default with "
        "--labelled 0: the space's stored default, else "
        "libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT); tabular mode, the search "
        "table's columns used (default: all)",
    )
    p.add_argument(
        "--live-batch", type=int, default=None, help="live mode: images per batch (default 64)"
    )
    p.add_argument(
        "--init-seed",
        type=int,
        default=None,
        help="live mode: seed of the networks' initialisation and of the image batch "
        "(default: --seed, so every search seed is an independent draw). Fix it across "
        "search seeds so that they share scores through --proxy-store",
    )
    p.add_argument(
        "--batch-seed",
        type=int,
        default=None,
        help="live mode, .npz --data: seed of the image-batch draw alone (default: "
        "--init-seed, else --seed)",
    )
    p.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="live mode: worker processes scoring the networks (default 1; scores are the "
        "same bit for bit whatever the number)",
    )
    p.add_argument(
        "--n-inits",
        type=int,
        default=None,
        help="live mode: average every proxy over this many initialisations of each network "
        "(default 1; noise control, the cost grows linearly)",
    )
    p.add_argument("--torch-device", default=None, help="live mode: auto (default), cpu or cuda")
    p.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="live mode: torch threads per process (default 1, measured fastest with joblib "
        "workers on a shared 2-core machine: benchmarks/results/torch_threads.md)",
    )
    p.add_argument(
        "--proxy-store",
        default=None,
        help="live mode: SQLite store of proxy scores (default with --storage: "
        "<storage>.proxies.sqlite, so a resumed search recomputes nothing)",
    )
