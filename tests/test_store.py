"""Tests of the score store and of ProxyFeaturizer(store=...): caching, resuming, keys.

Small: NB201 networks with one cell per stage, a random batch of 4, cheap proxies, torch
pinned to 1 thread. The SIGKILL test runs a featurization in a subprocess, kills it once some
rows are committed and resumes it here.
"""

from __future__ import annotations

import math
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from libranas import featurizer as featurizer_module
from libranas.featurizer import ProxyFailedWarning, ProxyFeaturizer
from libranas.proxies import get_proxy
from libranas.proxies._registry import _PROXIES, ProxyInfo
from libranas.spaces import get_space
from libranas.store import (
    ScoreContext,
    ScoreStore,
    arch_key,
    data_fingerprint,
    options_fingerprint,
)

PROXIES = ["params", "nwot", "snip"]
CTX = ScoreContext("NB201Space()", "data", 0, "0.1.0", "opts")


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def tiny_batch(n: int = 4):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 3, 32, 32)).astype(np.float32), np.arange(n) % 10


def make_featurizer(store=None, proxies=PROXIES, **kw):
    return ProxyFeaturizer(
        get_space("nb201", cells_per_stage=1),
        proxies=proxies,
        data=tiny_batch(),
        batch_size=4,
        device="cpu",
        n_threads=1,
        store=store,
        **kw,
    )


ARCHS = get_space("nb201").sample(6, random_state=0)


@pytest.fixture(scope="module")
def reference():
    """Scores of ARCHS without a store."""
    return make_featurizer().fit().transform(ARCHS)


def count_calls(monkeypatch):
    """Patch the per-chunk scoring function; return the list of (archs, proxies) it got."""
    calls = []
    real = featurizer_module._score_archs

    def recording(space, archs, seeds, x, y, proxies, *rest):
        calls.append((list(archs), list(proxies)))
        return real(space, archs, seeds, x, y, proxies, *rest)

    monkeypatch.setattr(featurizer_module, "_score_archs", recording)
    return calls


# ---------------------------------------------------------------------------- ScoreStore


def test_put_get_roundtrip_nan_error_and_first_write_wins(tmp_path):
    store = ScoreStore(tmp_path / "s.db")
    recs = [("a", "params", 1.25, None), ("a", "nwot", math.nan, "RuntimeError: x"),
            ("b", "params", -math.inf, None)]  # fmt: skip
    assert store.put(CTX, recs) == 3
    assert store.put(CTX, [("a", "params", 7.0, None), ("c", "params", 2.0, None)]) == 1
    got = store.get(CTX, ["a", "b", "c", "d"], ["params", "nwot"])
    assert got[("a", "params")] == (1.25, None)
    assert math.isnan(got[("a", "nwot")][0]) and got[("a", "nwot")][1] == "RuntimeError: x"
    assert got[("b", "params")] == (-math.inf, None)
    assert ("d", "params") not in got and ("b", "nwot") not in got
    assert store.get(CTX, ["a"], ["nwot"]).keys() == {("a", "nwot")}  # only the asked proxies
    assert len(store) == 4 and store.count(CTX) == 4
    df = store.to_frame(CTX)
    assert len(df) == 4 and df["value"].isna().sum() == 1
    assert not df.duplicated(["arch", "proxy"]).any()


def test_every_key_field_separates_rows(tmp_path):
    store = ScoreStore(tmp_path / "s.db")
    variants = [
        CTX,
        ScoreContext("NB201Space(x)", "data", 0, "0.1.0", "opts"),
        ScoreContext("NB201Space()", "data2", 0, "0.1.0", "opts"),
        ScoreContext("NB201Space()", "data", 1, "0.1.0", "opts"),
        ScoreContext("NB201Space()", "data", 0, "0.2.0", "opts"),
        ScoreContext("NB201Space()", "data", 0, "0.1.0", "opts2"),
    ]
    for k, ctx in enumerate(variants):
        assert store.put(ctx, [("a", "params", float(k), None)]) == 1
    for k, ctx in enumerate(variants):
        assert store.get(ctx, ["a"], ["params"]) == {("a", "params"): (float(k), None)}
    assert len(store) == len(variants)


