import gzip
import json
import math

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
        b = load_benchmark(name)
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
    b = load_benchmark("nb201-cifar100")
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
        b = load_benchmark("nb201-cifar10")
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
    with pytest.raises(ValueError, match=r"proxy 'nwot' of architecture '\(1, 1, 2, 3, 4, 0\)' "
                       r"is not a number"):
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
