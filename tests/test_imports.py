"""Every module imports, and densekit's modules import each other without a cycle.

Imports inside functions count too: a lazy import placed to dodge a cycle still makes the
modules depend on each other, and the order they are first imported in then decides whether
the program starts.
"""

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import densekit


def all_modules() -> list[str]:
    names = ["densekit"]
    for info in pkgutil.walk_packages(densekit.__path__, prefix="densekit."):
        if not info.name.endswith(".__main__"):  # a program (python -m densekit.cli), not a module
            names.append(info.name)
    return sorted(names)


def source_of(module: str) -> Path:
    return Path(importlib.util.find_spec(module).origin)


def imported_modules(module: str, known: set[str]) -> set[str]:
    """The densekit modules that `module` names in an import statement, anywhere in its code.
    `from densekit.data import remote` names the module densekit.data.remote when there is one,
    else the package densekit.data (whose __init__ defines the name)."""
    path = source_of(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return edges_in(path.read_text(), module, package, known)


def edges_in(source: str, module: str, package: str, known: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = absolute(node, package)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {name for name in found if name in known and name != module}


def absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module
    parts = package.split(".")
    base = parts[:len(parts) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle as [a, b, …, a], or [] when the graph is a DAG (depth-first, three colours)."""
    state, stack = {}, []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    known = set(modules)
    return {m: imported_modules(m, known) for m in modules}


def test_every_module_imports():
    failures = {}
    for name in all_modules():
        try:
            importlib.import_module(name)
        except Exception as err:  # report every module that fails, not only the first
            failures[name] = f"{type(err).__name__}: {err}"
    assert not failures, "\n".join(f"{m}: {e}" for m, e in failures.items())


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


# Each layer imports only those below it: data and tasks know nothing of training or of runs,
# the run directory's format nothing of training, training nothing of reports or serving.
PACKAGES = ("data", "tasks", "nn", "rundir", "training", "session", "report", "estimators",
            "exporting", "serve")
NEVER_IMPORTS = {
    "data": {"tasks", "nn", "training", "rundir", "session", "report", "serve", "estimators", "exporting"},
    "tasks": {"nn", "training", "rundir", "session", "report", "serve", "estimators", "exporting"},
    "nn": {"training", "rundir", "session", "report", "serve", "estimators", "exporting"},
    "rundir": {"training", "session", "report", "serve", "estimators", "exporting"},
    "training": {"session", "report", "serve", "estimators", "exporting"},
    "report": {"training", "session", "serve", "estimators", "exporting"},
}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in PACKAGES else "root"


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} -> {t}" for m, targets in graph.items() for t in targets
                  if package_of(t) in NEVER_IMPORTS.get(package_of(m), set()))


def test_each_package_imports_only_the_layers_below_it():
    assert layer_violations(import_graph()) == []


def test_the_layer_check_sees_a_module_reaching_up():
    graph = {"densekit.data.files": {"densekit.rundir.claim"}, "densekit.session.train": {"densekit.data"}}
    assert layer_violations(graph) == ["densekit.data.files -> densekit.rundir.claim"]


def test_the_data_package_has_no_import_cycle():
    graph = import_graph()
    data = {m: {t for t in targets if t.startswith("densekit.data")}
            for m, targets in graph.items() if m.startswith("densekit.data")}
    cycle = find_cycle(data)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_the_data_package_imports_its_own_modules_at_the_top_only():
    """An import of a densekit module inside a function is how a cycle is usually hidden."""
    lazy = {m: densekit_imports_in_functions(source_of(m).read_text())
            for m in all_modules() if m.startswith("densekit.data")}
    assert not {m: found for m, found in lazy.items() if found}


def densekit_imports_in_functions(source: str) -> list[str]:
    found = []
    for function in ast.walk(ast.parse(source)):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (node.level or node.module.startswith("densekit")):
                    found.append(f"{function.name}: from {'.' * node.level}{node.module or ''}")
                elif isinstance(node, ast.Import):
                    found += [f"{function.name}: import {a.name}" for a in node.names
                              if a.name.startswith("densekit")]
    return found


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_dag():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_imports_inside_functions_relative_ones_and_submodules_named_by_from_are_edges():
    known = {"densekit.data", "densekit.data.remote", "densekit.data.named", "densekit.errors"}
    source = ("import densekit.errors\n"
              "def load():\n"
              "    from densekit.data import remote, load_source\n"
              "    from . import named\n")
    assert edges_in(source, "densekit.data.files", "densekit.data", known) == {
        "densekit.errors", "densekit.data.remote", "densekit.data", "densekit.data.named"}


def test_imports_in_functions_are_found_and_top_level_ones_are_not():
    source = ("from densekit.errors import DensekitError\n"
              "def load():\n"
              "    import numpy\n"
              "    from densekit.data import remote\n")
    assert densekit_imports_in_functions(source) == ["load: from densekit.data"]
