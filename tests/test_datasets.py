import gzip
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from libranas.datasets import (
    NonFiniteValuesWarning,
    bundled_path,
    describe_benchmark,
    list_benchmarks,
    list_tasks,
    load_benchmark,
    load_image_batch,
    load_nb201_table,
    load_zc_table,
)

pytestmark = pytest.mark.filterwarnings("ignore::libranas.datasets.NonFiniteValuesWarning")


def test_every_bundled_benchmark_loads_with_aligned_finite_targets():
    names = list_benchmarks()
    assert len(names) == 16  # NB201 x3, NB301, TNB101-micro x7, 9k x2, 15k x3
    for name in names:
        b = load_benchmark(name, libranas_proxies=False)
        assert len(b) > 700, name
        assert b.X.index.equals(b.y.index)
        assert b.X.dtypes.eq(np.float64).all()
        assert np.isfinite(b.y.to_numpy()).all()
        assert b.X.index.is_unique
        assert describe_benchmark(name)["source"]


def test_required_benchmarks_are_bundled():
    names = set(list_benchmarks())
    for task in [
        "class_scene",
        "class_object",
        "autoencoder",
        "normal",
        "jigsaw",
        "room_layout",
        "segmentsemantic",
    ]:
        assert f"tnb101-micro-{task}" in names
    assert {
        "nb201-cifar10",
        "nb201-cifar100",
        "nb201-imagenet16-120",
        "nb301-cifar10",
        "nb201-9k-cifar10",
        "nb201-9k-imagenet16-120",
        "nb201-15k-cifar10",
    } <= names
    assert load_benchmark("nb201-9k-cifar10").X.shape == (9445, 13)
    tnb = load_benchmark("tnb101-micro-jigsaw")
    # zen failed (NASLib's -1e8) on 20 of the 711 cells: missing there, a score elsewhere
    assert "zen" in tnb.X.columns and tnb.X["zen"].isna().sum() == 20


def test_bundled_table_equals_source_file(shared_data):
    src = shared_data / "nas-bench-suite-zero" / "zc_nasbench201.json"
    raw = json.loads(src.read_text())["cifar100"]
    b = load_benchmark("nb201-cifar100", libranas_proxies=False)
    assert list(b.X.index) == list(raw)
    arch = "(0, 2, 3, 2, 3, 1)"
    assert b.y[arch] == raw[arch]["val_accuracy"]
    assert b.X.loc[arch, "synflow"] == raw[arch]["synflow"]["score"]
    direct = load_zc_table(src, "cifar100")
    pd.testing.assert_frame_equal(direct.X, b.X)


def test_full_table_has_nb201_optima_and_hw_columns():
    full = load_nb201_table()
    assert len(full) == 15625
    assert full["cifar100_test_acc_200ep"].max() == pytest.approx(73.5133, abs=1e-3)
    assert full["imagenet16_test_acc_200ep"].max() == pytest.approx(47.3111, abs=1e-3)
    assert "hw_cifar10_edgegpu_latency" in full.columns
    assert not full.isna().any().any()
    b = load_benchmark("nb201-15k-cifar100")
    assert b.y.name == "cifar100_test_acc_200ep"
    # CIFAR-100 net = CIFAR-10 net with a 100-way classifier: 64*90 weights + 90 biases more
    diff = b.X["params"] - full.set_index("arch_str").loc[b.X.index, "params_M_cifar10"]
    np.testing.assert_allclose(diff.to_numpy(), 65 * 90 / 1e6)


def test_non_finite_values_stay_nan_and_are_reported():
    with pytest.warns(NonFiniteValuesWarning, match="nwot: 1 of 724") as rec:
        b = load_benchmark("nb201-cifar10", libranas_proxies=False)
    assert b.non_finite()["nwot"] == 1
    assert b.X["nwot"].isna().sum() == 1
    # NASLib's failure value is missing, not the worst score: one cell each for these two
    assert b.X[["epe_nas", "jacov"]].isna().sum().tolist() == [1, 1]
    assert (b.X.fillna(0) > -1e7).all().all()
    assert "2 of them were NASLib's failure value -1e8 (epe_nas: 1, jacov: 1)" in str(
        rec[0].message
    )


def test_failure_sentinel_is_read_as_missing_with_a_count(tmp_path):
    recs = {
        f"({i}, 1, 2, 3, 4, 0)": {
            "val_accuracy": float(i),
            "epe_nas": {"score": -1e8 if i < 3 else float(i)},
            "nwot": {"score": float(10 - i)},
        }
        for i in range(5)
    }
    p = _write(tmp_path, {"cifar10": recs})
    with pytest.warns(NonFiniteValuesWarning, match=r"3 of them were NASLib's failure value"):
        b = load_zc_table(p, "cifar10")
    assert b.X["epe_nas"].isna().tolist() == [True, True, True, False, False]
    assert b.X["nwot"].notna().all()


