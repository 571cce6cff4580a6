"""GraSP (Wang et al., "Picking winning tickets before training by preserving gradient
flow", ICLR 2020), as used by NAS-Bench-Suite-Zero.

With ``L`` the mean cross-entropy of the batch, ``g = dL/dtheta`` over the weights of the
Conv2d and Linear layers and ``H`` the Hessian of ``L`` with respect to those weights, the
per-weight GraSP saliency is ``-theta * (H g)``. NAS-Bench-Suite-Zero scores a network
by the SUM of the saliencies over all those weights:

    grasp = sum_l sum ( -W_l * (H g)_l )

``H g`` is a Hessian-vector product obtained by double back-propagation: with the graph
of ``g`` kept, ``z = <stop_grad(g), g>`` and ``H g = dz/dtheta`` (one forward, two
backwards). Gradients are taken with :func:`torch.autograd.grad` (the model's ``.grad``
fields are not written) and BatchNorm running statistics are restored afterwards, so the
model is left unchanged. Bigger is predicted better (NAS-Bench-Suite-Zero's sign; the
GraSP paper prunes the weights with the LARGEST saliency, i.e. it would rank the
opposite way, see Abdelfattah et al. 2021 for the discussion).

Examples
--------
>>> import torch
>>> from torch import nn
>>> from libranas.proxies._engine import NetworkPass
>>> torch.manual_seed(0) and None
>>> net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
>>> npass = NetworkPass(net, torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2]))
>>> import math
>>> math.isfinite(grasp(npass))
True
"""

from __future__ import annotations

import torch

from libranas.proxies._engine import NetworkPass, weight_layers
from libranas.proxies._registry import register_proxy
from libranas.proxies.saliency import preserved_buffers


@register_proxy(
    "grasp",
    requires=("own_pass",),
    reference="Wang et al., GraSP, ICLR 2020",
    description="sum of -w * (H g) over weight layers (Hessian-gradient product)",
)
def grasp(network_pass: NetworkPass) -> float:
    """GraSP score ``sum_l sum -W_l * (H g)_l`` (see the module docstring).

    Parameters
    ----------
    network_pass : NetworkPass
        The shared pass; reads ``model``, ``inputs``, ``targets`` and ``loss_fn``.

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
    >>> # theta = 0, so -theta * Hg = 0 whatever H g is
    >>> grasp(NetworkPass(lin, torch.ones(2, 1), torch.tensor([0, 1])))
    0.0
    """
    model = network_pass.model
    layers = [m for _, m in weight_layers(model) if m.weight.requires_grad]
    if not layers:
        raise ValueError("the network has no trainable Conv2d/Linear weight: grasp is undefined")
    weights = [m.weight for m in layers]
    with preserved_buffers(model), torch.enable_grad():
        logits = model(network_pass.inputs)
        loss = network_pass.loss_fn(logits, network_pass.targets)
        grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
        pairs = [(w, g) for w, g in zip(weights, grads, strict=True) if g is not None]
        if not pairs:
            return 0.0
        z = sum((g.detach() * g).sum() for _, g in pairs)
        if not z.requires_grad:  # gradient independent of the weights (H = 0)
            return 0.0
        hg = torch.autograd.grad(z, [w for w, _ in pairs], allow_unused=True)
    total = 0.0
    for (w, _), h in zip(pairs, hg, strict=True):
        if h is not None:
            total += float((-w.detach() * h.detach()).double().sum())
    return total
