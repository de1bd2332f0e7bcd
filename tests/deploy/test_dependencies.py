"""Every workspace package declares what it imports, and the kit's heavy dependencies are
extras: a package's image gets exactly the distributions its own pyproject asks for, so an
import that only works because a neighbour pulled the distribution in fails here, not in
production."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# member folder -> the folders whose code ships in it
MEMBERS = {
    "libs/proto": ("src",),
    "libs/kit": ("src",),
    "libs/devstack": ("src",),
    "auth-svc": ("src", "migrations"),
    "billing-svc": ("src", "migrations"),
    "email-svc": ("src", "migrations"),
    "gateway": ("src",),
}
# Import names of the workspace's own packages -> their distribution.
OWN = {
    "tollgate": "tollgate-proto",
    "tollgate_kit": "tollgate-kit",
    "tollgate_devstack": "tollgate-devstack",
    "auth_svc": "tollgate-auth-svc",
    "billing_svc": "tollgate-billing-svc",
    "email_svc": "tollgate-email-svc",
    "gateway": "tollgate-gateway",
}
# Distributions a database driver or client stack brings: none of them in the gateway.
DATABASE_STACK = {"asyncpg", "sqlalchemy", "alembic", "opentelemetry-instrumentation-asyncpg"}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return normalize(match.group(1))


def requirement_extras(requirement: str) -> set[str]:
    match = re.match(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*\[([^\]]*)\]", requirement)
    return {normalize(e) for e in match.group(1).split(",")} if match else set()


def pyproject(member: str) -> dict[str, object]:
    data: dict[str, object] = tomllib.loads((REPO / member / "pyproject.toml").read_text())
    return data


def declared(member: str, extras: set[str] | frozenset[str] = frozenset()) -> set[str]:
    project = pyproject(member)["project"]
    assert isinstance(project, dict)
    names = {requirement_name(r) for r in project.get("dependencies", [])}
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        names |= {requirement_name(r) for r in optional[extra]}
    return names


def imported_modules(member: str) -> set[str]:
    """Top-level names of every absolute import (lazy ones inside functions too)."""
    names: set[str] = set()
    for folder in MEMBERS[member]:
        for path in (REPO / member / folder).rglob("*.py"):
            if "_pb2" in path.name:  # generated: imports only protobuf/grpc/google, declared
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__"}


def distributions_of(module: str) -> set[str]:
    if module in OWN:
        return {OWN[module]}
    found = packages_distributions().get(module)
    assert found, f"no installed distribution provides {module!r}"
    return {normalize(d) for d in found}


def undeclared(member: str, *, without: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Imported modules whose distribution the member's pyproject (any of its own extras
    included) does not name; ``without`` drops declarations, to show the check can fail."""
    project = pyproject(member)["project"]
    assert isinstance(project, dict)
    own_extras = set(project.get("optional-dependencies", {}))
    allowed = (declared(member, own_extras) | {normalize(str(project["name"]))}) - without
    return {
        module: sorted(distributions_of(module))
        for module in imported_modules(member)
        if not distributions_of(module) & allowed
    }


@pytest.mark.parametrize("member", MEMBERS)
def test_every_import_is_declared_by_the_package_itself(member: str) -> None:
    assert undeclared(member) == {}, f"{member} imports what its pyproject.toml does not declare"


def test_the_kit_keeps_database_and_redis_clients_in_extras() -> None:
    core = declared("libs/kit")
    assert core & (DATABASE_STACK | {"redis"}) == set()
    optional = pyproject("libs/kit")["project"]["optional-dependencies"]  # type: ignore[index]
    assert {"asyncpg", "sqlalchemy", "alembic"} <= {requirement_name(r) for r in optional["db"]}
    assert "redis" in {requirement_name(r) for r in optional["redis"]}


def kit_extras(member: str) -> set[str]:
    for requirement in pyproject(member)["project"]["dependencies"]:  # type: ignore[index]
        if requirement_name(requirement) == "tollgate-kit":
            return requirement_extras(requirement)
    raise AssertionError(f"{member} does not depend on tollgate-kit")


def test_services_ask_the_kit_only_for_what_they_use() -> None:
    assert kit_extras("gateway") == {"redis"}
    assert kit_extras("email-svc") == {"addresses", "db", "server"}
    assert kit_extras("auth-svc") == {"addresses", "db", "redis", "server"}
    assert kit_extras("billing-svc") == {"db", "redis", "server"}


def test_a_missing_declaration_is_caught() -> None:
    """Not vacuous: billing-svc without its own asyncpg declaration, and the kit without its
    uvloop, fail."""
    assert set(undeclared("billing-svc", without=frozenset({"asyncpg"}))) == {"asyncpg"}
    assert set(undeclared("libs/kit", without=frozenset({"uvloop"}))) == {"uvloop"}
