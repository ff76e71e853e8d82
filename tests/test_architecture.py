"""The package's shape, read from its imports (every `import`, at module level or inside a function): the three
multi-run commands stand on the shared layer and never import each other, and no two packages import each other
in a cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import bn_mnist

ROOT = Path(bn_mnist.__file__).parent
COMMANDS = (
    "bn_mnist.studies.compare",
    "bn_mnist.studies.reproduce",
    "bn_mnist.studies.explain",
    "bn_mnist.studies.pitfalls",
)
FRONT = ("bn_mnist.cli", "bn_mnist.api", "bn_mnist.rebuild", "bn_mnist")  # the command line, the Python API and
# the dispatch of `report` may import every command


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every bn_mnist module a file imports ("from bn_mnist.x import y" counts as bn_mnist.x.y when that is a
    module, else as bn_mnist.x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("bn_mnist")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bn_mnist"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (ROOT.parent / candidate.replace(".", "/")).with_suffix(".py").is_file() or (
                    ROOT.parent / candidate.replace(".", "/")
                ).is_dir()
                found.add(candidate if is_module else node.module)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(path): imported(path) for path in ROOT.rglob("*.py")}


def command_of(module: str) -> str | None:
    return next((c for c in COMMANDS if module == c or module.startswith(c + ".")), None)


def package_of(module: str) -> str:
    """bn_mnist.core.training.runner -> bn_mnist.core.training; a top-level module is its own package."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_no_command_imports_another():
    crossings = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        for target in targets
        if module not in FRONT and command_of(target) and command_of(module) != command_of(target)
    ]
    assert not crossings


def test_the_walk_sees_the_imports_it_checks():
    """The rule above can fail: the walk finds a command's own imports of the shared layer and the CLI's of each
    command."""
    edges = graph()
    assert "bn_mnist.lab.runs" in edges["bn_mnist.studies.explain.explain"]
    assert {command_of(target) for target in edges["bn_mnist.rebuild"]} >= set(COMMANDS)


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle in a directed graph, as its nodes, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_cycle_between_packages():
    packages: dict[str, set[str]] = {}
    for module, targets in graph().items():
        if module == "bn_mnist":
            continue
        source = package_of(module)
        packages.setdefault(source, set()).update(
            package_of(t) for t in targets if package_of(t) not in (source, "bn_mnist")
        )
    assert cycle(packages) is None, " -> ".join(cycle(packages) or [])


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


PURE_LOGIC = (  # the claims, rules, plans, records and reports: read and tested without TensorFlow
    "bn_mnist.core.config",
    "bn_mnist.core.records",
    "bn_mnist.core.runfiles",
    "bn_mnist.lab.stats",
    "bn_mnist.lab.plan",
    "bn_mnist.studies.reproduce.claims",
    "bn_mnist.studies.reproduce.report",
    "bn_mnist.studies.explain.claims",
    "bn_mnist.studies.explain.report",
    "bn_mnist.studies.explain.studies",
)


def test_pure_logic_imports_without_tensorflow():
    code = f"import sys, {', '.join(PURE_LOGIC)}; print(sorted({{'tensorflow', 'keras'}} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
