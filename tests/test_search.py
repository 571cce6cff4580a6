"""Tests of libranas.search: the loop and its samplers (evolution, random, Optuna), constraints,
storage and exact resuming, scorers, the search protocol. CLI: tests/test_search_cli.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from libranas.datasets.nb201_search import nb201_search_table
from libranas.search import (
    Constraints,
    EvolutionarySearch,
    EvolutionSampler,
    InMemoryStorage,
    JSONLStorage,
    OptunaSampler,
    OptunaSearch,
    RandomSampler,
    RandomSearch,
    SearchLoop,
    TabularScorer,
    calibrate_libra,
    make_libra_pipeline,
    suggest_architecture,
)
from libranas.spaces import get_space, list_spaces
from libranas.spaces.base import SearchSpace
from libranas.spaces.nb201 import nb201_pruned

optuna = pytest.importorskip("optuna")
optuna.logging.set_verbosity(optuna.logging.WARNING)

# a deterministic, cheap scorer shared with the subprocess of the kill test
SCORER_SRC = """
import zlib
def toy_score(archs):
    return [a.count("conv_3x3") + (zlib.crc32(a.encode()) % 997) / 997.0 for a in archs]
"""
_ns: dict = {}
exec(SCORER_SRC, _ns)
toy_score = _ns["toy_score"]


class Recorder:
    """Scorer that records the lists it is called with."""

    def __init__(self, fn=None):
        self.calls: list[list] = []
        self.fn = fn or toy_score

    def __call__(self, archs):
        self.calls.append(list(archs))
        return self.fn(archs)


class Bare(SearchSpace):
    """A space of 9 integers that defines no Optuna suggestion."""

    name = "bare"

    def validate(self, arch):
        return int(arch)

    def sample(self, n, random_state=None):
        return list(np.random.default_rng(random_state).integers(0, 9, size=n))

    def mutate(self, arch, random_state=None):
        return (arch + 1) % 9

    def encode(self, arch):
        return np.eye(9)[arch]

    def build(self, arch, num_classes=None):
        raise NotImplementedError


# ----------------------------------------------------------------------------- evolution


def test_evolution_batches_counts_and_determinism():
    rec = Recorder()
    evo = EvolutionarySearch(
        "nb201", rec, population=12, sample_size=4, cycles=33, batch_size=5, random_state=3
    )
    res = evo.run()
    # the initial population in one call, then generations of 5 (last one 3)
    assert [len(c) for c in rec.calls] == [12] + [5] * 6 + [3]
    assert res.n_scored == 45 == len(res.history)
    assert res.history["arch"].is_unique  # children are re-drawn instead of re-scored
    assert len(res.population) == 12
    assert list(res.population) == list(res.history["arch"].iloc[-12:])  # aging: the newest
    h = res.history
    assert res.best_score == h["score"].max()
    assert res.best_arch == h.loc[h["score"].idxmax(), "arch"]
    children = h[h["generation"] > 0]
    space = get_space("nb201")
    for _, row in children.iterrows():  # every child is one mutation away from its parent
        if row["parent"] >= 0:
            parent = h.loc[row["parent"], "arch"]
            diff = sum(
                a != b for a, b in zip(space.to_ops(parent), space.to_ops(row["arch"]), strict=True)
            )
            assert diff == 1
    again = EvolutionarySearch(
        "nb201", Recorder(), population=12, sample_size=4, cycles=33, batch_size=5, random_state=3
    ).run()
    assert again.history.equals(res.history)
    other = EvolutionarySearch(
        "nb201", Recorder(), population=12, sample_size=4, cycles=33, batch_size=5, random_state=4
    ).run()
    assert not other.history["arch"].equals(res.history["arch"])


def test_evolution_improves_over_its_random_start():
    res = EvolutionarySearch(
        "nb201",
        toy_score,
        population=20,
        sample_size=5,
        cycles=200,
        random_state=0,
    ).run()
    init = res.history[res.history["generation"] == 0]["score"].max()
    assert res.best_score > init
    assert res.best_arch.count("conv_3x3") == 6
    traj = res.trajectory()
    assert traj["best_score"].is_monotonic_increasing and traj["n_scored"].iloc[-1] == 220


def test_evolution_accepts_pipeline_like_objects_and_checks_scores():
    class Model:
        def predict(self, archs):
            return np.arange(len(archs), dtype=float)

    res = EvolutionarySearch("nb201", Model(), population=5, cycles=5, random_state=0).run()
    assert res.n_scored == 10 and res.best_score == 4.0  # predict() of each batch: 0, 1, ...
    assert res.history["score"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] * 2
    bad = EvolutionarySearch("nb201", lambda a: [1.0], population=5, cycles=5, random_state=0)
    with pytest.raises(ValueError, match="shape"):
        bad.run()
    with pytest.raises(TypeError, match="scorer must be callable"):
        EvolutionarySearch("nb201", 3, population=5, cycles=5).run()
    with pytest.raises(ValueError, match="population"):
        EvolutionarySearch("nb201", toy_score, population=0).run()
    with pytest.raises(ValueError, match="more than population"):
        EvolutionarySearch("nb201", toy_score, population=1, initial_population=[0, 1]).run()


def test_nan_scores_are_never_returned():
    def scorer(archs):
        return [np.nan if "nor_conv_3x3~0|+" in a else a.count("conv") for a in archs]

    res = EvolutionarySearch("nb201", scorer, population=10, cycles=60, random_state=1).run()
    assert res.history["score"].isna().any()
    assert "nor_conv_3x3~0|+" not in res.best_arch
    with pytest.raises(ValueError, match="NaN"):
        EvolutionarySearch(
            "nb201", lambda a: [np.nan] * len(a), population=4, cycles=4, random_state=0
        ).run()


def test_initial_population_and_exclude():
    space = get_space("nb201")
    start = space.sample(6, random_state=0)
    excl = space.sample(40, random_state=1)
    rec = Recorder()
    res = EvolutionarySearch(
        "nb201", rec, population=8, cycles=30, initial_population=start, exclude=excl,
        random_state=0,
    ).run()  # fmt: skip
    assert rec.calls[0][:6] == [space.validate(a) for a in start]
    later = set(res.history["arch"].iloc[6:])
    assert not later & {space.validate(a) for a in excl}


# ----------------------------------------------------------------------------- constraints


def test_constraints_filter_before_scoring_and_unsatisfiable():
    space = get_space("nb201")
    rec = Recorder()
    c = Constraints(max_params=0.4, max_latency=4.0, device="edgegpu", task="cifar10")
    res = EvolutionarySearch("nb201", rec, population=10, cycles=40, constraints=c,
                             random_state=0).run()  # fmt: skip
    scored = [a for call in rec.calls for a in call]
    c.fit(space)
    assert c.mask(scored).all()  # nothing violating was ever scored
    m = c.metrics(res.history["arch"])
    assert (m["params"] <= 0.4).all() and (m["latency"] <= 4.0).all()
    assert space.param_count(res.best_arch) / 1e6 <= 0.4
    with pytest.raises(ValueError, match="no architecture of space 'nb201' satisfies max_params"):
        Constraints(max_params=0.05).fit(space)
    t_min = c.minimums_["latency"]
    with pytest.raises(ValueError, match="smallest latency"):
        EvolutionarySearch(
            "nb201",
            toy_score,
            constraints={"max_latency": t_min * 0.9, "device": "edgegpu"},
        ).run()
    with pytest.raises(ValueError, match="unknown HW-NAS-Bench device"):
        Constraints(max_latency=5, device="tpu").fit(space)
    with pytest.raises(ValueError, match="needs"):
        Constraints(max_latency=5).fit(space)
    with pytest.raises(ValueError, match="max_params must be > 0"):
        Constraints(max_params=-1).fit(space)
    big = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"  # noqa: E501
    with pytest.raises(ValueError, match="violate the constraints"):
        EvolutionarySearch("nb201", toy_score, constraints={"max_params": 0.5},
                           initial_population=[big]).run()  # fmt: skip


def test_flops_constraint_analytic_or_counted_on_the_network():
    import torch

    from libranas.proxies.size import count_macs
    from libranas.search.constraints import metric_functions

    torch.set_num_threads(1)
    space = get_space("nb201")
    arch = space.sample(1, random_state=5)[0]
    flops = metric_functions(space, ["flops"], task="imagenet16-120")["flops"]
    assert flops.analytic
    macs = count_macs(space.build(arch, num_classes=120), torch.zeros(1, 3, 16, 16), bias=False)
    assert flops([arch])[0] == pytest.approx(macs / 1e6, rel=1e-12)
    darts = get_space("darts", channels=8, layers=2)  # no analytic count: counted
    counted = metric_functions(darts, ["flops"])["flops"]
    assert not counted.analytic
    d = darts.sample(1, random_state=0)[0]
    macs = count_macs(darts.build(d), torch.zeros(1, 3, 32, 32), bias=False)
    assert counted([d])[0] == macs / 1e6
    c = Constraints(max_flops=float(counted([d])[0]) * 1.5, n_check=20).fit(darts)
    res = EvolutionarySearch(darts, lambda a: [0.0] * len(a), population=3, cycles=3,
                             constraints=c, random_state=0).run()  # fmt: skip
    assert (counted(list(res.history["arch"])) <= c.max_flops).all()
    with pytest.raises(ValueError, match="unknown NB201 task"):
        Constraints(max_flops=10.0, task="mnist").fit(space)
    with pytest.raises(ValueError, match="no named tasks"):
        Constraints(max_flops=10.0, task="cifar10").fit(darts)


# ----------------------------------------------------------------------------- storage / resume


def test_jsonl_storage_ignores_a_cut_last_line(tmp_path):
    path = tmp_path / "s.jsonl"
    s = JSONLStorage(path)
    s.append("a", {"x": 1.0000000000000002})
    s.append("b", {"x": float("nan")})
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"study": "a", "record": {"x"')  # a writer killed mid-line
    assert s.read("a") == [{"x": 1.0000000000000002}]
    assert s.studies() == ["a", "b"]
    s.append("a", {"x": 2})  # the cut tail is removed first
    assert s.read("a") == [{"x": 1.0000000000000002}, {"x": 2}]
    path.write_text('{"study": "a", "record": {}}\nnot json\n{"study": "a", "record": {}}\n')
    with pytest.raises(ValueError, match="line 2"):
        s.read("a")


def test_storage_settings_mismatch_is_an_error():
    store = InMemoryStorage()
    kw = {"population": 6, "cycles": 12, "batch_size": 3, "storage": store}
    first = EvolutionarySearch("nb201", toy_score, random_state=0, **kw).run()
    again = EvolutionarySearch("nb201", Recorder(), random_state=0, **kw)
    res = again.run()  # everything is in the storage: nothing is re-scored
    assert again.resumed_from_ > 0 and res.history.equals(first.history)
    assert again.scorer.calls == []
    with pytest.raises(ValueError, match="different settings.*seed"):
        EvolutionarySearch("nb201", toy_score, random_state=1, **kw).run()
    longer = EvolutionarySearch("nb201", toy_score, random_state=0,
                                **{**kw, "cycles": 24}).run()  # fmt: skip
    fresh = EvolutionarySearch("nb201", toy_score, random_state=0,
                               **{**kw, "cycles": 24, "storage": None}).run()  # fmt: skip
    assert longer.history.equals(fresh.history)  # extending a finished search


def test_killed_search_resumes_to_the_uninterrupted_result(tmp_path):
    """SIGKILL a search in a subprocess mid-way, resume it here, compare with a full run."""
    path = tmp_path / "evo.jsonl"
    settings = dict(population=10, sample_size=4, cycles=150, batch_size=5, random_state=7)
    script = textwrap.dedent(SCORER_SRC) + textwrap.dedent(
        f"""
        import time
        from libranas.search import EvolutionarySearch
        def slow(archs):
            time.sleep(0.1)
            return toy_score(archs)
        EvolutionarySearch("nb201", slow, storage={str(path)!r}, **{settings!r}).run()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    try:
        deadline = time.monotonic() + 40
        n_lines = 0
        while time.monotonic() < deadline:
            if path.exists():
                n_lines = path.read_text().count("\n")
                if n_lines >= 6:  # config + initial population + >= 4 generations
                    break
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the search finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    done = len(JSONLStorage(path).read("evolution")) - 1
    assert 4 <= done < 31  # 31 generations in all: it was killed half-way
    resumed = EvolutionarySearch("nb201", Recorder(), storage=path, **settings)
    res = resumed.run()
    assert resumed.resumed_from_ >= done  # (a generation may have landed after the count)
    assert sum(len(c) for c in resumed.scorer.calls) == 160 - 10 - 5 * (resumed.resumed_from_ - 1)
    full = EvolutionarySearch("nb201", toy_score, **settings).run()
    assert res.best_arch == full.best_arch and res.best_score == full.best_score
    assert res.history.equals(full.history)
    assert res.population == full.population


