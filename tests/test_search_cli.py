"""Tests of ``libranas search``: tabular and live (label-free) runs, resuming, user errors."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from _data import synthetic_images

from libranas.cli import main
from libranas.search import JSONLStorage

pytest.importorskip("optuna")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A synthetic CIFAR-sized uint8 batch (the name sets the CIFAR-10 normalisation)."""
    return synthetic_images(tmp_path_factory.mktemp("data"), "cifar10_synthetic.npz", 32)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_tabular_search_writes_results_and_resumes(tmp_path, capsys):
    out, store = tmp_path / "r.json", tmp_path / "s.jsonl"
    argv = ["search", "--budget", "60", "--labelled", "20", "--population", "10", "--seed", "1",
            "--storage", str(store), "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    first = json.loads(out.read_text())
    assert "best architecture: |" in text and "test accuracy" in text
    assert text.index("best architecture") < text.index("results written")
    assert first["n_evaluated"] == 60 and len(first["trajectory"]) >= 60
    assert JSONLStorage(store).studies() == ["protocol", "phase1", "phase2"]
    assert main(argv) == 0  # resumed from the storage: same result
    again = json.loads(out.read_text())
    assert again["best_arch"] == first["best_arch"]
    assert again["trajectory"] == first["trajectory"]


LIVE = ["--mode", "live", "--labelled", "0", "--proxies", "nwot,zico,meco", "--live-batch",
        "8", "--torch-device", "cpu"]  # fmt: skip


@pytest.mark.parametrize(
    "space",
    [
        ["--space", "darts", "--space-option", "channels=8", "--space-option", "layers=2"],
        [
            "--space",
            "autoformer-tiny",
            "--space-option",
            "img_size=32",
            "--space-option",
            "patch_size=16",
            "--space-option",
            "num_classes=10",
        ],
    ],  # fmt: skip
    ids=["darts", "autoformer-tiny"],
)
def test_live_label_free_search_on_any_space_resumes(tmp_path, capsys, images, space):
    out, store = tmp_path / "r.json", tmp_path / "s.jsonl"
    argv = ["search", *space, *LIVE, "--data", images, "--budget", "8", "--population", "4",
            "--batch-size", "2", "--storage", str(store), "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert "best architecture:" in text and "proxies: nwot" in text
    assert result["n_evaluated"] == 8 and result["n_labelled"] == 0
    assert set(result["proxy_scores"]) == {"nwot", "zico", "meco"}
    assert all(np.isfinite(v) for v in result["proxy_scores"].values())
    assert result["test_acc"] is None  # no table for this space: nothing to report
    assert (tmp_path / "s.jsonl.proxies.sqlite").exists()  # proxies kept for a resume
    start = time.perf_counter()
    assert main(argv) == 0
    again = json.loads(out.read_text())
    assert again["best_arch"] == result["best_arch"]
    assert again["trajectory"] == result["trajectory"]
    assert again["score_seconds"] < result["score_seconds"]  # nothing was recomputed
    assert time.perf_counter() - start < 30


def _error(capsys, argv):
    code = main(["search", *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--space", "nope"], "unknown search space 'nope'"),
        (["--budget", "0"], "budget must be an int >= 2"),
        (["--budget", "-3"], "budget must be an int >= 2"),
        (["--labelled", "1"], "labelled must be 0"),
        (["--labelled", "5000", "--budget", "100"], "exceeds budget"),
        (["--seed", "-1"], "random_state"),
        (["--population", "0"], "--population must be >= 1"),
        (["--space", "nb301"], "no search table for space 'darts'"),
        (["--space", "darts", "--mode", "live", "--labelled", "0"], "needs --data"),
        (["--task", "mnist"], "unknown NB201 task 'mnist'"),
        (["--max-params", "0.01"], "no architecture of space 'nb201' satisfies"),
        (["--max-latency", "5"], "needs a HW-NAS-Bench device"),
        (["--space-option", "channels"], "KEY=VALUE"),
        (["--space", "darts", "--space-option", "colour=1"], "--space darts"),
        (["-o", "/nonexistent-folder/r.json"], "does not exist"),
        (["--storage", "/nonexistent-folder/s.jsonl"], "does not exist"),
        # live-only options are refused in tabular mode, not ignored
        (["--data", "cifar10"], "--data: live-mode options"),
        (["--init-seed", "3", "--n-inits", "2"], "--init-seed, --n-inits: live-mode options"),
        (["--torch-device", "cpu"], "--torch-device: live-mode options"),
        (["--space-option", "channels=8"], "tabular mode reads the bundled table"),
        (["--device", "edgegpu"], "give --max-latency too"),
        (["--ranker", "bogus"], "unknown ranker 'bogus'"),
        (["--labelled", "10", "--budget", "40"], "use labelled >= 13 or refine=False"),
        (["--storage", "same.jsonl", "-o", "same.jsonl"], "--output and --storage are the same"),
    ],
)
def test_user_errors_are_one_line_exit_2(capsys, argv, message):
    start = time.perf_counter()
    assert message in _error(capsys, argv)
    assert time.perf_counter() - start < 10  # refused before any search


def test_live_user_errors(capsys, images, tmp_path):
    base = ["--space", "darts", "--mode", "live", "--labelled", "0"]
    assert "no such file" in _error(capsys, [*base, "--data", str(tmp_path / "missing.npz")])
    assert "unknown proxies ['bogus']" in _error(
        capsys, [*base, "--data", images, "--proxies", "nwot,bogus"]
    )
    assert "--proxies is empty" in _error(capsys, [*base, "--data", images, "--proxies", ""])
    assert "--init-seed must be >= 0" in _error(
        capsys, [*base, "--data", images, "--init-seed", "-1"]
    )
    assert "--n-inits must be >= 1" in _error(capsys, [*base, "--data", images, "--n-inits", "0"])
    same = str(tmp_path / "same.sqlite")
    assert "--output and --proxy-store are the same" in _error(
        capsys, [*base, "--data", images, "--proxy-store", same, "-o", same]
    )
    assert "not a dataset name" in _error(capsys, [*base, "--data", "imagenet"])
    assert "--live-batch must be >= 2" in _error(
        capsys, [*base, "--data", images, "--live-batch", "1"]
    )
    assert "no named tasks" in _error(capsys, [*base, "--data", images, "--task", "cifar10"])
    # CIFAR-10 labels fit a 100-class network: without the check it would run, on wrong images
    nb201 = ["--space", "nb201", "--mode", "live", "--labelled", "0", "--data", images]
    assert "task 'cifar100' but the live batch" in _error(capsys, [*nb201, "--task", "cifar100"])


def test_live_label_free_search_defaults_to_the_training_free_search_set(tmp_path, capsys, images):
    from libranas.proxies import TRAINING_FREE_SEARCH_DEFAULT

    out = tmp_path / "r.json"
    argv = ["search", "--space", "nb201", "--task", "cifar10", "--mode", "live", "--labelled",
            "0", "--live-batch", "8", "--torch-device", "cpu", "--data", images, "--budget",
            "6", "--population", "3", "--batch-size", "3", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert set(result["proxy_scores"]) == set(TRAINING_FREE_SEARCH_DEFAULT)
    assert result["selected_proxies"] == list(TRAINING_FREE_SEARCH_DEFAULT)
    # NB201 has a search table: the returned cell's test accuracy is looked up, not searched on
    assert 10 <= result["test_acc"] <= 100 and result["n_labelled"] == 0


def test_tabular_search_uses_exactly_the_proxies_named(tmp_path, capsys):
    # --proxies used to apply to live mode only and was silently ignored in tabular mode
    out = tmp_path / "r.json"
    base = ["search", "--mode", "tabular", "--labelled", "0", "--budget", "30",
            "--population", "5", "-o", str(out)]  # fmt: skip
    assert main([*base, "--proxies", "synflow,nwot"]) == 0
    result = json.loads(out.read_text())
    assert result["selected_proxies"] == ["synflow", "nwot"]
    assert set(result["proxy_scores"]) == {"synflow", "nwot"}
    assert main(base) == 0
    assert len(json.loads(out.read_text())["selected_proxies"]) > 10  # default: every column
    message = _error(capsys, ["--mode", "tabular", "--proxies", "meco"])
    assert "search table has no column ['meco']" in message and "synflow" in message


def test_live_options_carry_n_inits_to_the_featurizer(images):
    import argparse

    from libranas.search.cli import _live_options, add_search_parser
    from libranas.spaces import get_space

    parser = add_search_parser(argparse.ArgumentParser().add_subparsers())
    base = ["--mode", "live", "--labelled", "0", "--data", images]
    space = get_space("nb201")
    assert _live_options(parser.parse_args([*base, "--n-inits", "3"]), space)["n_inits"] == 3
    assert _live_options(parser.parse_args(base), space)["n_inits"] == 1


@pytest.fixture(scope="module")
def imagenet16(tmp_path_factory):
    """A synthetic ImageNet16 batch with 1000-class labels 1..1000, as the downsampled-ImageNet
    file (the name sets the ImageNet16 normalisation)."""
    path = tmp_path_factory.mktemp("data") / "imagenet16_synthetic.npz"
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(24, 3, 16, 16), dtype=np.uint8)
    y = np.r_[np.arange(990, 1001), rng.integers(1, 1001, size=13)]
    np.savez(path, x=x, y=y)
    return str(path)


FOLD = ["--space", "nb201", "--mode", "live", "--labelled", "0", "--proxies", "nwot,zico",
        "--live-batch", "8", "--torch-device", "cpu", "--budget", "4", "--population", "2",
        "--batch-size", "2"]  # fmt: skip


def test_fold_labels_scores_imagenet16_networks_on_1000_class_labels(tmp_path, capsys, imagenet16):
    task = ["--task", "imagenet16-120", "--data", imagenet16]
    message = _error(capsys, [*FOLD, *task])
    assert "labels range" in message and "120 classes" in message and "--fold-labels" in message
    out = tmp_path / "r.json"
    assert main(["search", *FOLD, *task, "--fold-labels", "-o", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["task"] == "imagenet16-120" and result["n_evaluated"] == 4
    assert all(np.isfinite(v) for v in result["proxy_scores"].values())
    assert np.isfinite(result["test_acc"])  # the returned cell looked up in the IN16 table


def test_fold_labels_changes_nothing_when_the_labels_fit(tmp_path, images):
    runs = []
    for extra in ([], ["--fold-labels"]):
        out = tmp_path / f"r{len(runs)}.json"
        argv = ["search", *FOLD, "--task", "cifar10", "--data", images, *extra, "-o", str(out)]
        assert main(argv) == 0
        runs.append(json.loads(out.read_text()))
    assert runs[0]["trajectory"] == runs[1]["trajectory"]
    assert runs[0]["proxy_scores"] == runs[1]["proxy_scores"]


def test_fold_labels_user_errors(capsys, imagenet16):
    assert "--fold-labels: live-mode options" in _error(capsys, ["--fold-labels"])
    assert "needs --task" in _error(capsys, [*FOLD, "--data", imagenet16, "--fold-labels"])
    assert "folds the labels of an .npz batch" in _error(
        capsys, [*FOLD, "--task", "cifar10", "--data", "cifar10", "--fold-labels"]
    )
    assert "task 'cifar10' but the live batch" in _error(
        capsys, [*FOLD, "--task", "cifar10", "--data", imagenet16, "--fold-labels"]
    )


def test_a_storage_refuses_a_resume_with_other_settings(tmp_path, capsys):
    storage = tmp_path / "s.jsonl"

    def argv(budget="30", *extra):
        return ["--labelled", "0", "--budget", budget, "--population", "5", "--storage",
                str(storage), *extra]  # fmt: skip

    assert main(["search", *argv("30", "--proxies", "synflow")]) == 0
    before = storage.read_text()
    assert main(["search", *argv("30", "--proxies", "synflow")]) == 0  # same settings: resume
    assert storage.read_text() == before  # nothing recomputed nor appended
    capsys.readouterr()
    for args, named in (
        (argv("30", "--proxies", "nwot"), "proxies: stored ['synflow'], now ['nwot']"),
        (argv("30", "--proxies", "synflow", "--task", "imagenet16-120"), "task: stored 'cifar10'"),
        (argv("40", "--proxies", "synflow"), "budget: stored 30, now 40"),
        (argv("30", "--proxies", "synflow", "--ranker", "rank-mean"), "ranker: stored 'log-rank'"),
    ):
        message = _error(capsys, args)
        assert named in message and "use another storage" in message
        assert storage.read_text() == before  # refused before anything was appended


def test_a_failed_first_run_records_nothing_and_old_storages_are_not_stamped(tmp_path, images):
    import numpy as np

    from libranas.search.protocol import search
    from libranas.search.storage import JSONLStorage

    storage = tmp_path / "live.jsonl"
    live = {"data": images, "batch_size": np.int64(8), "device": "cpu"}
    kwargs = {"budget": 4, "labelled": 0, "mode": "live", "population": 2, "batch_size": 2}
    with pytest.raises(ValueError, match="synflw"):  # a typo: fails before any record
        search("nb201", proxies=["synflw"], live_options=live, storage=storage, **kwargs)
    assert JSONLStorage(storage).read("protocol") == []
    first = search("nb201", proxies=["synflow"], live_options=live, storage=storage, **kwargs)
    record = JSONLStorage(storage).read("protocol")[0]["settings"]
    assert record["proxies"] == ["synflow"] and set(record["live"]) == {
        "space", "data_fp", "seed", "options_fp"
    }  # fmt: skip
    again = search("nb201", proxies=["synflow"], live_options=live, storage=storage, **kwargs)
    assert again["best_arch"] == first["best_arch"]
    with pytest.raises(ValueError, match="live: stored"):  # another batch of images
        search("nb201", proxies=["synflow"], live_options={**live, "batch_size": 4},
               storage=storage, **kwargs)  # fmt: skip
    # a storage written before the record: resumed with a warning, not stamped
    old = tmp_path / "old.jsonl"
    lines = storage.read_text().splitlines()
    old.write_text("\n".join(x for x in lines if '"study": "protocol"' not in x) + "\n")
    with pytest.warns(UserWarning, match="before searches recorded their settings"):
        search("nb201", proxies=["synflow"], live_options=live, storage=old, **kwargs)
    assert JSONLStorage(old).read("protocol") == []
