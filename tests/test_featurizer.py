"""Tests of ProxyFeaturizer: scores, determinism, calibration, errors, sklearn API, pipeline.

Kept small: batches of 8 images, 2-4 NB201 architectures, cheap proxies (one test runs
the full proxy set on 2 architectures), torch pinned to 1 thread. The images are random
(fixed seed), so every test here runs in a clone without the real image batches.
"""

from __future__ import annotations

import pickle
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from libranas import featurizer as featurizer_module
from libranas.featurizer import LSWAG_PROXIES, ProxyFailedWarning, ProxyFeaturizer, arch_seed
from libranas.proxies import get_proxy, list_proxies
from libranas.proxies._registry import _PROXIES, ProxyInfo
from libranas.proxies.lswag import choose_band
from libranas.spaces import get_space

CHEAP = ["params", "nwot", "snip"]  # model only, one forward, one backward
# the same cells in the three forms the NB201 space accepts, plus a fourth cell
ARCHS = [
    "(0, 2, 3, 2, 3, 1)",
    "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|",
    (4, 0, 4, 1, 2, 0),
    1,
]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def cifar_path(tmp_path_factory):
    """A CIFAR-10-shaped .npz of random uint8 images (fixed seed): what these tests need is
    the file format and the normalisation, not real images, so they run in any clone."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("images") / "cifar10_synthetic_uint8.npz"
    np.savez(path, x=rng.integers(0, 256, (64, 3, 32, 32), dtype=np.uint8), y=np.arange(64) % 10)
    return path


@pytest.fixture(scope="module")
def batch(cifar_path):
    from libranas.datasets import load_image_batch

    return load_image_batch(cifar_path, n=8, random_state=0)


@pytest.fixture(scope="module")
def fitted(batch):
    return ProxyFeaturizer(proxies=CHEAP, data=batch, batch_size=8, device="cpu").fit(ARCHS)


@pytest.fixture(scope="module")
def scores(fitted):
    return fitted.transform(ARCHS)


def random_batch(n=8, shape=(3, 32, 32), classes=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=g), torch.randint(0, classes, (n,), generator=g)


# ---------------------------------------------------------------------------- scores


def test_transform_scores_every_arch_with_every_proxy(fitted, scores):
    space = get_space("nb201")
    assert scores.shape == (4, 3) and scores.dtype == np.float64
    assert np.isfinite(scores).all()
    assert list(fitted.get_feature_names_out()) == CHEAP
    # params column = the analytic parameter count of each built network, in millions
    expected = [space.param_count(a) / 1e6 for a in ARCHS]
    np.testing.assert_allclose(scores[:, 0], expected, rtol=0, atol=1e-12)
    assert fitted.device_ == "cpu" and fitted.num_classes_ == 10
    assert fitted.data_[0].shape == (8, 3, 32, 32) and fitted.data_[1].dtype == np.int64


def test_same_architecture_same_scores_whatever_form_and_order(fitted, scores):
    space = get_space("nb201")
    other_forms = [space.validate(ARCHS[0]), space.to_tuple(ARCHS[1]), space.to_index(ARCHS[2])]
    np.testing.assert_array_equal(fitted.transform(other_forms), scores[:3])
    np.testing.assert_array_equal(fitted.transform(ARCHS[::-1]), scores[::-1])
    np.testing.assert_array_equal(fitted.transform([ARCHS[2]]), scores[2:3])


def test_random_state_sets_the_initialisation(batch, scores):
    other = ProxyFeaturizer(proxies=CHEAP, data=batch, batch_size=8, random_state=1)
    z = other.fit_transform(ARCHS)
    np.testing.assert_array_equal(z[:, 0], scores[:, 0])  # params do not depend on init
    assert not np.allclose(z[:, 2], scores[:, 2])  # snip does
    a = get_space("nb201").validate(ARCHS[0])
    assert arch_seed(a, 0) != arch_seed(a, 1)


def test_transform_leaves_global_rng_alone(fitted):
    state = torch.get_rng_state()
    fitted.transform(ARCHS[:1])
    assert torch.equal(state, torch.get_rng_state())


def test_n_jobs_gives_identical_results(batch, scores):
    par = ProxyFeaturizer(proxies=CHEAP, data=batch, batch_size=8, n_jobs=2)
    np.testing.assert_array_equal(par.fit_transform(ARCHS[:3]), scores[:3])


def test_parallel_config_is_honoured(fitted, scores, monkeypatch):
    from joblib import parallel_config

    threads = set()
    real = featurizer_module._score_archs

    def recording(*args, **kwargs):
        threads.add(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(featurizer_module, "_score_archs", recording)
    with parallel_config(backend="threading", n_jobs=2):
        z = fitted.transform(ARCHS)
    np.testing.assert_array_equal(z, scores)
    assert threads and threading.get_ident() not in threads  # ran in joblib's threads


def test_failing_proxy_gives_nan_and_warning(fitted, monkeypatch):
    nwot = get_proxy("nwot")

    def fails_on_small_nets(npass):
        if sum(p.numel() for p in npass.model.parameters()) < 200_000:
            raise RuntimeError("boom")
        return nwot.func(npass)

    monkeypatch.setitem(_PROXIES, "nwot", ProxyInfo("nwot", fails_on_small_nets, nwot.requires))
    archs = [ARCHS[0], "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    with pytest.warns(ProxyFailedWarning) as record:
        z = fitted.transform(archs)
    assert len(record) == 1
    msg = str(record[0].message)
    assert "'nwot'" in msg and "architecture 1" in msg and "none~2" in msg and "boom" in msg
    assert np.isnan(z[1, 1]) and np.isfinite(z[0]).all() and np.isfinite(z[1, [0, 2]]).all()


# ---------------------------------------------------------------------------- proxies, data


def test_default_proxies_lswag_first_then_sorted(batch):
    feat = ProxyFeaturizer(data=batch, batch_size=8, lswag_band=None).fit()
    rest = sorted(set(list_proxies()) - set(LSWAG_PROXIES))
    assert feat.proxies_ == list(LSWAG_PROXIES) + rest
    assert feat.lswag_band_ is None and feat.lswag_profile_ is None


def test_full_proxy_set_with_calibrated_band(batch):
    feat = ProxyFeaturizer(data=batch, batch_size=8, n_calibration=3, lswag_band="calibrate")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProxyFailedWarning)  # every proxy must work on NB201
        z = feat.fit_transform(ARCHS[:2])
    assert z.shape == (2, len(list_proxies())) and np.isfinite(z).all()
    # calibration: a 10-bin profile and its spike as the band, on random archs of the space
    assert feat.lswag_profile_.shape == (10,)
    assert feat.lswag_band_ == choose_band(feat.lswag_profile_)
    assert len(feat.calibration_archs_) == 3 and feat.calibration_seconds_ > 0
    col = {name: k for k, name in enumerate(feat.proxies_)}
    np.testing.assert_allclose(
        z[:, col["lswag"]], z[:, col["lswag_lambda"]] * z[:, col["lswag_psi"]]
    )


def test_explicit_band_is_used_as_given(batch):
    kw = dict(proxies=["lswag_lambda"], data=batch, batch_size=8)
    arch = ARCHS[:1]
    top = ProxyFeaturizer(lswag_band=(90, 100), **kw).fit(arch)
    assert top.lswag_band_ == (90.0, 100.0) and top.lswag_profile_ is None
    full = ProxyFeaturizer(lswag_band=None, **kw).fit(arch)
    whole = ProxyFeaturizer(lswag_band=(0, 100), **kw).fit(arch)
    assert whole.transform(arch)[0, 0] == full.transform(arch)[0, 0]
    assert top.transform(arch)[0, 0] < full.transform(arch)[0, 0]  # fewer layers summed
    for band in [(50, 10), (0, 101), "top", (1, 2, 3)]:
        with pytest.raises(ValueError, match="lswag_band"):
            ProxyFeaturizer(lswag_band=band, **kw).fit(arch)


def test_stored_band_for_autoformer_and_a_clear_error_elsewhere():
    from libranas.proxies._vit_calibration import autoformer_band

    space = get_space("autoformer-tiny", img_size=32, patch_size=4, num_classes=10)
    stored = ProxyFeaturizer(
        space, proxies=["lswag_lambda"], data=random_batch(n=4), batch_size=4, lswag_band="stored"
    ).fit()
    assert stored.lswag_band_ == autoformer_band("tiny", img_size=32, patch_size=4)
    assert stored.lswag_profile_.shape == (10,) and stored.calibration_archs_ is None
    other = get_space("autoformer-tiny", img_size=32, patch_size=8, num_classes=10)
    with pytest.raises(ValueError, match="no stored L-SWAG band for space 'autoformer-tiny'"):
        ProxyFeaturizer(other, proxies=["lswag"], data=random_batch(n=4), lswag_band="stored").fit()
    narrow = get_space("nb201", channels=8)  # NB201's band is stored for its own setting
    with pytest.raises(ValueError, match="no stored L-SWAG band for space 'nb201'"):
        ProxyFeaturizer(
            narrow, proxies=["lswag"], data=random_batch(n=4), lswag_band="stored"
        ).fit()


def test_auto_band_is_the_stored_one_where_the_space_has_it(batch):
    arch = ARCHS[:2]
    kw = dict(proxies=["lswag"], data=batch, batch_size=8, n_calibration=2)
    auto = ProxyFeaturizer(**kw).fit(arch)  # default "auto"
    assert auto.lswag_band_ == get_space("nb201").lswag_band() == (0.0, 70.0)
    assert auto.calibration_archs_ is None and auto.calibration_seconds_ == 0  # no calibration
    fixed = ProxyFeaturizer(lswag_band=(0, 70), **kw).fit(arch)
    np.testing.assert_array_equal(auto.transform(arch), fixed.transform(arch))
    # where no band is stored, "auto" calibrates as the paper does
    narrow = ProxyFeaturizer(get_space("nb201", channels=8), **kw).fit(arch)
    assert len(narrow.calibration_archs_) == 2 and narrow.lswag_profile_.shape == (10,)


def test_model_only_proxies_without_data(scores):
    feat = ProxyFeaturizer(proxies=["params", "flops"], input_shape=(3, 32, 32))
    z = feat.fit_transform(ARCHS)
    np.testing.assert_array_equal(z[:, 0], scores[:, 0])
    # flops counted at input_shape: as with a real 32x32 batch, and fewer at 16x16
    with_data = ProxyFeaturizer(proxies=["flops"], data=random_batch()).fit_transform(ARCHS)
    np.testing.assert_array_equal(z[:, 1], with_data[:, 0])
    small = ProxyFeaturizer(proxies=["flops"], input_shape=(3, 16, 16)).fit_transform(ARCHS)
    assert (small[:, 0] < z[:, 1]).all()


def test_data_from_dataloader_is_deterministic():
    from torch.utils.data import DataLoader, TensorDataset

    x, y = random_batch(n=20)
    loader = DataLoader(TensorDataset(x, y), batch_size=3, shuffle=True)
    a = ProxyFeaturizer(proxies=["nwot"], data=loader, batch_size=8).fit()
    b = ProxyFeaturizer(proxies=["nwot"], data=loader, batch_size=8).fit()
    assert a.data_[0].shape == (8, 3, 32, 32)
    np.testing.assert_array_equal(a.data_[0], b.data_[0])
    # drawn by the loader's shuffle, not just its first 8 samples
    assert not np.array_equal(a.data_[0], x[:8].numpy())
    assert np.isin(a.data_[1], y.numpy()).all()


def test_data_from_npz_path(cifar_path, batch):
    feat = ProxyFeaturizer(proxies=["nwot"], data=str(cifar_path), batch_size=8).fit()
    np.testing.assert_array_equal(feat.data_[0], batch[0])
    np.testing.assert_array_equal(feat.data_[1], batch[1])


def test_pair_is_cut_to_batch_size():
    x, y = random_batch(n=12)
    feat = ProxyFeaturizer(proxies=["nwot"], data=(x.numpy(), y.numpy()), batch_size=5).fit()
    np.testing.assert_array_equal(feat.data_[0], x[:5].numpy())


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown NB201 operation"),
        ((0, 2, 3), "6 edges"),
        (15625, "index must be in"),
    ],
)
def test_invalid_architecture_is_named(fitted, bad, reason):
    with pytest.raises(ValueError, match=reason) as info:
        fitted.transform([ARCHS[0], bad])
    assert "index 1" in str(info.value) and repr(bad) in str(info.value)
    with pytest.raises(ValueError, match="index 1"):
        clone(fitted).fit([ARCHS[0], bad])


def test_single_string_instead_of_list(fitted):
    with pytest.raises(TypeError, match="wrap it in a list"):
        fitted.transform(ARCHS[1])


@pytest.mark.parametrize("shape", [(8, 1, 32, 32), (8, 32, 32, 3)])
def test_batch_that_does_not_fit_the_space(shape):
    x = torch.randn(*shape)
    feat = ProxyFeaturizer(proxies=["nwot"], data=(x, torch.zeros(8, dtype=torch.long)))
    with pytest.raises(ValueError, match=r"data batch of shape \(8, .* does not fit space NB201"):
        feat.fit()


def test_batch_that_does_not_fit_a_vit_space():
    from libranas.spaces import list_spaces

    if "autoformer-tiny" not in list_spaces():
        pytest.skip("the AutoFormer space is not available")
    space = get_space("autoformer-tiny", img_size=32, patch_size=4, num_classes=10)
    feat = ProxyFeaturizer(space, proxies=["params"], data=random_batch(shape=(3, 16, 16)))
    with pytest.raises(ValueError, match=r"\(8, 3, 16, 16\) does not fit space AutoFormer"):
        feat.fit()


def test_unknown_proxy_lists_known_ones():
    feat = ProxyFeaturizer(proxies=["nwot", "not_a_proxy"], data=random_batch())
    with pytest.raises(ValueError, match=r"unknown proxies \['not_a_proxy'\]; known .*'nwot'"):
        feat.fit()
    with pytest.raises(TypeError, match="list of proxy names"):
        ProxyFeaturizer(proxies="nwot", data=random_batch()).fit()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_gpu():
    feat = ProxyFeaturizer(proxies=["params"], data=random_batch(), device="cuda")
    with pytest.raises(ValueError, match="no CUDA device is available"):
        feat.fit()
    assert feat.device == "cuda"  # the parameter is left as given


def test_data_none_needs_model_only_proxies_and_a_shape():
    with pytest.raises(ValueError, match=r"data=None.*\['nwot'\].*need a batch"):
        ProxyFeaturizer(proxies=["params", "nwot"]).fit()

    class NoShape(type(get_space("nb201"))):
        default_input_shape = None  # an NB201 variant without a default input shape

    with pytest.raises(ValueError, match="input_shape"):
        ProxyFeaturizer(NoShape(), proxies=["params"]).fit()


def test_labels_must_fit_num_classes():
    x, y = random_batch()
    y[3] = 10  # NB201 nets have 10 outputs by default
    with pytest.raises(ValueError, match=r"labels range \d\.\.10 does not fit num_classes=10"):
        ProxyFeaturizer(proxies=["nwot"], data=(x, y)).fit()
    feat = ProxyFeaturizer(proxies=["nwot"], data=(x, y), num_classes=11).fit()
    assert feat.num_classes_ == 11


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"batch_size": 1}, ValueError, "batch_size"),
        ({"data": (torch.zeros(1, 3, 32, 32), torch.zeros(1).long())}, ValueError, "2 samples"),
        ({"data": (np.zeros((4, 32, 32, 3), np.uint8), np.zeros(4, int))}, ValueError, "channels"),
        ({"data": (torch.randn(4, 3, 32, 32), torch.zeros(4))}, TypeError, "integer class"),
        ({"data": (torch.randn(4, 3, 32, 32), torch.zeros(3).long())}, ValueError, "one label"),
        ({"data": 3}, TypeError, "data must be"),
        ({"dtype": "float16"}, ValueError, "dtype"),
        ({"n_calibration": 0}, ValueError, "n_calibration"),
        ({"options": {"lswag_band": (0, 50)}}, ValueError, "lswag_band parameter"),
        ({"device": "tpu"}, ValueError, "invalid device"),
        ({"random_state": -1}, ValueError, "random_state"),
    ],
)
def test_bad_parameters(params, error, match):
    kw = {"proxies": ["nwot"], "data": random_batch(n=4), **params}
    with pytest.raises(error, match=match):
        ProxyFeaturizer(**kw).fit()


# ---------------------------------------------------------------------------- sklearn API


def test_clone_and_params(fitted):
    params = fitted.get_params()
    assert params["proxies"] is CHEAP and params["device"] == "cpu"
    twin = clone(fitted)
    assert not hasattr(twin, "proxies_") and twin.get_params()["proxies"] == CHEAP
    twin.set_params(proxies=["params"], random_state=3)
    assert twin.proxies == ["params"] and twin.random_state == 3
    assert fitted.proxies == CHEAP  # the original is untouched


def test_pickled_featurizer_transforms_the_same(fitted, scores):
    again = pickle.loads(pickle.dumps(fitted))
    assert isinstance(again.data_[0], np.ndarray)
    np.testing.assert_array_equal(again.transform(ARCHS), scores)


def test_fit_is_idempotent_and_fit_transform_matches(fitted, scores):
    twice = clone(fitted).fit(ARCHS).fit(ARCHS)
    np.testing.assert_array_equal(twice.data_[0], fitted.data_[0])
    np.testing.assert_array_equal(twice.transform(ARCHS), scores)
    np.testing.assert_array_equal(clone(fitted).fit_transform(ARCHS), scores)


def test_set_output_pandas(fitted, scores):
    feat = clone(fitted).set_output(transform="pandas").fit(ARCHS)
    df = feat.transform(ARCHS)
    assert isinstance(df, pd.DataFrame) and list(df.columns) == CHEAP
    np.testing.assert_array_equal(df.to_numpy(), scores)
    series = pd.Series(ARCHS[:2], index=["a", "b"])
    assert list(feat.transform(series).index) == ["a", "b"]


def test_tags():
    tags = ProxyFeaturizer().__sklearn_tags__()
    assert tags.input_tags.two_d_array is False and tags.target_tags.required is False


@pytest.mark.filterwarnings("ignore::libranas.datasets.NonFiniteValuesWarning")  # NaN in the table
def test_pipeline_with_selector_and_ranker(batch):
    from sklearn.model_selection import cross_validate

    from libranas.datasets import load_benchmark
    from libranas.metrics import get_scorer
    from libranas.ranker import ZCRanker
    from libranas.selector import LibraSelector

    bench = load_benchmark("nb201-cifar10")
    archs, acc = list(bench.archs[:12]), bench.y.to_numpy()[:12]
    # NB201 cells in a 1-cell-per-stage skeleton (a space object): 4x cheaper than 5 cells
    space = get_space("nb201", cells_per_stage=1)
    proxies = ["params", "nwot", "snip", "grad_norm"]
    pipe = make_pipeline(
        ProxyFeaturizer(space, proxies=proxies, data=batch, batch_size=8),
        LibraSelector(bins=3),  # 8 training rows per fold: Sturges' 7-row minimum is too tight
        ZCRanker("rank-mean"),
    ).set_output(transform="pandas")
    cv = cross_validate(
        pipe, archs, acc, cv=3, scoring=get_scorer("spearman"), return_estimator=True
    )
    assert cv["test_score"].shape == (3,) and np.isfinite(cv["test_score"]).all()
    assert (np.abs(cv["test_score"]) <= 1).all()
    for fold in cv["estimator"]:
        assert fold[0].space_ is not space  # cloned
        selected = fold[1].selected_
        assert 1 <= len(selected) <= 3 and set(selected) <= set(proxies)
    # the same through cross_val_score
    again = cross_val_score(pipe, archs, acc, cv=3, scoring=get_scorer("spearman"))
    np.testing.assert_array_equal(again, cv["test_score"])


# ---------------------------------------------------------------------------- declared options


def test_misspelled_option_is_an_error_naming_it_and_the_valid_ones():
    feat = ProxyFeaturizer(proxies=["zen"], data=random_batch(), options={"zen_alfa": 0.1})
    with pytest.raises(
        ValueError, match=r"unknown option 'zen_alfa' \(did you mean 'zen_alpha'"
    ) as e:
        feat.fit()
    assert "valid options: [" in str(e.value) and "'per_sample'" in str(e.value)
    with pytest.raises(ValueError, match=r"unknown options 'x', 'y'"):
        ProxyFeaturizer(proxies=["params"], data=random_batch(), options={"x": 1, "y": 2}).fit()


def test_declared_options_reach_the_proxies():
    from libranas.proxies import list_options

    options = list_options()
    for key in ("zen_alpha", "reg_swap_mu", "fisher_mode", "per_sample", "lswag_empty_band"):
        assert key in options
    assert "[zen]" in options["zen_alpha"] and "shared pass" in options["per_sample"]
    kw = dict(proxies=["flops"], data=random_batch())
    plain = ProxyFeaturizer(**kw).fit_transform(ARCHS[:1])
    with_bias = ProxyFeaturizer(options={"flops_bias": True}, **kw).fit_transform(ARCHS[:1])
    assert with_bias[0, 0] > plain[0, 0]  # the declared option is used, not just accepted


def test_a_proxy_declares_its_options_at_registration():
    from libranas.proxies import check_options, register_proxy

    with pytest.raises(ValueError, match="unknown option 'my_scale'"):
        check_options({"my_scale": 2.0})

    @register_proxy("my_scaled_params", requires=("model",), options={"my_scale": "factor"})
    def my_scaled_params(npass):
        return npass.options.get("my_scale", 1.0) * sum(p.numel() for p in npass.model.parameters())

    try:
        check_options({"my_scale": 2.0})
        feat = ProxyFeaturizer(
            proxies=["my_scaled_params", "params"], data=random_batch(), options={"my_scale": 2.0}
        )
        z = feat.fit_transform(ARCHS[:1])
        np.testing.assert_allclose(z[0, 0], 2e6 * z[0, 1])
        with pytest.raises(TypeError, match="options must map str keys"):
            register_proxy("bad", requires=("model",), options={"k": 1})
    finally:
        _PROXIES.pop("my_scaled_params", None)


def test_a_proxy_without_declared_options_keeps_its_prefixed_keys():
    """Registered without options= (not declared): its "<name>_*" keys pass unchecked, so
    a module written before declarations keeps working; any other unknown key still fails."""
    from libranas.proxies import check_options, register_proxy

    @register_proxy("legacy_size", requires=("model",))
    def legacy_size(npass):
        return npass.options.get("legacy_size_scale", 1.0)

    try:
        assert get_proxy("legacy_size").options is None
        assert get_proxy("nwot").options == {}  # built-ins declare, even when they read none
        check_options({"legacy_size_scale": 3.0})
        with pytest.raises(ValueError, match=r"unknown option 'legacy_scale'.*'legacy_size_\*'"):
            check_options({"legacy_scale": 3.0})
        with pytest.raises(ValueError, match="unknown option 'nwot_k'"):
            check_options({"nwot_k": 3})
        feat = ProxyFeaturizer(
            proxies=["legacy_size"], data=random_batch(), options={"legacy_size_scale": 3.0}
        )
        assert feat.fit_transform(ARCHS[:1])[0, 0] == 3.0
    finally:
        _PROXIES.pop("legacy_size", None)
