import subprocess
import sys

import pytest

import libranas


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return set(out)


def test_import_is_light():
    loaded = _modules_after("import libranas, libranas.cli, libranas.datasets, libranas.metrics")
    for heavy in ("torch", "xgboost", "optuna", "timm"):
        assert heavy not in loaded, heavy


def test_top_level_exports_resolve():
    for name in libranas.__all__:
        assert getattr(libranas, name) is not None
    assert libranas.__version__ == "0.1.0"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        libranas.Nope  # noqa: B018


def test_registries_list_what_the_package_promises():
    assert {
        "nb201",
        "darts",
        "nb301",
        "autoformer-tiny",
        "autoformer-small",
        "autoformer-base",
    } <= set(libranas.list_spaces())
    promised = {
        "lswag",
        "lswag_lambda",
        "lswag_psi",
        "swap",
        "reg_swap",
        "zico",
        "meco",
        "nwot",
        "synflow",
        "snip",
        "grad_norm",
        "grasp",
        "fisher",
        "jacov",
        "epe_nas",
        "plain",
        "l2_norm",
        "zen",
        "params",
        "flops",
    }
    assert promised <= set(libranas.list_proxies())
    with pytest.raises(ValueError, match="unknown search space 'nb999'"):
        libranas.get_space("nb999")