@pytest.mark.parametrize("bad", [True, False, "1.5", "high", [1.0], {"x": 1}])
def test_non_numeric_scores_name_the_architecture_and_proxy(tmp_path, bad):
    recs = {
        "(0, 1, 2, 3, 4, 0)": {"val_accuracy": 1.0, "nwot": {"score": 2.0}},
        "(1, 1, 2, 3, 4, 0)": {"val_accuracy": 2.0, "nwot": {"score": bad}},
    }
    p = _write(tmp_path, {"cifar10": recs})
    with pytest.raises(
        ValueError,
        match=r"proxy 'nwot' of architecture '\(1, 1, 2, 3, 4, 0\)' "
        r"is not a number",
    ):
        load_zc_table(p, "cifar10")


def _write(tmp_path, data, name="zc_nasbench201.json"):
    p = tmp_path / name
    p.write_text(json.dumps(data))
    return p


def test_old_layout_and_gzip(tmp_path):
    old = {
        "nasbench201": {
            "cifar10": {
                "(0, 1, 2, 3, 4, 0)": {"synflow": 1.5, "nwot": 3.0, "val_accuracy": 80.0},
                "(1, 1, 2, 3, 4, 0)": {"synflow": 2.5, "nwot": float("inf"), "val_accuracy": 70.0},
            }
        }
    }
    p = _write(tmp_path, old, "old.json")
    assert list_tasks(p) == ["cifar10"]
    with pytest.warns(NonFiniteValuesWarning):
        b = load_zc_table(p, "cifar10")
    assert b.space == "nb201"
    assert b.X.loc["(0, 1, 2, 3, 4, 0)", "synflow"] == 1.5
    assert math.isnan(b.X.loc["(1, 1, 2, 3, 4, 0)", "nwot"])
    gz = tmp_path / "old.json.gz"
    with gzip.open(gz, "wt") as fh:
        json.dump(old, fh)
    with pytest.warns(NonFiniteValuesWarning):
        assert load_zc_table(gz, "cifar10").X.equals(b.X)


def test_old_layout_with_several_spaces_needs_space_prefix(tmp_path):
    rec = {"a": {"p": 1.0, "val_accuracy": 1.0}, "b": {"p": 2.0, "val_accuracy": 2.0}}
    p = _write(tmp_path, {"nasbench201": {"t": rec}, "nasbench301": {"t": rec}}, "multi.json")
    assert list_tasks(p) == ["nasbench201/t", "nasbench301/t"]
    with pytest.raises(ValueError, match="several spaces"):
        load_zc_table(p, "t")
    assert load_zc_table(p, "nasbench301/t").space == "nb301"


def test_bad_files_and_names_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown layout"):
        load_zc_table(_write(tmp_path, {"cifar10": [1, 2, 3]}), "cifar10")
    with pytest.raises(ValueError, match="unknown layout"):
        load_zc_table(_write(tmp_path, {"cifar10": {"a": {"score": 1}}}), "cifar10")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON"):
        load_zc_table(bad, "cifar10")
    with pytest.raises(FileNotFoundError):
        load_zc_table(tmp_path / "missing.json", "cifar10")
    with pytest.raises(ValueError, match="unknown task 'cifar1000'.*cifar10"):
        load_zc_table(bundled_path("zc_nasbench201.json.gz"), "cifar1000")
    with pytest.raises(ValueError, match="unknown benchmark 'nb999'.*nb201-cifar10"):
        load_benchmark("nb999")
    nan_y = {
        "t": {
            "a": {"p": {"score": 1.0}, "val_accuracy": float("nan")},
            "b": {"p": {"score": 2.0}, "val_accuracy": 2.0},
        }
    }
    with pytest.raises(ValueError, match="val_accuracy of 'a'"):
        load_zc_table(_write(tmp_path, nan_y), "t")
    ragged = {
        "t": {
            "a": {"p": {"score": 1.0}, "val_accuracy": 1.0},
            "b": {"q": {"score": 2.0}, "val_accuracy": 2.0},
        }
    }
    with pytest.raises(ValueError, match="same proxies"):
        load_zc_table(_write(tmp_path, ragged), "t")
    text = {"t": {"a": {"p": {"score": "high"}, "val_accuracy": 1.0}}}
    with pytest.raises(ValueError, match="not a number"):
        load_zc_table(_write(tmp_path, text), "t")


