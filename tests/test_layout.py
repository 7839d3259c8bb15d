"""The code's shape (docs/architecture.md): dependencies run one way and no import circle.

Every `import` of every first-party module is read with `ast`, including imports inside
functions: a lazy import that closes a circle is still a circle for a reader.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "clinic",
    "accounts",
    "privacy",
    "patients",
    "records",
    "analytics",
    "scheduling",
    "chart",
    "localdb",
)
# Which packages each one may import. clinic is the core every app uses; localdb (the local
# PostgreSQL tooling) is used only by development settings and the backup commands.
ALLOWED = {
    "clinic": {"localdb"},
    "accounts": {"clinic"},
    "patients": {"clinic"},
    # break the glass re-authenticates; care team by appointment (scheduling/care_team.py)
    "records": {"clinic", "patients", "accounts", "scheduling"},
    # the appointment rollups count the working hours in force each day (scheduling/models.py)
    "analytics": {"clinic", "patients", "records", "scheduling"},
    # the care-team flag counts that day's appointments (privacy/selectors.py)
    "privacy": {"clinic", "accounts", "patients", "records", "scheduling"},
    "scheduling": {"clinic", "patients"},
    "chart": {"clinic", "patients", "records"},  # the visits' care-team rule and ICD-10-CM
    "localdb": set(),
}
# The only core modules that may reach the local tooling (never imported in production).
# The bootstrap finds the embedded cluster's superuser in development only (clinic/bootstrap.py).
LOCALDB_USERS = ("clinic.settings", "clinic.management.commands.", "clinic.bootstrap")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in known.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                resolved = resolve(target)
                # A package's own __init__ is imported by its submodules: not a dependency.
                if resolved and resolved != module and not module.startswith(resolved + "."):
                    graph[module].add(resolved)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_between_modules():
    assert cycles(import_graph()) == []


def test_the_finder_sees_a_circle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_dependencies_run_one_way_between_packages():
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if (mine := module.split(".")[0]) != (theirs := target.split(".")[0])
        and theirs not in ALLOWED[mine]
    )
    assert wrong == []


def test_only_development_settings_and_backup_commands_use_the_local_tooling():
    users = sorted(
        module
        for module, targets in import_graph().items()
        if module.split(".")[0] != "localdb" and any(t.startswith("localdb") for t in targets)
    )
    assert users and all(user.startswith(LOCALDB_USERS) for user in users), users


def test_each_feature_has_a_folder():
    """No file-name prefix standing in for a missing folder (STYLE.md 1)."""
    prefixed = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "clinic").glob("*.py")
        if path.stem.startswith(("access_log_", "privacy_", "session_", "lockout_", "mfa"))
    )
    assert prefixed == []
