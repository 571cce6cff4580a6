"""ProxyFeaturizer on a real local Ray cluster, and on any backend that cannot stream.

Ray's joblib backend cannot return a generator (``return_as="generator"``), so the featurizer
sends its chunks in waves there. The cluster is ``ray.init(num_cpus=2)``: 2 worker processes
on this machine, started once for the module. Networks are NB201 with one cell per stage, the
batch is 4 random images, the proxies are cheap; torch runs 1 thread everywhere
(``n_threads=1``), so the cluster's scores must equal the sequential ones bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from joblib import parallel_config, register_parallel_backend
from joblib._parallel_backends import ThreadingBackend

from libranas import featurizer as featurizer_module
from libranas.featurizer import ProxyFeaturizer
from libranas.spaces import get_space

PROXIES = ["params", "nwot", "snip"]
ARCHS = get_space("nb201").sample(8, random_state=5)


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


class NoStreamingBackend(ThreadingBackend):
    """A joblib backend that, like Ray's, cannot return results as a generator."""

    supports_retrieve_callback = False
    supports_return_generator = False


register_parallel_backend("no-streaming", NoStreamingBackend)


def test_a_backend_without_streaming_gets_waves_of_chunks(sequential, monkeypatch):
    calls = []
    waves = featurizer_module.ProxyFeaturizer._waves

    def spy(parallel, job, starts, n_workers):
        calls.append((len(starts), n_workers))
        yield from waves(parallel, job, starts, n_workers)

    monkeypatch.setattr(featurizer_module.ProxyFeaturizer, "_waves", staticmethod(spy))
    with parallel_config(backend="no-streaming", n_jobs=2):
        z = make_featurizer().transform(ARCHS)
    np.testing.assert_array_equal(z, sequential)
    assert calls == [(8, 2)]  # 8 chunks of 1 architecture (4 per worker), waves of 4


def test_streaming_backends_do_not_take_the_wave_path(sequential, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a streaming backend was sent in waves")

    monkeypatch.setattr(featurizer_module.ProxyFeaturizer, "_waves", staticmethod(fail))
    with parallel_config(backend="threading", n_jobs=2):
        np.testing.assert_array_equal(make_featurizer().transform(ARCHS), sequential)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    register_ray()
    yield ray
    ray.shutdown()


def test_local_ray_cluster_gives_the_sequential_scores(ray_cluster, sequential, monkeypatch):
    import joblib

    calls = []
    waves = featurizer_module.ProxyFeaturizer._waves

    def spy(parallel, job, starts, n_workers):
        calls.append((type(parallel._backend).__name__, len(starts), n_workers))
        yield from waves(parallel, job, starts, n_workers)

    monkeypatch.setattr(featurizer_module.ProxyFeaturizer, "_waves", staticmethod(spy))
    feat = make_featurizer()
    with joblib.parallel_config(backend="ray", n_jobs=2):
        z = feat.transform(ARCHS)
    np.testing.assert_array_equal(z, sequential)
    assert np.isfinite(z).all() and z.shape == (8, len(PROXIES))
    assert calls == [("RayBackend", 8, 2)]  # Ray's backend, 2 workers, in waves