def test_image_batch(shared_data, tmp_path):
    x, y = load_image_batch(shared_data / "images" / "cifar10_960_uint8.npz", n=16)
    assert x.shape == (16, 3, 32, 32) and x.dtype == np.float32 and y.dtype == np.int64
    assert abs(float(x.mean())) < 0.5
    x2, y2 = load_image_batch(shared_data / "images" / "cifar10_960_uint8.npz", n=16)
    np.testing.assert_array_equal(x, x2)
    in16 = shared_data / "images" / "imagenet16_960_uint8.npz"
    with pytest.raises(ValueError, match="fold_labels"):
        load_image_batch(in16, n=64, num_classes=120)
    _, yf = load_image_batch(in16, n=64, num_classes=120, fold_labels=True)
    assert yf.max() < 120
    with pytest.raises(ValueError, match="n=5000"):
        load_image_batch(in16, n=5000)
    odd = tmp_path / "pictures.npz"
    np.savez(odd, x=np.zeros((4, 3, 8, 8), np.uint8), y=np.zeros(4))
    with pytest.raises(ValueError, match="cannot tell the dataset"):
        load_image_batch(odd, n=2)


# -- libranas-computed proxy tables ------------------------------------------------------


def _lib_table(tmp_path, monkeypatch, name, rows, columns, meta=None):
    """Write a libranas table for ``name`` under tmp_path and point the loader at it.

    ``rows``: {arch: [cell text per column]} ('' = not computed, 'nan' = failed).
    """
    from libranas.datasets import bundled

    path = tmp_path / f"libranas_{name}.csv.gz"
    lines = [",".join(["arch", *columns])]
    lines += [",".join([f'"{a}"', *cells]) for a, cells in rows.items()]
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    (tmp_path / f"libranas_{name}.json").write_text(json.dumps(meta or {"rows": len(rows)}))
    real = bundled.libranas_table_path
    monkeypatch.setattr(
        bundled, "libranas_table_path", lambda n: path if n == name else tmp_path / f"none_{n}"
    )
    assert real(name).name == path.name
    return path


def test_partial_libranas_table_is_left_out_by_default_and_refused_on_request(
    tmp_path, monkeypatch
):
    from libranas.datasets import load_libranas_table

    keys = list(load_benchmark("nb201-cifar100", libranas_proxies=False).X.index)
    rows = {a: (["1.5", "2.5"] if i < 10 else ["", ""]) for i, a in enumerate(keys)}
    rows[keys[3]] = ["nan", "2.0"]  # computed, the proxy failed there
    _lib_table(tmp_path, monkeypatch, "nb201-cifar100", rows, ["zico", "meco"])
    t = load_libranas_table("nb201-cifar100")
    assert not t.complete
    assert t.n_computed().to_dict() == {"zico": 10, "meco": 10}
    assert t.computed.loc[keys[3], "zico"] and np.isnan(t.values.loc[keys[3], "zico"])
    assert "partial: zico 10 of 725, meco 10 of 725" in t.status()
    assert describe_benchmark("nb201-cifar100")["libranas_table"].startswith("partial")
    b = load_benchmark("nb201-cifar100")
    assert not any(c.startswith("lib_") for c in b.X.columns)
    with pytest.raises(ValueError, match=r"incomplete for \['meco', 'zico'\] .*'10 of 725'"):
        load_benchmark("nb201-cifar100", libranas_proxies=["zico", "meco"])
    with pytest.raises(ValueError, match=r"has no column \['swap'\]"):
        load_benchmark("nb201-cifar100", libranas_proxies=["swap"])
    with pytest.raises(ValueError, match=r"incomplete \(partial: zico 10 of 725"):
        load_benchmark("nb201-cifar100", libranas_proxies=True)
    with pytest.raises(ValueError, match="no libranas-computed proxy table .*'tnb101-micro-"):
        load_benchmark("tnb101-micro-jigsaw", libranas_proxies=True)
    with pytest.raises(ValueError, match="must be None, True or False"):
        load_benchmark("nb201-cifar100", libranas_proxies="yes")
    with pytest.raises(ValueError, match="more than once"):
        load_benchmark("nb201-cifar100", libranas_proxies=["zico", "zico"])


