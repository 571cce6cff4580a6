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
    import importlib
    import inspect

    from libranas.featurizer import ProxyFeaturizer
    from libranas.ranker import ZCRanker
    from libranas.selector import LibraSelector

    # each lazy name is exactly the object its module defines, of the promised kind
    assert libranas.ProxyFeaturizer is ProxyFeaturizer
    assert libranas.LibraSelector is LibraSelector and libranas.ZCRanker is ZCRanker
    for name in libranas.__all__:
        if name == "__version__":
            continue
        value = getattr(libranas, name)
        module = importlib.import_module(libranas._LAZY[name])
        assert value is getattr(module, name), name
        assert inspect.isclass(value) or inspect.isfunction(value), (name, value)
        assert value.__name__ == name and value.__module__.startswith("libranas."), name
    assert sorted(dir(libranas)) == sorted(libranas.__all__)
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
