"""The architecture as rules a test can break: the layer list in docs/architecture.md is the
import-linter contract in pyproject.toml, every module sits in a layer, the contracts hold, no
import cycle exists (in companion or in bench), and only companion/write/ writes files (apart
from a short, reasoned allowlist of writes into the state folder and the model cache).

Everything here reads the real files of the repository; nothing is mocked.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "companion"
ARCHITECTURE_DOC = ROOT / "docs" / "architecture.md"
LAYERS_MARKER = "<!-- layers: checked by tests/test_architecture.py -->"

# Children of companion that the layers contract may leave out (its `exhaustive_ignores`), and why.
NOT_IN_A_LAYER = {
    "__main__": "`python -m companion`: the package face, imported by nothing; it calls cli.fast",
}


def _importlinter_config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        config: dict[str, Any] = tomllib.load(fh)["tool"]["importlinter"]
    return config


def _layers_contract() -> dict[str, Any]:
    contracts: list[dict[str, Any]] = [
        c
        for c in _importlinter_config()["contracts"]
        if c["type"] == "layers" and c.get("containers") == ["companion"]
    ]
    assert len(contracts) == 1, "pyproject.toml needs exactly one layers contract on companion"
    return contracts[0]


def _layer_members(layer: str) -> list[str]:
    """`sync | search | graph` -> the three names (`:` joins non-independent siblings)."""
    return [name.strip() for name in layer.replace(":", "|").split("|")]


def _documented_layers() -> list[str] | None:
    """The fenced block right after the marker line in docs/architecture.md, one layer a line;
    None when the marker or its block is missing."""
    lines = ARCHITECTURE_DOC.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == LAYERS_MARKER]
    if len(starts) != 1:
        return None
    rest = iter(lines[starts[0] + 1 :])
    opening = next((line for line in rest if line.strip()), "")
    if not opening.lstrip().startswith("```"):
        return None
    layers: list[str] = []
    for line in rest:
        if line.strip().startswith("```"):
            return layers
        if line.strip():
            layers.append(line.strip())
    return None  # the block is never closed


def test_the_layers_documented_in_architecture_md_are_the_layers_contract_in_order() -> None:
    documented = _documented_layers()
    assert documented is not None, (
        f"{ARCHITECTURE_DOC.relative_to(ROOT)} needs the line {LAYERS_MARKER!r} followed by a "
        "fenced block listing the layers top to bottom, one a line, as in pyproject.toml"
    )
    assert documented == _layers_contract()["layers"]


def _top_level_names() -> set[str]:
    """Every top-level module (`app.py`) and subpackage (`store/`) of companion/, but not the
    package's own __init__ nor folders without Python (`defaults/`)."""
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    packages = {
        d.name
        for d in PACKAGE.iterdir()
        if d.is_dir() and d.name != "__pycache__" and any(d.rglob("*.py"))
    }
    return modules | packages


def test_every_top_level_module_and_subpackage_of_companion_is_in_a_layer() -> None:
    contract = _layers_contract()
    assert contract.get("exhaustive") is True, "the layers contract must be exhaustive"
    ignored = set(contract.get("exhaustive_ignores", []))
    assert ignored == set(NOT_IN_A_LAYER), (
        "exhaustive_ignores changed: place the module in a layer, or give the reason in "
        "NOT_IN_A_LAYER"
    )
    named = [name for layer in contract["layers"] for name in _layer_members(layer)]
    assert len(named) == len(set(named)), f"a module is named in two layers: {named}"
    on_disk = _top_level_names()
    assert sorted(on_disk - ignored - set(named)) == [], "not in any layer"
    assert sorted(set(named) - on_disk) == [], "a layer names a module that does not exist"