# ----------------------------------------------------------------------------- scorers / tables


def test_search_table_covers_every_cell_without_test_leakage():
    from libranas.datasets import load_nb201_table

    t = nb201_search_table("cifar10")
    raw = load_nb201_table()
    assert len(t) == 15625 and t.X.index.is_unique
    np.testing.assert_array_equal(t.y.to_numpy(), raw["cifar10_valid_acc_200ep"].to_numpy())
    assert not np.allclose(t.y.to_numpy(), t.meta["test_acc"].to_numpy())
    pruned = t.meta["pruned"]
    assert int((pruned == t.X.index).sum()) == 9445  # the 9k tables: cells without dead edges
    dups = t.X.index[pruned != t.X.index]  # functional duplicates score as their pruned form
    np.testing.assert_array_equal(t.X.loc[dups, "jacov"], t.X.loc[pruned[dups], "jacov"])
    assert nb201_pruned(dups[0]) == pruned[dups[0]]
    own, cut = t.X.loc[dups, "params"].to_numpy(), t.X.loc[pruned[dups], "params"].to_numpy()
    assert (own >= cut).all() and (own > cut).any()  # size columns are the cell's own
    c100 = nb201_search_table("cifar100", encoding=False)
    assert 700 < c100.y.notna().sum() < 800 and "jacov" not in c100.X
    with pytest.raises(ValueError, match="unknown NB201 task"):
        nb201_search_table("mnist")


