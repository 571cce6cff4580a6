import io
import json

import numpy as np
import pytest

from libranas.cli import main
from libranas.datasets import load_benchmark
from libranas.evaluation import evaluate_benchmark, summarize

pytestmark = pytest.mark.filterwarnings("ignore::libranas.datasets.NonFiniteValuesWarning")


def test_evaluate_protocol_separates_labelled_from_evaluated():
    bench = load_benchmark("nb201-cifar100")
    res = evaluate_benchmark(bench, n_labelled=50, seeds=[0, 1], methods=["best-proxy"])
    per_seed = res[res.method == "best-proxy"]
    assert list(per_seed.seed) == [0, 1]
    assert (per_seed.n_evaluated == len(bench) - 50).all()
    in_sample = res[res.method == "paper-in-sample"].iloc[0]
    assert in_sample.n_evaluated == len(bench)
    # a proxy chosen on 50 labelled cells of NB201 ranks the others far better than chance
    assert (per_seed.rho > 0.6).all() and (per_seed.tau > 0.4).all()
    again = evaluate_benchmark(bench, n_labelled=50, seeds=[0, 1], methods=["best-proxy"])
    assert again.equals(res)  # same seeds, same numbers


def test_evaluate_rejects_bad_sizes_and_methods():
    bench = load_benchmark("nb301-cifar10")
    with pytest.raises(ValueError, match="n_labelled=724"):
        evaluate_benchmark(bench, n_labelled=724)
    with pytest.raises(ValueError, match="unknown methods"):
        evaluate_benchmark(bench, methods=["magic"])


def test_cli_evaluate_json(capsys):
    code = main(
        [
            "evaluate",
            "nb301-cifar10",
            "--seeds",
            "2",
            "--n-labelled",
            "60",
            "--methods",
            "best-proxy,libra+rank-mean",
            "--format",
            "json",
        ]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    methods = {r["method"] for r in rows}
    assert methods == {"best-proxy", "libra+rank-mean", "paper-in-sample"}
    for r in rows:
        assert -1 <= r["rho_mean"] <= 1 and r["benchmark"] == "nb301-cifar10"


def test_cli_evaluate_markdown_to_file(tmp_path, capsys):
    out = tmp_path / "table.md"
    assert (
        main(
            [
                "evaluate",
                "tnb101-micro-jigsaw",
                "--seeds",
                "2",
                "--methods",
                "best-proxy",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    text = out.read_text()
    assert "| tnb101-micro-jigsaw |" in text and "±" in text  # the file: tau and spreads
    shown = capsys.readouterr().out
    assert "| tnb101-micro-jigsaw |" in shown and "±" not in shown  # the screen: rho only
    assert "Kendall tau" in text and "Best method per benchmark" in shown


def _one_line_error(capsys, *fragments):
    """stderr is exactly one line, ``error: ...``, holding every fragment; stdout is empty."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def test_cli_errors_name_the_problem(capsys):
    assert main(["evaluate", "nb999"]) == 2
    _one_line_error(capsys, "unknown benchmarks ['nb999']")
    assert main(["evaluate", "nb301-cifar10", "--methods", "magic"]) == 2
    _one_line_error(capsys, "unknown methods ['magic']")


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--n-labelled", "5"], ["--n-labelled 5 is too few", "at least 7"]),
        (["--n-labelled", "3", "--methods", "xgboost-all"], ["--n-labelled 3", "at least 4"]),
        (["--n-labelled", "5000"], ["--n-labelled 5000", "of the 725 architectures", "723"]),
        (["--seeds", "0"], ["argument --seeds", "must be >= 1, got 0"]),
        (["--seeds", "two"], ["argument --seeds", "expected an integer, got 'two'"]),
        (["--seed", "-1"], ["argument --seed", "must be >= 0"]),
        (["--methods", ""], ["--methods ''", "empty name"]),
        (["--methods", "best-proxy,"], ["--methods 'best-proxy,'", "empty name"]),
        (["--format", "xml"], ["argument --format", "invalid choice"]),
    ],
)
def test_cli_evaluate_bad_arguments_exit_2_with_one_line(capsys, argv, fragments):
    assert main(["evaluate", "nb301-cifar10", *argv]) == 2
    _one_line_error(capsys, *fragments)


@pytest.mark.parametrize("case", ["missing-folder", "directory", "parent-is-a-file"])
def test_cli_bad_output_path_fails_before_computing(tmp_path, capsys, monkeypatch, case):
    import libranas.evaluation

    def must_not_run(*args, **kwargs):
        raise AssertionError("computed before checking the output path")

    monkeypatch.setattr(libranas.evaluation, "evaluate_benchmark", must_not_run)
    (tmp_path / "file").write_text("x")
    out = {
        "missing-folder": tmp_path / "missing" / "x.md",
        "directory": tmp_path,
        "parent-is-a-file": tmp_path / "file" / "x.md",
    }[case]
    assert main(["evaluate", "nb301-cifar10", "--seeds", "1", "-o", str(out)]) == 2
    _one_line_error(capsys, "--output", str(out))
    assert main(["score", "5", "--proxies", "params", "-o", str(out)]) == 2
    _one_line_error(capsys, "--output", str(out))


def test_cli_bad_output_fails_fast_in_a_fresh_process(tmp_path):
    """The command as a user runs it: one line, exit 2, no traceback, well under 10 s."""
    import subprocess
    import sys
    import time

    for argv in (
        ["evaluate", "-o", str(tmp_path / "no" / "x.md")],
        ["score", "--random", "100", "-o", str(tmp_path / "no" / "s.csv")],
    ):
        start = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "libranas.cli", *argv], capture_output=True, text=True
        )
        elapsed = time.perf_counter() - start
        assert run.returncode == 2, run.stderr
        assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: --output")
        assert run.stdout == "" and elapsed < 10, elapsed


def test_cli_evaluate_prints_the_table_before_writing_and_writes_atomically(
    tmp_path, capsys, monkeypatch
):
    import libranas.cli as cli

    out = tmp_path / "table.md"
    out.write_text("old")

    def disk_full(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli._common, "write_atomic", disk_full)
    argv = ["evaluate", "nb301-cifar10", "--seeds", "1", "--methods", "best-proxy"]
    assert main([*argv, "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert "| nb301-cifar10 |" in captured.out  # the table is not lost
    assert "could not write --output" in captured.err and "No space left" in captured.err
    assert out.read_text() == "old"  # untouched, never half-written
    monkeypatch.undo()
    assert main([*argv, "-o", str(out)]) == 0
    assert "| nb301-cifar10 |" in out.read_text() and "±" in out.read_text()
    assert "| nb301-cifar10 |" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"]  # no temporary file left


def test_summarize_reports_mean_and_spread():
    bench = load_benchmark("nb201-cifar10")
    s = summarize(
        evaluate_benchmark(
            bench, n_labelled=100, seeds=range(3), methods=["libra+rank-mean"], in_sample=False
        )
    )
    row = s.iloc[0]
    assert row.n_seeds == 3 and row.rho_std > 0 and 0 < row.tau_mean < row.rho_mean


def test_unscored_architectures_are_counted_not_hidden():
    # NAS-Bench-Suite-Zero's columns: one architecture has no nwot value
    bench = load_benchmark("nb201-cifar10", libranas_proxies=False)
    res = evaluate_benchmark(
        bench, n_labelled=100, seeds=range(4), methods=["best-proxy"], in_sample=False
    )
    nan_arch = bench.X.index[bench.X["nwot"].isna()][0]
    for seed, row in zip(range(4), res.itertuples(), strict=True):
        assert row.selected == "nwot"
        rng = __import__("numpy").random.default_rng(seed)
        labelled = set(bench.X.index[rng.choice(len(bench), size=100, replace=False)])
        assert row.n_unscored == (0 if nan_arch in labelled else 1)


# -- libranas score ----------------------------------------------------------------------


def _image_file(tmp_path, n=8, seed=0, name="cifar10_test.npz"):
    import numpy as np

    rng = np.random.default_rng(seed)
    path = tmp_path / name
    x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    np.savez(path, x=x, y=np.arange(n) % 10)
    return path


def test_cli_score_writes_the_featurizer_scores_as_csv(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    from libranas.featurizer import ProxyFailedWarning, ProxyFeaturizer

    images = _image_file(tmp_path)
    archs_file = tmp_path / "archs.txt"
    archs_file.write_text(
        "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|\n\n12\n"
    )
    out = tmp_path / "scores.csv"
    argv = ["score", "[0, 2, 3, 2, 3, 1]", "--archs-file", str(archs_file), "--random", "1"]
    argv += ["--proxies", "swap,nwot,params,lswag", "--data", str(images), "--batch-size", "8"]
    argv += ["--band", "none", "-o", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "scored 4 architectures x 4 proxies" in err
    # index 12 has no path from input to output: nwot and lswag fail there, named, as NaN
    assert "warning: proxy 'nwot' failed on architecture 2" in err
    table = pd.read_csv(out)
    assert list(table.columns) == ["arch", "swap", "nwot", "params", "lswag"]
    assert table["arch"].str.startswith("|").all() and len(table) == 4
    feat = ProxyFeaturizer(
        proxies=["swap", "nwot", "params", "lswag"],
        data=str(images),
        batch_size=8,
        lswag_band=None,
    ).fit()
    with pytest.warns(ProxyFailedWarning):
        expected = feat.transform(list(table["arch"]))
    np.testing.assert_allclose(table.iloc[:, 1:].to_numpy(), expected)
    assert table.iloc[2][["nwot", "lswag"]].isna().all()


def test_cli_score_n_inits_averages_initialisations_as_the_featurizer(tmp_path):
    import numpy as np
    import pandas as pd

    from libranas.featurizer import ProxyFeaturizer

    images = _image_file(tmp_path)
    argv = ["score", "5", "100", "--proxies", "nwot,params", "--data", str(images)]
    argv += ["--batch-size", "8", "--n-inits", "2", "-o", str(tmp_path / "s.csv")]
    assert main(argv) == 0
    table = pd.read_csv(tmp_path / "s.csv")
    kwargs = {"proxies": ["nwot", "params"], "data": str(images), "batch_size": 8}
    two = ProxyFeaturizer(n_inits=2, **kwargs).fit().transform(list(table["arch"]))
    one = ProxyFeaturizer(**kwargs).fit().transform(list(table["arch"]))
    np.testing.assert_allclose(table[["nwot", "params"]].to_numpy(), two)
    assert not np.allclose(two[:, 0], one[:, 0])  # nwot depends on the initialisation


def test_cli_score_to_stdout_without_data_for_size_proxies(capsys):
    assert main(["score", "5", "100", "--proxies", "params,flops"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "arch,params,flops" and len(out) == 3


def test_cli_score_errors_name_the_problem(capsys):
    assert main(["score", "--proxies", "params"]) == 2
    _one_line_error(capsys, "no architectures")
    assert main(["score", "5", "--proxies", "params,magic"]) == 2
    _one_line_error(capsys, "unknown proxies ['magic']")
    assert main(["score", "5", "--band", "top"]) == 2
    _one_line_error(capsys, "--band must be")
    assert main(["score", "5", "--space-option", "channels"]) == 2
    _one_line_error(capsys, "KEY=VALUE")
    assert main(["score", "|bogus~0|", "--proxies", "params"]) == 2
    _one_line_error(capsys, "bogus", "position 0")
    assert main(["score", "5", "--dataset", "cifar10"]) == 2
    _one_line_error(capsys, "--dataset needs --data")


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["5", "--archs-file", "missing.txt"], ["--archs-file 'missing.txt' does not exist"]),
        (["5", "--data", "missing.npz"], ["--data 'missing.npz' does not exist"]),
        (["--random", "-3"], ["argument --random", "must be >= 0, got -3"]),
        (["5", "--proxies", ""], ["--proxies ''", "empty name"]),
        (["5", "--proxies", "params,,flops"], ["--proxies 'params,,flops'", "empty name"]),
        (["5", "--batch-size", "1"], ["argument --batch-size", "must be >= 2"]),
        (["5", "--n-jobs", "0"], ["argument --n-jobs", "must not be 0"]),
        (["5", "--seed", "-2"], ["argument --seed", "must be >= 0"]),
        (["5", "--n-inits", "0"], ["argument --n-inits", "must be >= 1"]),
    ],
)
def test_cli_score_bad_arguments_exit_2_with_one_line(capsys, argv, fragments):
    assert main(["score", *argv]) == 2
    _one_line_error(capsys, *fragments)


def test_cli_score_bad_files_exit_2_with_one_line(tmp_path, capsys):
    (tmp_path / "archs.bin").write_bytes(b"\xff\xfe\x00bad")
    assert main(["score", "--archs-file", str(tmp_path / "archs.bin")]) == 2
    _one_line_error(capsys, "--archs-file", "cannot be read as text")
    (tmp_path / "junk.npz").write_text("not an npz file")
    assert main(["score", "5", "--data", str(tmp_path / "junk.npz"), "--dataset", "cifar10"]) == 2
    _one_line_error(capsys, "--data", "junk.npz")
    small = _image_file(tmp_path, n=4)
    assert main(["score", "5", "--data", str(small), "--batch-size", "8"]) == 2
    _one_line_error(capsys, "--data", "n=8 must be between 1 and the 4 images")
    (tmp_path / "not.db").write_text("this is not a database, just text" * 20)
    assert main(["score", "5", "--proxies", "params", "--store", str(tmp_path / "not.db")]) == 2
    _one_line_error(capsys, "--store", "not a SQLite score store")
    assert main(["score", "5", "--proxies", "params", "--store", str(tmp_path)]) == 2
    _one_line_error(capsys, "--store", "is a directory")


def test_cli_score_store_that_cannot_be_written_loses_no_score(tmp_path, capsys, monkeypatch):
    """A store failing on write (read-only file, full disk) does not cost the scores:
    they are output first, then the store error is reported and the exit status is 1."""
    import sqlite3

    import pandas as pd

    from libranas.store import ScoreStore

    def read_only(self, *args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(ScoreStore, "put", read_only)
    store = tmp_path / "scores.db"
    argv = ["score", "5", "1462", "--proxies", "params,flops", "--store", str(store)]
    assert main(argv) == 1
    captured = capsys.readouterr()
    table = pd.read_csv(io.StringIO(captured.out))
    assert len(table) == 2 and table[["params", "flops"]].notna().all().all()
    err = captured.err.strip().splitlines()
    assert err[-1].startswith("error: score store") and "readonly database" in err[-1]
    assert "they are in standard output" in err[-1] and "Traceback" not in captured.err
    # with -o the CSV file is written, and the error says where the scores are
    out = tmp_path / "s.csv"
    assert main([*argv, "-o", str(out)]) == 1
    assert "they are in '" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(out), table)
    # a writable store: exit 0 and every score stored
    monkeypatch.undo()
    assert main(argv) == 0
    assert ScoreStore(store).count() == 4


def test_cli_score_dataset_option_names_the_normalisation(tmp_path, capsys):
    import pandas as pd

    images = _image_file(tmp_path, name="my_images.npz")
    argv = ["score", "5", "--proxies", "swap", "--data", str(images), "--batch-size", "8"]
    assert main(argv) == 2
    assert "cannot tell the dataset" in capsys.readouterr().err
    assert main([*argv, "--dataset", "cifar10", "-o", str(tmp_path / "s.csv")]) == 0
    assert pd.read_csv(tmp_path / "s.csv")["swap"].iloc[0] > 0


@pytest.mark.parametrize(
    "space, options",
    [
        ("darts", []),
        ("autoformer-tiny", ["--space-option", "img_size=32", "--space-option", "patch_size=4"]),
    ],
)
def test_cli_score_arch_column_reads_back_as_input(space, options, tmp_path, capsys):
    import pandas as pd

    first, again = tmp_path / "first.csv", tmp_path / "again.csv"
    base = ["score", "--space", space, *options, "--proxies", "params"]
    assert main([*base, "--random", "2", "-o", str(first)]) == 0
    table = pd.read_csv(first)
    (tmp_path / "archs.txt").write_text("\n".join(table["arch"]) + "\n")
    assert main([*base, "--archs-file", str(tmp_path / "archs.txt"), "-o", str(again)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(again), table)


# ---------------------------------------------------------------------------- the main job


def _fake_evaluate(calls):
    """evaluate_benchmark's output shape, without the computation (what is run is the point)."""
    import pandas as pd

    def fake(bench, *, n_labelled, seeds, methods, progress=None, n_jobs=None):
        seeds = list(seeds)
        calls.append((bench.name, tuple(methods), len(seeds)))
        rows = [
            {
                "benchmark": bench.name,
                "method": m,
                "seed": s,
                "n_labelled": n_labelled,
                "n_evaluated": len(bench) - n_labelled,
                "rho": 0.5 + 0.1 * i + 0.01 * s,
                "tau": 0.4,
                "n_unscored": 0,
                "selected": "all",
            }
            for i, m in enumerate(methods)
            for s in seeds
        ]
        for _ in seeds:
            if progress is not None:
                progress()
        return pd.DataFrame(rows)

    return fake


def test_evaluate_default_is_the_quick_study_and_reads_as_a_report(capsys, monkeypatch):
    import libranas.evaluation as ev

    calls = []
    monkeypatch.setattr(ev, "evaluate_benchmark", _fake_evaluate(calls))
    assert main(["evaluate"]) == 0
    assert [c[0] for c in calls] == list(ev.QUICK_BENCHMARKS)
    assert all(c[1] == ev.QUICK_METHODS and c[2] == ev.QUICK_SEEDS for c in calls)
    out, err = capsys.readouterr()
    assert out.startswith("Spearman rho") and "validation accuracy" in out
    assert "100 labelled" in out and "10 splits" in out and "±" not in out
    for method in ev.QUICK_METHODS:  # every column explained in the legend
        assert f"  {method}  " in out.split("Methods:")[1]
    best = out.split("Best method per benchmark")[1]
    assert all(f"{b}: ranker-all+graph" in best for b in ev.QUICK_BENCHMARKS)
    assert "Took " in out
    # stderr is not a terminal here: one progress line per finished benchmark, one note line
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert len(progress) == len(ev.QUICK_BENCHMARKS) and progress[0].startswith("[1/4] nb201")
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == len({n.split(":")[1] for n in notes}) and "-v for details" in notes[0]


def test_evaluate_full_is_every_table_method_and_30_splits(capsys, monkeypatch):
    import libranas.evaluation as ev
    from libranas.datasets import list_benchmarks

    calls = []
    monkeypatch.setattr(ev, "evaluate_benchmark", _fake_evaluate(calls))
    assert main(["evaluate", "--full", "-v"]) == 0
    assert [c[0] for c in calls] == list_benchmarks()
    assert all(c[1] == tuple(ev.METHODS) and c[2] == ev.FULL_SEEDS for c in calls)
    out, err = capsys.readouterr()
    assert "±" in out and "Kendall tau" in out  # --verbose: tau and the spreads
    assert "note: nb201-cifar10: missing or non-finite proxy values kept as NaN (epe_nas: 1" in err


def test_evaluate_help_states_the_full_time(capsys):
    assert main(["evaluate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--full" in text and "minutes" in text


# ---------------------------------------------------------------------------- data, messages


def test_export_batch_writes_an_npz_that_score_reads(tmp_path, capsys):
    from _data import require_data

    source = require_data("images/cifar10_960_uint8.npz")
    out = tmp_path / "cifar10_16_uint8.npz"
    assert main(["data", "export-batch", str(source), "-n", "16", "-o", str(out)]) == 0
    with np.load(out) as f, np.load(source) as g:
        assert f["x"].dtype == np.uint8 and f["x"].shape == (16, 3, 32, 32)
        # the images are the source's, with their labels
        first = np.flatnonzero((g["x"] == f["x"][0]).all(axis=(1, 2, 3)))[0]
        assert g["y"][first] == f["y"][0]
    assert main(["score", "5", "--proxies", "nwot", "--data", str(out), "--batch-size", "8"]) == 0
    assert "nwot" in capsys.readouterr().out
    assert main(["data", "export-batch", str(source), "-n", "5000", "-o", str(out)]) == 2
    assert "holds 960 images" in capsys.readouterr().err


def test_score_offline_dataset_name_says_what_works_from_the_shell(monkeypatch, capsys):
    import libranas.datasets.sources as sources

    def offline(name, root):
        raise OSError(f"could not download {name!r} into {str(root)!r} (URLError). Without a n")

    monkeypatch.setattr(sources, "_torchvision_dataset", offline)
    assert main(["score", "5", "--proxies", "nwot", "--data", "cifar10"]) == 2
    line = _one_line_error(capsys, "--data cifar10", "libranas data export-batch cifar10")
    assert "data=(x, y)" not in line and "--data an .npz" in line


def test_vit_space_that_does_not_fit_the_batch_names_the_options(tmp_path, capsys):
    from _data import require_data

    source = require_data("images/cifar100_960_uint8.npz")
    batch = tmp_path / "cifar100_8_uint8.npz"
    assert main(["data", "export-batch", str(source), "-n", "8", "-o", str(batch)]) == 0
    capsys.readouterr()
    argv = ["score", "--random", "1", "--space", "autoformer-tiny", "--proxies", "nwot"]
    assert main([*argv, "--data", str(batch), "--batch-size", "8"]) == 2
    _one_line_error(capsys, "--space-option img_size=32 --space-option num_classes=100")


def test_search_printout_ends_with_the_returned_architecture(capsys):
    argv = ["search", "--space", "nb201", "--budget", "120", "--labelled", "30", "--seed", "0"]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    best = out[0].removeprefix("best architecture: ")
    assert out[-1].startswith("returned") and best in out[-1]
