"""A missing optional dependency is one line that names the extra: no traceback, and for the
command line exit status 2. Each case runs in a fresh interpreter where the module cannot be
imported (a meta-path finder refuses it, as if it were not installed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BLOCK = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _NotInstalled())
"""


def _run(blocked: set[str], code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = BLOCK.format(blocked=sorted(blocked)) + textwrap.dedent(code)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env
    )


def _cli(blocked: set[str], argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    code = f"from libranas.cli import main\nsys.exit(main({argv!r}))\n"
    return _run(blocked, code, tmp_path)


TORCH = {"torch", "torchvision", "timm"}


@pytest.mark.parametrize(
    ("blocked", "argv", "extra"),
    [
        (TORCH, ["list", "proxies"], "torch"),
        (TORCH, ["score", "1462", "--proxies", "params"], "torch"),
        (TORCH, ["score", "1462", "5374", "--proxies", "params,flops"], "torch"),
        (TORCH, ["data", "export-batch", "cifar10", "-o", "b.npz"], "torch"),
        ({"xgboost"}, ["evaluate", "nb201-cifar10", "--seeds", "1"], "xgboost"),
        (
            {"optuna"},
            ["search", "--space", "nb201", "--method", "tpe", "--budget", "200"],
            "search",
        ),
    ],
)
def test_cli_names_the_extra_in_one_line_exit_2(blocked, argv, extra, tmp_path):
    run = _cli(blocked, argv, tmp_path)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert f'pip install "libranas[{extra}]"' in lines[0] and "Traceback" not in run.stderr
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("blocked", "code", "extra"),
    [
        (
            TORCH,
            "from libranas import ProxyFeaturizer\nProxyFeaturizer('nb201').fit(None)",
            "torch",
        ),
        (
            {"xgboost"},
            "import numpy as np\nfrom libranas import ZCRanker\n"
            "ZCRanker('xgboost').fit(np.random.rand(20, 2), np.random.rand(20))",
            "xgboost",
        ),
        (
            {"optuna"},
            "from libranas.search.optuna_search import _import_optuna\n_import_optuna()",
            "search",
        ),
    ],
)
def test_entry_points_raise_one_line_naming_the_extra(blocked, code, extra, tmp_path):
    wrapped = (
        "from libranas._optional import MissingExtraError\n"
        f"try:\n{textwrap.indent(code, '    ')}\n"
        "except MissingExtraError as exc:\n    print(exc)\n    sys.exit(3)\n"
    )
    run = _run(blocked, wrapped, tmp_path)
    assert run.returncode == 3, run.stderr
    line = run.stdout.strip()
    assert "\n" not in line and f'pip install "libranas[{extra}]"' in line


def test_core_works_without_any_extra(tmp_path):
    """Tables, the selector and the training-free rankers need none of the extras."""
    code = """
    import warnings
    warnings.simplefilter("ignore")
    from libranas import LibraSelector, ZCRanker, load_benchmark
    from libranas.metrics import spearman
    bench = load_benchmark("nb201-cifar10")
    sel = LibraSelector().fit(bench.X[:100], bench.y[:100])
    rank = ZCRanker("rank-mean").fit(sel.transform(bench.X[:100]), bench.y[:100])
    print(round(spearman(bench.y[100:], rank.predict(sel.transform(bench.X[100:]))), 2) > 0.5)
    """
    run = _run(TORCH | {"xgboost", "optuna", "dask", "ray"}, code, tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == "True", run.stderr


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        ("from libranas import ProxyFeaturizer\nProxyFeaturizer('nb201').fit(None)", "torch"),
        ("from libranas.spaces import get_space\nget_space('timm', num_classes=10)", "torch"),
        (
            "from libranas.spaces import get_space\ns = get_space('nb201')\n"
            "s.build(s.sample(1, random_state=0)[0])",
            "torch",
        ),
    ],
)
def test_an_uncaught_missing_extra_ends_a_script_in_one_line_exit_2(code, extra, tmp_path):
    """`python -c '...'` as a user writes it: no traceback, one line, exit status 2."""
    run = _run(TORCH, "print('before', flush=True)\n" + code, tmp_path)
    assert run.returncode == 2, run.stderr
    assert run.stdout == "before\n"  # what was printed before stays printed
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0].startswith("error: ") and f'pip install "libranas[{extra}]"' in lines[0]


def test_other_uncaught_errors_keep_their_traceback(tmp_path):
    code = (
        "from libranas._optional import MissingExtraError\n"
        "MissingExtraError('created, not raised')\n"  # installs the hook
        "raise ValueError('a bug')\n"
    )
    run = _run(set(), code, tmp_path)
    assert run.returncode == 1 and "Traceback" in run.stderr and "ValueError: a bug" in run.stderr