def test_tabular_scorer_caches_and_refuses_unknown_archs():
    t = nb201_search_table("cifar10", proxies="freerea", encoding=False)
    scorer = TabularScorer(t, make_libra_pipeline("rank-mean"))
    lab = t.archs[:150]
    scorer.fit(lab, t.y[lab])
    space = get_space("nb201")
    s1 = scorer([0, 1, 2])  # NB201 indices are accepted and canonicalised
    s2 = scorer(t.archs[:3])
    np.testing.assert_array_equal(s1, s2)
    assert scorer.n_scored_ == 150 and scorer.n_calls_ == 2
    small = nb201_search_table("cifar10", proxies="freerea", encoding=False)
    from libranas.datasets import Benchmark

    part = Benchmark("part", "nb201", "cifar10", small.X.iloc[:10], small.y.iloc[:10])
    with pytest.raises(ValueError, match="not in table 'part'"):
        TabularScorer(part, make_libra_pipeline("rank-mean")).features([space.validate(20)])
    with pytest.raises(ValueError, match="exceed max_labelled=100"):
        calibrate_libra(t, t.archs[:101], t.y[:101])


def test_calibrated_libra_pipeline_ranks_well():
    from scipy.stats import spearmanr

    t = nb201_search_table("cifar10")
    rng = np.random.default_rng(0)
    lab = [t.archs[i] for i in rng.choice(len(t), 100, replace=False)]
    scorer = calibrate_libra(t, lab, t.y[lab], random_state=0, n_jobs=1)
    test = [t.archs[i] for i in rng.choice(len(t), 1000, replace=False)]
    rho = spearmanr(scorer(test), t.y[test]).statistic
    assert rho > 0.85
    assert len(scorer.pipeline.named_steps["select"].selected_) == 3


