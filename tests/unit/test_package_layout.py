"""The package's import structure: layers import downwards only, no import cycles, one door to _core.

The layers of xbarsim, bottom to top (STYLE.md §1): config → ops → tile → algorithms → nn/optim →
train → cli (``compat``, the bridges to other simulators' configs, sits beside ops: it reads config only). A module may import from its own subpackage or from a lower layer, never from a higher
one or from a sibling of its own layer (siblings are independent). Only ``xbarsim.ops`` imports the
native core ``xbarsim._core``. The test reads the source (every import statement, module level or
inside functions, except under ``if TYPE_CHECKING:``), so it also catches imports hidden in functions
to dodge a cycle.
"""
from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__import__("xbarsim").__file__).resolve().parent

#: Layer of each top-level part of the package (higher may import lower).
LAYERS = {
    "errors": 0, "config": 0,
    "ops": 1, "presets": 1, "data": 1, "devices": 1, "compat": 1,
    "tile": 2,
    "algorithms": 3,
    "nn": 4,
    "optim": 5, "models": 5,
    "train": 6, "cost": 6,
    "experiments": 7,
    "cli": 8,
}
#: Modules outside the layering: the package's own entry points and the native extension.
EXEMPT = {"__init__", "__main__", "_core"}


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = ["xbarsim", *rel.parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: pathlib.Path, modules: dict[str, pathlib.Path]) -> set[str]:
    """Every xbarsim module ``module`` imports (``from . import x`` resolves to the submodule x)."""
    is_package = path.name == "__init__.py"
    base = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("xbarsim"))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    target = base[:len(base) - child.level + 1]
                    target = ".".join(target + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if not target.startswith("xbarsim"):
                    continue
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in modules or sub.endswith("._core") else target)
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return found


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_every_part_of_the_package_has_a_layer():
    tops = {_top(m) for m in _modules()} - EXEMPT
    assert tops <= set(LAYERS), f"add {sorted(tops - set(LAYERS))} to LAYERS"


def test_imports_point_down_only(graph):
    upward = []
    for module, targets in graph.items():
        src = _top(module)
        if src in EXEMPT:
            continue
        for target in targets:
            dst = _top(target)
            if dst in EXEMPT or dst == src:
                continue
            if LAYERS[dst] >= LAYERS[src]:
                upward.append(f"{module} -> {target} (layer {LAYERS[src]} -> {LAYERS[dst]})")
    assert not upward, "imports that do not point down:\n" + "\n".join(sorted(upward))


def test_only_ops_imports_the_native_core(graph):
    users = sorted(m for m, targets in graph.items() if any(t.endswith("._core") for t in targets)
                   and _top(m) != "ops")
    assert users == [], f"modules outside xbarsim.ops importing _core: {users}"


def test_no_import_cycles(graph):
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def dfs(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                dfs(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            dfs(node, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_a_planted_upward_import(tmp_path):
    """The walker resolves relative imports: an upward import written as one is found."""
    path = tmp_path / "analog_tile.py"
    path.write_text("def f():\n    from ..algorithms import factory\n")
    modules = {"xbarsim.algorithms.factory": path}
    assert _imports("xbarsim.tile.analog_tile", path, modules) == {"xbarsim.algorithms.factory"}
