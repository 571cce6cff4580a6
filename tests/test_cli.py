import json

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
    assert "| tnb101-micro-jigsaw |" in text and "±" in text
    assert text == capsys.readouterr().out


def test_cli_errors_name_the_problem(capsys):
    assert main(["evaluate", "nb999"]) == 2
    assert "unknown benchmarks ['nb999']" in capsys.readouterr().err
    assert main(["evaluate", "nb301-cifar10", "--methods", "magic"]) == 2
    assert "unknown methods ['magic']" in capsys.readouterr().err


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
    bench = load_benchmark("nb201-cifar10")  # one architecture has no nwot value
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


def test_cli_score_to_stdout_without_data_for_size_proxies(capsys):
    assert main(["score", "5", "100", "--proxies", "params,flops"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "arch,params,flops" and len(out) == 3


def test_cli_score_errors_name_the_problem(capsys):
    assert main(["score", "--proxies", "params"]) == 2
    assert "no architectures" in capsys.readouterr().err
    assert main(["score", "5", "--proxies", "params,magic"]) == 2
    assert "unknown proxies ['magic']" in capsys.readouterr().err
    assert main(["score", "5", "--band", "top"]) == 2
    assert "--band must be" in capsys.readouterr().err
    assert main(["score", "5", "--space-option", "channels"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["score", "|bogus~0|", "--proxies", "params"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["score", "5", "--dataset", "cifar10"]) == 2
    assert "--dataset needs --data" in capsys.readouterr().err


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