# ----------------------------------------------------------------------------- optuna


def test_suggest_architecture_on_every_space_and_a_clear_error_without_suggest():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    nb = get_space("nb201")
    arch = suggest_architecture(study.ask(), nb)
    assert nb.validate(arch) == arch
    af = get_space("autoformer-tiny")
    t = study.ask()
    a = suggest_architecture(t, af)
    assert af.validate(a) == a
    assert len([k for k in t.params if k.startswith("num_heads_")]) == a.depth
    darts = get_space("nb301")
    t = study.ask()
    d = suggest_architecture(t, darts)
    assert darts.validate(d) == d and darts.trial_params(d) == t.params

    with pytest.raises(ValueError, match="no Optuna suggestion rule"):
        suggest_architecture(study.ask(), Bare())
    # evolution and random search need no suggestion
    res = RandomSearch(Bare(), lambda a: a, n_trials=5, random_state=0).run()
    assert res.n_scored == 5 and res.history["arch"].is_unique
    assert res.best_score == max(res.history["arch"])


def test_optuna_search_batches_constraints_and_pareto_front():
    rec = Recorder()
    c = {"max_params": 0.6}
    res = OptunaSearch("nb201", rec, n_trials=40, batch_size=8, constraints=c,
                       random_state=0).run()  # fmt: skip
    assert res.n_scored == 40 and res.history["arch"][~res.history["cached"]].is_unique
    assert all(len(call) <= 8 for call in rec.calls) and len(rec.calls) >= 5
    fitted = Constraints(**c).fit(get_space("nb201"))
    assert fitted.mask([a for call in rec.calls for a in call]).all()
    assert fitted.mask(res.history["arch"]).all()
    multi = OptunaSearch("nb201", toy_score, n_trials=40, batch_size=10, sampler="nsga2",
                         objectives=["score", "params", "latency"], device="pixel3",
                         random_state=0).run()  # fmt: skip
    front = multi.pareto_front
    h = multi.history
    assert len(front) >= 2
    for _, p in front.iterrows():  # no evaluated architecture dominates a front member
        better = (
            (h["score"] >= p["score"])
            & (h["params"] <= p["params"])
            & (h["latency"] <= p["latency"])
        )
        strictly = (
            (h["score"] > p["score"]) | (h["params"] < p["params"]) | (h["latency"] < p["latency"])
        )
        assert not (better & strictly).any()
    with pytest.raises(ValueError, match="unknown objective"):
        OptunaSearch("nb201", toy_score, objectives=["score", "energy"]).run()


