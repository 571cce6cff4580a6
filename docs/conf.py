"""Sphinx configuration of the libranas documentation.

Build (from the repository root)::

    .venv/bin/python -m sphinx -b html -W --keep-going docs docs/_build/html
"""

from __future__ import annotations

import os
import re
import sys

# document the working tree, also when the package is not installed
sys.path.insert(0, os.path.abspath(".."))

import libranas  # noqa: E402

project = "libranas"
author = "the libranas developers"
copyright = "2026, the libranas developers"
version = release = libranas.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]

# ---------------------------------------------------------------------------------------
# The notebooks of notebooks/ (executed in CI by ``pytest --nbmake notebooks``) appear as
# pages under docs/examples/, copied there at every build (docs/examples/ is not tracked).
# A notebook stored without outputs is executed by myst-nb during the build ("auto"); one
# stored with its outputs says so in its metadata ({"mystnb": {"execution_mode": "off"}})
# and is shown as stored.
# ---------------------------------------------------------------------------------------
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

_DOCS = Path(__file__).resolve().parent
_EXAMPLES = _DOCS / "examples"
_EXAMPLES.mkdir(exist_ok=True)
for _nb in sorted((_DOCS.parent / "notebooks").glob("*.ipynb")):
    _copy = _EXAMPLES / _nb.name
    if not _copy.exists() or _copy.read_bytes() != _nb.read_bytes():
        shutil.copyfile(_nb, _copy)
nb_execution_mode = "auto"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_merge_streams = True
source_suffix = {".rst": "restructuredtext", ".ipynb": "myst-nb"}

# API pages are written by hand (docs/api/*.rst) with autosummary tables that link to the
# autodoc entries on the same page, so the build writes no generated stub files.
autosummary_generate = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc docstrings already state the types

# numpydoc: do not list (and re-document) every inherited scikit-learn method of the
# estimators; their own methods are documented with :members:.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# results/*.md are the CLI's outputs, shown by literalinclude in results.rst, not pages
exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute", "results/*.md"]
templates_path: list[str] = []
html_static_path: list[str] = []
# furo: a wide content column whose code blocks scroll inside the page instead of overflowing
html_theme = "furo"
html_title = "libranas"
html_theme_options = {"navigation_with_keys": True}
default_role = "literal"


# ---------------------------------------------------------------------------------------
# Tables generated from the registries at build time, so the pages never go stale:
#   .. libranas-proxy-table::      every registered proxy (name, reads, description, paper)
#   .. libranas-benchmark-table::  every bundled benchmark (space, task, size, target)
# ---------------------------------------------------------------------------------------
from docutils import nodes  # noqa: E402
from docutils.statemachine import StringList  # noqa: E402
from sphinx.util.docutils import SphinxDirective  # noqa: E402


def _list_table(header: list[str], rows: list[list[str]], widths: str) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return lines


class _TableDirective(SphinxDirective):
    has_content = False

    def lines(self) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(StringList(self.lines(), source="<generated>"), 0, container)
        return container.children


class ProxyTable(_TableDirective):
    def lines(self) -> list[str]:
        from libranas.proxies import get_proxy, list_proxies

        rows = []
        for name in list_proxies():
            info = get_proxy(name)
            reads = ", ".join(f"``{r}``" for r in sorted(info.requires))
            desc = info.description.replace("*", r"\*").replace("|", r"\|") or " "
            rows.append([f"``{name}``", reads, desc, info.reference or " "])
        return _list_table(["proxy", "reads", "score", "reference"], rows, "12 18 40 30")


class BenchmarkTable(_TableDirective):
    def lines(self) -> list[str]:
        from libranas.datasets import describe_benchmark, list_benchmarks

        rows = []
        for name in list_benchmarks():
            d = describe_benchmark(name)
            rows.append([f"``{name}``", f"``{d['space']}``", d["task"], d["target"]])
        return _list_table(["name", "space", "task", "target (y)"], rows, "25 12 15 48")


_SHAPE = re.compile(r"shape \(([^()`]*)\)")
_TRAILING_UNDERSCORE = re.compile(r"\b([A-Za-z]\w*)_(?=[\s,)]|$)")


def _escape_shape_underscores(app, what, name, obj, options, lines):  # noqa: ANN001, ARG001
    """Escape names like ``n_features_in_`` inside ``shape (...)`` of docstrings.

    scikit-learn style docstrings write shapes as ``(n_features_in_,)``; in reST a word with
    a trailing underscore is a hyperlink reference, which the build would report as an
    unknown target. Runs after numpydoc has rendered the sections.
    """

    def escape(m: re.Match) -> str:
        return "shape (" + _TRAILING_UNDERSCORE.sub(r"\1\\_", m.group(1)) + ")"

    for i, line in enumerate(lines):
        lines[i] = _SHAPE.sub(escape, line)


def setup(app):  # noqa: ANN001, ANN201 - Sphinx extension hook
    app.connect("autodoc-process-docstring", _escape_shape_underscores, priority=600)
    app.add_directive("libranas-proxy-table", ProxyTable)
    app.add_directive("libranas-benchmark-table", BenchmarkTable)
    return {"parallel_read_safe": True}
