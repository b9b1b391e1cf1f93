"""Every environment variable is read through a settings module, so each has one name, one default and one
place that documents it.

An `ast` walk over the project's Python code (tests aside: they set up environments for what they start)
fails on any read of `os.environ` or `os.getenv` outside:
- backend/core/config.py, the backend's settings (pydantic-settings reads the environment for it);
- nlu/settings.py, the Rasa side's (NLU components, action server) and the project folders', importable
  from the bot venv too.

What is not a read of a setting, and so allowed anywhere:
- `{**os.environ, ...}`: handing the whole environment on to a child process;
- `os.environ[...] = ...`: setting a variable for a library or a child process;
- `os.environ.setdefault(...)` of the Hugging Face offline switches, which those libraries read: set before
  they are imported so nothing reaches for the network, and a value the caller gave still wins;
- a read of a variable a library owns and reads itself (LIBRARY_VARIABLES): the code must see what the
  library sees, which a settings field (that also reads `.env`) could contradict.
scripts/ and ml/ hold command-line tools: their `main()` may read a variable as the default of one of its
own flags (`--backend-port` from BACKEND_PORT); anywhere else in them the rule above holds. The Locust file
is the exception: Locust imports it and runs no `main()`, so its SUPPORTDESK_* variables are its flags.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.paths import ROOT

CHECKED = ("backend", "knowledge", "nlu", "actions", "contract", "ml", "scripts", "bot")
SETTINGS_MODULES = {"backend/core/config.py", "nlu/settings.py"}
LOCUST_FILE = "scripts/locustfile.py"
COMMAND_LINE_TOOLS = ("scripts/", "ml/")
OFFLINE_SWITCHES = {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"}
# prometheus_client picks its multiprocess value store from this at import time (backend/core/metrics.py).
LIBRARY_VARIABLES = {"PROMETHEUS_MULTIPROC_DIR"}


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _reads_environ(node: ast.AST, modules: set[str], members: set[str]) -> bool:
    """`os.environ` / `os.getenv` (os under any name), or `environ` / `getenv` imported from os."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id in modules and node.attr in {"environ", "getenv"}
    return isinstance(node, ast.Name) and node.id in members and isinstance(node.ctx, ast.Load)


def _os_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names bound to the os module, and names bound to `os.environ` / `os.getenv` themselves."""
    modules, members = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.asname or alias.name for alias in node.names if alias.name == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            members |= {
                alias.asname or alias.name for alias in node.names if alias.name in {"environ", "getenv"}
            }
    return modules, members


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level `NAME = "text"` assignments, so `os.environ.get(NAME)` is known by the variable's name."""
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }


def _variable(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return constants.get(node.id) if isinstance(node, ast.Name) else None


def _names_a_library_variable(
    node: ast.AST, parents: dict[ast.AST, ast.AST], constants: dict[str, str]
) -> bool:
    """`os.environ.get(X)`, `os.getenv(X)` or `os.environ[X]` with X in LIBRARY_VARIABLES."""
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript):
        return _variable(parent.slice, constants) in LIBRARY_VARIABLES
    call = parents.get(parent) if isinstance(parent, ast.Attribute) and parent.attr == "get" else parent
    return (
        isinstance(call, ast.Call)
        and bool(call.args)
        and _variable(call.args[0], constants) in LIBRARY_VARIABLES
    )


def _allowed(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    if isinstance(parent, ast.Dict):  # {**os.environ, ...}: a key of None marks the unpacking
        return any(
            key is None and value is node for key, value in zip(parent.keys, parent.values, strict=True)
        )
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return isinstance(parent.ctx, ast.Store | ast.Del)
    if isinstance(parent, ast.Attribute) and parent.attr == "setdefault":
        call = parents.get(parent)
        return (
            isinstance(call, ast.Call)
            and bool(call.args)
            and isinstance(call.args[0], ast.Constant)
            and call.args[0].value in OFFLINE_SWITCHES
        )
    return False


def _inside_main(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            return True
    return False


def environment_reads(source: str, command_line_tool: bool = False) -> list[int]:
    """The lines of `source` that read the environment other than in the allowed ways."""
    tree = ast.parse(source)
    parents = _parents(tree)
    modules, members = _os_names(tree)
    constants = _constants(tree)
    lines = []
    for node in ast.walk(tree):
        if _reads_environ(node, modules, members):
            if _allowed(node, parents) or _names_a_library_variable(node, parents, constants):
                continue
            if command_line_tool and _inside_main(node, parents):
                continue
            lines.append(node.lineno)
    return lines


def _python_files() -> Iterator[Path]:
    for folder in CHECKED:
        yield from (p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def test_only_the_settings_modules_read_the_environment() -> None:
    found = []
    for path in _python_files():
        name = path.relative_to(ROOT).as_posix()
        if name in SETTINGS_MODULES or name == LOCUST_FILE:
            continue
        tool = name.startswith(COMMAND_LINE_TOOLS)
        found += [f"{name}:{line}" for line in environment_reads(path.read_text(), tool)]
    assert not found, f"read these through backend/core/config.py or nlu/settings.py: {found}"


def test_the_settings_modules_exist_and_read_it() -> None:
    for name in SETTINGS_MODULES:
        source = (ROOT / name).read_text()
        assert "os.environ" in source or "BaseSettings" in source, name


@pytest.mark.parametrize(
    "source",
    [
        'import os\nos.environ.get("X")',
        'import os\nos.getenv("X", "1")',
        'import os\nvalue = os.environ["X"]',
        'import os\nenv = os.environ.get\nenv("X")',
        'from os import environ\nenviron.get("X")',
        'from os import getenv as read\nread("X")',
        'import os as system\nsystem.environ.get("X")',
        'import os\nos.environ.setdefault("KB_EMBED_THREADS", "1")',
        'import os\nNAME = "KB_EMBED_THREADS"\nos.environ.get(NAME)',
        'import os\ndef helper():\n    return os.environ.get("PORT")',
    ],
)
def test_the_walker_finds_reads(source: str) -> None:
    assert environment_reads(source, command_line_tool=True)


@pytest.mark.parametrize(
    "source",
    [
        'import os\nchild = {**os.environ, "A": "1"}',
        'import os\nos.environ["RASA_CACHE_DIRECTORY"] = "/tmp/x"',
        'import os\nos.environ.setdefault("HF_HUB_OFFLINE", "1")',
        'import os\nvalue = {"environ": 1}["environ"]',
        'import os\nNAME = "PROMETHEUS_MULTIPROC_DIR"\nos.environ.get(NAME)',
        'import os\nos.environ["PROMETHEUS_MULTIPROC_DIR"]',
    ],
)
def test_the_walker_allows_what_is_not_a_read(source: str) -> None:
    assert environment_reads(source) == []


def test_a_command_line_tool_may_default_its_flags_from_the_environment_in_main_only() -> None:
    source = 'import os\ndef main():\n    port = int(os.environ.get("BACKEND_PORT", 8000))\n'
    assert environment_reads(source, command_line_tool=True) == []
    assert environment_reads(source, command_line_tool=False) == [3]
