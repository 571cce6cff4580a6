"""The ``libranas search`` subcommand (wired into ``libranas.cli`` by :func:`add_search_parser`).

Examples::

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless# NB201 from the bundled tables, LIBRA calibrated on 100 labelled cells
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesslibranas search --space nb201 --task cifar10 --budget 1000 --labelled 100 --seed 0 \\
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    --storage runs/c10.jsonl --output runs/c10.json

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless# any space, live proxies on real networks, no labels: a log-rank fusion of the
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless# training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless# --proxies
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesslibranas search --space darts --space-option channels=8 --space-option layers=2 \\
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    --mode live --labelled 0 --data cifar10 --budget 20 --storage runs/darts.jsonl

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
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""A problem with the command line, reported in one line."""


def _parse_value(text: str) -> Any:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""A ``--space-option`` value: JSON when it parses (numbers, booleans, lists), else text."""
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesstry:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return json.loads(text)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessexcept ValueError:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return text


def _format_arch(arch: Any) -> str:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""An architecture as text: strings as they are, anything else as JSON."""
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.search.result import jsonable

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessreturn arch if isinstance(arch, str) else json.dumps(jsonable(arch))


def _check_writable(path: str | None, what: str) -> None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif path is None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfolder = Path(path).resolve().parent
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif not folder.is_dir():
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(f"{what} {path!r}: folder {str(folder)!r} does not exist")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif Path(path).is_dir():
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(f"{what} {path!r} is a folder")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif not os.access(folder, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(f"{what} {path!r} is not writable")


def _space(args: argparse.Namespace) -> Any:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.spaces import get_space

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessoptions = {}
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfor item in args.space_option:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    key, sep, value = item.partition("=")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    if not sep or not key:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        raise _UserError(f"--space-option must be KEY=VALUE, got {item!r}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    options[key] = _parse_value(value)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesstry:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return get_space(args.space, **options)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessexcept TypeError as exc:  # an unknown option of the space's constructor
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(f"--space {args.space}: {exc}") from None


def _constraints(args: argparse.Namespace) -> dict[str, Any] | None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessout = {
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    k: getattr(args, k)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    for k in ("max_params", "max_flops", "max_latency", "device")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    if getattr(args, k) is not None
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless}
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessreturn out or None


def _folded_batch(args: argparse.Namespace, space: Any, n: int) -> tuple[Any, Any]:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""``--fold-labels``: the ``.npz`` batch with its labels mapped to ``y % classes``, the
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessclasses of ``--task`` (e.g. 1000-class downsampled-ImageNet labels for ImageNet16-120's
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless120-class networks); the same images as the featurizer would draw from the file."""
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessimport zipfile

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.datasets import load_image_batch
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.search.protocol import _check_task_data

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif not Path(args.data).is_file():
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "--fold-labels folds the labels of an .npz batch; a dataset name or an image "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "folder brings labels of its own"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.task is None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "--fold-labels needs --task: the labels are folded to the task's number of classes"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesstry:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    classes = space.task_setting(args.task)["num_classes"]
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    _check_task_data(args.task, args.data)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessexcept ValueError as exc:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(str(exc)) from None
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessseed = args.seed if args.init_seed is None else args.init_seed
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesstry:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return load_image_batch(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        args.data, n=n, num_classes=classes, fold_labels=True, random_state=seed
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessexcept (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as exc:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(f"--data {args.data!r}: {exc}") from None


def _check_labels_fit(args: argparse.Namespace, space: Any) -> None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""An ``.npz`` batch whose labels exceed the task's classes is refused here, with the
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessoption that folds them (the featurizer's own error names a Python argument)."""
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessimport numpy as np

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesstry:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    classes = space.task_setting(args.task)["num_classes"]
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    with np.load(args.data) as f:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        y = f["y"] if "y" in f else None
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessexcept (ValueError, OSError, EOFError, KeyError):
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return  # unreadable or unknown task: reported by the featurizer or the protocol
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif y is not None and y.size and (y.min() < 0 or y.max() >= classes):
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"--data {args.data!r}: labels range {y.min()}..{y.max()} do not fit the "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"{classes} classes of task {args.task!r}; pass --fold-labels to use y % {classes}"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )


def _live_options(args: argparse.Namespace, space: Any) -> dict[str, Any] | None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.mode != "live":
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return None
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.datasets.sources import DATASET_NAMES

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif not args.data:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "--mode live needs --data: a dataset name (cifar10, cifar100; downloaded once), "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "an image folder, or an .npz file of uint8 images x and labels y"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessnamed = args.data.lower() in DATASET_NAMES and not Path(args.data).exists()
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif not named and not Path(args.data).exists():
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"--data {args.data!r}: no such file or folder, and not a dataset name "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"{sorted(DATASET_NAMES)}"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessoptions: dict[str, Any] = {
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "data": args.data,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "batch_size": 64 if args.live_batch is None else args.live_batch,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "device": args.torch_device or "auto",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless}
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.init_seed is not None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    if args.init_seed < 0:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        raise _UserError(f"--init-seed must be >= 0, got {args.init_seed}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    options["random_state"] = args.init_seed
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessn_inits = 1 if args.n_inits is None else args.n_inits
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif n_inits < 1:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(f"--n-inits must be >= 1, got {n_inits}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessoptions["n_inits"] = n_inits
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas._resources import DEFAULT_TORCH_THREADS

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessoptions["n_threads"] = (
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    DEFAULT_TORCH_THREADS if args.torch_threads is None else args.torch_threads
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif options["n_threads"] < 1:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(f"--torch-threads must be >= 1, got {args.torch_threads}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.fold_labels:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    options["data"] = _folded_batch(args, space, options["batch_size"])
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesselif args.task is not None and Path(args.data).is_file():
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    _check_labels_fit(args, space)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessstore = args.proxy_store
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif store is None and args.storage is not None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    store = f"{args.storage}.proxies.sqlite"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif store is not None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    _check_writable(store, "--proxy-store")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    options["store"] = store
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessreturn options


def _proxies(args: argparse.Namespace) -> str | list[str]:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""``--proxies`` as a list (live: registered proxies; tabular: the table's columns), or
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"all"."""
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.proxies is None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return "all"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.proxies import list_proxies

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessnames = [p.strip() for p in args.proxies.split(",") if p.strip()]
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif not names:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError("--proxies is empty; name at least one proxy")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessunknown = [p for p in names if p not in list_proxies()]
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif unknown and args.mode == "live":  # tabular: the table checks its own columns
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(f"unknown proxies {unknown}; known: {list_proxies()}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessreturn names


#: options that only live scoring reads (refused in tabular mode rather than ignored)
LIVE_ONLY = (
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"data",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"fold_labels",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"live_batch",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"init_seed",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"n_inits",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"torch_device",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"torch_threads",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"proxy_store",
)


#: most images per live batch (the featurizer's own bound on batch_size)
MAX_LIVE_BATCH = 4096


def _check_budget(args: argparse.Namespace, space: Any) -> None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""The budget must fit what the space (and the constraints) can supply: checked here, in
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessseconds, instead of a search that proposes forever."""
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.search.constraints import resolve_constraints
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.search.loop import check_budget

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesstry:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    constraints = resolve_constraints(_constraints(args), space)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    check_budget(args.budget, space, constraints, "--budget")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessexcept ValueError as exc:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(str(exc)) from None


def _check_resume_seeds(args: argparse.Namespace) -> None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""A storage resumed with other seeds is refused here, before anything is computed (the
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesssearch itself would find out only after fitting its scorer, which computes scores)."""
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.storage is None or not Path(args.storage).is_file():
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.search.storage import JSONLStorage

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessstorage = JSONLStorage(args.storage)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessphase1 = storage.read("phase1")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessconfig = phase1[0].get("config", {}) if phase1 and isinstance(phase1[0], dict) else {}
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessstored = config.get("seed") if isinstance(config, dict) else None
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif stored is not None and stored != args.seed:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"--storage {args.storage!r} holds a search run with --seed {stored}; resume it "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"with --seed {stored} or give another --storage (nothing was computed)"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.mode != "live":
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessprotocol = storage.read("protocol")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesssettings = protocol[0].get("settings", {}) if protocol else {}
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesslive = settings.get("live") if isinstance(settings, dict) else None
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessinit = args.seed if args.init_seed is None else args.init_seed
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif isinstance(live, dict) and live.get("seed") is not None and live["seed"] != init:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"--storage {args.storage!r} holds a search whose networks were initialised with "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"--init-seed {live['seed']}; resume it with that seed or give another --storage "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "(nothing was computed)"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )


def _report_warnings(caught: list[Any], n_evaluated: int) -> list[str]:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""Print proxy failures (one line per proxy: count and first reason) and every other
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesswarning once; return the proxies that failed on every evaluated architecture."""
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.featurizer import ProxyFailedWarning

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfailed: dict[str, dict[str, str]] = {}
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessothers: dict[str, None] = {}
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfor w in caught:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    message = w.message
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    if isinstance(message, ProxyFailedWarning) and message.proxy is not None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        archs = failed.setdefault(message.proxy, {})
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        archs.setdefault(repr(message.arch), str(message.reason))
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    elif issubclass(w.category, UserWarning) or issubclass(w.category, RuntimeWarning):
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        others.setdefault(str(message), None)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesseverywhere = []
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfor proxy, archs in failed.items():
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    first = next(iter(archs.values()))
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    print(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"warning: proxy {proxy!r} failed on {len(archs)} of {n_evaluated} architectures "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"(NaN), first: {first}",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        file=sys.stderr,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    if len(archs) >= n_evaluated:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        everywhere.append(proxy)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfor text in others:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    print(f"warning: {text}", file=sys.stderr)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessreturn everywhere


def _same_file(a: str | None, b: str | None) -> bool:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessreturn a is not None and b is not None and Path(a).resolve() == Path(b).resolve()


def _check_args(args: argparse.Namespace) -> None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.search.protocol import _check

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.mode == "tabular":
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    given = [f"--{k.replace('_', '-')}" for k in LIVE_ONLY if getattr(args, k) is not None]
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    if given:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        raise _UserError(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            f"{', '.join(given)}: live-mode options (--mode live); tabular mode reads the "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            "bundled table"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.live_batch is not None and args.live_batch < 2:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(f"--live-batch must be >= 2, got {args.live_batch}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.device is not None and args.max_latency is None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError("--device names the hardware of --max-latency; give --max-latency too")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfor name in ("population", "batch_size"):
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    if getattr(args, name) < 1:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        raise _UserError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless_check(args.budget, args.labelled, args.method, args.mode, args.seed, args.ranker)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.live_batch is not None and args.live_batch > MAX_LIVE_BATCH:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise _UserError(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"--live-batch {args.live_batch} exceeds {MAX_LIVE_BATCH} images (every network "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "runs the whole batch at once)"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless_check_writable(args.output, "--output")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless_check_writable(args.storage, "--storage")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfor other, what in ((args.storage, "--storage"), (args.proxy_store, "--proxy-store")):
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    if _same_file(args.output, other):
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        raise _UserError(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            f"--output and {what} are the same file; the results would overwrite it"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        )


def _print(result: dict[str, Any]) -> None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessprint(f"best architecture: {_format_arch(result['best_arch'])}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessscores = ", ".join(f"{k} {v:.4g}" for k, v in result["proxy_scores"].items())
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessprint(f"  predicted score {result['predicted_score']:.4g}; proxies: {scores}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif result["test_acc"] is not None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    valid = result["valid_acc"]
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    print(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"  true 200-epoch test accuracy {result['test_acc']:.2f} (optimum "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"{result['optimum_test_acc']:.2f}); validation accuracy "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        + ("unknown" if valid is None or valid != valid else f"{valid:.2f}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessprint(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    f"  {result['n_evaluated']} architectures of {result['space']} evaluated "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    f"({result['n_labelled']} labelled, counted in), {result['mode']} proxies, "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    f"{'LIBRA selected' if result['n_labelled'] else 'rank fusion of'} "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    f"{result['selected_proxies']}, {result['seconds']:.1f} s "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    f"({result['score_seconds']:.2f} s scoring)"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessknown = result["test_acc"] is not None
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessprint(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "trajectory (evaluated -> best so far by the scorer of the time"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    + (", its test accuracy):" if known else ", its score):")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesstraj = result["trajectory"]
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessmarks = sorted({min(len(traj), n) for n in (1, 10, 30, 100, 300, 1000, 3000, len(traj))})
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesslast = None
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfor i in marks:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    n, arch, score, acc = traj[i - 1]
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    if (n, arch) != last:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        value = f"{acc:6.2f}" if known else f"{score:8.4g}"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        print(f"  {n:6d}  {value}  {_format_arch(arch)}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        last = (n, arch)


def _write_json(path: str, result: dict[str, Any]) -> None:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.search.result import jsonable

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessout = dict(result)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessout["best_arch"] = jsonable(out["best_arch"])
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessout["labelled"] = jsonable(list(out["labelled"]))
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessout["trajectory"] = [[n, jsonable(a), s, t] for n, a, s, t in out["trajectory"]]
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif out["valid_acc"] is not None and out["valid_acc"] != out["valid_acc"]:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    out["valid_acc"] = None  # NaN: no validation label
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfolder = str(Path(path).resolve().parent)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfd, tmp = tempfile.mkstemp(prefix=".libranas-", suffix=".json", dir=folder)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessumask = os.umask(0)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessos.umask(umask)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesstry:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 -> what open() would have given
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    with os.fdopen(fd, "w", encoding="utf-8") as fh:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        json.dump(out, fh, indent=1)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    os.replace(tmp, path)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessexcept BaseException:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    Path(tmp).unlink(missing_ok=True)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    raise


def run_search(args: argparse.Namespace) -> int:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""Handler of ``libranas search``: check, run, print a summary, write ``--output``."""
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessimport warnings

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.search.protocol import search

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesstry:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    _check_args(args)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    _check_resume_seeds(args)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    space = _space(args)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    if args.mode == "tabular" and args.space_option:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        raise _UserError(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            "--space-option changes the networks, but tabular mode reads the bundled table "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            "of the space's default networks; use --mode live"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    live = _live_options(args, space)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    if args.method == "tpe":
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        try:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            import optuna
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        except ImportError:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            raise _UserError("--method tpe needs optuna: pip install optuna") from None
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        optuna.logging.set_verbosity(optuna.logging.WARNING)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    _check_budget(args, space)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    from libranas.datasets.zc_tables import NonFiniteValuesWarning
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    from libranas.search.storage import BaseStorage, get_storage

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    store = get_storage(args.storage) or BaseStorage()
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    with warnings.catch_warnings(record=True) as caught, store.writer():
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        warnings.simplefilter("always")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        # the bundled tables' own gaps are documented with the benchmarks
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        warnings.simplefilter("ignore", NonFiniteValuesWarning)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        result = search(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            space,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            args.task,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            budget=args.budget,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            labelled=args.labelled,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            method=args.method,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            mode=args.mode,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            refine=not args.no_refine,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            ranker=args.ranker,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            proxies=_proxies(args),
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            population=args.population,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            batch_size=args.batch_size,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            constraints=_constraints(args),
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            storage=args.storage,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            live_options=live,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless            random_state=args.seed,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessexcept (ValueError, TypeError, OSError) as exc:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    print(f"error: {exc}", file=sys.stderr)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return USAGE_ERROR
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlesseverywhere = _report_warnings(caught, result["n_evaluated"])
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless_print(result)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif args.output:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    try:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        _write_json(args.output, result)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    except OSError as exc:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        print(f"error: could not write {args.output!r}: {exc}", file=sys.stderr)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        return 1
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    print(f"results written to {args.output}")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessscores = list(result["proxy_scores"].values())
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessif everywhere or (scores and all(v != v for v in scores)):
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    what = (
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"requested prox{'ies' if len(everywhere) > 1 else 'y'} {everywhere} failed on "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "every architecture"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        if everywhere
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        else "every proxy failed on the best architecture"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    print(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        f"error: {what}; the results above rest on the other proxies only: check --data "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "(e.g. a batch of identical images) or leave the proxy out with --proxies",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        file=sys.stderr,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    )
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    return FAILED
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessreturn 0


def add_search_parser(subparsers: Any) -> argparse.ArgumentParser:
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""Add the ``search`` subcommand to an argparse ``subparsers`` object.

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessExamples
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless--------
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless>>> import argparse
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless>>> parser = argparse.ArgumentParser(prog="libranas")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless>>> _ = add_search_parser(parser.add_subparsers(dest="command"))
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless>>> args = parser.parse_args(["search", "--budget", "300"])
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless>>> args.budget, args.labelled, args.func is run_search
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless(300, 100, True)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless"""
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessfrom libranas.search.protocol import METHODS

 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp = subparsers.add_parser(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "search",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    help="zero-shot architecture search (tabular or live proxies, with or without labels)",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    description=(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "Search a space for the architecture a zero-cost scorer rates best. With labels "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "(--labelled N, spaces with a search table: nb201) a LIBRA pipeline is calibrated "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "on N validation accuracies; with --labelled 0 (any space) the proxies are "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "rank-fused without labels. Prints the best architecture, its scores and the "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless        "trajectory. Labelled architectures count in the budget."
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    ),
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--space", default="nb201", help="search space (see `libranas list spaces`)")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "--space-option",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    action="append",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    default=[],
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    metavar="KEY=VALUE",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    help="option of the space, e.g. channels=8 or img_size=32 (repeatable)",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--task", default=None, help="task, e.g. cifar10 (default: the space's)")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--budget", type=int, default=1000, help="architectures evaluated (1000)")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--labelled", type=int, default=100, help="labelled architectures (100)")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--method", default="evolution", choices=list(METHODS))
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--mode", default="tabular", choices=["tabular", "live"])
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--ranker", default=None, help="ZCRanker method (xgboost / log-rank)")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--no-refine", action="store_true", help="one-round calibration (random labels)")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--population", type=int, default=50)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--batch-size", type=int, default=10, help="architectures scored per call")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--seed", type=int, default=0)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--storage", default=None, help="resumable search record (JSON lines)")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--output", "-o", default=None, help="write the results (JSON) here")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--max-params", type=float, default=None, help="millions of parameters")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--max-flops", type=float, default=None, help="MFLOPs (multiply-adds)")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--max-latency", type=float, default=None, help="ms on --device")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--device", default=None, help="hardware device of --max-latency")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "--data",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    default=None,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    help="live mode: cifar10 / cifar100 (downloaded once), an image folder or an .npz batch",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "--fold-labels",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    action="store_true",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    default=None,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    help="live mode, .npz --data: map its labels to y %% (the classes of --task), e.g. "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "1000-class downsampled-ImageNet labels for ImageNet16-120 (default: labels must fit)",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "--proxies",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    default=None,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    help="comma-separated proxies: live mode, the proxies computed (default with "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "--labelled 0: the space's stored default, else "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT); tabular mode, the search "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "table's columns used (default: all)",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "--live-batch", type=int, default=None, help="live mode: images per batch (default 64)"
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "--init-seed",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    type=int,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    default=None,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    help="live mode: seed of the networks' initialisation and of the image batch "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "(default: --seed). Fix it across search seeds so that they share scores through "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "--proxy-store",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "--n-inits",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    type=int,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    default=None,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    help="live mode: average every proxy over this many initialisations of each network "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "(default 1; noise control, the cost grows linearly)",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument("--torch-device", default=None, help="live mode: auto (default), cpu or cuda")
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "--torch-threads",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    type=int,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    default=None,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    help="live mode: torch threads per process (default 1, measured fastest with joblib "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "workers on a shared 2-core machine: benchmarks/results/torch_threads.md)",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.add_argument(
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "--proxy-store",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    default=None,
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    help="live mode: SQLite store of proxy scores (default with --storage: "
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless    "<storage>.proxies.sqlite, so a resumed search recomputes nothing)",
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unless)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessp.set_defaults(func=run_search)
 training-free search default (libranas.proxies.TRAINING_FREE_SEARCH_DEFAULT) unlessreturn p
