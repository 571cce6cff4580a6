"""ProxyFeaturizer on a real Dask cluster, streaming in chunks, and progress bars.

The cluster is a LocalCluster of 2 worker processes on the loopback interface, started once
for the module. Networks are NB201 with one cell per stage, the batch is 4 random images, the
proxies are cheap; torch runs 1 thread everywhere (``n_threads=1``), so the cluster's scores
must equal the sequential ones bit for bit.
"""

from __future__ import annotations

import io
import time
import warnings

import numpy as np
import pytest

from libranas import featurizer as featurizer_module
from libranas.featurizer import MAX_CHUNK, ProxyFeaturizer
from libranas.spaces import get_space
from libranas.store import ScoreStore

joblib = pytest.importorskip("joblib")
distributed = pytest.importorskip("distributed")

PROXIES = ["params", "nwot", "snip"]
ARCHS = get_space("nb201").sample(10, random_state=3)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def make_featurizer(**kw):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
    return ProxyFeaturizer(
        get_space("nb201", cells_per_stage=1),
        proxies=PROXIES,
        data=(x, np.arange(4)),
        batch_size=4,
        device="cpu",
        n_threads=1,
        **kw,
    ).fit()


@pytest.fixture(scope="module")
def sequential():
    return make_featurizer().transform(ARCHS)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "port in use" notices on a shared machine
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_cluster_gives_the_sequential_scores(client, sequential):
    from distributed import get_task_stream

    feat = make_featurizer()
    with get_task_stream(client) as ts, joblib.parallel_config(backend="dask"):
        z = feat.transform(ARCHS)
    np.testing.assert_array_equal(z, sequential)
    workers = {t["worker"] for t in ts.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])  # ran on the cluster


def test_dask_cluster_with_a_store_on_the_client(client, sequential, tmp_path):
    path = tmp_path / "s.db"
    with joblib.parallel_config(backend="dask"):
        z = make_featurizer(store=path).transform(ARCHS[:6])
        np.testing.assert_array_equal(z, sequential[:6])
        z = make_featurizer(store=path).transform(ARCHS)  # the first 6 come from the store
    np.testing.assert_array_equal(z, sequential)
    df = ScoreStore(path).to_frame()
    assert len(df) == len(ARCHS) * len(PROXIES) and not df.duplicated(["arch", "proxy"]).any()


def test_chunks_are_dispatched_lazily_and_bounded(monkeypatch):
    """A long list is never turned into all its jobs at once: a few chunks run ahead."""
    feat = make_featurizer()
    archs = get_space("nb201").all_archs()[:4000]
    dispatched: list[int] = []
    ahead = []

    def fake(space, part, *rest):  # the dispatch is under test, not the scores
        dispatched.append(len(part))
        time.sleep(0.002)
        return np.zeros((len(part), len(PROXIES))), []

    monkeypatch.setattr(featurizer_module, "_score_archs", fake)
    consumed = 0
    with joblib.parallel_config(backend="threading", n_jobs=2):
        for a, b, (scores, _) in feat._parallel(featurizer_module._score_archs, archs, [PROXIES]):
            assert a == consumed and scores.shape == (b - a, len(PROXIES))
            consumed = b
            ahead.append(len(dispatched) - b // MAX_CHUNK)
    assert consumed == 4000 and sum(dispatched) == 4000 and max(dispatched) == MAX_CHUNK
    # joblib dispatches a chunk when one finishes (2 * n_jobs in flight), so while the
    # consumer keeps up only a handful run ahead of it, never the 500 chunks
    assert ahead[0] < 50 and np.median(ahead) < 50


def test_many_chunks_in_process_give_one_array(sequential):
    feat = make_featurizer()
    with joblib.parallel_config(backend="threading", n_jobs=2):
        z = feat.transform(ARCHS)
    np.testing.assert_array_equal(z, sequential)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("verbose", "tty", "bar"), [(0, True, False), (1, True, True), (1, False, False)]
)
def test_progress_bar_only_when_verbose_and_on_a_terminal(monkeypatch, verbose, tty, bar):
    err = FakeTTY() if tty else io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    feat = make_featurizer(verbose=verbose)
    feat.transform(ARCHS[:3])
    text = err.getvalue()
    assert ("ProxyFeaturizer" in text and "3/3" in text) is bar
    if not bar:
        assert text == ""


def test_calibration_progress_bar(monkeypatch):
    err = FakeTTY()
    monkeypatch.setattr("sys.stderr", err)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
    ProxyFeaturizer(
        get_space("nb201", cells_per_stage=1),
        proxies=["lswag"],
        data=(x, np.arange(4)),
        batch_size=4,
        device="cpu",
        n_calibration=2,
        n_threads=1,
        verbose=1,
    ).fit()
    assert "L-SWAG band calibration" in err.getvalue() and "2/2" in err.getvalue()
