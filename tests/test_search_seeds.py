"""Independent search seeds and the top-end step of ``libranas search`` (issue 23).

A live search seed is its own draw of network initialisations and image batch (the score
store keys on both); ``--init-seed`` / ``--batch-seed`` fix them; ``--rescore-top`` re-scores
the best evaluated cells under more draws and reports its pick next to the default's.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from _data import synthetic_images

from libranas.cli import main
from libranas.search import JSONLStorage
from libranas.search.protocol import rescore_seeds, search


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A synthetic CIFAR-sized uint8 file (the name sets the CIFAR-10 normalisation)."""
    return synthetic_images(tmp_path_factory.mktemp("data"), "cifar10_synthetic.npz", 40)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


LIVE = ["search", "--mode", "live", "--labelled", "0", "--proxies", "nwot,params",
        "--live-batch", "8", "--torch-device", "cpu", "--budget", "6",
        "--population", "3"]  # fmt: skip


def _live_record(storage) -> dict:
    return JSONLStorage(storage).read("protocol")[0]["settings"]["live"]


def _contexts(store) -> dict[tuple[str, int], set[str]]:
    """(batch fingerprint, init seed) -> the architectures stored under it."""
    out: dict[tuple[str, int], set[str]] = {}
    with sqlite3.connect(store) as con:
        for data_fp, seed, arch in con.execute("SELECT data_fp, seed, arch FROM scores"):
            out.setdefault((data_fp, int(seed)), set()).add(arch)
    return out


def test_search_seeds_are_independent_draws_that_share_no_store_row(tmp_path, images, capsys):
    store = tmp_path / "proxies.sqlite"
    records, results = {}, {}
    for seed in (1, 2):
        storage, out = tmp_path / f"s{seed}.jsonl", tmp_path / f"r{seed}.json"
        argv = [*LIVE, "--data", images, "--seed", str(seed), "--storage", str(storage),
                "--proxy-store", str(store), "--output", str(out)]  # fmt: skip
        assert main(argv) == 0
        records[seed] = _live_record(storage)
        results[seed] = json.loads(out.read_text())
    capsys.readouterr()
    # each seed initialised its networks with itself and drew its own batch
    assert records[1]["seed"] == 1 and records[2]["seed"] == 2
    assert records[1]["data_fp"] != records[2]["data_fp"]
    contexts = _contexts(store)
    assert set(contexts) == {(r["data_fp"], r["seed"]) for r in records.values()}
    for seed, r in results.items():  # each context holds exactly its own search's cells
        assert len(contexts[(records[seed]["data_fp"], seed)]) == r["n_evaluated"]


def test_a_fixed_init_seed_reproduces_and_shares_scores(tmp_path, images, capsys):
    store = tmp_path / "proxies.sqlite"
    runs = []
    for seed, name in ((1, "a"), (2, "b"), (1, "c")):
        storage, out = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.json"
        argv = [*LIVE, "--data", images, "--seed", str(seed), "--init-seed", "5", "--storage",
                str(storage), "--proxy-store", str(store), "--output", str(out)]  # fmt: skip
        assert main(argv) == 0
        runs.append((_live_record(storage), json.loads(out.read_text())))
    capsys.readouterr()
    (rec_a, res_a), (rec_b, _), (rec_c, res_c) = runs
    assert rec_a == rec_b == rec_c and rec_a["seed"] == 5  # one draw for every search seed
    assert len(_contexts(store)) == 1
    # the same search seed with the same fixed draw: the same search, bit for bit
    assert res_c["best_arch"] == res_a["best_arch"]
    assert res_c["proxy_scores"] == res_a["proxy_scores"]
    assert res_c["trajectory"] == res_a["trajectory"]


