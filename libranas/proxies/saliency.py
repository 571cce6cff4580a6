"""Gradient-saliency proxies of NAS-Bench-Suite-Zero: snip, grad_norm, plain, fisher.

All four come from ONE forward and ONE backward of the mean cross-entropy loss over the
batch (:attr:`~libranas.proxies._engine.NetworkPass.loss_grads`, fused with the other
batch-loss passes when the featurizer plans them). During that pass a forward hook on
every weight layer (Conv2d, Linear) keeps the layer's output ``a`` and a tensor hook on
it receives ``dL/da``; the weight gradients ``dL/dW`` come from
:func:`torch.autograd.grad`, so the model's ``.grad`` fields are never written.
BatchNorm running statistics changed by the forward (train mode) are restored
afterwards: the model is left exactly as it was.

With ``W_l`` the weight of layer ``l`` and ``g_l = dL/dW_l``:

- ``snip`` (Lee et al., "SNIP: Single-shot network pruning based on connection
  sensitivity", ICLR 2019): ``sum_l sum |W_l * g_l|``.
- ``grad_norm`` (Abdelfattah et al., "Zero-cost proxies for lightweight NAS", ICLR 2021):
  ``sum_l ||g_l||_2``.
- ``plain`` (Mozer & Smolensky 1989; Abdelfattah et al. 2021): ``sum_l sum W_l * g_l``
  (signed; may be negative).
- ``fisher`` (Theis et al., "Faster gaze prediction with dense networks and Fisher
  pruning", 2018; Turner et al., "BlockSwap", ICLR 2020): for each activation channel
  ``k`` of each weight-layer output, ``0.5 * mean_n (sum_positions a * dL/da)^2``, summed
  over channels and layers, each channel's value weighted by its layer's fan-in as
  NAS-Bench-Suite-Zero does (option ``fisher_mode="channels"``: unweighted). The
  "activations" are the outputs of the Conv2d/Linear layers
  (as NAS-Bench-Suite-Zero's implementation hooks them); for a conv output the channel is
  dim 1 and positions are the spatial dims, for a Linear output the channel is the last
  dim and positions are the middle (token) dims. A layer called several times in one
  forward adds one term per call.

Bigger is predicted better for all four (NAS-Bench-Suite-Zero's sign; ``plain`` as is).

Examples
--------
>>> import torch
>>> from torch import nn
>>> from libranas.proxies import get_proxy
>>> from libranas.proxies._engine import NetworkPass
>>> torch.manual_seed(0) and None
>>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
>>> npass = NetworkPass(net, torch.randn(5, 3, 6, 6), torch.tensor([0, 1, 2, 0, 1]))
>>> scores = {n: get_proxy(n).func(npass) for n in ("snip", "grad_norm", "plain", "fisher")}
>>> scores["snip"] >= abs(scores["plain"]) and scores["grad_norm"] > 0 and scores["fisher"] > 0
True
"""

from __future__ import annotations

from typing import Any

from libranas.proxies._engine import NetworkPass
from libranas.proxies._registry import register_proxy


def _saliency_pass(network_pass: NetworkPass) -> dict[str, Any]:
    """The family's quantities from the pass's loss gradients (``NetworkPass.loss_grads``).

    Returns ``{"weights": [W_l], "grads": [dL/dW_l], "fisher": [per-layer sum of channel
    Fisher values], "fisher_weighted": [the same, each channel times its fan-in]}`` over
    the weight layers whose weight requires grad, in registration order.
    """
    p = network_pass.loss_grads
    fisher, fisher_w = [], []
    for (_, module), calls in zip(p["layers"], p["channel_terms"], strict=True):
        # per call: 0.5 * mean over samples of the squared channel term, summed over channels
        value = sum(float(0.5 * t.double().pow(2).mean(dim=0).sum()) for t in calls)
        fisher.append(value)
        # NAS-Bench-Suite-Zero spreads each channel's value over the channel's weights
        # (its fan-in) before summing
        fisher_w.append(value * module.weight[0].numel())
    return {
        "weights": [m.weight.detach() for _, m in p["layers"]],
        "grads": p["grads"],
        "fisher": fisher,
        "fisher_weighted": fisher_w,
    }


def _pass(network_pass: NetworkPass) -> dict[str, Any]:
    return network_pass.shared("saliency", _saliency_pass)


@register_proxy(
    "snip",
    requires=("weight_grads",),
    reference="Lee et al., SNIP, ICLR 2019",
    description="sum |w * dL/dw| over weight layers",
    options={},  # reads no option of its own
)
def snip(network_pass: NetworkPass) -> float:
    """SNIP connection sensitivity: ``sum_l sum |W_l * dL/dW_l|``.

    Loss = mean cross-entropy of the batch; Conv2d and Linear weights. Bigger is
    predicted better (NAS-Bench-Suite-Zero).

    Parameters
    ----------
    network_pass : NetworkPass
        The shared pass (uses the family pass of this module).

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import NetworkPass
    >>> lin = nn.Linear(2, 2, bias=False)
    >>> lin.weight.data = torch.eye(2)
    >>> # x = (1, 2) -> logits (1, 2), p = softmax; target 0 -> dL/dz = (p0 - 1, p1) = (-p1, p1)
    >>> # dL/dW = outer(dL/dz, x); |W * dL/dW| = p1 * 1 + p1 * 2 = 3 * e / (1 + e)
    >>> round(snip(NetworkPass(lin, torch.tensor([[1.0, 2.0]]), torch.tensor([0]))), 6)
    2.193176
    """
    p = _pass(network_pass)
    return float(
        sum((w * g).abs().double().sum() for w, g in zip(p["weights"], p["grads"], strict=True))
    )