@pytest.mark.parametrize("kind", ["jsonl", "memory"])
def test_optuna_storage_resumes_and_extends(tmp_path, kind):
    storage = str(tmp_path / "s.jsonl") if kind == "jsonl" else InMemoryStorage()
    first = OptunaSearch("nb201", toy_score, n_trials=8, batch_size=4, storage=storage,
                         study_name="x", random_state=0).run()  # fmt: skip
    rec = Recorder()
    second = OptunaSearch("nb201", rec, n_trials=14, batch_size=4, storage=storage,
                          study_name="x", random_state=0).run()  # fmt: skip
    assert second.n_scored == 14
    assert sum(len(c) for c in rec.calls) == 6  # only the missing ones were scored
    assert list(second.history["arch"].iloc[:8]) == list(first.history["arch"])
    fresh = OptunaSearch("nb201", toy_score, n_trials=14, batch_size=4, random_state=0).run()
    # extending (with the same batches so far) = running longer from the start
    assert second.history.equals(fresh.history)
    with pytest.raises(ValueError, match="objectives"):
        OptunaSearch("nb201", toy_score, n_trials=5, batch_size=4, storage=storage,
                     study_name="x", objectives=["score", "params"],
                     random_state=0).run()  # fmt: skip
    with pytest.raises(ValueError, match="different settings.*seed"):
        OptunaSearch("nb201", toy_score, n_trials=5, batch_size=4, storage=storage,
                     study_name="x", random_state=1).run()  # fmt: skip


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_optuna_study_storage_holds_the_study(tmp_path, kind):
    where = f"sqlite:///{tmp_path / 's.db'}" if kind == "sqlite" else str(tmp_path / "s.log")
    store = InMemoryStorage()
    search = OptunaSearch("nb201", toy_score, n_trials=8, batch_size=4, storage=store,
                          study_storage=where, study_name="x", random_state=0)  # fmt: skip
    res = search.run()
    study_storage = (
        where
        if kind == "sqlite"
        else optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(where))
    )
    study = optuna.load_study(study_name="x", storage=study_storage)
    assert [t.user_attrs["arch"] for t in study.trials] == [
        json.dumps(a) for a in res.history["arch"]
    ]
    # run again on the loop's storage: the study is rebuilt there, not duplicated
    OptunaSearch("nb201", toy_score, n_trials=12, batch_size=4, storage=store,
                 study_storage=where, study_name="x", random_state=0).run()  # fmt: skip
    assert len(optuna.load_study(study_name="x", storage=study_storage).trials) == 12
    optuna.create_study(study_name="mine", storage=study_storage)
    with pytest.raises(ValueError, match="not created by libranas"):
        OptunaSearch("nb201", toy_score, n_trials=4, study_storage=where,
                     study_name="mine").run()  # fmt: skip
    with pytest.raises(TypeError, match="callable seed -> sampler"):
        OptunaSearch("nb201", toy_score, n_trials=4,
                     sampler=optuna.samplers.RandomSampler(seed=0)).run()  # fmt: skip


# ----------------------------------------------------------------------------- autoformer


def test_autoformer_search_under_a_params_budget():
    space = get_space("autoformer-tiny")

    def params_score(archs):  # the cheap scorer: bigger is better, within the budget
        return [space.param_count(a) / 1e6 for a in archs]

    c = Constraints(max_params=6.0)
    res = EvolutionarySearch(
        space, params_score, population=10, sample_size=3, cycles=30, constraints=c,
        storage=InMemoryStorage(), random_state=0,
    ).run()  # fmt: skip
    assert space.validate(res.best_arch) == res.best_arch
    assert res.best_score <= 6.0 and space.param_count(res.best_arch) <= 6e6
    assert (res.history["score"] <= 6.0).all()
    assert res.best_score > res.history["score"].iloc[:10].max() - 1e-9
    opt = OptunaSearch(space, params_score, n_trials=12, batch_size=6, constraints=c,
                       random_state=0).run()  # fmt: skip
    assert (opt.history["score"] <= 6.0).all()
    with pytest.raises(ValueError, match="no architecture of space 'autoformer-tiny'"):
        Constraints(max_params=1.0, n_check=50).fit(space)
    with pytest.raises(ValueError, match="no latency table"):
        Constraints(max_latency=3.0, device="pixel3").fit(space)


# ----------------------------------------------------------------------------- live mode


