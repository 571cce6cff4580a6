"""Zero-cost proxies on AutoFormer ViTs: every proxy finite or documented, exact per-sample
statistics (hooks path) equal a single-sample loop in float64, GeLU patterns over 3-D token
tensors, meco's token-tensor rule, the stored AutoFormer band."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from libranas.proxies import list_proxies
from libranas.proxies._engine import NetworkPass, score_network
from libranas.proxies.meco import meco, min_correlation_eigenvalue
from libranas.proxies.swap import swap
from libranas.spaces.autoformer import AutoFormerSpace


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_vit(dtype: torch.dtype = torch.float32, seed: int = 0) -> nn.Module:
    """A 2-block ViT: 16 px, patch 8 (4 patches + class token = 5 tokens), embed 16."""
    space = AutoFormerSpace("tiny", img_size=16, patch_size=8, num_classes=5, strict=False)
    arch = {"embed_dim": 16, "depth": 2, "mlp_ratio": [2.0, 1.5], "num_heads": [1, 2]}
    torch.manual_seed(seed)
    return space.build(arch).to(dtype)


def vit_batch(n: int = 6, dtype: torch.dtype = torch.float32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 16, 16, generator=g, dtype=dtype), torch.arange(n) % 5


def loop_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """Per-sample weight gradients by one backward per sample (independent reference)."""
    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    rows = []
    for i in range(x.shape[0]):
        loss = nn.functional.cross_entropy(model(x[i : i + 1]), y[i : i + 1])
        rows.append(torch.autograd.grad(loss, weights))
    return [torch.stack([r[k] for r in rows]) for k in range(len(weights))]


def test_every_proxy_is_finite_on_a_vit():
    net = small_vit()
    x, y = vit_batch()
    scores, errors = score_network(net, x, y, list_proxies(), seed=0)
    assert errors == {}
    assert set(scores) == set(list_proxies())
    assert all(math.isfinite(v) for v in scores.values()), scores


def test_hooks_path_equals_a_single_sample_loop_in_float64():
    net = small_vit(torch.float64)
    x, y = vit_batch(dtype=torch.float64)
    npass = NetworkPass(net, x, y)  # per_sample_impl="auto"
    stats = npass.per_sample_grads
    assert npass.cache["per_sample_impl"] == "hooks"
    names = [s.name for s in stats]
    assert names[0] == "patch_embed.proj" and names[-1] == "head"
    assert len(names) == 4 * 2 + 2
    grads = loop_grads(net, x, y)
    for s, g in zip(stats, grads, strict=True):
        assert s.count == 6
        torch.testing.assert_close(s.mean, g.mean(0), rtol=1e-9, atol=1e-15)
        torch.testing.assert_close(s.mean_abs, g.abs().mean(0), rtol=1e-9, atol=1e-15)
        torch.testing.assert_close(s.var, g.var(0), rtol=1e-9, atol=1e-15)
        torch.testing.assert_close(s.var_abs, g.abs().var(0), rtol=1e-9, atol=1e-15)
        assert float(s.var_abs.sum()) > 0


def test_hooks_and_vmap_agree_in_float32():
    net = small_vit()
    x, y = vit_batch(n=8)
    a = NetworkPass(net, x, y, options={"per_sample_impl": "hooks"}).per_sample_grads
    b = NetworkPass(net, x, y, options={"per_sample_impl": "vmap"}).per_sample_grads
    for sa, sb in zip(a, b, strict=True):
        torch.testing.assert_close(sa.var_abs, sb.var_abs, rtol=1e-4, atol=1e-12)
        torch.testing.assert_close(sa.mean, sb.mean, rtol=1e-4, atol=1e-9)


class _BatchMean(nn.Module):
    """Subtracts the batch mean: samples interact, so batched hooks are not per-sample."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(0, keepdim=True)


def test_auto_falls_back_to_vmap_when_samples_interact():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), _BatchMean(), nn.GELU(), nn.Linear(6, 3))
    net = net.double()
    x = torch.randn(5, 3, 2, 2, dtype=torch.float64)
    y = torch.arange(5) % 3
    npass = NetworkPass(net, x, y)
    stats = npass.per_sample_grads
    assert npass.cache["per_sample_impl"] == "vmap (hooks check failed)"
    vmap_stats = NetworkPass(net, x, y, options={"per_sample_impl": "vmap"}).per_sample_grads
    for s, v in zip(stats, vmap_stats, strict=True):
        torch.testing.assert_close(s.var_abs, v.var_abs)


