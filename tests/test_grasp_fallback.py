"""GraSP's Hessian-gradient product where double backward is not implemented."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from libranas.proxies._engine import NetworkPass  # noqa: E402
from libranas.proxies._fused import _hessian_grad, _hessian_grad_difference  # noqa: E402
from libranas.proxies.grasp import grasp  # noqa: E402


def _batch():
    torch.manual_seed(0)
    return torch.randn(8, 6), torch.arange(8) % 3


def test_difference_matches_double_backward_on_a_smooth_network():
    x, y = _batch()
    net = nn.Sequential(nn.Linear(6, 10), nn.Tanh(), nn.Linear(10, 3))
    npass = NetworkPass(net, x, y)
    weights = [net[0].weight, net[2].weight]
    loss = npass.loss_fn(net(x), y)
    grads = torch.autograd.grad(loss, weights, create_graph=True)
    exact = _hessian_grad(weights, grads)
    approx = _hessian_grad_difference(npass, weights, [g.detach() for g in grads])
    for e, a in zip(exact, approx, strict=True):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-2, atol=1e-5)
    before = [w.detach().clone() for w in weights]
    _hessian_grad_difference(npass, weights, [g.detach() for g in grads])
    for w, b in zip(weights, before, strict=True):  # the weights are put back
        assert torch.equal(w.detach(), b)


def test_grasp_is_finite_and_noted_where_double_backward_fails():
    x, y = _batch()
    net = nn.Sequential(nn.Linear(6, 10), nn.Hardsigmoid(), nn.Linear(10, 3))
    with pytest.raises(RuntimeError, match="not implemented"):  # what torch cannot do
        loss = nn.functional.cross_entropy(net(x), y)
        g = torch.autograd.grad(loss, list(net.parameters()), create_graph=True)
        torch.autograd.grad(sum((v.detach() * v).sum() for v in g), list(net.parameters()))
    npass = NetworkPass(net, x, y)
    assert np.isfinite(grasp(npass))
    assert "central difference" in npass.cache["notes"]["grasp"]
    smooth = NetworkPass(nn.Sequential(nn.Linear(6, 10), nn.Tanh(), nn.Linear(10, 3)), x, y)
    grasp(smooth)
    assert "grasp" not in smooth.cache.get("notes", {})  # the exact product, no note