def test_live_scorer_with_a_proxy_featurizer():
    import torch
    from sklearn.pipeline import Pipeline

    from libranas.featurizer import ProxyFeaturizer
    from libranas.ranker import ZCRanker
    from libranas.search import LiveScorer

    torch.set_num_threads(1)
    x, y = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)), torch.arange(4)
    feat = ProxyFeaturizer("nb201", proxies=["params", "nwot"], data=(x, y), device="cpu",
                           batch_size=4)  # fmt: skip
    pipe = Pipeline([("features", feat), ("rank", ZCRanker("rank-mean"))])
    scorer = LiveScorer(pipe)
    space = get_space("nb201")
    lab = space.sample(6, random_state=0)
    scorer.fit(lab, np.arange(6.0))
    # computing the 6 cells' proxies happened in fit: it is scoring time, and no call yet
    assert scorer.n_calls_ == 0 and scorer.seconds_ > 0
    res = EvolutionarySearch("nb201", scorer, population=4, sample_size=2, cycles=4,
                             batch_size=2, random_state=0).run()  # fmt: skip
    assert res.n_scored == 8 and np.isfinite(res.best_score)
    assert scorer.n_scored_ == len(set(lab) | set(res.history["arch"]))
    with pytest.raises(TypeError, match="ProxyFeaturizer"):
        LiveScorer(Pipeline([("a", ZCRanker()), ("b", ZCRanker())]))


# ----------------------------------------------------------------------------- protocol


def test_protocol_budget_labels_and_constraints():
    from libranas.search.protocol import search_nb201

    r = search_nb201("cifar10", budget=80, labelled=20, population=10, random_state=0,
                     constraints={"max_params": 0.8})  # fmt: skip
    assert r["n_evaluated"] == 80 and r["n_labelled"] == 20
    space = get_space("nb201")
    assert space.param_count(r["best_arch"]) <= 0.8e6
    t = nb201_search_table("cifar10")
    assert r["test_acc"] == t.meta["test_acc"][r["best_arch"]]
    with pytest.raises(ValueError, match="exceeds budget"):
        search_nb201("cifar10", budget=50, labelled=60)