def test_hooks_impl_errors():
    circular = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular"),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 16 * 16, 5),
    )
    x, y = vit_batch()
    with pytest.raises(ValueError, match="neither Linear nor a zero-padded Conv2d"):
        _ = NetworkPass(circular, x, y, options={"per_sample_impl": "hooks"}).per_sample_grads
    with pytest.raises(ValueError, match="per_sample_impl"):
        _ = NetworkPass(circular, x, y, options={"per_sample_impl": "fast"}).per_sample_grads
    lin, tied = nn.Linear(768, 768), nn.Linear(768, 768)
    tied.weight = lin.weight  # two modules, one weight
    shared = nn.Sequential(nn.Flatten(), lin, nn.ReLU(), tied, nn.ReLU(), nn.Linear(768, 5))
    with pytest.raises(ValueError, match="shared with another layer"):
        _ = NetworkPass(shared, x, y, options={"per_sample_impl": "hooks"}).per_sample_grads
    # such models take the vmap path by default
    npass = NetworkPass(circular, x, y)
    _ = npass.per_sample_grads
    assert npass.cache["per_sample_impl"] == "vmap"


def test_gelu_patterns_are_counted_over_token_channel_units():
    net = small_vit()
    x, _ = vit_batch(n=7)
    inputs = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: inputs.append(i[0].detach()))
        for m in net.modules()
        if isinstance(m, nn.GELU)
    ]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    # 2 blocks: (N, 5 tokens, int(ratio * 16) hidden units)
    assert [tuple(t.shape) for t in inputs] == [(7, 5, 32), (7, 5, 24)]
    npass = NetworkPass(net, x, torch.zeros(7, dtype=torch.long))
    assert [tuple(c.shape) for c in npass.activations] == [(7, 5 * 32), (7, 5 * 24)]
    columns = torch.cat([(t > 0).reshape(7, -1) for t in inputs], dim=1).T  # units x samples
    assert swap(npass) == len({tuple(col.tolist()) for col in columns})


def test_meco_token_tensors_with_more_channels_than_tokens_are_exactly_zero():
    g = torch.Generator().manual_seed(0)
    assert min_correlation_eigenvalue(torch.randn(5, 8, generator=g)) == 0.0  # T=5 < C+1
    few = torch.randn(40, 3, generator=g, dtype=torch.float64)  # 40 tokens, 3 channels
    expected = np.linalg.eigvalsh(np.corrcoef(few.numpy().T))[0]
    assert min_correlation_eigenvalue(few) == pytest.approx(expected, rel=1e-12)
    const = few.clone()
    const[:, 1] = 2.0
    assert min_correlation_eigenvalue(const) == 0.0


def test_meco_on_a_vit_is_carried_by_the_attention_maps():
    net = small_vit()
    x, y = vit_batch()
    npass = NetworkPass(net, x, y)
    total = meco(npass)
    attn = [
        min_correlation_eigenvalue(f[0]) for name, f in npass.features if name.endswith("attn_map")
    ]
    assert len(attn) == 2
    # embed 16 > 5 tokens: every token tensor is degenerate; the (16, 2, 2) patch map too
    others = [
        min_correlation_eigenvalue(f[0])
        for name, f in npass.features
        if not name.endswith("attn_map")
    ]
    assert all(abs(v) < 1e-9 for v in others if v is not None)
    assert total == pytest.approx(sum(attn) + sum(v for v in others if v is not None))


def test_stored_autoformer_band():
    from libranas.proxies._vit_calibration import autoformer_band, load_autoformer_calibration

    lo, hi = autoformer_band("tiny", img_size=32, patch_size=4)
    assert 0 <= lo < hi <= 100 and lo % 10 == 0 and hi % 10 == 0
    rec = next(r for r in load_autoformer_calibration() if r["variant"] == "tiny")
    assert len(rec["profile"]) == 10 and all(np.isfinite(rec["profile"]))
    with pytest.raises(ValueError, match="no stored L-SWAG band"):
        autoformer_band("tiny", img_size=224, patch_size=16)
