"""Tests of libranas.search: evolution, Optuna search, constraints, storage, scorers, CLI."""

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

from libranas.search import (
    Constraints,
    EvolutionarySearch,
    InMemoryStorage,
    JSONLStorage,
    OptunaSearch,
    TabularScorer,
    calibrate_libra,
    make_libra_pipeline,
    nb201_mflops,
    nb201_pruned,
    nb201_search_table,
    suggest_architecture,
)
from libranas.spaces import get_space

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

    assert EvolutionarySearch("nb201", Model(), population=5, cycles=5, random_state=0).run()
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
    c = Constraints(max_params=0.4, max_latency=4.0, device="edgegpu", dataset="cifar10")
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


def test_nb201_mflops_matches_counted_macs():
    import torch

    from libranas.proxies.size import count_macs

    space = get_space("nb201")
    for arch in space.sample(1, random_state=5):
        net = space.build(arch, num_classes=120)
        macs = count_macs(net, torch.zeros(1, 3, 16, 16), bias=False)
        assert nb201_mflops(arch, "imagenet16-120") == pytest.approx(macs / 1e6, rel=1e-12)


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
    scorer = calibrate_libra(t, lab, t.y[lab], random_state=0, n_jobs=1, n_estimators=150)
    test = [t.archs[i] for i in rng.choice(len(t), 1000, replace=False)]
    rho = spearmanr(scorer(test), t.y[test]).statistic
    assert rho > 0.85
    assert len(scorer.pipeline.named_steps["select"].selected_) == 3


# ----------------------------------------------------------------------------- optuna


def test_suggest_architecture_nb201_and_autoformer():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    nb = get_space("nb201")
    arch = suggest_architecture(study.ask(), nb)
    assert nb.validate(arch) == arch
    af = get_space("autoformer-tiny")
    t = study.ask()
    a = suggest_architecture(t, af)
    assert af.validate(a) == a
    assert len([k for k in t.params if k.startswith("num_heads_")]) == a.depth
    with pytest.raises(ValueError, match="no Optuna suggestion rule"):
        suggest_architecture(study.ask(), get_space("nb301"))


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


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_optuna_storage_resumes_and_is_shared(tmp_path, kind):
    storage = f"sqlite:///{tmp_path / 's.db'}" if kind == "sqlite" else str(tmp_path / "s.log")
    first = OptunaSearch("nb201", toy_score, n_trials=8, storage=storage,
                         study_name="x", random_state=0).run()  # fmt: skip
    rec = Recorder()
    second = OptunaSearch("nb201", rec, n_trials=14, storage=storage, study_name="x",
                          random_state=1).run()  # fmt: skip
    assert second.n_scored == 14
    assert sum(len(c) for c in rec.calls) == 6  # only the missing ones were scored
    assert list(second.history["arch"].iloc[:8]) == list(first.history["arch"])
    with pytest.raises(ValueError, match="objectives"):
        OptunaSearch("nb201", toy_score, n_trials=5, storage=storage, study_name="x",
                     objectives=["score", "params"]).run()  # fmt: skip


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
    with pytest.raises(ValueError, match="only available for the NB201"):
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
    res = EvolutionarySearch("nb201", scorer, population=4, sample_size=2, cycles=4,
                             batch_size=2, random_state=0).run()  # fmt: skip
    assert res.n_scored == 8 and np.isfinite(res.best_score)
    assert scorer.n_scored_ == len(set(lab) | set(res.history["arch"]))
    with pytest.raises(TypeError, match="ProxyFeaturizer"):
        LiveScorer(Pipeline([("a", ZCRanker()), ("b", ZCRanker())]))


# ----------------------------------------------------------------------------- protocol / CLI


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


def test_cli_search_writes_results_and_resumes(tmp_path, capsys):
    import argparse

    from libranas.search.cli import add_search_parser

    parser = argparse.ArgumentParser(prog="libranas")
    add_search_parser(parser.add_subparsers(dest="command"))
    out, store = tmp_path / "r.json", tmp_path / "s.jsonl"
    argv = ["search", "--budget", "60", "--labelled", "20", "--population", "10", "--seed", "1",
            "--storage", str(store), "--output", str(out)]  # fmt: skip
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    text = capsys.readouterr().out
    first = json.loads(out.read_text())
    assert "best architecture: |" in text and "test accuracy" in text
    assert first["n_evaluated"] == 60 and len(first["trajectory"]) >= 60
    assert JSONLStorage(store).studies() == ["phase1", "phase2"]
    args = parser.parse_args(argv)
    assert args.func(args) == 0  # resumed from the storage: same result
    assert json.loads(out.read_text())["best_arch"] == first["best_arch"]
    bad = parser.parse_args(["search", "--space", "nb301"])
    assert bad.func(bad) == 2
    assert "supports --space nb201" in capsys.readouterr().err


def test_no_warnings_from_a_plain_tabular_search():
    t = nb201_search_table("cifar10", proxies="freerea", encoding=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scorer = TabularScorer(t, make_libra_pipeline("rank-mean"))
        scorer.fit(t.archs[:100], t.y[:100])
        EvolutionarySearch("nb201", scorer, population=5, cycles=5, random_state=0).run()