@register_proxy(
    "grad_norm",
    requires=("weight_grads",),
    reference="Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021",
    description="sum over layers of ||dL/dw||_2",
    options={},  # reads no option of its own
)
def grad_norm(network_pass: NetworkPass) -> float:
    """Gradient norm: ``sum_l ||dL/dW_l||_2`` (Frobenius norm per layer, then summed).

    Loss = mean cross-entropy of the batch; Conv2d and Linear weights. Bigger is
    predicted better (NAS-Bench-Suite-Zero).

    Parameters
    ----------
    network_pass : NetworkPass

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import NetworkPass
    >>> lin = nn.Linear(2, 2, bias=False)
    >>> lin.weight.data = torch.zeros(2, 2)
    >>> # logits 0 -> dL/dz = (-1/2, 1/2); dL/dW = outer(dL/dz, x) with x = (3, 4)
    >>> npass = NetworkPass(lin, torch.tensor([[3.0, 4.0]]), torch.tensor([0]))
    >>> round(grad_norm(npass), 6)  # ||outer((-1/2, 1/2), (3, 4))|| = sqrt(2)/2 * 5
    3.535534
    """
    p = _pass(network_pass)
    return float(sum(g.double().norm() for g in p["grads"]))


@register_proxy(
    "plain",
    requires=("weight_grads",),
    reference="Mozer & Smolensky 1989; Abdelfattah et al., ICLR 2021",
    description="sum of w * dL/dw (signed)",
    options={},  # reads no option of its own
)
def plain(network_pass: NetworkPass) -> float:
    """Plain saliency: ``sum_l sum W_l * dL/dW_l`` (signed, may be negative).

    Loss = mean cross-entropy of the batch; Conv2d and Linear weights. Used as is:
    bigger is predicted better (NAS-Bench-Suite-Zero).

    Parameters
    ----------
    network_pass : NetworkPass

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import NetworkPass
    >>> lin = nn.Linear(1, 2, bias=False)
    >>> lin.weight.data = torch.tensor([[1.0], [-1.0]])
    >>> # x = 1: logits (1, -1), p0 = e/(e + 1/e); dL/dz0 = p0 - 1, dL/dz1 = 1 - p0
    >>> # plain = 1*(p0 - 1) + (-1)*(1 - p0) = 2*(p0 - 1) < 0
    >>> round(plain(NetworkPass(lin, torch.ones(1, 1), torch.tensor([0]))), 6)
    -0.238406
    """
    p = _pass(network_pass)
    return float(sum((w * g).double().sum() for w, g in zip(p["weights"], p["grads"], strict=True)))


@register_proxy(
    "fisher",
    requires=("weight_grads",),
    reference="Theis et al. 2018 (Fisher pruning); Turner et al., BlockSwap, ICLR 2020",
    description="sum over activation channels of 0.5 * mean_n (sum_pos a * dL/da)^2",
    options={"fisher_mode": "'weights' (default) or 'channels': which Fisher sum"},
)
def fisher(network_pass: NetworkPass) -> float:
    """Fisher information of activation channels, summed.

    For every output channel ``k`` of every weight layer (Conv2d, Linear) with output
    ``a``: ``F_k = 0.5 * mean over samples n of (sum over positions of a * dL/da)^2``.
    Option ``fisher_mode``:

    - ``"weights"`` (default, NAS-Bench-Suite-Zero): each channel's ``F_k`` is assigned
      to every weight of that output channel and the per-weight values are summed, i.e.
      ``sum_l fan_in_l * sum_k F_k`` with ``fan_in`` = ``C_in / groups * k_h * k_w`` for a
      conv, ``in_features`` for a linear layer;
    - ``"channels"`` (the per-channel sum of Theis et al.): ``sum_l sum_k F_k``.

    Loss = mean cross-entropy of the batch. Bigger is predicted better
    (NAS-Bench-Suite-Zero).

    Parameters
    ----------
    network_pass : NetworkPass

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import NetworkPass
    >>> lin = nn.Linear(1, 2, bias=False)
    >>> lin.weight.data = torch.tensor([[0.0], [0.0]])
    >>> # a = (0, 0) -> a * dL/da = 0 for every channel
    >>> fisher(NetworkPass(lin, torch.ones(3, 1), torch.tensor([0, 1, 0])))
    0.0
    """
    mode = network_pass.options.get("fisher_mode", "weights")
    if mode not in ("weights", "channels"):
        raise ValueError(f"option fisher_mode must be 'weights' or 'channels', got {mode!r}")
    key = "fisher_weighted" if mode == "weights" else "fisher"
    return float(sum(_pass(network_pass)[key]))
