"""The documentation's code and API listings stay in sync with the package.

The Sphinx build itself runs in CI (``python -m sphinx -b html -W --keep-going docs
docs/_build/html``); these fast checks catch the usual ways docs rot without building them.
"""

from __future__ import annotations

import importlib
import re
import warnings
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _code_blocks(rst: Path) -> dict[str, str]:
    """``{section title: first python code block under it}`` of one reST page."""
    text = rst.read_text(encoding="utf-8")
    blocks: dict[str, str] = {}
    title = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and re.fullmatch(r"[-=~*]{3,}", lines[i + 1]) and line.strip():
            title = line.strip()
        if line.strip() == ".. code-block:: python":
            body = []
            i += 2  # skip the blank line after the directive
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("   ")):
                body.append(lines[i][3:])
                i += 1
            blocks.setdefault(title, "\n".join(body).strip() + "\n")
            continue
        i += 1
    return blocks


def test_getting_started_example_runs_and_ranks() -> None:
    code = _code_blocks(DOCS / "getting_started.rst")["A first ranking in ten lines"]
    assert len(code.strip().splitlines()) <= 12
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the documented NonFiniteValuesWarning
        exec(compile(code.replace("print(", "_ = ("), "getting_started", "exec"), namespace)
    labelled = namespace["labelled"]
    assert labelled.sum() == 100
    selected = namespace["pipe"]["select"].selected_
    assert 1 <= len(selected) <= 3
    assert set(selected) <= set(namespace["bench"].X.columns)
    rho = namespace["spearman"](namespace["bench"].y[~labelled], namespace["scores"])
    assert rho > 0.7  # the page promises a useful ranking of the held-out architectures


def _api_names() -> list[str]:
    """Every dotted name the API pages hand to autodoc/autosummary."""
    names = []
    for rst in sorted((DOCS / "api").glob("*.rst")):
        module = None
        for line in rst.read_text(encoding="utf-8").splitlines():
            m = re.match(r"\.\. (?:currentmodule|automodule):: (\S+)", line)
            if m:
                module = m.group(1)
                names.append(module)
                continue
            m = re.match(r"\.\. auto(?:class|function|data):: (\S+)", line)
            if m:
                target = m.group(1)
                names.append(target if "." in target else f"{module}.{target}")
                continue
            m = re.match(r"   (\w+)$", line)
            if m and module is not None:
                names.append(f"{module}.{m.group(1)}")
    return names


@pytest.mark.parametrize("dotted", sorted(set(_api_names())))
def test_api_pages_name_existing_objects(dotted: str) -> None:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)  # AttributeError names the stale entry
        return
    pytest.fail(f"{dotted} is not importable")


def test_benchmark_and_cli_names_in_docs_exist() -> None:
    from libranas.datasets import list_benchmarks
    from libranas.evaluation import METHODS

    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.rst"))
    for name in set(re.findall(r'load_benchmark\("([^"]+)"\)', text)):
        assert name in list_benchmarks(), name
    for method in ("best-proxy", "libra+rank-mean", "libra+xgboost", "xgboost-all"):
        assert method in METHODS and method in text
