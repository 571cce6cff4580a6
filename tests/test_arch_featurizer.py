"""ArchFeaturizer: graph features and one-hot of architectures, alone and in a pipeline."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline, make_union

from libranas import ArchFeaturizer, LibraSelector, ZCRanker, list_benchmarks, load_benchmark
from libranas.spaces import SearchSpace, get_space

SPACES_WITH_GRAPHS = ["nb201", "darts", "autoformer-tiny", "nb101", "tnb101-micro", "tnb101-macro"]


def _bench(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tables report their NaN cells
        return load_benchmark(name)


@pytest.mark.parametrize("name", SPACES_WITH_GRAPHS)
def test_every_space_gives_named_finite_fixed_length_rows(name):
    space = get_space(name)
    archs = space.sample(6, random_state=0)
    feats = ArchFeaturizer(name).fit(archs)
    out = feats.transform(archs)
    names = feats.get_feature_names_out()
    assert out.shape == (6, len(names)) == (6, feats.n_features_out_)
    assert np.isfinite(out).all()
    n_graph = len(space.graph_feature_names())
    assert all(n.startswith("graph:") for n in names[:n_graph])
    assert all(n.startswith("onehot:") for n in names[n_graph:])
    # the one-hot block is the space's encoding, the graph block its graph features
    np.testing.assert_array_equal(out[:, n_graph:], space.encode_many(archs))
    np.testing.assert_array_equal(out[:, :n_graph], space.graph_features_many(archs))
    # different architectures are told apart by their graph features alone
    graph_only = ArchFeaturizer(name, features=["graph"]).fit_transform(archs)
    assert len({tuple(row) for row in graph_only}) > 1


@pytest.mark.parametrize("bench_name", list_benchmarks())
def test_every_bundled_table_is_featurized_from_its_keys(bench_name):
    bench = _bench(bench_name)
    keys = list(bench.X.index[:25])
    out = ArchFeaturizer(bench.space).fit_transform(keys)
    assert out.shape[0] == 25 and np.isfinite(out).all()


def test_graph_features_carry_signal_on_nb301():
    # NB301's proxies are weak (best single rho ~0.54); the cell graph carries the signal
    bench = _bench("nb301-cifar10")
    X = ArchFeaturizer(bench.space, features=["graph"]).fit_transform(bench.X.index)
    perm = np.random.default_rng(0).permutation(len(X))
    lab, rest = perm[:100], perm[100:]
    model = ZCRanker(random_state=0).fit(X[lab], bench.y.iloc[lab])
    rho = pd.Series(model.predict(X[rest])).corr(
        pd.Series(bench.y.iloc[rest].to_numpy()), method="spearman"
    )
    assert rho > 0.7


def test_drop_constant_and_feature_names():
    archs = get_space("nb201").sample(40, random_state=1)
    full = ArchFeaturizer("nb201").fit(archs)
    kept = ArchFeaturizer("nb201", drop_constant=True).fit(archs)
    assert kept.n_features_out_ < full.n_features_out_
    X = kept.transform(archs)
    assert (np.ptp(X, axis=0) > 0).all()
    assert set(kept.get_feature_names_out()) <= set(full.get_feature_names_out())
    assert "graph:in_degree:0" not in kept.get_feature_names_out()  # the input has no inputs


def test_sklearn_api_clone_pickle_pandas_output():
    archs = get_space("nb201").sample(5, random_state=2)
    feats = ArchFeaturizer("nb201", features=("onehot",))
    assert clone(feats).get_params() == feats.get_params()
    feats.set_output(transform="pandas").fit(archs)
    df = feats.transform(archs)
    assert isinstance(df, pd.DataFrame) and df.columns[0] == "onehot:1<-0:none"
    again = pickle.loads(pickle.dumps(feats))
    pd.testing.assert_frame_equal(again.transform(archs), df)
    assert feats.transform([]).shape == (0, 30)


def test_bad_inputs_are_named():
    archs = get_space("nb201").sample(2, random_state=0)
    with pytest.raises(ValueError, match="unknown feature group"):
        ArchFeaturizer(features=("graph", "paths")).fit(archs)
    with pytest.raises(ValueError, match="features is empty"):
        ArchFeaturizer(features=()).fit(archs)
    with pytest.raises(ValueError, match="lists a group twice"):
        ArchFeaturizer(features=("graph", "graph")).fit(archs)
    with pytest.raises(ValueError, match="invalid architecture at index 1"):
        ArchFeaturizer().fit([archs[0], "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    with pytest.raises(ValueError, match="at least one architecture"):
        ArchFeaturizer().fit([])
    with pytest.raises(TypeError, match="single string"):
        ArchFeaturizer().fit(archs[0])
    with pytest.raises(TypeError, match="drop_constant must be a bool"):
        ArchFeaturizer(drop_constant="yes").fit(archs)

    class NoGraph(SearchSpace):
        name = "no-graph"

        def validate(self, arch):
            return int(arch)

        def sample(self, n, random_state=None):
            return list(range(n))

        def mutate(self, arch, random_state=None):
            return arch + 1

        def encode(self, arch):
            return np.array([float(arch)])

        def build(self, arch, num_classes=None):
            raise NotImplementedError

    with pytest.raises(ValueError, match="'graph' is not available.*'no-graph'"):
        ArchFeaturizer(NoGraph()).fit([1, 2])
    assert ArchFeaturizer(NoGraph(), features=["onehot"]).fit_transform([1, 2]).shape == (2, 1)


def test_passthrough_patterns_need_names_and_must_match():
    X = pd.DataFrame(
        np.random.default_rng(0).normal(size=(30, 4)), columns=["p1", "p2", "g:a", "g:b"]
    )
    y = X["p1"] + 0.1 * X["g:a"]
    sel = LibraSelector(passthrough=["g:*"]).fit(X, y)
    assert sel.passthrough_ == ["g:a", "g:b"]
    assert list(sel.get_feature_names_out()[-2:]) == ["g:a", "g:b"]
    ranker = ZCRanker("rank-mean", passthrough=["g:*"]).fit(X, y)
    assert ranker.proxy_mask_.tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match="pattern 'h:\\*' matches no column"):
        LibraSelector(passthrough=["h:*"]).fit(X, y)
    with pytest.raises(ValueError, match="needs column names.*set_output"):
        ZCRanker("rank-mean", passthrough=["g:*"]).fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="twice"):
        LibraSelector(passthrough=["g:*", "g:a"]).fit(X, y)


def test_pipeline_from_raw_architectures_to_a_ranking():
    """The README's pipeline: live proxies + architecture features -> LIBRA -> ranker."""
    torch = pytest.importorskip("torch")
    from libranas import ProxyFeaturizer

    bench = _bench("nb201-cifar10")
    archs, acc = list(bench.X.index[:16]), bench.y.to_numpy()[:16]
    gen = torch.Generator().manual_seed(0)
    batch = (torch.randn(4, 3, 32, 32, generator=gen), torch.randint(0, 10, (4,), generator=gen))
    pipe = make_pipeline(
        make_union(
            ProxyFeaturizer("nb201", proxies=["nwot", "params"], data=batch, lswag_band=None),
            ArchFeaturizer("nb201"),
        ),
        LibraSelector(passthrough=["archfeaturizer__*"]),
        ZCRanker(random_state=0),
    ).set_output(transform="pandas")
    pipe.fit(archs[:12], acc[:12])
    selector = pipe[1]
    assert set(selector.selected_) <= {"proxyfeaturizer__nwot", "proxyfeaturizer__params"}
    assert len(selector.passthrough_) == ArchFeaturizer("nb201").fit(archs).n_features_out_
    scores = pipe.predict(archs[12:])
    assert scores.shape == (4,) and np.isfinite(scores).all()
    # the same pipeline refitted gives the same ranking (seeded inits and models)
    np.testing.assert_allclose(clone(pipe).fit(archs[:12], acc[:12]).predict(archs[12:]), scores)
