"""The PiT space (Auto-Prox): records, sampling, mutation, encoding, the analytic parameter
count recomputed by hand, networks built on timm layers, every proxy on a CIFAR-100 batch,
and reg-SWAP's size prior derived per space."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch

from libranas import ProxyFeaturizer
from libranas.proxies import list_proxies
from libranas.spaces import get_space
from libranas.spaces.base import NB201_SIZE_PRIOR, size_prior_from_counts
from libranas.spaces.pit import PiTArch, PiTSpace

RECORD = {"base_dim": 16, "mlp_ratio": 6, "depth": [2, 8, 4], "num_heads": [2, 4, 4]}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def space() -> PiTSpace:
    return get_space("pit", img_size=32, num_classes=100)


def by_hand(base, ratio, depth, heads, classes=100, img=32, patch=8, stride=4) -> int:
    """Parameters of a PiT written out layer by layer (independent of pit_param_count)."""
    widths = [base * h for h in heads]
    grid = (img - patch) // stride + 1
    n = (3 * patch * patch + 1) * widths[0]  # patch conv weight + bias
    n += widths[0] * grid * grid  # position embedding
    n += widths[0]  # class token
    for s, d in enumerate(widths):
        hidden = ratio * d
        per_block = (
            2 * d  # norm1
            + (d * 3 * d + 3 * d)  # qkv
            + (d * d + d)  # proj
            + 2 * d  # norm2
            + (d * hidden + hidden)  # fc1
            + (hidden * d + d)  # fc2
        )
        n += depth[s] * per_block
        if s + 1 < len(widths):
            out = widths[s + 1]
            n += out * 3 * 3 + out  # depthwise conv: one 3x3 filter per output channel
            n += d * out + out  # class-token linear
    n += 2 * widths[-1] + widths[-1] * classes + classes
    return n


def test_param_count_recomputed_by_hand_for_two_records(space):
    a = RECORD
    b = {"base_dim": 40, "mlp_ratio": 2, "depth": [3, 4, 6], "num_heads": [2, 2, 8]}
    for rec in (a, b):
        expected = by_hand(rec["base_dim"], rec["mlp_ratio"], rec["depth"], rec["num_heads"])
        assert space.param_count(rec) == expected
        net = space.build(rec)
        assert sum(p.numel() for p in net.parameters()) == expected
    assert space.param_count(a) == 853636


def test_hundred_random_architectures_build_with_the_counted_size(space):
    archs = space.sample(100, random_state=0)
    assert len(set(archs)) > 90
    for arch in archs:
        assert space.validate(arch.to_dict()) == arch
        assert all(np.diff(arch.num_heads) >= 0)
        net = space.build(arch)
        assert sum(p.numel() for p in net.parameters()) == space.param_count(arch)
    net = space.build(archs[0])
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 100)


def test_records_validate_and_errors_name_the_problem(space):
    arch = space.validate(RECORD)
    assert arch == PiTArch(16, 6, (2, 8, 4), (2, 4, 4))
    assert arch.widths == (32, 64, 64)
    assert pickle.loads(pickle.dumps(arch)) == arch
    assert space.validate({k.upper(): v for k, v in RECORD.items()}) == arch
    with pytest.raises(ValueError, match="base_dim 20 is not in the pit space"):
        space.validate({**RECORD, "base_dim": 20})
    with pytest.raises(ValueError, match="stage 1's heads"):
        space.validate({**RECORD, "num_heads": [4, 2, 2]})
    with pytest.raises(ValueError, match="depth 5 of stage 1"):
        space.validate({**RECORD, "depth": [2, 5, 4]})
    with pytest.raises(ValueError, match="lacks"):
        space.validate({"base_dim": 16})
    with pytest.raises(TypeError):
        space.validate("pit")
    loose = PiTSpace(strict=False)
    assert loose.validate({**RECORD, "depth": [2, 5]} | {"num_heads": [2, 4]}).depth == (2, 5)


def test_sample_covers_the_choices_and_mutate_changes_one_decision(space):
    archs = space.sample(300, random_state=1)
    assert {a.base_dim for a in archs} == {16, 24, 32, 40}
    assert {a.mlp_ratio for a in archs} == {2, 4, 6, 8}
    assert {a.num_heads for a in archs} == set(space.head_options)
    assert len(space.head_options) == 10
    for s, opts in enumerate(space.choices["depth"]):
        assert {a.depth[s] for a in archs} == set(opts)
    rng = np.random.default_rng(0)
    for a in archs[:50]:
        b = space.mutate(a, random_state=rng)
        assert space.validate(b) == b and b != a
        d = a.to_dict(), b.to_dict()
        changed = sum(
            (d[0][k] != d[1][k])
            if k in ("base_dim", "mlp_ratio")
            else sum(x != y for x, y in zip(d[0][k], d[1][k], strict=True))
            for k in d[0]
        )
        assert changed == 1


def test_encoding_graph_features_and_optuna_round_trip(space):
    archs = space.sample(20, random_state=2)
    enc = space.encode_many(archs)
    assert enc.shape == (20, 26) == (20, len(space.encoding_names()))
    assert (enc.sum(axis=1) == 8).all()
    g = space.graph_features_many(archs)
    assert g.shape == (20, len(space.graph_feature_names()))
    assert np.isfinite(g).all()
    for a in archs:
        params = space.trial_params(a)
        assert space._from_params(params) == a
        assert set(params) == set(space.trial_choices())


def test_every_proxy_on_a_cifar100_batch(space, shared_data):
    from libranas.datasets import load_image_batch

    x, y = load_image_batch(shared_data / "images" / "cifar100_960_uint8.npz", n=16)
    archs = space.sample(2, random_state=7)
    feat = ProxyFeaturizer(space=space, data=(x, y), batch_size=16, lswag_band=None, device="cpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = feat.fit().transform(archs)
    names = list(feat.get_feature_names_out())
    assert names == list(feat.proxies_) and set(names) == set(list_proxies())
    # every proxy is finite; az_trainability estimates only the blocks that keep their token
    # count (PiT's pooling stages change it: 17 -> 5 tokens), the last stage here
    finite = np.isfinite(scores)
    for j, name in enumerate(names):
        assert finite[:, j].all(), name
    assert not [str(w.message) for w in caught if "az_trainability" in str(w.message)]
    gelu_patterns = scores[:, names.index("swap")]
    assert (gelu_patterns > 1).all()  # GeLU units were hooked in every network


def test_reg_swap_prior_is_derived_for_vit_spaces_and_kept_for_nb201(space):
    mu, sigma = space.size_prior()
    counts = np.array([space.param_count(a) for a in space.sample(200, random_state=0)]) / 1e6
    assert mu == pytest.approx(counts.max())
    assert np.exp(-((counts.min() - mu) ** 2) / sigma) == pytest.approx(0.25)
    assert get_space("nb201").size_prior() == NB201_SIZE_PRIOR
    af = get_space("autoformer-tiny", img_size=32, patch_size=4, num_classes=100)
    mu_af, sigma_af = af.size_prior()
    sizes = np.array([af.param_count(a) for a in af.sample(200, random_state=3)]) / 1e6
    factor = np.exp(-((sizes - mu_af) ** 2) / sigma_af)
    assert factor.min() > 0.2  # the factor tilts, it does not decide
    nb201_factor = np.exp(-((sizes - 1.5) ** 2) / 1.5)
    assert nb201_factor.max() < 1e-3  # NB201's prior at 5-10 M: tiny factors ...
    assert np.argmax(nb201_factor) == np.argmin(sizes)  # ... that rank by inverted size
    with pytest.raises(ValueError, match="distinct"):
        size_prior_from_counts([5e6, 5e6])


def test_featurizer_passes_the_space_prior_to_reg_swap(space):
    feat = ProxyFeaturizer(space=space, proxies=["params", "reg_swap"], data=None, device="cpu")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 32, 32, generator=gen)
    feat.set_params(data=(x, torch.arange(4)))
    feat.fit()
    assert feat.size_prior_ == space.size_prior()
    given = ProxyFeaturizer(
        space=space,
        proxies=["reg_swap"],
        data=(x, torch.arange(4)),
        options={"reg_swap_mu": 1.5, "reg_swap_sigma": 1.5},
        device="cpu",
    ).fit()
    assert given.size_prior_ is None
    arch = [RECORD]
    own = feat.transform(arch)[0, 1]
    nb201 = given.transform(arch)[0, 0]
    params_m = space.param_count(RECORD) / 1e6
    mu, sigma = space.size_prior()
    ratio = np.exp(-((params_m - mu) ** 2) / sigma) / np.exp(-((params_m - 1.5) ** 2) / 1.5)
    assert own / nb201 == pytest.approx(ratio, rel=1e-6)


def test_stored_lswag_band_for_the_default_setting():
    band = PiTSpace().lswag_band()
    assert band is not None and 0 <= band[0] < band[1] <= 100
    assert PiTSpace().lswag_profile().shape == (10,)
    assert PiTSpace(img_size=224, num_classes=1000).lswag_band() is None  # not calibrated
