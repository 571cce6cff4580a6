"""Size proxies of NAS-Bench-Suite-Zero: ``params``, ``flops`` and ``l2_norm``.

All three read only the network (``requires=("model",)``); none depends on the batch
contents. ``flops`` runs one forward of a single image (the first of the batch, so at the
batch's resolution) in ``eval`` mode under ``no_grad``, so BatchNorm running statistics
and gradients are left untouched.

Counting rules (Krishnakumar et al., "NAS-Bench-Suite-Zero", NeurIPS 2022, which takes
params and FLOPs from the benchmarks' own tables):

- ``params``: trainable parameters (``requires_grad``) in millions, every module
  (convolutions, linear layers, BatchNorm affine parameters, biases).
- ``flops``: multiply-accumulate operations (MACs) of one forward of one image, in
  millions, counted with forward hooks on :class:`torch.nn.Conv2d` and
  :class:`torch.nn.Linear`: a convolution costs ``out.numel() * C_in / groups * k_h * k_w``,
  a linear layer ``out.numel() * in_features`` (tokens of a 3-D input count as positions).
  Bias additions are not counted by default (option ``flops_bias=True`` adds one per
  output element): NAS-Bench-Suite-Zero's NB201 tables do not count them (CIFAR-100 minus
  CIFAR-10 FLOPs is exactly ``64 * 90`` MACs of the classifier, without its 90 biases).
  Pooling, BatchNorm and activations are not counted. On NAS-Bench-201 this gives the
  tables' parameter counts exactly and FLOPs about 2% below the tables' (which also
  charge 3 operations per output element of every ReLU-Conv-BN cell op and 9 per output
  element of a 3x3 average pooling, plus a constant for the skeleton); the ranking of
  architectures is essentially unchanged.
- ``l2_norm``: sum over weight layers (Conv2d, Linear) of the Frobenius norm of the
  weight, at initialisation.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from libranas.proxies import get_proxy
>>> from libranas.proxies._engine import NetworkPass
>>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.Flatten(),
...                     nn.Linear(4 * 8 * 8, 10, bias=False))
>>> npass = NetworkPass(net, torch.zeros(2, 3, 8, 8), torch.zeros(2, dtype=torch.long))
>>> get_proxy("params").func(npass)  # (3*4*9 + 256*10) / 1e6
0.002668
>>> round(get_proxy("flops").func(npass) * 1e6)  # 64 positions * 4 * 27 + 256 * 10
9472
"""

from __future__ import annotations

import torch
from torch import nn

from libranas.proxies._engine import NetworkPass, weight_layers
from libranas.proxies._registry import register_proxy

_NBSZ = "Krishnakumar et al., NAS-Bench-Suite-Zero, NeurIPS 2022"


@register_proxy(
    "params",
    requires=("model",),
    reference=_NBSZ,
    description="number of trainable parameters, in millions",
    options={},  # reads no option of its own
)
def params(network_pass: NetworkPass) -> float:
    """Number of trainable parameters of the network, in millions.

    ``sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6``; bigger is
    predicted better (NAS-Bench-Suite-Zero's sign). Shared parameters count once.

    Parameters
    ----------
    network_pass : NetworkPass
        The shared pass; only its ``model`` is read.

    Returns
    -------
    float
        Millions of trainable parameters.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import NetworkPass
    >>> npass = NetworkPass(nn.Linear(10, 5), torch.zeros(1, 10), torch.zeros(1).long())
    >>> params(npass)  # 10*5 weights + 5 biases
    5.5e-05
    """
    n = sum(p.numel() for p in network_pass.model.parameters() if p.requires_grad)
    return n / 1e6


def count_macs(model: nn.Module, x: torch.Tensor, *, bias: bool = True) -> int:
    """Multiply-accumulates of ``model(x)`` in Conv2d and Linear layers (all samples).

    Parameters
    ----------
    model : torch.nn.Module
        The network; it is run once in ``eval`` mode without gradients, and its training
        flags are restored afterwards.
    x : torch.Tensor
        The input batch.
    bias : bool, default=True
        Count one addition per output element of a layer with a bias.

    Returns
    -------
    int
        Total MACs of the forward (summed over the batch).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> count_macs(nn.Linear(3, 2), torch.zeros(1, 3))  # 3*2 products + 2 bias additions
    8
    """
    total = 0

    def conv_hook(module: nn.Conv2d, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += out.numel() * (module.in_channels // module.groups) * kh * kw
        if bias and module.bias is not None:
            total += out.numel()

    def linear_hook(module: nn.Linear, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * module.in_features
        if bias and module.bias is not None:
            total += out.numel()

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    return total


@register_proxy(
    "flops",
    requires=("model",),
    reference=_NBSZ,
    description="MFLOPs (multiply-accumulates of Conv2d and Linear) of one image",
    options={"flops_bias": "count the bias additions too (bool, default False)"},
)
def flops(network_pass: NetworkPass) -> float:
    """Millions of multiply-accumulates of one forward of one image.

    Counts Conv2d and Linear layers (see :func:`count_macs`) on the first image of the
    batch, so the value is at the batch's resolution; bigger is predicted better
    (NAS-Bench-Suite-Zero's sign). Option ``flops_bias`` (default ``False``, as the
    NAS-Bench-Suite-Zero NB201 tables) also counts one addition per biased output.

    Parameters
    ----------
    network_pass : NetworkPass
        The shared pass; reads ``model`` and the shape of ``inputs``.

    Returns
    -------
    float
        MFLOPs (MACs / 1e6).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import NetworkPass
    >>> npass = NetworkPass(nn.Conv2d(3, 8, 1), torch.zeros(4, 3, 10, 10), torch.zeros(4).long())
    >>> flops(npass)  # 100 positions * 8 channels * 3 products
    0.0024
    """
    bias = network_pass.options.get("flops_bias", False)
    if not isinstance(bias, bool):
        raise TypeError(f"option flops_bias must be a bool, got {bias!r}")
    return count_macs(network_pass.model, network_pass.inputs[:1], bias=bias) / 1e6


@register_proxy(
    "l2_norm",
    requires=("model",),
    reference=_NBSZ,
    description="sum over weight layers of the L2 norm of the weights at init",
    options={},  # reads no option of its own
)
def l2_norm(network_pass: NetworkPass) -> float:
    """Sum over weight layers (Conv2d, Linear) of the Frobenius norm of the weight.

    ``sum_l ||W_l||_2`` at initialisation (NAS-Bench-Suite-Zero: one norm per layer, then
    summed); bigger is predicted better. Biases and normalisation layers are not included.

    Parameters
    ----------
    network_pass : NetworkPass
        The shared pass; only its ``model`` is read.

    Returns
    -------
    float
        The summed norms.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import NetworkPass
    >>> lin = nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> l2_norm(NetworkPass(lin, torch.zeros(1, 2), torch.zeros(1).long()))
    5.0
    """
    with torch.no_grad():
        total = sum(
            float(layer.weight.detach().double().norm())
            for _, layer in weight_layers(network_pass.model)
        )
    return float(total)
