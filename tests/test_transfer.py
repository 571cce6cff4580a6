"""TransferRanker and the leave-one-space-out evaluation (libranas.transfer)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from libranas.metrics import spearman
from libranas.transfer import (
    TransferRanker,
    evaluate_transfer,
    leave_one_space_out,
    rank_within,
    transfer_predictions,
)


def synthetic_spaces(seed: int = 0) -> dict[str, tuple[pd.DataFrame, np.ndarray, str]]:
    """Three spaces on different scales; in each, accuracy rises with column "a" and falls
    with "b" -- a within-space rule a transfer model can learn from ranks alone."""
    rng = np.random.default_rng(seed)
    tables = {}
    for k, (name, scale) in enumerate([("s1", 1.0), ("s2", 1e3), ("s3", 1e-2)]):
        n = 80 + 10 * k
        X = pd.DataFrame(rng.normal(size=(n, 3)) * scale + 5 * scale, columns=["a", "b", "c"])
        y = X["a"] / scale - 0.5 * X["b"] / scale + 0.2 * rng.normal(size=n)
        tables[name] = (X, y.to_numpy(), name)
    return tables


def test_rank_within_groups_constants_and_nan():
    out = rank_within([[1.0, 5.0], [3.0, 5.0], [2.0, np.nan], [7.0, 1.0], [9.0, 2.0]],
                      groups=[0, 0, 0, 1, 1])  # fmt: skip
    np.testing.assert_allclose(out[:3, 0], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(out[:3, 1], [0.5, 0.5, 0.5])  # constant among finite, NaN
    np.testing.assert_allclose(out[3:, 1], [0.0, 1.0])
    with pytest.raises(ValueError, match="groups has 2 entries for 5 rows"):
        rank_within(np.zeros((5, 1)), groups=[0, 1])


def test_transfer_ranks_an_unseen_space_on_another_scale():
    tables = synthetic_spaces()
    train = ["s1", "s2"]
    X = pd.concat([tables[n][0] for n in train])
    y = np.concatenate([tables[n][1] for n in train])
    groups = np.concatenate([[n] * len(tables[n][0]) for n in train])
    model = TransferRanker(random_state=0).fit(X, y, groups=groups)
    Xn, yn, _ = tables["s3"]
    assert spearman(yn, model.predict(Xn)) > 0.8
    # columns are matched by name, not position
    np.testing.assert_allclose(model.predict(Xn[["c", "b", "a"]]), model.predict(Xn))
    with pytest.raises(ValueError, match="lacks 1 fitted columns"):
        model.predict(Xn[["a", "b"]])


def test_transfer_ranker_api_and_errors():
    tables = synthetic_spaces()
    X, y, _ = tables["s1"]
    groups = np.repeat([0, 1], [40, len(X) - 40])
    model = TransferRanker(random_state=0)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(ValueError, match="needs groups"):
        model.fit(X, y)
    with pytest.raises(ValueError, match="at least 2 rows"):
        model.fit(X, y, groups=[0] * (len(X) - 1) + [1])
    fitted = model.fit(X, y, groups=groups)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))
    a = TransferRanker(random_state=0).fit(X, y, groups=groups).predict(X)
    np.testing.assert_array_equal(a, fitted.predict(X))  # deterministic


def test_leave_one_space_out_never_trains_on_the_held_out_space():
    tables = synthetic_spaces()
    # a second "task" of space s1: must not be in training when s1 is held out
    X1, y1, _ = tables["s1"]
    tables["s1-task2"] = (X1, -y1, "s1")
    res = leave_one_space_out(tables, k_values=(0, 10), n_splits=2, held_out=["s1", "s3"],
                              baselines={"s3": tables["s3"][0]["a"].to_numpy()})  # fmt: skip
    zero = res[res.k == 0].set_index(["held_out", "method"]).rho
    # trained on s2, s3 (+ not s1-task2, whose target is reversed): s1 ranked well
    assert zero[("s1", "transfer")] > 0.8
    assert ("s3", "baseline") in zero.index
    k10 = res[res.k == 10]
    assert set(k10.method) == {"within", "within+transfer"} and len(k10) == 2 * 2 * 2
    assert (k10.n_evaluated == len(X1) - 10).sum() == 4
    with pytest.raises(ValueError, match="other columns"):
        bad = dict(tables, s4=(tables["s3"][0][["a", "b"]], tables["s3"][1], "s4"))
        leave_one_space_out(bad, k_values=(0,))


def test_leave_one_space_out_own_columns_and_methods():
    tables = synthetic_spaces()
    X3 = tables["s3"][0]
    # a column only s3 has, which decides its target: only the "+own" methods can see it
    own = pd.DataFrame({"secret": tables["s3"][1]}, index=X3.index)
    res = leave_one_space_out(tables, k_values=(20,), n_splits=2, held_out=["s3"],
                              own_columns={"s3": own})  # fmt: skip
    k20 = res[res.k == 20].groupby("method").rho.mean()
    assert set(k20.index) == {"within", "within+transfer", "within+own", "within+own+transfer"}
    assert k20["within+own"] > k20["within"]
    only = leave_one_space_out(tables, k_values=(20,), n_splits=2, held_out=["s3"],
                               own_columns={"s3": own}, methods=["within+own"])  # fmt: skip
    assert set(only[only.k == 20].method) == {"within+own"}
    # the same split and seed give the same number whichever methods run
    np.testing.assert_allclose(
        only[only.k == 20].rho.to_numpy(),
        res[(res.k == 20) & (res.method == "within+own")].rho.to_numpy(),
    )
    with pytest.raises(ValueError, match="need own_columns"):
        leave_one_space_out(tables, k_values=(20,), n_splits=1, held_out=["s1"],
                            own_columns={"s3": own}, methods=["within+own"])  # fmt: skip
    with pytest.raises(ValueError, match="unknown methods"):
        leave_one_space_out(tables, k_values=(20,), methods=["magic"])
    with pytest.raises(ValueError, match="not among the tables"):
        leave_one_space_out(tables, k_values=(0,), held_out=["s9"])
    with pytest.raises(ValueError, match="leaves < 2"):
        leave_one_space_out(tables, k_values=(79,), held_out=["s1"])


def test_leave_one_space_out_checks_every_held_out_table_before_any_work():
    tables = synthetic_spaces()
    own = pd.DataFrame({"secret": tables["s3"][1]}, index=tables["s3"][0].index)
    seen = []
    bad_calls = [
        # s3 has its own columns, s1 (second) does not: refused before s3 is ranked
        dict(held_out=["s3", "s1"], own_columns={"s3": own}, methods=["within+own"]),
        dict(held_out=["s3", "s9"]),  # an unknown second table
        dict(held_out=["s3", "s1"], k_values=(0, 79)),  # s1 has 80 architectures
        # a bad own_columns frame of the second table
        dict(held_out=["s3", "s1"], own_columns={"s1": own.iloc[:5]}),
    ]
    for kwargs in bad_calls:
        kwargs = {"k_values": (0, 20), "n_splits": 1, **kwargs}
        with pytest.raises(ValueError):
            leave_one_space_out(tables, progress=seen.append, **kwargs)
    assert seen == []


def test_leave_one_space_out_refuses_an_empty_repeated_or_string_held_out():
    # an empty list returned an empty frame (before the up-front plan: every table), a
    # repeated name was run once (before: twice), a string was read letter by letter
    tables = synthetic_spaces()
    for held_out, message in (([], "held_out is empty"), (["s1", "s1"], "repeats"),
                              ("s1", "list of table names")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            leave_one_space_out(tables, k_values=(0,), n_splits=1, held_out=held_out)


def test_leave_one_space_out_refuses_own_columns_of_no_table():
    # a misspelled key was ignored: "within+own" silently did not run
    tables = synthetic_spaces()
    own = {"S3": pd.DataFrame({"own": tables["s3"][1]}, index=tables["s3"][0].index)}
    with pytest.raises(ValueError, match=r"own_columns names \['S3'\], not among the tables"):
        leave_one_space_out(tables, k_values=(0, 10), n_splits=1, own_columns=own)


def test_leave_one_space_out_wide_fragmented_tables_raise_no_performance_warning():
    import warnings

    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    n, width = 40, 300
    tables = {}
    for name in ("s1", "s2", "s3"):
        values = rng.normal(size=(n, width))
        # one block per column, as a table joined column by column is
        X = pd.concat([pd.DataFrame({f"c{j}": values[:, j]}) for j in range(width)], axis=1)
        tables[name] = (X, values[:, 0] + 0.1 * rng.normal(size=n), name)
    X3 = tables["s3"][0]
    with warnings.catch_warnings(record=True) as caught:  # such a table warns on an insert
        warnings.simplefilter("always")
        X3.assign(extra=0.0)
    if not any(issubclass(w.category, pd.errors.PerformanceWarning) for w in caught):
        pytest.skip("this pandas does not warn on a fragmented insert: nothing to guard")
    own = {"s3": pd.DataFrame({"own": rng.normal(size=n)}, index=X3.index)}
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        res = leave_one_space_out(tables, k_values=(0, 5), n_splits=1, held_out=["s3"],
                                  own_columns=own, columns=["c0", "c1"],
                                  estimator=Ridge(1.0))  # fmt: skip
    assert set(res.method) == {"transfer", "within", "within+transfer", "within+own",
                               "within+own+transfer"}  # fmt: skip


def test_leave_one_space_out_refuses_a_column_named_transfer_only_where_overwritten():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(1)
    tables = {}
    for name in ("s1", "s2"):
        X = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "transfer"])
        tables[name] = (X, X["a"].to_numpy() + 0.1 * rng.normal(size=30), name)
    kw = dict(n_splits=1, held_out=["s2"], estimator=Ridge(1.0))
    with pytest.raises(ValueError, match="the table of 's2' has a column named 'transfer'"):
        leave_one_space_out(tables, k_values=(5,), **kw)
    # nothing is overwritten: zero labels only, or no +transfer method
    assert set(leave_one_space_out(tables, k_values=(0,), **kw).method) == {"transfer"}
    res = leave_one_space_out(tables, k_values=(5,), methods=["within"], **kw)
    assert set(res.method) == {"transfer", "within"}
    # the same name among a held-out table's own columns
    clean = {n: (X.drop(columns="transfer"), y, sp) for n, (X, y, sp) in tables.items()}
    own = {"s2": pd.DataFrame({"transfer": rng.normal(size=30)})}
    with pytest.raises(ValueError, match="own_columns of 's2' has a column named 'transfer'"):
        leave_one_space_out(clean, k_values=(5,), own_columns=own, **kw)


def _two_tables(rng, columns=("a", "b")):
    tables = {}
    for name in ("s1", "s2"):
        X = pd.DataFrame(rng.normal(size=(30, len(columns))), columns=list(columns))
        tables[name] = (X, X.iloc[:, 0].to_numpy() + 0.1 * rng.normal(size=30), name)
    return tables


@pytest.mark.parametrize(
    ("own", "message"),
    [
        (pd.DataFrame({"own": np.zeros(29)}), r"own_columns\['s2'\] has 29 rows, table 's2' 30"),
        (pd.DataFrame({"a": np.zeros(30)}), r"own_columns\['s2'\] repeats columns .*\['a'\]"),
        (pd.DataFrame(np.zeros((30, 2)), columns=["x", "x"]), r"repeated column names \['x'\]"),
        (np.zeros((30, 1)), "expected a pandas DataFrame, got ndarray"),
    ],
)
def test_leave_one_space_out_refuses_bad_own_columns(own, message):
    from sklearn.linear_model import Ridge

    tables = _two_tables(np.random.default_rng(2))
    with pytest.raises((ValueError, TypeError), match=message):
        leave_one_space_out(tables, k_values=(5,), n_splits=1, held_out=["s2"],
                            own_columns={"s2": own}, estimator=Ridge(1.0))  # fmt: skip


def test_leave_one_space_out_refuses_non_string_column_names():
    tables = _two_tables(np.random.default_rng(3))
    for name, (X, y, space) in list(tables.items()):
        X = X.copy()
        X.columns = pd.MultiIndex.from_tuples([("p", c) for c in X.columns])
        tables[name] = (X, y, space)
    with pytest.raises(
        ValueError, match=r"table 's1': column names must be strings, got \[\('p', 'a'\)"
    ):
        leave_one_space_out(tables, k_values=(0,), n_splits=1)


def _proxy_columns_only(bench, proxies, network=True):
    """transfer_table without the network features (building 1,400 networks is no unit test)."""
    return bench.X[list(proxies)].astype(float).set_axis([f"proxy:{p}" for p in proxies], axis=1)


def test_cli_evaluate_transfer_tables_runs_leave_one_space_out(monkeypatch, capsys):
    pytest.importorskip("xgboost")
    from libranas.cli import main

    monkeypatch.setattr("libranas.transfer.transfer_table", _proxy_columns_only)
    argv = ["evaluate", "--transfer", "nb201-cifar10", "nb301-cifar10", "--k", "0,10",
            "--seeds", "2", "--format", "csv"]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    out = pd.read_csv(__import__("io").StringIO(captured.out))
    # never silent: what it does first, then one line per finished (table, k, method)
    assert "building every architecture's network" in captured.err
    assert "nb301-cifar10: k=0 transfer done" in captured.err
    assert "nb201-cifar10: k=10 within+transfer done" in captured.err
    assert set(out.held_out) == {"nb201-cifar10", "nb301-cifar10"}
    zero = out[out.k == 0]
    assert set(zero.method) == {"transfer"} and (zero.seed == -1).all()
    assert zero.n_evaluated.tolist() == [724, 725]  # all of the held-out table, no label
    k10 = out[out.k == 10]
    assert len(k10) == 2 * 2 * 2 and set(k10.seed) == {0, 1}
    assert main([*argv[:-2], "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert "| nb301-cifar10 | nb301 |" in text and "k=10 within+transfer" in text


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["nb201-cifar10", "nb201-cifar100"], "needs tables of two spaces at least"),
        (["nb201-cifar10", "nb301-cifar10:nb201-cifar10"], "not both"),
        (["nb201-cifar10", "nb999"], "unknown benchmarks ['nb999']"),
        (["nb201-cifar10", "nb201-cifar10", "nb301-cifar10"], "lists ['nb201-cifar10'] twice"),
        (["nb201-cifar10", "nb301-cifar10", "--k", "0,x"], "--k '0,x'"),
        (["nb201-cifar10", "nb301-cifar10", "--k", "10,-1"], "distinct integers >= 0"),
        (
            ["nb201-cifar10", "nb301-cifar10", "--k", "800"],
            "nb201-cifar10 has 724 architectures and k labelled ones must leave 2 to rank "
            "(k <= 722)",
        ),
        (["nb201-cifar10", "nb301-cifar10", "--k", "0,,10"], "an empty item"),
        (["nb201-cifar10", "nb301-cifar10", "--methods", "best-proxy"], "--methods does not"),
        (["nb201-cifar10:nb301-cifar10", "--k", "10"], "--k applies to leave-one-space-out"),
        (
            ["nb201-cifar10", "nb301-cifar10", "--transfer-columns", "ridge"],
            "invalid choice: 'ridge'",
        ),
        (
            ["nb201-cifar10:nb301-cifar10", "--transfer-columns", "all"],
            "--transfer-columns applies to leave-one-space-out",
        ),
    ],
)
def test_cli_evaluate_transfer_bad_input_is_one_line(capsys, argv, fragment):
    from libranas.cli import main

    assert main(["evaluate", "--transfer", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0], err


@pytest.mark.parametrize(
    ("option", "fragment"),
    [(["--k", "10"], "--k applies only to --transfer"),
     (["--transfer-columns", "all"], "--transfer-columns applies only to --transfer")],
)  # fmt: skip
def test_cli_evaluate_transfer_options_without_transfer_are_an_error(capsys, option, fragment):
    from libranas.cli import main

    assert main(["evaluate", "nb201-cifar10", *option]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]


def test_leave_one_space_out_takes_the_transfer_estimator():
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import Ridge

    tables = synthetic_spaces()
    ridge = leave_one_space_out(tables, k_values=(0,), held_out=["s1"], estimator=Ridge(1.0))
    assert ridge.set_index("method").rho["transfer"] > 0.8
    # a constant estimator ranks nothing: the parameter reaches the model
    const = leave_one_space_out(tables, k_values=(0,), held_out=["s1"], estimator=DummyRegressor())
    assert (
        np.isnan(const.set_index("method").rho["transfer"])
        or abs(const.set_index("method").rho["transfer"]) < 1e-12
    )


def test_transfer_predictions_trains_on_the_other_spaces_only():
    from sklearn.linear_model import Ridge

    tables = synthetic_spaces()
    X1, y1, _ = tables["s1"]
    tables["s1-task2"] = (X1, -y1, "s1")  # reversed target of s1's space: never in training
    pred = transfer_predictions(tables, "s1", estimator=Ridge(1.0))
    train = ["s2", "s3"]
    model = TransferRanker(estimator=Ridge(1.0), random_state=0).fit(
        pd.concat([tables[n][0] for n in train]),
        np.concatenate([tables[n][1] for n in train]),
        groups=np.repeat(train, [len(tables[n][1]) for n in train]),
    )
    np.testing.assert_array_equal(pred, model.predict(X1))
    assert spearman(y1, pred) > 0.8
    # columns restrict the model: "c" is noise in every space, "a" the signal
    only_c = transfer_predictions(tables, "s1", columns=["c"], estimator=Ridge(1.0))
    assert abs(spearman(y1, only_c)) < 0.3
    only_a = transfer_predictions(tables, "s1", columns=["a"], estimator=Ridge(1.0))
    assert spearman(y1, only_a) > 0.7
    # the same seed, the same prediction (the default boosting)
    np.testing.assert_array_equal(
        transfer_predictions(tables, "s3", random_state=3),
        transfer_predictions(tables, "s3", random_state=3),
    )


def test_transfer_predictions_errors():
    tables = synthetic_spaces()
    with pytest.raises(ValueError, match="'s9' is not among the tables"):
        transfer_predictions(tables, "s9")
    with pytest.raises(ValueError, match="no table of another space than 's1'"):
        transfer_predictions({"s1": tables["s1"]}, "s1")
    with pytest.raises(ValueError, match=r"unknown columns \['d'\]: table 's1' lacks 1"):
        transfer_predictions(tables, "s1", columns=["a", "d"])
    short = dict(tables, s2=(tables["s2"][0][["a", "b"]], tables["s2"][1], "s2"))
    with pytest.raises(ValueError, match="table 's2' lacks 1"):
        transfer_predictions(short, "s1")
    with pytest.raises(ValueError, match="got the string 'a'"):
        transfer_predictions(tables, "s1", columns="a")
    with pytest.raises(ValueError, match="columns is empty"):
        transfer_predictions(tables, "s1", columns=[])
    with pytest.raises(ValueError, match="lists \\['a'\\] twice"):
        transfer_predictions(tables, "s1", columns=["a", "a"])


def test_leave_one_space_out_transfer_columns():
    tables = synthetic_spaces()
    res = leave_one_space_out(tables, k_values=(0,), held_out=["s3"], columns=["c"])
    expected = transfer_predictions(tables, "s3", columns=["c"])
    assert res.set_index("method").rho["transfer"] == spearman(tables["s3"][1], expected)


def _proxies_and_noise(bench, proxies, network=True):
    """transfer_table with one label-free random column in place of the network features
    (building 1,449 networks is no unit test)."""
    X = _proxy_columns_only(bench, proxies)
    if not network:
        return X
    noise = np.random.default_rng(len(X)).normal(size=len(X))
    return X.assign(**{"network:noise": noise})


def test_evaluate_transfer_defaults_to_the_studys_chosen_transfer(monkeypatch):
    """Default: proxy columns, Ridge(alpha=1.0) (benchmarks/results/transfer_columns.md);
    columns="all": every column with the TransferRanker's boosting."""
    import warnings

    from sklearn.linear_model import Ridge

    from libranas import load_benchmark

    monkeypatch.setattr("libranas.transfer.transfer_table", _proxies_and_noise)
    names = ["nb201-cifar10", "nb301-cifar10"]
    tables = {}
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bench = load_benchmark(name, libranas_proxies=False)
        common = ["epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm",
                  "nwot", "params", "plain", "snip", "synflow"]  # fmt: skip
        tables[name] = (_proxies_and_noise(bench, common), bench.y.to_numpy(), bench.space)
    proxy_cols = [c for c in tables[names[0]][0].columns if c.startswith("proxy:")]
    assert len(proxy_cols) == 12 and "network:noise" not in proxy_cols

    def zero_label(res, name):
        return res[(res.held_out == name) & (res.method == "transfer")].rho.item()

    default = evaluate_transfer(names, k_values=(0,), n_splits=1)
    every = evaluate_transfer(names, k_values=(0,), n_splits=1, columns="all")
    for name in names:
        y = tables[name][1]
        chosen = transfer_predictions(tables, name, columns=proxy_cols, estimator=Ridge(1.0))
        assert zero_label(default, name) == spearman(y, chosen)
        boosted = transfer_predictions(tables, name)  # every column, the default boosting
        assert zero_label(every, name) == spearman(y, boosted)
        assert zero_label(every, name) != zero_label(default, name)
    # an explicit estimator replaces the default model of the columns
    ridge_all = evaluate_transfer(names, k_values=(0,), columns="all", estimator=Ridge(1.0))
    y = tables[names[1]][1]
    assert zero_label(ridge_all, names[1]) == spearman(
        y, transfer_predictions(tables, names[1], estimator=Ridge(1.0))
    )
    with pytest.raises(ValueError, match=r"columns must be one of \['proxies', 'all'\]"):
        evaluate_transfer(names, k_values=(0,), columns="network")