def test_large_lookup_and_delete_failures(tmp_path):
    store = ScoreStore(tmp_path / "s.db")
    keys = [f"arch{i}" for i in range(1200)]  # more than one SELECT chunk
    store.put(CTX, [(k, "p", float(i), None if i % 3 else "err") for i, k in enumerate(keys)])
    got = store.get(CTX, keys[::-1], ["p"])
    assert len(got) == 1200 and got[("arch1199", "p")][0] == 1199.0
    assert store.delete_failures(CTX) == 400
    assert len(store) == 800 and ("arch0", "p") not in store.get(CTX, ["arch0"], ["p"])


def test_descriptions_of_fingerprints(tmp_path):
    store = ScoreStore(tmp_path / "s.db")
    store.put(CTX, [], {"opts": ("options", {"dtype": "float32", "band": [90, 100]})})
    assert store.describe("opts") == {"band": [90, 100], "dtype": "float32"}
    assert store.describe("unknown") is None


def test_fingerprints():
    x, y = tiny_batch()
    fp = data_fingerprint(x, y)
    assert fp == data_fingerprint(x.copy(), y.copy())
    assert fp != data_fingerprint(x, (y + 1) % 10)  # labels change gradients
    x2 = x.copy()
    x2[0, 0, 0, 0] += 1e-3
    assert fp != data_fingerprint(x2, y)
    assert fp != data_fingerprint(x.astype(np.float64), y)
    assert fp != data_fingerprint(x.reshape(2, 6, 32, 32), y)
    assert options_fingerprint({"a": [1, 2]}) == options_fingerprint({"a": (1, 2)})
    with pytest.raises(TypeError, match="options must be a dict"):
        options_fingerprint([1])
    assert arch_key("x") == "x" and arch_key(("a", 1)) == "('a', 1)"


def test_store_pickles_without_its_connection(tmp_path):
    store = ScoreStore(tmp_path / "s.db")
    store.put(CTX, [("a", "p", 1.0, None)])
    again = pickle.loads(pickle.dumps(store))
    assert again.path == store.path and again.get(CTX, ["a"], ["p"]) == {("a", "p"): (1.0, None)}


def test_bad_inputs_are_named(tmp_path):
    store = ScoreStore(tmp_path / "s.db")
    with pytest.raises(TypeError, match="ScoreContext"):
        store.get("ctx", ["a"], ["p"])
    with pytest.raises(TypeError, match="single str"):
        store.get(CTX, "a", ["p"])
    with pytest.raises(ValueError, match=r"\(arch, proxy, value, error\)"):
        store.put(CTX, [("a", "p", 1.0)])
    with pytest.raises(TypeError, match="value must be a real number"):
        store.put(CTX, [("a", "p", "1.0", None)])
    with pytest.raises(TypeError, match="error must be None or a str"):
        store.put(CTX, [("a", "p", 1.0, 3)])
    with pytest.raises(TypeError, match="seed must be an int"):
        ScoreContext("s", "d", 1.5, "v", "o")
    with pytest.raises(TypeError, match="store path"):
        ScoreStore(3)
    assert len(store) == 0  # nothing half-written
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an sqlite file" * 100)
    with pytest.raises(ValueError, match="not a usable score store"):
        len(ScoreStore(junk))


WRITER = """
import sys
from libranas.store import ScoreContext, ScoreStore
path, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = ScoreStore(path, timeout=60)
ctx = ScoreContext("NB201Space()", "data", 0, "0.1.0", "opts")
for i in range(n):  # many short transactions; half the keys are shared by all writers
    key = f"shared{i}" if i % 2 else f"w{worker}-{i}"
    store.put(ctx, [(key, "p", float(i), None), (key, "q", float(-i), None)])
"""


def test_concurrent_writers_from_several_processes(tmp_path):
    path = str(tmp_path / "s.db")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, path, str(w), "60"]) for w in range(3)]
    assert [p.wait(120) for p in procs] == [0, 0, 0]
    df = ScoreStore(path).to_frame()
    assert len(df) == (3 * 30 + 30) * 2  # private keys of each writer + the shared ones once
    assert not df.duplicated(["arch", "proxy"]).any()
    assert (df.loc[df["proxy"] == "q", "value"] <= 0).all()


# ---------------------------------------------------------------------------- featurizer


