"""The package's shape, read from its imports (every `import`, at module level or inside a function): the core, lab,
then the studies and tools stand each on the layers below; no study or tool imports another; and no two packages
import each other in a cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import bn_mnist

ROOT = Path(bn_mnist.__file__).parent
# Each layer may import its own and those below it: the core nothing above it, lab the core, a study or a tool lab
# and the core. The front (the CLI, the API, `report`'s dispatch and the registry of studies) may import anything.
LAYERS = {"bn_mnist.core": 0, "bn_mnist.lab": 1, "bn_mnist.studies": 2, "bn_mnist.tools": 2}
FRONT = ("bn_mnist", "bn_mnist.cli", "bn_mnist.api", "bn_mnist.rebuild", "bn_mnist.studies")


def component(module: str) -> str | None:
    """A study or a tool (bn_mnist.studies.explain.report -> bn_mnist.studies.explain), else None."""
    parts = module.split(".")
    return (
        ".".join(parts[:3])
        if len(parts) >= 3 and ".".join(parts[:2]) in ("bn_mnist.studies", "bn_mnist.tools")
        else None
    )


def layer(module: str) -> int | None:
    return LAYERS.get(".".join(module.split(".")[:2]))


def crossings(edges: dict[str, set[str]]) -> list[str]:
    """Imports against the layers: upwards, or from one study or tool into another."""
    found = []
    for module, targets in edges.items():
        if module in FRONT or layer(module) is None:
            continue
        for target in targets:
            upwards = (layer(target) or 0) > (layer(module) or 0)
            across = component(target) is not None and component(target) != component(module)
            if upwards or across:
                found.append(f"{module} imports {target}")
    return found


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


def package_of(module: str) -> str:
    """bn_mnist.core.training.runner -> bn_mnist.core.training; a study or a tool is its own package."""
    return component(module) or ".".join(module.split(".")[:3] if layer(module) == 0 else module.split(".")[:2])


def test_every_module_sits_in_a_layer_or_the_front():
    assert not [module for module in graph() if module not in FRONT and layer(module) is None]


def test_no_layer_imports_upwards_and_no_study_or_tool_imports_another():
    assert not crossings(graph())


def test_the_rule_sees_the_crossings_it_forbids():
    """It fails on the import that pitfalls once made of diagnose's probe, on a tool importing a study, on the core
    importing lab, and passes a study's imports of its own modules, lab and the core."""
    assert crossings({"bn_mnist.studies.pitfalls.probes": {"bn_mnist.tools.diagnose.probe"}})
    assert crossings({"bn_mnist.tools.diagnose.checks": {"bn_mnist.studies.pitfalls.claims"}})
    assert crossings({"bn_mnist.studies.explain.claims": {"bn_mnist.studies.pitfalls.claims"}})
    assert crossings({"bn_mnist.core.training.runner": {"bn_mnist.lab.plan"}})
    own = {"bn_mnist.studies.explain.report", "bn_mnist.lab.text", "bn_mnist.core.records"}
    assert not crossings({"bn_mnist.studies.explain.claims": own})


def test_the_walk_sees_the_imports_it_checks():
    """The walk finds a study's imports of lab and the core, and the front's of every study and tool."""
    edges = graph()
    assert "bn_mnist.lab.study" in edges["bn_mnist.studies.explain.study"]
    assert "bn_mnist.lab.runs" in edges["bn_mnist.lab.pipeline"]
    reached = {component(target) for module in FRONT for target in edges.get(module, ())}
    assert reached >= {"bn_mnist.studies.explain", "bn_mnist.studies.pitfalls", "bn_mnist.studies.reproduce"}
    assert "bn_mnist.tools.diagnose" in reached


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
    "bn_mnist.lab.study",
    "bn_mnist.studies",
    "bn_mnist.studies.reproduce.claims",
    "bn_mnist.studies.reproduce.report",
    "bn_mnist.lab.verdicts",
    "bn_mnist.studies.explain.study",
    "bn_mnist.studies.pitfalls.claims",
    "bn_mnist.studies.pitfalls.experiments",
    # what a multi-run command's main process runs: its runs train in workers, and TensorFlow's import would cost
    # seconds before the first worker starts
    "bn_mnist.core.training.runner",
    "bn_mnist.core.training.worker",
    "bn_mnist.core.tensorboard.hparams",
    "bn_mnist.core.tensorboard.images",
    "bn_mnist.studies.compare",
    "bn_mnist.lab.pipeline",
    "bn_mnist.lab.meta",
    "bn_mnist.studies.reproduce.study",
    "bn_mnist.studies.pitfalls.study",
)


def test_pure_logic_imports_without_tensorflow():
    code = f"import sys, {', '.join(PURE_LOGIC)}; print(sorted({{'tensorflow', 'keras'}} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