def test_the_import_linter_contracts_hold() -> None:
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "importlinter.cli"]
    result = subprocess.run(
        [*command, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"lint-imports failed:\n{result.stdout}\n{result.stderr}"


# -- import cycles ---------------------------------------------------------------------------------


def _strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that import each other (directly or
    through each other), and any module that imports itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []

    def edges(module: str) -> list[str]:
        return sorted(graph.find_modules_directly_imported_by(module))

    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(edges(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, todo = work[-1]
            child = next(todo, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges(child))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1 or module in edges(module):
                    groups.append(sorted(group))
    return groups


def _source_file(module: str) -> str:
    path = ROOT.joinpath(*module.split("."))
    found = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return found.relative_to(ROOT).as_posix()


def _describe_cycle(graph: grimp.ImportGraph, group: list[str]) -> str:
    lines = [" <-> ".join(group)]
    for importer in group:
        for imported in group:
            for detail in graph.get_import_details(importer=importer, imported=imported):
                lines.append(
                    f"    {importer} -> {imported}  ({_source_file(importer)}:"
                    f"{detail['line_number']}: {detail['line_contents']})"
                )
    return "\n".join(lines)


def test_the_cycle_finder_sees_an_init_and_a_submodule_and_a_function_level_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "cycles_example"
    package.mkdir()
    (package / "__init__.py").write_text("from cycles_example.core import thing\n")
    (package / "core.py").write_text("import cycles_example\n\nthing = 1\n")
    (package / "lazy.py").write_text("def f() -> None:\n    from cycles_example import late\n")
    (package / "late.py").write_text("from cycles_example import lazy\n")
    (package / "leaf.py").write_text("import cycles_example.core\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("cycles_example", cache_dir=None)
    assert sorted(_strongly_connected(graph)) == [
        ["cycles_example", "cycles_example.core"],
        ["cycles_example.late", "cycles_example.lazy"],
    ]


@pytest.mark.parametrize("package", ["companion", "bench"])
def test_no_import_cycle_among_the_modules_of(
    package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Module-level and function-level imports both count (grimp sees both), and so does a
    package's __init__ importing a submodule that imports the package back."""
    monkeypatch.syspath_prepend(str(ROOT))  # bench is found from the repository root
    graph = grimp.build_graph(package, cache_dir=None)
    cycles = [_describe_cycle(graph, group) for group in _strongly_connected(graph)]
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


# -- who writes files --------------------------------------------------------------------------

# Writes outside companion/write/ that never touch the vault: (file, function) -> where and why.
ALLOWED_WRITES: dict[tuple[str, str], str] = {
    ("companion/store/db.py", "Store.open_or_recover"): (
        "state folder: moves a corrupt index database aside and drops its -wal/-shm files"
    ),
    ("companion/daemon/server.py", "ApiServer.start"): (
        "state folder: removes a socket left by a killed daemon, makes the new one 0600"
    ),
    ("companion/daemon/server.py", "ApiServer.stop"): "state folder: removes the daemon's socket",
    ("companion/daemon/core.py", "Daemon.start"): "state folder: makes it 0700",
    ("companion/embed/onnx.py", "export_int8"): (
        "per-user model cache: writes the int8 export (temporary files, then os.replace)"
    ),
    ("companion/embed/onnx.py", "OnnxInt8Embedder._load"): (
        "per-user model cache: drops a truncated or foreign export before exporting again"
    ),
}

# Methods that write or delete whatever their receiver is (a Path, in practice).
WRITING_METHODS = {
    "write_text",
    "write_bytes",
    "unlink",
    "rmdir",
    "mkdir",
    "rename",
    "symlink_to",
    "hardlink_to",
    "chmod",
    "lchmod",
}
WRITING_FUNCTIONS = {
    "os": {
        "replace",
        "rename",
        "renames",
        "remove",
        "unlink",
        "rmdir",
        "removedirs",
        "makedirs",
        "mkdir",
        "chmod",
        "chown",
        "lchown",
        "link",
        "symlink",
        "truncate",
        "mkfifo",
        "utime",
    },
    "shutil": {
        "move",
        "copy",
        "copy2",
        "copyfile",
        "copytree",
        "copymode",
        "copystat",
        "copyfileobj",
        "rmtree",
        "chown",
        "make_archive",
        "unpack_archive",
    },
    "tempfile": {
        "mkstemp",
        "mkdtemp",
        "NamedTemporaryFile",
        "TemporaryFile",
        "SpooledTemporaryFile",
        "TemporaryDirectory",
    },
}
WRITE_MODE_CHARS = set("wax+")
WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC", "O_EXCL", "O_TMPFILE"}


@dataclass(frozen=True, order=True)
class Write:
    file: str
    function: str  # qualified within the module (`Store.open_or_recover`); `<module>` at top level
    line: int
    call: str


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _opens_for_writing(mode: ast.expr | None) -> bool:
    """A mode that writes, or one this scan cannot read (not a literal): flagged to be safe."""
    if mode is None:
        return False  # the default, "r"
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
        return bool(WRITE_MODE_CHARS & set(mode.value))
    return True


def _flags_write(flags: ast.expr | None) -> bool:
    """os.open flags naming O_WRONLY/O_RDWR/O_CREAT/…, or flags this scan cannot read."""
    if flags is None:
        return True
    names = {n.attr for n in ast.walk(flags) if isinstance(n, ast.Attribute)}
    names |= {n.id for n in ast.walk(flags) if isinstance(n, ast.Name)}
    named_flags = {n for n in names if n.startswith("O_")}
    return not named_flags or bool(named_flags & WRITE_FLAGS)


class _WriteFinder(ast.NodeVisitor):
    def __init__(self, file: str) -> None:
        self.file = file
        self.scope: list[str] = []
        self.modules: dict[str, str] = {}  # local name -> os / shutil / tempfile / io
        self.functions: dict[str, str] = {}  # local name -> "os.replace", "io.open", …
        self.found: list[Write] = []

    # scopes and imports

    def _visit_scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = _visit_scope
    visit_AsyncFunctionDef = _visit_scope
    visit_ClassDef = _visit_scope

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname is None:  # `import os.path` binds `os`
                top = alias.name.partition(".")[0]
                if top in (*WRITING_FUNCTIONS, "io"):
                    self.modules[top] = top
            elif alias.name in (*WRITING_FUNCTIONS, "io"):
                self.modules[alias.asname] = alias.name

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module in (*WRITING_FUNCTIONS, "io"):
            for alias in node.names:
                self.functions[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    # calls

    def _qualified(self, func: ast.expr) -> str | None:
        """`os.replace` for os.replace(…) / replace(…) after `from os import replace`;
        `open` for the builtin; None for a method call on anything else."""
        if isinstance(func, ast.Name):
            return self.functions.get(func.id, "open" if func.id == "open" else None)
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in self.modules
        ):
            return f"{self.modules[func.value.id]}.{func.attr}"
        return None

    def _writes(self, call: ast.Call) -> bool:
        qualified = self._qualified(call.func)
        if qualified is not None:
            module, _, name = qualified.rpartition(".")
            if qualified in ("open", "io.open", "os.fdopen"):
                return _opens_for_writing(_argument(call, 1, "mode"))
            if qualified == "os.open":
                return _flags_write(_argument(call, 1, "flags"))
            return name in WRITING_FUNCTIONS.get(module, set())
        if not isinstance(call.func, ast.Attribute):
            return False
        method = call.func.attr
        if method in WRITING_METHODS:
            return True
        if method == "open":  # Path.open(mode); not Store.open(path), whose argument is no mode
            mode = _argument(call, 0, "mode")
            return isinstance(mode, ast.Constant) and _opens_for_writing(mode)
        if method == "replace":  # Path.replace(target): one argument; str.replace takes two
            return len(call.args) == 1 and not call.keywords
        if method == "touch":  # Path.touch(mode=…, exist_ok=…), not store.pages.touch(stats)
            return all(isinstance(a, ast.Constant) for a in call.args)
        return False

    def visit_Call(self, node: ast.Call) -> None:
        if self._writes(node):
            self.found.append(
                Write(
                    self.file,
                    ".".join(self.scope) or "<module>",
                    node.lineno,
                    ast.unparse(node.func),
                )
            )
        self.generic_visit(node)


def _writes_in(source: str, file: str) -> list[Write]:
    finder = _WriteFinder(file)
    finder.visit(ast.parse(source, filename=file))
    return finder.found


def _writes_outside_the_write_package() -> Iterable[Write]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith("companion/write/"):
            yield from _writes_in(path.read_text(encoding="utf-8"), rel)


def test_the_write_scan_flags_writes_and_deletes_but_not_reads_or_string_replace() -> None:
    source = """
import os, shutil, tempfile
from os import replace as swap
from pathlib import Path

def writes(p: Path, fd: int) -> None:
    open(p, "w")
    open(p, mode="ab")
    p.open("r+")
    os.open(p, os.O_WRONLY | os.O_CREAT)
    os.fdopen(fd, "wb")
    p.write_text("x")
    p.write_bytes(b"x")
    p.unlink()
    p.mkdir()
    p.rename(p)
    p.replace(p)
    p.touch()
    p.chmod(0o600)
    os.replace(p, p)
    swap(p, p)
    os.makedirs(p)
    shutil.rmtree(p)
    tempfile.mkstemp()

def reads(p: Path, text: str, stats: list[int]) -> None:
    open(p)
    open(p, "rb")
    p.open()
    os.open(p, os.O_RDONLY)
    p.read_text()
    text.replace("a", "b")
    store.pages.touch(stats)
    Store.open(p)
    shutil.which("git")
"""
    found = _writes_in(source, "example.py")
    assert {w.function for w in found} == {"writes"}
    assert len(found) == 18, "\n".join(f"{w.line}: {w.call}" for w in found)


def test_nothing_outside_companion_write_writes_files_but_the_allowlisted_state_and_cache_writes() -> (
    None
):
    found = sorted(_writes_outside_the_write_package())
    by_place: dict[tuple[str, str], list[Write]] = {}
    for write in found:
        by_place.setdefault((write.file, write.function), []).append(write)
    unexpected = [
        f"{w.file}:{w.line}: {w.call}(…) in {w.function}"
        for place, writes in sorted(by_place.items())
        if place not in ALLOWED_WRITES
        for w in writes
    ]
    stale = [
        f"{file} {function}"
        for file, function in ALLOWED_WRITES
        if (file, function) not in by_place
    ]
    assert not unexpected, (
        "files written outside companion/write/ (move the write there, or, if it never touches "
        "the vault, add it to ALLOWED_WRITES with the reason):\n" + "\n".join(unexpected)
    )
    assert not stale, "ALLOWED_WRITES entries that no longer write anything:\n" + "\n".join(stale)
