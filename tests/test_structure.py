"""The package's structure, read from its source: no module imports another module's private
name, no import cycle anywhere (deferred imports included), and every lab module and subpackage
states its public face (`__all__`, each name defined)."""

import ast
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mnist1d_jax"
TESTS = ROOT / "tests"


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def type_checking_only(tree: ast.Module) -> set:
    """The ids of the nodes under `if TYPE_CHECKING:` (imports for annotations, never run)."""
    hidden = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(child) for child in ast.walk(node))
    return hidden


def imports(path: pathlib.Path, name: str | None):
    """(target module, imported name or None, line) for every import run in `path`, at module
    level or inside functions; relative imports resolved from `name` (None: a test file)."""
    tree = ast.parse(path.read_text())
    hidden = type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package(name) else name.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                yield module, alias.name, node.lineno


def private_uses(path: pathlib.Path, name: str | None) -> list:
    """Where `path` takes a private (`_x`, not dunder) name from a module of this package: by
    `from M import _x`, or as `m._x` of a module `m` it imported."""
    found, modules = [], {}
    for module, imported, line in imports(path, name):
        if not module.startswith("mnist1d_jax"):
            continue
        if imported is None:
            modules[module.split(".")[0]] = module
        elif f"{module}.{imported}" in MODULES:
            modules[imported] = f"{module}.{imported}"
        elif imported.startswith("_") and not imported.startswith("__"):
            found.append(f"{path.name}:{line}: from {module} import {imported}")
        else:
            modules[imported] = module
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                and node.value.id in modules):
            found.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_or_test_uses_another_modules_private_name():
    found = [use for name, path in MODULES.items() for use in private_uses(path, name)]
    found += [use for path in sorted(TESTS.rglob("*.py")) for use in private_uses(path, None)]
    assert found == []


def test_the_checker_sees_a_private_import(tmp_path):
    """The check above can fail: a file taking a private name both ways is caught."""
    path = tmp_path / "probe.py"
    path.write_text("from mnist1d_jax.lab.training import loop\n"
                    "from mnist1d_jax.dataset import _generate\n"
                    "loop._check()\n")
    assert private_uses(path, None) == ["probe.py:2: from mnist1d_jax.dataset import _generate",
                                        "probe.py:3: loop._check"]


def import_graph() -> dict:
    """module -> the modules of this package it imports (a package's name stands for its
    `__init__`; `from P import m` of a submodule m is an edge to P.m)."""
    graph = {}
    for name, path in MODULES.items():
        edges = set()
        for module, imported, _ in imports(path, name):
            target = f"{module}.{imported}" if f"{module}.{imported}" in MODULES else module
            if target in MODULES and target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict) -> list:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_anywhere_in_the_package():
    assert cycles(import_graph()) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


LAB = sorted(name for name in MODULES if name.startswith("mnist1d_jax.lab.")
             and name != "mnist1d_jax.lab")


@pytest.mark.parametrize("name", LAB)
def test_every_lab_module_states_its_public_names(name):
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), list), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == [] and len(set(module.__all__)) == len(module.__all__)
    assert all(not n.startswith("_") for n in module.__all__)