def test_second_run_reads_everything_from_the_store(tmp_path, reference, monkeypatch):
    path = tmp_path / "s.db"
    z = make_featurizer(store=path).fit().transform(ARCHS)
    np.testing.assert_array_equal(z, reference)
    assert len(ScoreStore(path)) == len(ARCHS) * len(PROXIES)
    calls = count_calls(monkeypatch)
    again = make_featurizer(store=str(path)).fit().transform(ARCHS[::-1])  # another featurizer
    assert calls == []  # nothing computed
    np.testing.assert_array_equal(again, reference[::-1])


def test_a_store_that_cannot_be_written_costs_no_score(tmp_path, reference, monkeypatch):
    """Read-only file, full disk: the scores are still computed and returned, with one
    ScoreStoreWarning; the store is not tried again for the rest of the call."""
    from libranas.store import ScoreStoreWarning

    attempts = []

    def read_only(self, *args, **kwargs):
        attempts.append(1)
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(ScoreStore, "put", read_only)
    with pytest.warns(ScoreStoreWarning, match="could not be written.*readonly") as record:
        z = make_featurizer(store=tmp_path / "s.db").fit().transform(ARCHS)
    np.testing.assert_array_equal(z, reference)
    assert len([w for w in record if w.category is ScoreStoreWarning]) == 1
    assert attempts == [1]  # one chunk tried, then no more writes


def test_only_missing_cells_are_computed(tmp_path, reference, monkeypatch):
    store = ScoreStore(tmp_path / "s.db")
    make_featurizer(store=store, proxies=["params", "nwot"]).fit().transform(ARCHS[:4])
    calls = count_calls(monkeypatch)
    z = make_featurizer(store=store).fit().transform(ARCHS)
    np.testing.assert_array_equal(z, reference)
    done = {(a, tuple(p)) for archs, p in calls for a in archs}
    want = {(a, ("snip",)) for a in ARCHS[:4]} | {(a, tuple(PROXIES)) for a in ARCHS[4:]}
    assert done == want  # the first 4 archs: only snip; the last 2: everything
    assert len(store) == len(ARCHS) * len(PROXIES)