def test_no_warnings_from_a_plain_tabular_search():
    t = nb201_search_table("cifar10", proxies="freerea", encoding=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scorer = TabularScorer(t, make_libra_pipeline("rank-mean"))
        scorer.fit(t.archs[:100], t.y[:100])
        res = EvolutionarySearch("nb201", scorer, population=5, cycles=5, random_state=0).run()
    # and the search did its work: 10 distinct architectures, each scored by the scorer,
    # the best the highest-scored of them
    hist = res.history
    assert len(hist) == 10 and hist["arch"].map(str).nunique() == 10
    np.testing.assert_array_equal(hist["score"].to_numpy(), scorer(list(hist["arch"])))
    assert res.best_score == hist["score"].max()
    assert res.best_arch == hist["arch"].iloc[int(hist["score"].to_numpy().argmax())]


# ----------------------------------------------------------------------------- the one loop


class Crash(Exception):
    pass


def crash_after(n_calls):
    """toy_score that raises on its call number ``n_calls + 1`` (a search killed mid-batch)."""
    calls = []

    def score(archs):
        calls.append(1)
        if len(calls) > n_calls:
            raise Crash
        return _any_score(archs)

    return score


def _any_score(archs):
    """Deterministic score of an architecture of any space."""
    import zlib

    return [str(a).count("3") + (zlib.crc32(repr(a).encode()) % 997) / 997.0 for a in archs]


SAMPLERS = {
    "evolution": (lambda: EvolutionSampler(population=8, sample_size=3), {}),
    "random": (RandomSampler, {}),
    "tpe": (lambda: OptunaSampler("tpe"), {}),
    "nsga2": (
        lambda: OptunaSampler("nsga2", population_size=5),
        {"objectives": ["score", "params"]},
    ),
}


@pytest.mark.parametrize("space", ["nb201", "darts", "autoformer-tiny"])
@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_stopped_search_resumes_exactly_as_an_uninterrupted_one(tmp_path, space, sampler):
    """Stop after k batches (at several k), resume from the JSON-lines file, compare with an
    uninterrupted run: the same architectures in the same order, the same scores."""
    make, extra = SAMPLERS[sampler]
    kw = dict(n_trials=30, batch_size=5, random_state=11, **extra)
    if space == "nb201":  # (analytic FLOPs: the other spaces would build every network)
        kw.update(constraints={"max_params": 0.8}, initial=get_space(space).sample(3, 2))
        kw["objectives"] = kw.get("objectives", ["score"]) + ["flops"] * bool(extra)
    full = SearchLoop(space, _any_score, make(), **kw).run()
    assert full.n_scored == 30 and full.history["arch"][~full.history["cached"]].is_unique
    for k in (1, 3):
        path = tmp_path / f"{k}.jsonl"
        with pytest.raises(Crash):
            SearchLoop(space, crash_after(k), make(), storage=path, **kw).run()
        assert len(JSONLStorage(path).read("search")) == 1 + k  # config + k batches
        rec = Recorder(_any_score)
        loop = SearchLoop(space, rec, make(), storage=path, **kw)
        res = loop.run()
        assert loop.resumed_from_ == k
        assert sum(len(c) for c in rec.calls) == 30 - full.history["generation"].lt(k).sum()
        assert list(res.history["arch"]) == list(full.history["arch"])
        assert res.history.equals(full.history)
        if extra:
            assert res.pareto_front.equals(full.pareto_front)


def test_loop_owns_duplicates_constraints_and_exclusions():
    space = get_space("nb201")
    excluded = space.sample(200, random_state=4)
    rec = Recorder()
    loop = SearchLoop("nb201", rec, OptunaSampler("random"), n_trials=40, batch_size=8,
                      constraints={"max_params": 0.5}, exclude=excluded, random_state=0,
                      storage=InMemoryStorage())  # fmt: skip
    res = loop.run()
    scored = [a for call in rec.calls for a in call]
    assert len(scored) == len(set(scored)) == 40  # nothing scored twice
    assert not set(scored) & {space.validate(a) for a in excluded}
    fitted = Constraints(max_params=0.5).fit(space)
    assert fitted.mask(scored).all()
    statuses = [s.user_attrs["status"] for s in loop.sampler.study_.trials]
    assert statuses.count("new") == 40 and "violates" in statuses
    pruned = [t for t in loop.sampler.study_.trials if t.user_attrs["status"] == "violates"]
    assert all(t.state == optuna.trial.TrialState.PRUNED for t in pruned)
    assert res.history["trial"].is_unique


@pytest.mark.parametrize(
    "random_state", [None, 5, np.random.RandomState(5), np.random.default_rng(5)]
)
def test_one_random_state_contract(random_state):
    runs = [
        RandomSearch("nb201", toy_score, n_trials=12, random_state=random_state).run()
        for _ in range(2)
    ]
    assert all(r.n_scored == 12 for r in runs)
    if isinstance(random_state, int):
        assert runs[0].history.equals(runs[1].history)
    with pytest.raises(ValueError, match="random_state"):
        RandomSearch("nb201", toy_score, n_trials=3, random_state=-1).run()
    with pytest.raises(TypeError, match="random_state"):
        EvolutionarySearch("nb201", toy_score, random_state=1.5).run()


def test_an_unseeded_search_resumes_with_its_stored_seed():
    store = InMemoryStorage()
    first = RandomSearch("nb201", toy_score, n_trials=10, storage=store).run()
    longer = RandomSearch("nb201", toy_score, n_trials=20, storage=store).run()
    assert list(longer.history["arch"].iloc[:10]) == list(first.history["arch"])
    seed = store.read("random")[0]["config"]["seed"]
    fresh = RandomSearch("nb201", toy_score, n_trials=20, random_state=seed).run()
    assert fresh.history.equals(longer.history)


@pytest.mark.parametrize("name", list_spaces())
def test_every_space_is_searched_by_every_sampler(name):
    for sampler in (EvolutionSampler(population=4, sample_size=2), RandomSampler(),
                    OptunaSampler("tpe")):  # fmt: skip
        res = SearchLoop(name, _any_score, sampler, n_trials=8, batch_size=4,
                         random_state=0).run()  # fmt: skip
        space = get_space(name)
        scored = res.history.loc[~res.history["cached"], "arch"]  # Optuna may re-propose
        assert res.n_scored == 8 and scored.is_unique  # in a small space (timm's 10 models)
        assert all(space.validate(a) == a for a in res.history["arch"])


def test_no_space_name_branch_in_search():
    """Nothing in libranas/search/ decides on a space's name (issue 10)."""
    import re
    from pathlib import Path

    import libranas.search

    names = "|".join(re.escape(n.split("-")[0]) for n in list_spaces())
    pattern = re.compile(
        rf"""(==|!=|\bin\b|startswith\()\s*[\(\[\{{]?\s*["']({names})""", re.IGNORECASE
    )
    folder = Path(libranas.search.__file__).parent
    hits = [
        f"{path.name}:{i}: {line.strip()}"
        for path in sorted(folder.glob("*.py"))
        for i, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert hits == []


def test_search_result_lives_in_its_own_module():
    from libranas.search import SearchResult
    from libranas.search.result import SearchResult as FromModule

    assert SearchResult is FromModule
    res = RandomSearch("nb201", toy_score, n_trials=5, random_state=0).run()
    assert isinstance(res, FromModule)
    assert json.loads(json.dumps(res.to_dict()))["n_scored"] == 5


def test_label_free_search_on_a_table_and_moved_names():
    from libranas.search import nb201_pruned as old_pruned
    from libranas.search import nb201_search_table as old_table
    from libranas.search.protocol import search

    assert old_pruned is nb201_pruned and old_table is nb201_search_table
    r = search("nb201", budget=40, labelled=0, population=10, random_state=0)
    assert r["n_evaluated"] == 40 and r["n_labelled"] == 0 and r["labelled"] == []
    assert r["test_acc"] is not None and "enc:" not in " ".join(r["proxy_scores"])
    again = search("nb201", budget=40, labelled=0, population=10, random_state=0)
    assert again["best_arch"] == r["best_arch"]
    with pytest.raises(ValueError, match="no search table for space 'darts'"):
        search("darts", budget=10, labelled=5)
    with pytest.raises(ValueError, match="training-free ranker"):
        search("nb201", budget=10, labelled=0, ranker="xgboost")


def test_exhausted_space_stops_with_a_warning_and_deprecated_dataset_alias():
    for sampler in (RandomSampler(max_tries=20), EvolutionSampler(population=3, max_tries=5)):
        with pytest.warns(RuntimeWarning, match="stopped after"):
            res = SearchLoop(Bare(), lambda a: [float(x) for x in a], sampler, n_trials=12,
                             batch_size=3, max_tries=2, random_state=0).run()  # fmt: skip
        assert res.n_scored == 9 and res.best_score == 8.0  # each of the 9 scored once
    with pytest.warns(FutureWarning, match="task"):
        old = Constraints(max_params=0.5, dataset="cifar100").fit(get_space("nb201"))
    with pytest.warns(FutureWarning):
        assert old.to_dict()["task"] == "cifar100"


def test_search_table_keeps_a_list_of_proxy_columns_and_refuses_unknown_ones():
    t = nb201_search_table("cifar10", proxies=["nwot", "synflow"], encoding=False)
    assert list(t.X.columns) == ["nwot", "synflow"] and len(t) == 15625
    full = nb201_search_table("cifar10", encoding=False)
    np.testing.assert_array_equal(t.X.to_numpy(), full.X[["nwot", "synflow"]].to_numpy())
    with_enc = nb201_search_table("cifar10", proxies=["nwot"])
    assert with_enc.X.columns[0] == "nwot" and with_enc.X.columns[1].startswith("enc:")
    with pytest.raises(ValueError, match=r"no column \['meco'\]"):
        nb201_search_table("cifar10", proxies=["nwot", "meco"])
    with pytest.raises(ValueError, match="empty list"):
        nb201_search_table("cifar10", proxies=[])
    with pytest.raises(ValueError, match=r"more than once: \['nwot'\]"):
        nb201_search_table("cifar10", proxies=["nwot", "nwot"])
    with pytest.raises(ValueError, match="'all', 'freerea' or a list"):
        nb201_search_table("cifar10", proxies="some")


def test_live_search_takes_its_proxy_set_from_proxies_and_refuses_a_conflict():
    from libranas.search.protocol import _live_proxies

    assert _live_proxies("tabular", ["nwot"], None) is None
    assert _live_proxies("live", "all", {"data": 1}) == {"data": 1}
    assert _live_proxies("live", ["nwot"], {"data": 1}) == {"data": 1, "proxies": ["nwot"]}
    with pytest.raises(ValueError, match="disagree"):
        _live_proxies("live", ["nwot"], {"proxies": ["meco"]})
    with pytest.raises(ValueError, match="tabular mode"):
        _live_proxies("live", "freerea", None)


def test_search_checks_proxies_ranker_and_population_before_searching():
    from libranas.search.protocol import search

    r = search("nb201", budget=20, labelled=0, population=5, proxies=None)
    assert len(r["selected_proxies"]) > 10  # None: every column of the table
    with pytest.raises(ValueError, match=r"more than once: \['synflow'\]"):
        search("nb201", budget=20, labelled=0, proxies=["synflow", "synflow"])
    with pytest.raises(ValueError, match="unknown ranker 'bogus'"):
        search("nb201", budget=20, labelled=0, ranker="bogus")
    with pytest.raises(ValueError, match="population"):
        search("nb201", budget=20, labelled=0, population=0)
    with pytest.raises(ValueError, match="use labelled >= 13 or refine=False"):
        search("nb201", budget=40, labelled=10)
    with pytest.raises(ValueError, match="live_options apply to mode='live'"):
        search("nb201", budget=20, labelled=0, live_options={"data": "cifar10"})


def test_too_few_labels_for_the_first_calibration_names_the_fix():
    from libranas.search.protocol import search_nb201

    with pytest.raises(ValueError, match=r"first calibration \(refine: half the labels\) uses 2; "
                       r"use labelled >= 13 or refine=False"):  # fmt: skip
        search_nb201("cifar10", budget=50, labelled=3, random_state=0)
    with pytest.raises(ValueError, match=r"needs at least 7 labelled architectures; use "
                       r"labelled >= 7$"):  # fmt: skip
        search_nb201("cifar10", budget=50, labelled=3, refine=False, random_state=0)