def test_batch_seed_fixes_the_images_alone(tmp_path, images, capsys):
    from libranas.datasets import load_image_batch
    from libranas.store import data_fingerprint

    storage = tmp_path / "s.jsonl"
    argv = [*LIVE, "--data", images, "--seed", "3", "--batch-seed", "7", "--storage",
            str(storage)]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    live = _live_record(storage)
    x, y = load_image_batch(images, n=8, random_state=7)
    assert live["seed"] == 3  # the initialisation still follows the search seed
    assert live["data_fp"] == data_fingerprint(x.astype(np.float32), y.astype(np.int64))
    assert main([*LIVE, "--data", images, "--batch-seed", "-1"]) == 2
    assert "--batch-seed must be >= 0" in capsys.readouterr().err


OPTIONS = {"batch_size": 8, "device": "cpu", "proxies": ["nwot", "params"]}


def test_rescore_top_reports_both_picks_and_recomputes_only_the_step(tmp_path, images):
    from libranas.ranker import ZCRanker

    storage, store = tmp_path / "s.jsonl", str(tmp_path / "p.sqlite")
    live = {**OPTIONS, "data": images, "store": store}
    kwargs = dict(budget=8, labelled=0, mode="live", population=4, random_state=4,
                  live_options=live, storage=storage)  # fmt: skip
    plain = search("nb201", "cifar10", **kwargs)
    r = search("nb201", "cifar10", rescore_top=3, rescore_draws=2, **kwargs)
    assert "rescore" not in plain
    assert r["best_arch"] == plain["best_arch"]  # the default's pick is unchanged
    step = r["rescore"]
    assert step["top_k"] == 3 and step["draws"] == 2 and step["n_networks"] == 6
    assert step["candidates"][0] == r["best_arch"]
    assert step["seeds"] == [4, *rescore_seeds(4, 2)] and len(set(step["seeds"])) == 3
    assert step["best_arch"] in step["candidates"]
    assert step["test_acc"] is not None and step["default_rank"] >= 1
    # the default's order: its final scores, best first
    assert step["default_scores"] == sorted(step["default_scores"], reverse=True)
    # the pick is the mean log-rank over every draw's proxies within the candidates
    X = pd.concat(
        [pd.DataFrame(rows, columns=step["proxies"]).add_suffix(f"@{d}")
         for d, rows in enumerate(step["rows"])], axis=1,
    )  # fmt: skip
    fused = ZCRanker("log-rank").fit(X).predict(X)
    assert step["candidates"][int(np.nanargmax(fused))] == step["best_arch"]
    # each extra draw is its own initialisation and batch: other scores than the search's
    assert not np.array_equal(step["rows"][0], step["rows"][1])
    assert np.array_equal(np.asarray(step["rows"][1])[:, 1], np.asarray(step["rows"][0])[:, 1])
    # the phases came from the storage; the draws' scores from the store: a resume with the
    # step again recomputes nothing and gives the same pick
    with sqlite3.connect(store) as con:
        n_rows = con.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    again = search("nb201", "cifar10", rescore_top=3, rescore_draws=2, **kwargs)
    assert again["rescore"]["best_arch"] == step["best_arch"]
    with sqlite3.connect(store) as con:
        assert con.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == n_rows