def test_rows_are_committed_while_transform_runs(tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    seen = []
    real = featurizer_module._score_archs

    def spying(*args):
        if os.path.exists(path):
            with sqlite3.connect(path) as conn:
                seen.append(conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
        else:
            seen.append(0)
        return real(*args)

    monkeypatch.setattr(featurizer_module, "_score_archs", spying)
    make_featurizer(store=path).fit().transform(ARCHS[:4])
    # one architecture per chunk in this process, each committed before the next starts
    assert seen == [0, 3, 6, 9]


def test_keys_separate_seed_data_and_options(tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    make_featurizer(store=path).fit().transform(ARCHS[:2])
    calls = count_calls(monkeypatch)
    make_featurizer(store=path, random_state=1).fit().transform(ARCHS[:2])
    make_featurizer(store=path, dtype="float64").fit().transform(ARCHS[:2])
    make_featurizer(store=path, options={"per_sample_chunk": 2}).fit().transform(ARCHS[:2])
    other = make_featurizer(store=path)
    other.set_params(data=tiny_batch(5), batch_size=5).fit().transform(ARCHS[:2])
    assert len(calls) == 8  # every variant recomputed its 2 archs
    df = ScoreStore(path).to_frame()
    assert len(df) == 5 * 2 * len(PROXIES)
    assert df.groupby(["seed", "data_fp", "options_fp"]).ngroups == 5
    opts = ScoreStore(path).describe(df["options_fp"].iloc[0])
    assert set(opts) == {"lswag_band", "options", "dtype", "num_classes", "device"}


def test_failures_are_stored_and_warned_again(tmp_path, monkeypatch):
    nwot = get_proxy("nwot")

    def fails(npass):
        raise RuntimeError("boom")

    monkeypatch.setitem(_PROXIES, "nwot", ProxyInfo("nwot", fails, nwot.requires))
    path = tmp_path / "s.db"
    with pytest.warns(ProxyFailedWarning, match="boom"):
        z = make_featurizer(store=path).fit().transform(ARCHS[:2])
    assert np.isnan(z[:, 1]).all() and np.isfinite(z[:, [0, 2]]).all()
    df = ScoreStore(path).to_frame()
    assert df.loc[df.proxy == "nwot", "error"].str.contains("RuntimeError: boom").all()
    calls = count_calls(monkeypatch)
    with pytest.warns(ProxyFailedWarning, match="boom.*read from the store"):
        z2 = make_featurizer(store=path).fit().transform(ARCHS[:2])
    assert calls == [] and np.array_equal(z, z2, equal_nan=True)
    assert ScoreStore(path).delete_failures() == 2
    monkeypatch.setitem(_PROXIES, "nwot", nwot)
    z3 = make_featurizer(store=path).fit().transform(ARCHS[:2])
    assert np.isfinite(z3).all() and [p for _, p in calls] == [["nwot"], ["nwot"]]


def test_duplicates_are_scored_once(tmp_path, reference, monkeypatch):
    calls = count_calls(monkeypatch)
    space = get_space("nb201")
    archs = [ARCHS[0], space.to_tuple(ARCHS[0]), ARCHS[1], space.to_index(ARCHS[1])]
    z = make_featurizer(store=tmp_path / "s.db").fit().transform(archs)
    assert sum(len(a) for a, _ in calls) == 2
    np.testing.assert_array_equal(z, reference[[0, 0, 1, 1]])
    assert len(ScoreStore(tmp_path / "s.db")) == 2 * len(PROXIES)


def test_store_param_follows_sklearn_rules(tmp_path, reference):
    store = ScoreStore(tmp_path / "s.db")
    feat = make_featurizer(store=store)
    assert feat.get_params()["store"] is store
    assert clone(feat).get_params()["store"].path == store.path
    feat.fit().transform(ARCHS[:2])
    back = pickle.loads(pickle.dumps(feat))  # no open connection travels
    np.testing.assert_array_equal(back.transform(ARCHS), reference)
    with pytest.raises(TypeError, match="store must be None, a path or a ScoreStore"):
        make_featurizer(store=3).fit()


# ---------------------------------------------------------------------------- SIGKILL resume

SLOW_SCRIPT = """
import sys, time
import numpy as np, torch
torch.set_num_threads(1)
from libranas.proxies._registry import register_proxy

@register_proxy("slow_params", requires=("model",))
def slow_params(npass):
    time.sleep(0.3)  # slow enough to be killed halfway
    return sum(p.numel() for p in npass.model.parameters()) / 1e6

from libranas.featurizer import ProxyFeaturizer
from libranas.spaces import get_space
rng = np.random.default_rng(0)
x = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
feat = ProxyFeaturizer(get_space("nb201", cells_per_stage=1), data=(x, np.arange(4) % 10),
                       proxies=["params", "nwot", "snip", "slow_params"], batch_size=4,
                       device="cpu", n_threads=1, store=sys.argv[1])
feat.fit().transform(get_space("nb201").sample(int(sys.argv[2]), random_state=0))
"""


def _slow_params(npass):
    return sum(p.numel() for p in npass.model.parameters()) / 1e6


def test_killed_featurization_resumes_without_loss_or_duplicates(tmp_path, monkeypatch):
    n, proxies = 20, ["params", "nwot", "snip", "slow_params"]
    path = tmp_path / "s.db"
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(SLOW_SCRIPT))
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(n)])
    stored = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists():
                try:
                    with sqlite3.connect(path, timeout=5) as conn:
                        stored = conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
                except sqlite3.OperationalError:  # table not created yet
                    stored = 0
                if stored >= 3 * len(proxies):
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "the featurization finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    store = ScoreStore(path)
    killed_at = len(store)
    assert 3 * len(proxies) <= killed_at < n * len(proxies)
    assert killed_at % len(proxies) == 0  # each architecture's row is committed whole

    monkeypatch.setitem(
        _PROXIES, "slow_params", ProxyInfo("slow_params", _slow_params, frozenset({"model"}))
    )
    calls = count_calls(monkeypatch)
    archs = get_space("nb201").sample(n, random_state=0)
    resumed = make_featurizer(store=store, proxies=proxies).fit().transform(archs)
    assert sum(len(a) for a, _ in calls) == n - killed_at // len(proxies)  # only the rest

    df = store.to_frame()
    assert len(df) == n * len(proxies) and not df.duplicated(["arch", "proxy"]).any()
    assert set(df["arch"]) == {arch_key(a) for a in archs}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing failed
        uninterrupted = make_featurizer(proxies=proxies).fit().transform(archs)
    np.testing.assert_array_equal(resumed, uninterrupted)
    wide = df.pivot(index="arch", columns="proxy", values="value").loc[archs, proxies]
    np.testing.assert_array_equal(wide.to_numpy(), uninterrupted)
