"""The conversation lifecycle has one home (backend/lifecycle/), and backend modules import in one direction.

Two `ast` walks over every file under backend/ (lazy imports inside functions included), so a new transition
written somewhere else, or an import that closes a circle, fails here rather than in review:
- nothing outside backend/lifecycle/ writes a conversation's or a case's state: no attribute assignment
  (`conversation.owner = ...`, `case.status, case.resolved_at = ...`, `setattr`), no `update(Conversation)` or
  `update(Case)` setting those columns, no new Conversation or Case row;
- no import circle between backend modules; `conversations` never imports `cases` (cases reads the
  conversation it serves, so the arrow points that way only); analytics reads neither package's state
  directly to change it: it imports only the lifecycle's function that ends idle conversations.

A type checker would know which object an attribute belongs to; an `ast` walk does not, so a name shared with
other models (`status`, `priority`, `skill`, `last_message_at`) counts only on a receiver named like a
conversation or a case, while the names only these two models have count on any receiver. The walker's own
tests below keep it from passing vacuously.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.paths import ROOT

BACKEND = ROOT / "backend"
LIFECYCLE = BACKEND / "lifecycle"
MODELS = {"Conversation", "Case"}
# Columns only these two models have: an assignment to them on any object is a transition.
OWN_COLUMNS = {
    "owner", "assigned_agent_id", "assigned_at", "accepted_at", "resolved_at", "disposition",
    "first_response_at", "sla_breached_at", "requeue_count", "csat", "escalation_risk", "churn_risk",
    "transcript_erased_at",
}  # fmt: skip
# Columns other models have too (Agent.status, Article.status, ...): counted on a conversation or case.
SHARED_COLUMNS = {"status", "priority", "skill", "last_message_at"}
GUARDED = OWN_COLUMNS | SHARED_COLUMNS


def _names_a_conversation_or_case(node: ast.expr) -> bool:
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return "conversation" in name.lower() or "case" in name.lower()


def _guarded_target(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _guarded_target(element)
    elif isinstance(target, ast.Attribute):
        shared = target.attr in SHARED_COLUMNS and _names_a_conversation_or_case(target.value)
        if target.attr in OWN_COLUMNS or shared:
            yield target.attr


def _statement_model(call: ast.Call) -> str | None:
    """`update(Case)` / `insert(Conversation)` anywhere down a `.where(...).values(...)` chain."""
    node: ast.expr = call
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Call):
            if (
                isinstance(node.func, ast.Name)
                and node.func.id in {"update", "insert"}
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in MODELS
            ):
                return node.args[0].id
            node = node.func
        else:
            node = node.value
    return None


def state_writes(source: str) -> list[str]:
    """Every write of a conversation's or case's state in this source, as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            found += [f"{node.lineno}: .{attr} =" for attr in _guarded_target(target)]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in MODELS:
            found.append(f"{node.lineno}: new {func.id} row")
        if isinstance(func, ast.Name) and func.id == "setattr" and len(node.args) > 1:
            name = node.args[1]
            if isinstance(name, ast.Constant) and name.value in GUARDED:
                found.append(f"{node.lineno}: setattr {name.value}")
        if isinstance(func, ast.Attribute) and func.attr == "values" and _statement_model(node):
            keys = [k.arg for k in node.keywords if k.arg in GUARDED]
            for arg in node.args:
                if isinstance(arg, ast.Dict):
                    keys += [k.value for k in arg.keys if isinstance(k, ast.Constant) and k.value in GUARDED]
            found += [f"{node.lineno}: {_statement_model(node)}.values({key}=...)" for key in keys]
    return found


def _backend_files() -> list[Path]:
    return [path for path in sorted(BACKEND.rglob("*.py")) if "alembic" not in path.parts]


def test_only_the_lifecycle_changes_a_conversations_or_a_cases_state() -> None:
    outside = {
        str(path.relative_to(ROOT)): writes
        for path in _backend_files()
        if not path.is_relative_to(LIFECYCLE) and (writes := state_writes(path.read_text()))
    }
    assert outside == {}, "state changes belong in backend/lifecycle/ (a transition function there)"


def test_the_lifecycle_is_where_the_writes_are() -> None:
    # If the walker stopped seeing writes, the test above would pass whatever the code did.
    inside = [write for path in sorted(LIFECYCLE.glob("*.py")) for write in state_writes(path.read_text())]
    assert any(".owner =" in write for write in inside)
    assert any("Conversation.values(status=" in write for write in inside)
    assert any("Case.values" not in write and ".status =" in write for write in inside)


@pytest.mark.parametrize(
    "source",
    [
        "conversation.owner = 'human'",
        "self.conversation.status = 'open'",
        "case.status, case.resolved_at = 'resolved', now",
        "c.assigned_agent_id = None",
        "row.csat += 1",
        "setattr(conversation, 'owner', 'bot')",
        "session.execute(update(Conversation).where(x).values(owner='bot'))",
        "update(Case).values({'status': 'queued'})",
        "session.add(Case(conversation_id=c.id))",
    ],
)
def test_the_walker_sees_each_kind_of_write(source: str) -> None:
    assert state_writes(source), source


@pytest.mark.parametrize(
    "source",
    [
        "agent.status = 'online'",
        "article.status = 'published'",
        "update(Message).values(bot_status='retrying')",
        "update(Case).values(reason='[erased]')",
        "x = case.status",
    ],
)
def test_the_walker_leaves_other_writes_alone(source: str) -> None:
    assert state_writes(source) == [], source


# ----------------------------------------------------------------------------------------------- imports


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """The backend modules this file imports, at any depth of the file (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from backend.cases import service` imports the module backend.cases.service.
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            if name.startswith("backend.") and name in known:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in _backend_files()}
    known = set(files)
    graph = {name: _imports(path, known) - {name} for name, path in files.items()}
    # `from backend.cases import service` also names the package; an empty __init__ is no real edge.
    empty = {
        name for name, path in files.items() if path.name == "__init__.py" and not path.read_text().strip()
    }
    return {name: targets - empty for name, targets in graph.items()}


def _circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Every import circle: the strongly connected components of more than one module (Tarjan)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in order:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], order[target])
        if low[node] == order[node]:
            component = set()
            member = None
            while member != node:
                member = stack.pop()
                component.add(member)
            if len(component) > 1:
                circles.append(component)

    for node in sorted(graph):
        if node not in order:
            visit(node)
    return circles


def test_no_import_circle_between_backend_modules() -> None:
    assert _circles(_graph()) == []


def _imports_between(source: str, targets: tuple[str, ...]) -> list[str]:
    """Every import from a module of package `source` of a module under one of `targets`."""
    return sorted(
        f"{module} -> {imported}"
        for module, imported_modules in _graph().items()
        if module.startswith(source)
        for imported in imported_modules
        if imported.startswith(targets)
    )


def test_conversations_does_not_import_cases() -> None:
    found = _imports_between("backend.conversations.", ("backend.cases.",))
    assert found == [], "cases depends on conversations, never the other way (hand-off goes via lifecycle)"


def test_core_imports_no_domain() -> None:
    """backend/core/ is what every domain stands on (settings, database, errors); it stands on none."""
    imports = _imports_between("backend.core.", ("backend.",))
    found = [line for line in imports if "-> backend.core." not in line]
    assert found == [], "a domain's type or service belongs in the domain, passed to core as a value"


def test_analytics_changes_no_state_it_counts() -> None:
    found = _imports_between("backend.analytics.", ("backend.cases.", "backend.conversations."))
    assert found == [], "analytics counts events; ending a conversation is the lifecycle's"


def test_the_circle_finder_finds_circles() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert _circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
