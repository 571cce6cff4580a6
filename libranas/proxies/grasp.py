"""GraSP (Wang et al., "Picking winning tickets before training by preserving gradient
flow", ICLR 2020), as used by NAS-Bench-Suite-Zero.

With ``L`` the mean cross-entropy of the batch, ``g = dL/dtheta`` over the weights of the
Conv2d and Linear layers and ``H`` the Hessian of ``L`` with respect to those weights, the
per-weight GraSP saliency is ``-theta * (H g)``. NAS-Bench-Suite-Zero scores a network
by the SUM of the saliencies over all those weights:

    grasp = sum_l sum ( -W_l * (H g)_l )

``H g`` is a Hessian-vector product obtained by double back-propagation: with the graph
of ``g`` kept, ``z = <stop_grad(g), g>`` and ``H g = dz/dtheta`` (one forward, two
backwards; :attr:`~libranas.proxies._engine.NetworkPass.hessian_grad`, whose forward
and first backward also serve the saliency proxies and the input Jacobian when they are
planned together). Gradients are taken with :func:`torch.autograd.grad` (the model's
``.grad`` fields are not written) and BatchNorm running statistics are restored
afterwards, so the model is left unchanged. Where an op has no double derivative in torch
(``hardsigmoid`` in MobileNetV3), ``H g`` is the central difference
``(grad L(w + e g) - grad L(w - e g)) / 2e`` with ``e = 1e-3 / |g|`` instead, and the
featurizer records that per architecture (``ProxyFeaturizer.notes_``). Bigger is predicted better
(NAS-Bench-Suite-Zero's sign; the GraSP paper prunes the weights with the LARGEST
saliency, i.e. it would rank the opposite way, see Abdelfattah et al. 2021 for the
discussion).

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

from libranas.proxies._engine import NetworkPass
from libranas.proxies._registry import register_proxy


@register_proxy(
    "grasp",
    requires=("hessian_grad",),
    reference="Wang et al., GraSP, ICLR 2020",
    description="sum of -w * (H g) over weight layers (Hessian-gradient product)",
    options={},  # reads no option of its own
)
def grasp(network_pass: NetworkPass) -> float:
    """GraSP score ``sum_l sum -W_l * (H g)_l`` (see the module docstring).

    Parameters
    ----------
    network_pass : NetworkPass
        The shared pass; reads ``hessian_grad``.

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
    p = network_pass.hessian_grad
    total = 0.0
    for (_, m), h in zip(p["layers"], p["hg"], strict=True):
        if h is not None:  # None: the gradient does not depend on this weight (H g = 0)
            total += float((-m.weight.detach() * h).double().sum())
    return total
