"""No import circle between libranas modules, counting imports made inside functions too.

A lazy (function-level) import hides a circle from Python but not from a reader; the
featurizer <-> proxies._vit_calibration circle was one. Spaces own their knowledge, so
nothing outside spaces/ (and datasets/, which loads tables) names a space.
"""

import ast
import re
from itertools import pairwise
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "libranas"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for t in targets:
                if t in modules and t != name:
                    graph[name].add(t)
    # a package's __init__ re-exports its modules; importing a module runs its package's
    # __init__ too, but that is not a dependency of the module on its siblings
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def _is_package_reexport(cycle: list[str]) -> bool:
    """pkg/__init__ importing pkg.mod while pkg.mod imports pkg (its own package API)."""
    return all(a.startswith(b + ".") or b.startswith(a + ".") for a, b in pairwise(cycle))


def test_no_import_circle_between_modules():
    cycles = [c for c in _cycles(_imports()) if not _is_package_reexport(c)]
    assert cycles == [], "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_space_name_branch_outside_spaces_and_datasets():
    pattern = re.compile(
        r"""(==|!=|\bin\b|startswith\()\s*\(?\s*["'](nb201|nb301|nb101|darts|autoformer|tnb101|pit)"""
    )
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(("spaces/", "datasets/")):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith(("#", ">>>")):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == []
