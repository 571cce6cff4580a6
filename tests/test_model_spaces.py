"""Any network: timm models by name (``get_space("timm")``) and a user's own builder
(``ModelSpace``) in ProxyFeaturizer, ArchFeaturizer, EvolutionarySearch and a Pipeline."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import timm
import torch
from sklearn.pipeline import make_pipeline
from torch import nn

from libranas import ArchFeaturizer, ProxyFeaturizer, ZCRanker
from libranas.search import EvolutionarySearch
from libranas.spaces import ArchDict, ModelSpace, get_space


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def images(n=8, classes=10, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=g), torch.arange(n) % classes


# a user's own family of networks: the 5-line function of the issue
def build(arch):
    width, depth = arch["width"], arch["depth"]
    convs = [nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU())]
    convs += [
        nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU()) for _ in range(depth - 1)
    ]
    return nn.Sequential(*convs, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))


def sample(rng):
    return {"width": int(rng.choice([4, 8, 16])), "depth": int(rng.integers(1, 4))}


def mutate(arch, rng):
    key = "width" if rng.random() < 0.5 else "depth"
    value = int(rng.choice([4, 8, 16])) if key == "width" else int(rng.integers(1, 4))
    return {**arch, key: value}


@pytest.fixture(scope="module")
def user_space() -> ModelSpace:
    return ModelSpace(
        build,
        sample=sample,
        mutate=mutate,
        encode=lambda a: [a["width"] / 16, a["depth"] / 3],
        name="user-cnns",
    )


# ------------------------------------------------------------------------------- timm
def test_timm_models_scored_and_params_equal_timm_count():
    space = get_space("timm", num_classes=10, img_size=32)
    names = ["resnet18", "vit_tiny_patch16_224", "mobilenetv3_small_100"]
    x, y = images(8)
    feat = ProxyFeaturizer(
        space=space,
        proxies=["params", "nwot", "zico", "swap"],
        data=(x, y),
        batch_size=8,
        lswag_band=None,
        device="cpu",
    ).fit(names)
    scores = feat.transform(names)
    assert np.isfinite(scores).all()
    for row, name in enumerate(names):
        kwargs = {"img_size": 32} if name.startswith("vit") else {}
        ref = timm.create_model(name, pretrained=False, num_classes=10, **kwargs)
        count = sum(p.numel() for p in ref.parameters())
        assert space.param_count(name) == count
        assert scores[row, 0] == pytest.approx(count / 1e6)
    vit = space.build("vit_tiny_patch16_224")
    assert vit.patch_embed.img_size == (32, 32)  # adapted to 32 px
    assert feat.size_prior_ is None  # reg_swap not asked


def test_timm_space_samples_and_mutates_within_the_list():
    models = ["resnet18", ("vit_tiny_patch16_224", {"depth": 2}), "mobilenetv3_small_100"]
    space = get_space("timm", num_classes=10, img_size=32, models=models)
    drawn = space.sample(20, random_state=0)
    assert set(drawn) == set(space.models)
    assert space.models[1] == ("vit_tiny_patch16_224", ArchDict({"depth": 2}))
    child = space.mutate("resnet18", random_state=0)
    assert child in space.models and child != "resnet18"
    assert space.encode(models[1]).tolist() == [0.0, 1.0, 0.0]
    assert pickle.loads(pickle.dumps(space)).models == space.models
    default = get_space("timm")
    assert "resnet18" in default.models and len(set(default.sample(30, random_state=0))) > 3
    with pytest.raises(ValueError, match="not a timm model"):
        space.validate("resnet_eighteen")
    with pytest.raises(ValueError, match="may not set"):
        space.validate(("resnet18", {"num_classes": 3}))


# ------------------------------------------------------------------------------ ModelSpace
def test_model_space_in_the_featurizer(user_space):
    x, y = images(8)
    feat = ProxyFeaturizer(
        space=user_space,
        proxies=["params", "nwot", "zico", "lswag"],
        data=(x, y),
        batch_size=8,
        lswag_band="auto",
        n_calibration=3,
        device="cpu",
    ).fit()
    archs = [{"width": 8, "depth": 2}, {"depth": 2, "width": 8}, {"width": 16, "depth": 3}]
    scores = feat.transform(archs)
    assert np.isfinite(scores).all()
    np.testing.assert_array_equal(scores[0], scores[1])  # same arch whatever the key order
    assert scores[0, 0] == pytest.approx(user_space.param_count(archs[0]) / 1e6)
    assert feat.lswag_band_ is not None


def test_model_space_in_evolutionary_search(user_space):
    x, y = images(8)
    feat = ProxyFeaturizer(
        space=user_space, proxies=["nwot"], data=(x, y), batch_size=8, device="cpu"
    ).fit()
    search = EvolutionarySearch(
        user_space,
        scorer=lambda archs: feat.transform(archs)[:, 0],
        population=4,
        sample_size=2,
        cycles=4,
        batch_size=2,
        random_state=0,
    )
    result = search.run()
    history = result.history
    assert len(history) == 8 and history["score"].notna().all()
    assert all(isinstance(a, ArchDict) for a in history["arch"])
    assert history["arch"].nunique() == 8


def test_model_space_in_a_pipeline_and_arch_featurizer(user_space):
    x, y = images(8)
    archs = user_space.sample(6, random_state=1)
    pipe = make_pipeline(
        ProxyFeaturizer(
            space=user_space, proxies=["nwot", "zico", "params"], data=(x, y), device="cpu"
        ),
        ZCRanker("rank-mean"),
    )
    pipe.fit(archs, np.arange(6.0))
    assert np.isfinite(pipe.predict(archs)).all()
    onehot = ArchFeaturizer(user_space, features=["onehot"]).fit(archs).transform(archs)
    assert onehot.shape == (6, 2)
    with pytest.raises(ValueError, match="graph"):
        ArchFeaturizer(user_space, features=["graph"]).fit(archs)


def test_what_a_model_space_cannot_do_is_a_clear_error():
    bare = ModelSpace(build)
    arch = {"width": 4, "depth": 1}
    assert bare.param_count(arch) == 3 * 4 * 9 + 4 + 4 * 10 + 10
    with pytest.raises(NotImplementedError, match="cannot mutate: pass mutate="):
        bare.mutate(arch)
    with pytest.raises(NotImplementedError, match="cannot sample"):
        bare.sample(1)
    with pytest.raises(NotImplementedError, match="no encoding"):
        bare.encode(arch)
    with pytest.raises(NotImplementedError, match="Optuna only over a list"):
        bare.trial_choices()
    with pytest.raises(ValueError, match=r"pass the architectures to fit\(archs\)"):
        ProxyFeaturizer(space=bare, proxies=["params"], device="cpu").fit()
    with pytest.raises(TypeError, match="hashable, picklable"):
        bare.validate({"width": 4, "act": lambda t: t})
    with pytest.raises(TypeError, match="not a torch.nn.Module"):
        ModelSpace(lambda a: "net").build(arch)
    listed = ModelSpace(build, sample=[arch, {"width": 8, "depth": 1}])
    assert listed.mutate(arch, random_state=0) == ArchDict(width=8, depth=1)
    mu, sigma = listed.size_prior()
    assert mu == pytest.approx(listed.param_count({"width": 8, "depth": 1}) / 1e6)