def test_complete_libranas_table_merges_aligned_by_architecture_key(tmp_path, monkeypatch):
    base = load_benchmark("nb201-cifar100", libranas_proxies=False)
    keys = list(base.X.index)
    shuffled = [keys[i] for i in np.random.default_rng(0).permutation(len(keys))]
    # the table's synflow column is the source's own, written in another row order
    rows = {a: [repr(float(base.X.loc[a, "synflow"])), str(k)] for k, a in enumerate(shuffled)}
    rows[shuffled[5]][1] = "nan"  # one failed value: kept as NaN and reported
    _lib_table(tmp_path, monkeypatch, "nb201-cifar100", rows, ["synflow", "order"])
    with pytest.warns(NonFiniteValuesWarning, match="lib_order: 1 of 725"):
        b = load_benchmark("nb201-cifar100")
    assert list(b.X.columns) == [*base.X.columns, "lib_synflow", "lib_order"]
    assert b.X.index.equals(base.X.index)
    pd.testing.assert_frame_equal(b.X[base.X.columns], base.X)  # source columns unchanged
    np.testing.assert_array_equal(b.X["lib_synflow"].to_numpy(), base.X["synflow"].to_numpy())
    assert b.X.loc[shuffled[7], "lib_order"] == 7
    assert np.isnan(b.X.loc[shuffled[5], "lib_order"])
    assert "lib_* columns" in b.source
    assert load_benchmark("nb201-cifar100", libranas_proxies=True).X.shape == (725, 14)
    only = load_benchmark("nb201-cifar100", libranas_proxies=["synflow"])
    assert list(only.X.columns) == [*base.X.columns, "lib_synflow"]
    assert load_benchmark("nb201-cifar100", libranas_proxies=False).X.shape == (725, 12)


def test_libranas_table_with_foreign_or_missing_rows_is_an_error(tmp_path, monkeypatch):
    keys = list(load_benchmark("nb201-cifar100", libranas_proxies=False).X.index)
    rows = {a: ["1.0"] for a in keys[1:]}
    rows["(9, 9, 9, 9, 9, 9)"] = ["1.0"]
    _lib_table(tmp_path, monkeypatch, "nb201-cifar100", rows, ["zico"])
    with pytest.raises(ValueError, match="does not align .* 1 benchmark architectures have no"):
        load_benchmark("nb201-cifar100")


@pytest.mark.parametrize(
    "name", ["nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120", "nb301-cifar10"]
)
def test_shipped_libranas_tables_are_consistent(name):
    from libranas.datasets import libranas_table_path, load_libranas_table

    # package data (pyproject's package-data), not external data: missing is a failure
    assert libranas_table_path(name).exists(), f"the libranas table of {name} is not shipped"
    t = load_libranas_table(name)
    base = load_benchmark(name, libranas_proxies=False)
    assert set(t.values.index) == set(base.X.index) and len(t.values) == len(base)
    meta = t.meta
    assert meta["rows"] == len(base) and meta["benchmark"] == name
    for p, info in meta["proxies"].items():
        assert info["computed"] == int(t.computed[p].sum()), p
        assert info["complete"] == bool(t.computed[p].all()), p
    assert meta["complete"] == t.complete
    for key in ("batch", "seed", "exported_with", "date"):
        assert meta[key], key
    # params needs no data: libranas' count equals NAS-Bench-Suite-Zero's column (NB301:
    # exactly; NB201: NB-Suite-Zero's value is in millions too)
    if "params" in t.values.columns:
        done = t.computed["params"]
        np.testing.assert_allclose(
            t.values.loc[done, "params"], base.X.loc[t.values.index[done], "params"], rtol=1e-6
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteValuesWarning)
        merged = load_benchmark(name)
    lib = [c for c in merged.X.columns if c.startswith("lib_")]
    assert lib == [f"lib_{p}" for p in t.values.columns if t.computed[p].all()]
    for column in lib:  # merged columns are the table's values, row for row
        np.testing.assert_array_equal(
            merged.X[column].to_numpy(), t.values.loc[merged.X.index, column[4:]].to_numpy()
        )


def test_shipped_nb201_table_matches_a_fresh_featurizer_run(shared_data):
    pytest.importorskip("torch")
    from libranas import ProxyFeaturizer
    from libranas.datasets import libranas_table_path, load_libranas_table

    assert libranas_table_path("nb201-cifar100").exists(), "nb201-cifar100's table not shipped"
    t = load_libranas_table("nb201-cifar100")
    proxies = ["nwot", "params", "snip", "jacov", "meco", "zico"]
    assert set(proxies) <= set(t.values.columns), sorted(set(proxies) - set(t.values.columns))
    done = t.computed[proxies].all(axis=1)
    archs = list(t.values.index[done][:2])
    assert len(archs) == 2, "fewer than 2 cells hold every proxy compared"
    x, y = load_image_batch(
        shared_data / "images" / "cifar100_960_uint8.npz", n=64, num_classes=100
    )
    feat = ProxyFeaturizer(
        "nb201",
        proxies=proxies,
        data=(x, y),
        num_classes=100,
        lswag_band=None,
        n_threads=1,
        device="cpu",
    )
    got = feat.fit().transform(archs)
    np.testing.assert_allclose(got, t.values.loc[archs, proxies].to_numpy(), rtol=1e-4)