def test_cli_evaluate_transfer_columns_switches(monkeypatch, capsys):
    from libranas.cli import build_parser, main
    from libranas.transfer import TRANSFER_COLUMN_CHOICES

    monkeypatch.setattr("libranas.transfer.transfer_table", _proxies_and_noise)
    argv = ["evaluate", "--transfer", "nb201-cifar10", "nb301-cifar10", "--k", "0"]
    out = {}
    evaluate = build_parser()._subparsers._group_actions[0].choices["evaluate"]
    option = next(a for a in evaluate._actions if "--transfer-columns" in a.option_strings)
    assert tuple(option.choices) == TRANSFER_COLUMN_CHOICES  # the CLI offers the library's
    for choice in [None, *TRANSFER_COLUMN_CHOICES]:
        extra = [] if choice is None else ["--transfer-columns", choice]
        assert main([*argv, *extra, "--format", "csv"]) == 0
        text = capsys.readouterr().out
        out[choice] = pd.read_csv(__import__("io").StringIO(text)).set_index("held_out").rho
    names = ["nb201-cifar10", "nb301-cifar10"]
    expected = {
        c: evaluate_transfer(names, k_values=(0,), columns=c) for c in TRANSFER_COLUMN_CHOICES
    }
    for c in TRANSFER_COLUMN_CHOICES:
        np.testing.assert_allclose(out[c].to_numpy(), expected[c].rho.to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(out[None].to_numpy(), out["proxies"].to_numpy())  # default
    assert not np.allclose(out["all"].to_numpy(), out["proxies"].to_numpy())
    assert main([*argv, "--transfer-columns", "all"]) == 0
    assert "--transfer-columns all" in capsys.readouterr().out
    assert main(argv) == 0
    assert "Ridge(alpha=1.0); --transfer-columns proxies" in capsys.readouterr().out


def test_evaluate_transfer_builds_networks_only_when_used(monkeypatch, capsys):
    from libranas.cli import main

    calls = []

    def recording(bench, proxies, network=True):
        calls.append(network)
        return _proxies_and_noise(bench, proxies, network)

    monkeypatch.setattr("libranas.transfer.transfer_table", recording)
    names = ["nb201-cifar10", "nb301-cifar10"]
    evaluate_transfer(names, k_values=(0,))
    assert calls == [False, False]  # the proxies' transfer alone uses no network feature
    calls.clear()
    evaluate_transfer(names, k_values=(0,), columns="all")
    assert calls == [True, True]
    argv = ["evaluate", "--transfer", *names, "--k", "0", "--format", "csv"]
    assert main(argv) == 0
    assert "building every architecture's network" not in capsys.readouterr().err
    assert main([*argv, "--transfer-columns", "all"]) == 0
    assert "building every architecture's network" in capsys.readouterr().err
    pytest.importorskip("xgboost")  # ZCRanker's default, the within-space ranker at k > 0
    calls.clear()
    evaluate_transfer(names, k_values=(0, 10), n_splits=1)
    assert calls == [True, True]
