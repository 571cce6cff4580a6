"""SynFlow (Tanaka et al., "Pruning neural networks without any data by iteratively
conserving synaptic flow", NeurIPS 2020), as used by NAS-Bench-Suite-Zero.

Data-free: the batch contents are not used, only its image shape.

1. Work on a deep copy of the network (the shared model is never touched), in float64.
2. Replace every BatchNorm layer by the identity and put the copy in ``eval`` mode
   (BatchNorm is ignored, as the paper's synaptic-flow analysis assumes; at
   initialisation an eval-mode BatchNorm is the identity anyway, but the copy's running
   statistics may have been moved by earlier train-mode forwards, so it is removed).
3. Replace every parameter by its absolute value ("linearise" the network).
4. Feed ONE all-ones image ``(1, C, H, W)`` (the batch's shape), let
   ``R = sum of the outputs`` and back-propagate it.
5. ``S = sum over weight layers (Conv2d, Linear) of sum |W * dR/dW|``.

The returned score is ``log(S)`` (natural log), as in NAS-Bench-Suite-Zero's tables
(raw SynFlow spans tens of orders of magnitude); option ``synflow_log=False`` returns
``S``. A network whose output does not depend on its input at all has ``S = 0`` and
score ``log 0 = -inf`` (worst); it is not replaced. Bigger is predicted better.

**ViTs.** The score is computed as defined, but SynFlow's conservation argument assumes
a network that is positively homogeneous in its weights (linear layers and ReLU):
LayerNorm, softmax attention and GeLU are not, and they are kept as they are (only the
parameters are replaced by their absolute values, LayerNorm affine parameters
included). On ViTs the value is therefore a heuristic, not the synaptic flow of the
paper; read ViT results for synflow with that in mind.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from libranas.proxies._engine import NetworkPass
>>> torch.manual_seed(0) and None
>>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
...                     nn.Linear(4 * 4 * 4, 3))
>>> npass = NetworkPass(net, torch.randn(2, 3, 6, 6), torch.tensor([0, 1]))
>>> s = synflow(npass)
>>> s == synflow(npass)  # deterministic, and the model is untouched
True
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from libranas.proxies._engine import NetworkPass, weight_layers
from libranas.proxies._registry import register_proxy


def _strip_batchnorm(module: nn.Module) -> None:
    """Replace, in place, every BatchNorm child of ``module`` (recursively) by Identity."""
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(module, name, nn.Identity())
        else:
            _strip_batchnorm(child)


def synflow_score(model: nn.Module, image_shape: tuple[int, ...]) -> float:
    """Raw SynFlow ``S = sum |W * dR/dW|`` of a copy of ``model`` (see module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        The network; it is deep-copied, never modified.
    image_shape : tuple of int
        ``(C, H, W)`` of one input image.

    Returns
    -------
    float
        ``S >= 0`` in float64.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> lin = nn.Linear(2, 1, bias=False)
    >>> lin.weight.data = torch.tensor([[-2.0, 3.0]])
    >>> # R = |w| . (1, 1) -> dR/dw = (1, 1); S = |w1| + |w2|
    >>> synflow_score(lin, (2,))
    5.0
    """
    net = copy.deepcopy(model)
    _strip_batchnorm(net)
    net = net.double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    layers = [m for _, m in weight_layers(net)]
    if not layers:
        raise ValueError("the network has no Conv2d/Linear weight: synflow is undefined")
    weights = [m.weight for m in layers]
    device = next(net.parameters()).device
    x = torch.ones((1, *image_shape), dtype=torch.float64, device=device)
    with torch.enable_grad():
        for w in weights:
            w.requires_grad_(True)
        out = net(x)
        grads = torch.autograd.grad(out.sum(), weights, allow_unused=True)
    total = 0.0
    for w, g in zip(weights, grads, strict=True):
        if g is not None:
            total += float((w.detach() * g).abs().sum())
    return total


@register_proxy(
    "synflow",
    requires=("own_pass",),
    reference="Tanaka et al., SynFlow, NeurIPS 2020",
    description="log of sum |w * dR/dw| with |w|, all-ones input, no BN, float64",
    options={"synflow_log": "return the log of the sum (bool, default True)"},
)
def synflow(network_pass: NetworkPass) -> float:
    """SynFlow score ``log(sum_l sum |W_l * dR/dW_l|)`` (see the module docstring).

    Parameters
    ----------
    network_pass : NetworkPass
        The shared pass; reads ``model``, the image shape of ``inputs`` and the option
        ``synflow_log`` (default ``True``: return the natural log, as NAS-Bench-Suite-Zero).

    Returns
    -------
    float
        ``log S`` (``-inf`` when ``S = 0``), or ``S`` with ``synflow_log=False``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import NetworkPass
    >>> lin = nn.Linear(2, 1, bias=False)
    >>> lin.weight.data = torch.tensor([[-2.0, 3.0]])
    >>> npass = NetworkPass(lin, torch.randn(4, 2), torch.zeros(4).long())
    >>> round(synflow(npass), 6) == round(math.log(5.0), 6)
    True
    """
    use_log = network_pass.options.get("synflow_log", True)
    if not isinstance(use_log, bool):
        raise TypeError(f"option synflow_log must be a bool, got {use_log!r}")
    s = synflow_score(network_pass.model, tuple(network_pass.inputs.shape[1:]))
    if not use_log:
        return s
    return math.log(s) if s > 0 else -math.inf
