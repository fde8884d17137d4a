"""The package's layers and the import rule, checked from the source (an AST walk, no
import runs): docs/architecture.md shows the same table.

A module may import from its own layer and from any layer of a lower tier; an import
into a higher tier, or into another layer of the same tier (siblings such as the report
and the MMDetection adapter know nothing of each other), is a violation. Imports inside
functions count too: a lazy import is still a dependency. Separately, no set of modules
may import each other in a circle.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

# (layer, tier, module prefixes), lowest tier first. The longest matching prefix decides.
LAYERS = (
    ("core", 0, ("repro.core",)),
    ("rules", 1, ("repro.balancers", "repro.losses", "repro.table", "repro.data")),
    ("mmdet adapter", 2, ("repro.mmdet",)),
    ("launch", 2, ("repro.launch",)),
    ("report", 2, ("repro.report",)),
    ("job", 3, ("repro.job",)),
    ("sweep", 4, ("repro.sweep",)),
    ("commands", 5, ("repro.commands",)),
    ("entry points", 6, ("repro.__main__", "repro.command", "repro.plan", "repro.status",
                         "repro.enter", "repro.doctor", "repro.report.__main__", "hydra_plugins")),
)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a module of the project)
    line: int


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Every module of the given top-level packages under `root`, by dotted name."""
    out = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imports(known: dict[str, Path]) -> list[Import]:
    """The project-internal imports of every module, resolved to the modules they name."""
    out = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from pkg import mod` names the module pkg.mod where there is one
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                           for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in known:  # `import a.b.c`: the deepest module
                    target = target.rpartition(".")[0]
                if target and target != name and target.partition(".")[0] in _tops(known):
                    out.append(Import(name, target, node.lineno))
    return out


def _tops(known: dict[str, Path]) -> set[str]:
    return {n.partition(".")[0] for n in known}


def layer_of(module: str, layers=LAYERS) -> tuple[str, int] | None:
    best = None
    for layer, tier, prefixes in layers:
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > best[0]):
                best = (len(p), layer, tier)
    return None if best is None else best[1:]


def violations(found: list[Import], known: dict[str, Path], layers=LAYERS) -> list[str]:
    out = []
    for name in sorted(known):
        if name not in _tops(known) and layer_of(name, layers) is None:
            out.append(f"{name}: in no layer (add it to LAYERS in tests/import_layers.py "
                       f"and to docs/architecture.md)")
    for imp in found:
        src, dst = layer_of(imp.source, layers), layer_of(imp.target, layers)
        if src is None or dst is None or src[0] == dst[0] or dst[1] < src[1]:
            continue
        how = "a higher" if dst[1] > src[1] else "a sibling"
        out.append(f"{imp.source} (line {imp.line}, {src[0]}) imports {imp.target}, "
                   f"{how} layer ({dst[0]})")
    return out


def circles(found: list[Import]) -> list[list[str]]:
    """The import circles: every strongly connected set of two or more modules (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        graph.setdefault(imp.source, set()).add(imp.target)
        graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)
