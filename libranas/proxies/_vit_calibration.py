"""Pre-computed L-SWAG layer bands for the AutoFormer ViT spaces.

The stored records are owned by the space (:mod:`libranas.spaces.autoformer`:
:meth:`~libranas.spaces.autoformer.AutoFormerSpace.lswag_band`) and re-exported here;
this module reproduces them.

The L-SWAG band is calibrated once per search space (METHOD: random networks at
initialisation, per-layer log sigma of gradients, mean profile over 10 relative-depth
bins, band = the spike of the profile; see :func:`libranas.proxies.lswag.calibrate_band`).
For the AutoFormer spaces the calibration is stored in
``libranas/spaces/data/autoformer_band.json`` so users need not re-run it; one record per
setting (variant, image size, patch size, batch), holding the profile, the band and the
protocol it was measured with. :func:`calibrate_autoformer_band` reproduces a record
(``benchmarks/lswag_autoformer.py`` wrote the file with it).

Weight layers of an AutoFormer ViT, in order (D = 4 * depth + 2): ``patch_embed.proj``,
then per block ``attn.qkv``, ``attn.proj``, ``mlp.fc1``, ``mlp.fc2``, then ``head``; layer
l falls in depth bin ``floor(10 * l / D)``.

Examples
--------
>>> from libranas.proxies._vit_calibration import autoformer_band, load_autoformer_calibration
>>> lo, hi = autoformer_band("tiny", img_size=32, patch_size=4)
>>> 0 <= lo < hi <= 100
True
>>> rec = load_autoformer_calibration()[0]
>>> sorted(rec)[:4]
['band', 'batch_size', 'data', 'img_size']
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from libranas.spaces.autoformer import (
    autoformer_band,
    autoformer_record,
    load_autoformer_calibration,
)

__all__ = [
    "autoformer_band",
    "autoformer_record",
    "calibrate_autoformer_band",
    "load_autoformer_calibration",
]


def calibrate_autoformer_band(
    variant: str,
    x: Any,
    y: Any,
    *,
    img_size: int,
    patch_size: int,
    num_classes: int,
    n_archs: int = 20,
    seed: int = 0,
    threshold: float = 0.9,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Calibrate the L-SWAG band of an AutoFormer space on ``n_archs`` random networks.

    Every network is drawn with ``space.sample(n_archs, random_state=seed)`` and built
    under the seed :func:`libranas.featurizer.arch_seed` gives it, so a
    :class:`~libranas.featurizer.ProxyFeaturizer` with the same ``random_state`` sees the
    same weights. Per network: :func:`~libranas.proxies.lswag.layer_log_sigma` on the batch
    ``(x, y)``; then :func:`~libranas.proxies.lswag.depth_profile` and
    :func:`~libranas.proxies.lswag.choose_band` (``threshold``).

    Parameters
    ----------
    variant : {"tiny", "small", "base"}
    x, y : torch.Tensor
        The image batch ``(N, 3, img_size, img_size)`` and integer labels.
    img_size, patch_size, num_classes : int
        The space's settings.
    n_archs : int, default=20
    seed : int, default=0
    threshold : float, default=0.9
    options : dict, optional
        Options of the shared pass (e.g. ``{"per_sample": "chunks"}``).

    Returns
    -------
    dict
        A record as stored in the JSON file (without ``data``, which the caller names).
    """
    import torch

    from libranas.featurizer import arch_seed
    from libranas.proxies._engine import NetworkPass
    from libranas.proxies.lswag import choose_band, depth_profile, layer_log_sigma
    from libranas.spaces import get_space

    if not isinstance(n_archs, int) or n_archs < 1:
        raise ValueError(f"n_archs must be a positive int, got {n_archs!r}")
    space = get_space(
        f"autoformer-{variant}", img_size=img_size, patch_size=patch_size, num_classes=num_classes
    )
    start = time.perf_counter()
    per_layer = []
    for arch in space.sample(n_archs, random_state=seed):
        s = arch_seed(space.validate(arch), seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s)
            model = space.build(arch).to(dtype=x.dtype)
            npass = NetworkPass(
                model, x, y, seed=s, options={**(options or {}), "lswag_band": None}
            )
            per_layer.append(np.asarray(layer_log_sigma(npass), dtype=float))
    profile = depth_profile(per_layer, n_bins=10)
    # spread over networks of each network's bin mean (every bin holds >= 1 layer: D >= 10)
    bin_means = np.array([depth_profile([v], n_bins=10) for v in per_layer])
    band = choose_band(profile, threshold=threshold)
    return {
        "variant": variant,
        "img_size": img_size,
        "patch_size": patch_size,
        "batch_size": int(x.shape[0]),
        "num_classes": num_classes,
        "n_archs": n_archs,
        "seed": seed,
        "threshold": threshold,
        "profile": [round(float(v), 6) for v in profile],
        "profile_std": [round(float(v), 6) for v in np.nanstd(bin_means, axis=0)],
        "band": [float(band[0]), float(band[1])],
        "seconds": round(time.perf_counter() - start, 1),
    }