def test_rescore_user_errors(images, capsys):
    live = {**OPTIONS, "data": images}
    with pytest.raises(ValueError, match="label-free live search"):
        search("nb201", "cifar10", budget=30, labelled=10, rescore_top=3)
    with pytest.raises(ValueError, match="rescore_top must be 0"):
        search("nb201", budget=6, labelled=0, mode="live", live_options=live, rescore_top=1)
    with pytest.raises(ValueError, match="rescore_draws"):
        search("nb201", budget=6, labelled=0, mode="live", live_options=live, rescore_top=2,
               rescore_draws=0)  # fmt: skip
    assert main(["search", "--labelled", "0", "--rescore-top", "5"]) == 2
    assert "live-mode options" in capsys.readouterr().err
    assert main([*LIVE, "--data", images, "--rescore-draws", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --rescore-draws") and "Traceback" not in err


def test_cli_prints_and_writes_the_step(tmp_path, images, capsys):
    out = tmp_path / "r.json"
    argv = [*LIVE, "--data", images, "--seed", "2", "--rescore-top", "2", "--rescore-draws", "1",
            "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert "top-end step (top 2 re-scored with 1 more draws, 2 networks" in text
    assert result["rescore"]["best_arch"] in result["rescore"]["candidates"]
    assert result["rescore"]["draws"] == 1


def test_second_stage_picks_the_proxys_best_of_the_defaults_top(tmp_path, images):
    from libranas.featurizer import ProxyFeaturizer

    store = str(tmp_path / "p.sqlite")
    live = {**OPTIONS, "data": images, "store": store}
    kwargs = dict(budget=8, labelled=0, mode="live", population=4, random_state=5,
                  live_options=live, storage=tmp_path / "s.jsonl")  # fmt: skip
    plain = search("nb201", "cifar10", **kwargs)  # its proxies are not NB201's default: none
    assert "second_stage" not in plain and plain["returned_by"] == "fusion"
    r = search("nb201", "cifar10", second_stage="synflow", second_stage_top=4, **kwargs)
    second = r["second_stage"]
    # the search returns the second stage's pick; the fusion's own best is kept
    assert second["fusion_best_arch"] == plain["best_arch"]
    assert r["best_arch"] == second["best_arch"] and r["returned_by"] == "second_stage"
    assert r["test_acc"] == second["test_acc"]
    assert r["predicted_score"] == second["fusion_scores"][second["default_rank"] - 1]
    assert second["proxy"] == "synflow" and second["top_k"] == 4 and second["n_networks"] == 4
    # the candidates: the fusion's top 4, best first (the step's order is the same)
    assert second["candidates"][0] == plain["best_arch"]
    with_step = search("nb201", "cifar10", rescore_top=4, rescore_draws=1, **kwargs)
    assert second["candidates"] == with_step["rescore"]["candidates"]
    # the scores: the proxy under the search's own featurizer settings (seed, batch)
    fresh = ProxyFeaturizer("nb201", **{**OPTIONS, "data": images, "proxies": ["synflow"]},
                            random_state=5, num_classes=10)  # fmt: skip
    expected = fresh.fit(second["candidates"]).transform(second["candidates"])[:, 0]
    np.testing.assert_allclose(second["scores"], expected)
    assert second["best_arch"] == second["candidates"][int(np.argmax(expected))]
    assert second["default_rank"] == int(np.argmax(expected)) + 1
    assert second["test_acc"] is not None


def test_second_stage_user_errors(images, capsys):
    live = {**OPTIONS, "data": images}
    kwargs = dict(budget=6, labelled=0, mode="live", live_options=live)
    with pytest.raises(ValueError, match="second_stage must be 'auto', None or one regist"):
        search("nb201", second_stage="synfow", **kwargs)
    with pytest.raises(ValueError, match="second_stage_top"):
        search("nb201", second_stage="synflow", second_stage_top=1, **kwargs)
    with pytest.raises(ValueError, match="label-free live search"):
        search("nb201", "cifar10", budget=30, labelled=10, second_stage="synflow")
    assert main([*LIVE, "--data", images, "--second-stage-top", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --second-stage-top") and "Traceback" not in err
    assert main([*LIVE, "--data", images, "--second-stage", "nope"]) == 2
    err = capsys.readouterr().err
    assert "registered proxy" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_cli_prints_and_writes_the_second_stage(tmp_path, images, capsys):
    out = tmp_path / "r.json"
    argv = [*LIVE, "--data", images, "--seed", "2", "--second-stage", "synflow",
            "--second-stage-top", "3", "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    second = json.loads(out.read_text())["second_stage"]
    assert "second stage (synflow on the top 3, 3 networks" in text
    assert second["best_arch"] in second["candidates"] and len(second["scores"]) == 3


@pytest.fixture
def failing_proxy(monkeypatch):
    """A registered proxy that fails on every network (its score is NaN), for this test only."""
    from libranas.proxies import _registry, list_proxies

    def fails(network_pass):
        raise RuntimeError("this proxy always fails")

    list_proxies()  # the built-in proxies first
    info = _registry.ProxyInfo("always_fails", fails, frozenset({"model"}), options={})
    monkeypatch.setitem(_registry._PROXIES, "always_fails", info)
    return "always_fails"


def test_second_stage_that_fails_everywhere_makes_no_pick(tmp_path, images, failing_proxy,
                                                          capsys):  # fmt: skip
    # every candidate NaN: no second-stage pick (before: the default's #1 was returned as the
    # proxy's pick), the search's own result kept, printed and written, and a FAILED status
    # that names the second stage (not --proxies, which the proxy is not part of)
    from libranas.featurizer import ProxyFailedWarning

    live = {**OPTIONS, "data": images}
    with pytest.warns(ProxyFailedWarning, match="always fails"):
        r = search("nb201", "cifar10", budget=6, labelled=0, mode="live", population=3,
                   live_options=live, random_state=1, second_stage=failing_proxy,
                   second_stage_top=3)  # fmt: skip
    second = r["second_stage"]
    assert np.isnan(second["scores"]).all() and len(second["scores"]) == 3
    assert second["best_arch"] is None and second["default_rank"] is None
    assert second["test_acc"] is None and r["best_arch"] is not None
    out = tmp_path / "r.json"
    argv = [*LIVE, "--data", images, "--seed", "1", "--second-stage", failing_proxy,
            "--second-stage-top", "3", "--output", str(out)]  # fmt: skip
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "second stage (always_fails on the top 3" in captured.out
    assert "no pick" in captured.out and "returned: " in captured.out
    err = captured.err.splitlines()
    assert any("failed on 3 of the 3 second-stage candidates" in line for line in err), err
    assert err[-1].startswith("error: --second-stage always_fails failed on every one of")
    assert "--proxies" not in captured.err and "Traceback" not in captured.err
    written = json.loads(out.read_text())  # strict JSON: NaN written as null
    assert written["best_arch"] is not None and written["second_stage"]["best_arch"] is None
    assert written["second_stage"]["scores"] == [None, None, None]
    json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))


def test_extra_network_counts_include_every_initialisation(images):
    # with n_inits networks per architecture, the top-end step and the second stage build
    # n_inits times as many networks as they score candidates (before: counted once)
    live = {**OPTIONS, "data": images, "n_inits": 2}
    r = search("nb201", "cifar10", budget=6, labelled=0, mode="live", population=3,
               live_options=live, random_state=3, rescore_top=3, rescore_draws=1,
               second_stage="synflow", second_stage_top=3)  # fmt: skip
    assert r["rescore"]["n_networks"] == 3 * 1 * 2
    assert r["second_stage"]["n_networks"] == 3 * 2


def test_second_stage_errors_name_the_flags(images, capsys):
    # the command line's refusals name its flags, before any storage or score is touched
    cases = [
        (["--second-stage", "synflow", "--second-stage-top", "1"], "--second-stage-top must"),
        (["--second-stage", "synflow", "--second-stage-top", "-3"], "--second-stage-top must"),
        (["--second-stage", "synfow"], "--second-stage must be none or one registered proxy"),
    ]
    for extra, message in cases:
        assert main([*LIVE, "--data", images, *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and len(err.splitlines()) == 1, err
    labelled = ["search", "--mode", "live", "--labelled", "10", "--budget", "30", "--data",
                images, "--second-stage", "synflow"]  # fmt: skip
    assert main(labelled) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --second-stage") and "--labelled 0" in err, err


@pytest.fixture(scope="module")
def imagenet16(tmp_path_factory):
    """A synthetic ImageNet16 file with 1000-class labels (the name sets its normalisation)."""
    folder = tmp_path_factory.mktemp("data")
    return synthetic_images(folder, "imagenet16_synthetic.npz", 24, side=16, n_classes=1000, seed=1)


def test_fold_labels_draws_a_folded_batch_per_seed_and_per_step_draw(tmp_path, imagenet16, capsys):
    store = tmp_path / "p.sqlite"
    base = ["search", "--space", "nb201", "--task", "imagenet16-120", "--data", imagenet16,
            "--fold-labels", "--mode", "live", "--labelled", "0", "--proxies", "nwot,params",
            "--live-batch", "8", "--torch-device", "cpu", "--budget", "4", "--population", "2",
            "--proxy-store", str(store)]  # fmt: skip
    out = tmp_path / "r.json"
    argv = [*base, "--seed", "1", "--rescore-top", "2", "--rescore-draws", "2", "-o", str(out)]
    assert main(argv) == 0
    assert main([*base, "--seed", "2", "--storage", str(tmp_path / "s2.jsonl")]) == 0
    capsys.readouterr()
    step = json.loads(out.read_text())["rescore"]
    contexts = _contexts(store)
    # seed 1, its two step draws and seed 2: each its own initialisation and folded batch
    assert {seed for _, seed in contexts} == {*step["seeds"], 2}
    assert len({fp for fp, _ in contexts}) == 4
    assert _live_record(tmp_path / "s2.jsonl")["seed"] == 2


def test_a_step_that_raises_after_the_search_keeps_the_searchs_result(
    tmp_path, images, capsys, monkeypatch
):
    import libranas.search.protocol as protocol

    def boom(*args, **kwargs):
        raise RuntimeError("out of memory on the candidates")

    monkeypatch.setattr(protocol, "_second_stage", boom)
    live = {**OPTIONS, "data": images}
    with pytest.warns(RuntimeWarning, match="the second stage failed after the search"):
        r = search("nb201", "cifar10", budget=6, labelled=0, mode="live", population=3,
                   live_options=live, second_stage="synflow", second_stage_top=3)  # fmt: skip
    assert r["best_arch"] is not None and r["n_evaluated"] == 6  # the search's result is kept
    assert r["second_stage"]["error"] == "RuntimeError: out of memory on the candidates"
    assert r["second_stage"]["best_arch"] is None
    # the command line prints and writes the search's result, then exits 1 naming the step
    out = tmp_path / "r.json"
    argv = [*LIVE, "--data", images, "--second-stage", "synflow", "--output", str(out)]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "returned: " in captured.out and "failed after the search" in captured.out
    assert "error: the step of --second-stage failed after the search" in captured.err
    assert "Traceback" not in captured.err
    written = json.loads(out.read_text())
    assert written["best_arch"] and written["second_stage"]["error"].startswith("RuntimeError")


def test_nb201_default_search_returns_the_second_stage_pick_and_none_turns_it_off(
    tmp_path, images, capsys
):
    from libranas.proxies import TRAINING_FREE_SEARCH_DEFAULT
    from libranas.spaces import get_space

    assert get_space("nb201").second_stage_proxy() == "synflow"
    assert get_space("darts").second_stage_proxy() is None
    # NB201's default proxies (no --proxies): the second stage runs by itself
    live = {"batch_size": 8, "device": "cpu", "data": images}
    kwargs = dict(budget=6, labelled=0, mode="live", population=3, random_state=1,
                  live_options=live, second_stage_top=3)  # fmt: skip
    r = search("nb201", "cifar10", **kwargs)
    assert r["selected_proxies"] == list(TRAINING_FREE_SEARCH_DEFAULT)
    assert r["second_stage"]["proxy"] == "synflow"
    assert r["best_arch"] == r["second_stage"]["best_arch"]
    off = search("nb201", "cifar10", **{**kwargs, "second_stage": None})
    assert "second_stage" not in off and off["returned_by"] == "fusion"
    assert off["best_arch"] == r["second_stage"]["fusion_best_arch"]
    # the command line: default on, --second-stage none off
    base = ["search", "--mode", "live", "--labelled", "0", "--live-batch", "8",
            "--torch-device", "cpu", "--budget", "6", "--population", "3", "--data", images,
            "--seed", "1"]  # fmt: skip
    assert main([*base, "--second-stage-top", "3", "--second-stage", "synflow"]) == 0
    assert "second stage (synflow on the top 3" in capsys.readouterr().out
    assert main([*base, "--second-stage", "none"]) == 0
    assert "second stage" not in capsys.readouterr().out
    assert main([*base, "--second-stage", "none", "--second-stage-top", "3"]) == 2
    assert "--second-stage none runs none" in capsys.readouterr().err
