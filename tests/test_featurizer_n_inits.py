"""ProxyFeaturizer(n_inits=k): each proxy averaged over k initialisations."""

from __future__ import annotations

import math
import os
import warnings
import zlib

import joblib
import numpy as np
import pytest
import torch

from libranas.featurizer import ProxyFailedWarning, ProxyFeaturizer, _score_archs, arch_seed
from libranas.proxies import _registry
from libranas.spaces import get_space

torch.set_num_threads(1)

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|",
    "|nor_conv_1x1~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
]
PROXIES = ["nwot", "jacov", "l2_norm"]


def data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(4, 3, 16, 16, generator=gen), torch.tensor([0, 1, 2, 3])


def featurizer(**kw) -> ProxyFeaturizer:
    return ProxyFeaturizer("nb201", proxies=PROXIES, data=data(), n_threads=1, **kw)


def test_first_init_seed_is_the_single_init_seed_and_inits_differ():
    arch = get_space("nb201").validate(ARCHS[0])
    crc = zlib.crc32(repr(arch).encode("utf-8"))
    single = int(np.random.SeedSequence([7, crc]).generate_state(1)[0])  # the published formula
    assert arch_seed(arch, 7) == arch_seed(arch, 7, 0) == single
    seeds = [arch_seed(arch, 7, i) for i in range(4)]
    assert len(set(seeds)) == 4
    assert seeds[2] == int(np.random.SeedSequence([7, crc, 2]).generate_state(1)[0])
    with pytest.raises(ValueError, match="init"):
        arch_seed(arch, 7, -1)


def test_one_init_is_the_default_and_k_inits_are_the_mean_of_single_inits():
    z1 = featurizer().fit_transform(ARCHS)
    assert np.array_equal(featurizer(n_inits=1).fit_transform(ARCHS), z1)
    feat = featurizer(n_inits=3).fit()
    z3 = feat.transform(ARCHS)
    space = feat.space_
    x, y = feat.data_
    for row, arch in enumerate(ARCHS):
        canonical = space.validate(arch)
        per_init = [
            _score_archs(
                space, [canonical], [(arch_seed(canonical, feat.seed_, i),)], x, y, PROXIES, {},
                "cpu", "float32", 10, 1, os.getpid(),
            )[0][0]
            for i in range(3)
        ]  # fmt: skip
        assert np.array_equal(per_init[0], z1[row])  # init 0 is the single-init network
        np.testing.assert_allclose(z3[row], np.mean(per_init, axis=0), rtol=1e-12)
        assert not np.allclose(per_init[0], per_init[1])  # the inits are different networks


def test_same_scores_whatever_the_number_of_jobs():
    z = featurizer(n_inits=2).fit_transform(ARCHS)
    with joblib.parallel_config(backend="threading"):
        assert np.array_equal(featurizer(n_inits=2, n_jobs=2).fit_transform(ARCHS), z)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", None])
def test_n_inits_is_validated(bad):
    with pytest.raises(ValueError, match="n_inits must be an int >= 1"):
        featurizer(n_inits=bad).fit()


def test_store_key_includes_n_inits_and_one_init_keeps_older_keys(tmp_path):
    path = tmp_path / "scores.db"
    z1 = featurizer(store=path).fit_transform(ARCHS)
    z2 = featurizer(store=path, n_inits=2).fit_transform(ARCHS)
    assert not np.allclose(z1, z2)  # not read back from the one-init rows
    assert np.array_equal(featurizer(store=path, n_inits=2).fit_transform(ARCHS), z2)
    ctx1, desc1 = featurizer().fit()._score_context()
    ctx2, desc2 = featurizer(n_inits=2).fit()._score_context()
    assert ctx1.options_fp != ctx2.options_fp
    assert "n_inits" not in desc1[ctx1.options_fp][1]  # one init: the key written before
    assert desc2[ctx2.options_fp][1]["n_inits"] == 2


def test_a_failing_init_is_left_out_and_all_failing_gives_nan(monkeypatch):
    def flaky(npass) -> float:
        if npass.seed % 2 == 0:
            raise ValueError("even seed")
        return float(npass.seed % 1000)

    def broken(npass) -> float:
        raise ValueError("always")

    for name, func in [("test_flaky", flaky), ("test_broken", broken)]:
        info = _registry.ProxyInfo(name, func, frozenset({"model"}))
        monkeypatch.setitem(_registry._PROXIES, name, info)
    space = get_space("nb201")
    arch = space.validate(ARCHS[0])
    seeds = [arch_seed(arch, 0, i) for i in range(6)]
    odd = [s % 1000 for s in seeds if s % 2]
    assert 0 < len(odd) < 6, "pick another architecture: need both parities among the seeds"
    feat = ProxyFeaturizer(
        "nb201", proxies=["test_flaky", "test_broken"], data=data(), n_inits=6, n_threads=1
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        z = feat.fit_transform([ARCHS[0]])
    assert z[0, 0] == pytest.approx(np.mean(odd))
    assert math.isnan(z[0, 1])
    msgs = [str(w.message) for w in caught if issubclass(w.category, ProxyFailedWarning)]
    assert len(msgs) == 1 and "test_broken" in msgs[0] and "always" in msgs[0]
