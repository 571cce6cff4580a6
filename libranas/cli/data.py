"""``libranas data export-batch``: write a small ``.npz`` batch of uint8 images that
``libranas score --data``, ``libranas search --data`` and ``ProxyFeaturizer(data=...)`` read."""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from typing import Any

import libranas.cli._common as _common
from libranas.cli._common import EXIT_OK, EXIT_STATUS, UsageError, int_at_least


def add_parser(sub: Any) -> argparse.ArgumentParser:
    da = sub.add_parser("data", help="image batches for live scoring", epilog=EXIT_STATUS)
    what = da.add_subparsers(dest="data_command", required=True)
    ex = what.add_parser(
        "export-batch",
        help="write N uint8 images (x: N x 3 x H x W) and labels (y) as an .npz",
        description=(
            "Draw N training images of a dataset (cifar10 or cifar100, downloaded once "
            "through torchvision into $LIBRANAS_CACHE; needs the torch extra) or of an "
            "existing .npz batch, and write them, as uint8 with their labels, to an .npz "
            "that --data reads. Keep the dataset's name in the file name (e.g. "
            "cifar10_64_uint8.npz): it picks the normalisation."
        ),
        epilog=EXIT_STATUS,
    )
    ex.add_argument("source", help="cifar10, cifar100, or an .npz file of uint8 images x, y")
    ex.add_argument("-n", type=int_at_least(2), default=64, help="images (default 64)")
    ex.add_argument("--seed", type=int_at_least(0), default=0, help="which images (default 0)")
    ex.add_argument("--output", "-o", required=True, help=".npz file, written atomically")
    ex.set_defaults(func=run)
    return da


def _images(source: str, n: int, seed: int) -> tuple[Any, Any]:
    """``n`` uint8 images ``(n, 3, H, W)`` and their labels from a dataset name or an .npz."""
    import numpy as np

    from libranas.cli.score import named_dataset, offline_message

    if named_dataset(source):
        _common.require("torchvision", f"libranas data export-batch {source}")
        from libranas.datasets.sources import _pick, _torchvision_dataset, cache_dir

        try:
            ds = _torchvision_dataset(source.lower(), cache_dir() / source.lower())
        except OSError as exc:
            raise UsageError(offline_message(source, exc)) from None
        data, targets = np.asarray(ds.data), np.asarray(ds.targets)
        pick = _pick(len(data), n, seed)
        return data[pick].transpose(0, 3, 1, 2), targets[pick]
    path = _common.check_input_file(source, "source")
    try:
        with np.load(path) as f:
            x, y = f["x"], f["y"]
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"source {source!r}: not an .npz of arrays x and y ({exc})") from None
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1] != 3 or len(y) != len(x):
        raise UsageError(f"source {source!r}: x must be uint8 (N, 3, H, W) with one label each")
    if n > len(x):
        raise UsageError(f"-n {n}: the source holds {len(x)} images")
    pick = np.sort(np.random.default_rng(seed).choice(len(x), size=n, replace=False))
    return x[pick], y[pick]


def run(args: argparse.Namespace) -> int:
    import numpy as np

    output = _common.check_output_path(args.output)
    if output.suffix != ".npz":
        raise UsageError(f"--output {args.output!r}: give a file name ending in .npz")
    x, y = _images(args.source, args.n, args.seed)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=np.ascontiguousarray(x, np.uint8), y=y.astype(np.int64))
    _common.write_bytes_atomic(output, buffer.getvalue())
    print(f"wrote {len(x)} images {tuple(x.shape[1:])} and labels to {output}", file=sys.stderr)
    return EXIT_OK
