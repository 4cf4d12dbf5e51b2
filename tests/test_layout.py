"""The package's floors: no import circle in `rnnlab/`, lazy imports included, and every lazy import says why.

    python -m pytest tests/test_layout.py

Each module of `rnnlab/` is parsed with `ast` (nothing is imported). Every `import` and `from ... import ...`,
at module level or inside a function, is an edge from the module to what it names: `from rnnlab.data import text`
is an edge to `rnnlab.data.text` when `text` is a submodule, else to `rnnlab.data`, and importing a package is
importing its `__init__`. A circle in that graph is a pair of modules each of which needs the other; a lazy import
hides it at run time but not from a reader, so the graph must have none.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rnnlab"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module of the package `name` lives in (itself, or the nearest package above it), or None if outside."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import of a package module in `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # imports for annotations only never run
            if isinstance(child, ast.Import):
                for alias in child.names:
                    target = _resolve(alias.name, known)
                    if target:
                        found.append((target, child.lineno, lazy))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    target = full if full in known else _resolve(base, known)
                    if target:
                        found.append((target, child.lineno, lazy))
            visit(child, inner)

    visit(tree, False)
    return [(target, line, lazy) for target, line, lazy in found if target != name]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def graph() -> dict[str, set[str]]:
    """Module -> the modules it imports. An import of a submodule also runs its packages' `__init__` first
    (`import rnnlab.data.text` imports `rnnlab.data`), except from inside that package, whose `__init__` is already
    running by then; an import that names the package itself (`from rnnlab.data import DataError`) always counts."""
    known = modules()
    edges = {name: {target for target, _, _ in imports(name, path, known)} for name, path in known.items()}
    for name, targets in edges.items():
        for target in list(targets):
            parent = target.rpartition(".")[0]
            while parent:
                if not name.startswith(parent + "."):
                    targets.add(parent)
                parent = parent.rpartition(".")[0]
        targets.discard(name)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One circle `[a, b, ..., a]` in `edges`, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in sorted(edges.get(name, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(edges):
        if name not in state:
            cycle = visit(name)
            if cycle:
                return cycle
    return None


def test_the_package_has_no_import_circle():
    cycle = find_cycle(graph())
    assert cycle is None, "Import circle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_circle(tmp_path):
    # The check itself must fail when there is a circle, including one closed by a lazy import.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    source = tmp_path / "budget.py"
    source.write_text("import os\nfrom rnnlab.data import text\n\n\ndef f():\n    from rnnlab import engine\n")
    known = {"rnnlab.budget": source, "rnnlab.data": source, "rnnlab.data.text": source, "rnnlab.engine": source}
    assert imports("rnnlab.budget", source, known) == [("rnnlab.data.text", 2, False), ("rnnlab.engine", 6, True)]


def test_every_lazy_import_of_the_package_says_why():
    known = modules()
    silent = []
    for name, path in known.items():
        lines = path.read_text().splitlines()
        for target, line, lazy in imports(name, path, known):
            if not lazy:
                continue
            # The reason may head a run of imports: look above the run, and along it.
            first = line - 1
            while first > 0 and lines[first - 1].strip().startswith(("from ", "import ")):
                first -= 1
            run = lines[first:line]  # the import's own line last
            before = lines[first - 1] if first > 0 else ""
            if "#" not in run[-1] and not before.strip().startswith("#"):
                silent.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not silent, "Lazy imports without a reason (start-up time) in a comment:\n" + "\n".join(silent)


def test_the_readme_lists_every_setting_as_the_settings_module_describes_it():
    # The variable table under "Serving a class" is the settings module, in its order and in its words.
    from rnnlab import settings

    readme = (PACKAGE.parent / "README.md").read_text()
    table = readme[readme.index("| variable | what it sets | default |"):].split("\n\n", 1)[0]
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    listed = [row[0].strip("| `") for row in rows]
    described = settings.describe()
    assert listed == [variable for variable, _, _ in described], (
        "The README's variable table must list every field of rnnlab/settings.py, in its order; add or move a row.")
    for row, (variable, meaning, _) in zip(rows, described):
        assert row[1].replace("`", "").startswith(meaning), f"{variable}: the README should say {meaning!r}"
