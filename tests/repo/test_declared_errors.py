"""Each RPC's declared error reasons (``tollgate_kit.api_errors``, which the servicers' error
mapping and the gateway's OpenAPI document both read) are exactly those its servicer's code
can raise, as the call-graph walk of ``reasons.py`` finds them.

The walk resolves calls by name and type, so it can only find too much, never too little.
Its one known over-approximation is the ledger's refusal table (``_REFUSALS`` in
billing's use cases), which every money RPC reaches: there each RPC keeps only the refusals
whose outcome its SQL function (``migrations/sql/billing_<rpc>.sql``) can return, read off
that file, so this too follows the code rather than a list kept by hand.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf.descriptor import ServiceDescriptor

from tollgate.auth.v1 import auth_pb2
from tollgate.billing.v1 import billing_pb2
from tollgate.email.v1 import email_pb2
from tollgate_kit.api_errors.auth import AUTH_ERRORS
from tollgate_kit.api_errors.billing import BILLING_ERRORS, WALLET_LIFECYCLE_ERRORS
from tollgate_kit.api_errors.email import EMAIL_ERRORS
from tollgate_kit.caller import CALLER_REASONS
from tollgate_kit.errors import DeclaredErrors

ROOT = Path(__file__).resolve().parents[2]


def _load_walker() -> type:
    spec = importlib.util.spec_from_file_location(
        "repo_reasons", Path(__file__).with_name("reasons.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    scope: type = module.Scope
    return scope


Scope = _load_walker()
KIT = ROOT / "libs" / "kit" / "src" / "tollgate_kit"
# The kit's code a servicer calls that raises reasons: the caller's token checks.
KIT_MODULES = [KIT / "caller.py", KIT / "tokens.py", KIT / "ended_sessions.py"]
AUTH = ROOT / "auth-svc" / "src" / "auth_svc"
BILLING = ROOT / "billing-svc" / "src" / "billing_svc"
EMAIL = ROOT / "email-svc" / "src" / "email_svc"
LEDGER_SQL = ROOT / "billing-svc" / "migrations" / "sql"

CASES = [
    (AUTH, "AuthServicer", auth_pb2.DESCRIPTOR.services_by_name["AuthService"], AUTH_ERRORS),
    (
        BILLING,
        "BillingServicer",
        billing_pb2.DESCRIPTOR.services_by_name["BillingService"],
        BILLING_ERRORS,
    ),
    (
        BILLING,
        "WalletLifecycleServicer",
        billing_pb2.DESCRIPTOR.services_by_name["WalletLifecycleService"],
        WALLET_LIFECYCLE_ERRORS,
    ),
    (EMAIL, "EmailServicer", email_pb2.DESCRIPTOR.services_by_name["EmailService"], EMAIL_ERRORS),
]
_SCOPES: dict[Path, Any] = {}
CALLER = {reason.name: reason for reason in CALLER_REASONS}


def _scope(package: Path) -> Any:
    if package not in _SCOPES:
        _SCOPES[package] = Scope.of([*sorted(package.rglob("*.py")), *KIT_MODULES])
    return _SCOPES[package]


def _ledger_refusals() -> dict[str, str]:
    """Each refusal outcome of the ledger → the reason the use cases raise for it."""
    from billing_svc.usecases.ledger import _REFUSALS

    stand_in = SimpleNamespace(refundable=1)
    return {outcome.value: make(stand_in).reason for outcome, make in _REFUSALS.items()}


def _sql_outcomes(rpc: str) -> set[str]:
    """The outcomes the ledger function behind ``rpc`` can return (its string literals, and
    those of ``billing_wallet_refusal`` when it calls it)."""
    snake = re.sub(r"(?<!^)([A-Z])", r"_\1", rpc).lower()
    path = LEDGER_SQL / f"billing_{snake}.sql"
    if not path.is_file():
        return set()
    text = path.read_text()
    if "billing_wallet_refusal(" in text:
        text += (LEDGER_SQL / "billing_wallet_refusal.sql").read_text()
    return set(re.findall(r"'([a-z_]+)'", text))


def _reachable(package: Path, servicer: str, rpc: str) -> set[str]:
    found = _scope(package).reasons(servicer, rpc)
    outcomes = _sql_outcomes(rpc) if package == BILLING else set()
    if outcomes:
        # A money RPC: of the refusal table, only what its ledger function can answer.
        found -= {r for o, r in _ledger_refusals().items() if o not in outcomes}
    return found


@pytest.mark.parametrize(
    ("package", "servicer", "service", "declared"),
    CASES,
    ids=[case[1] for case in CASES],
)
def test_each_rpc_declares_exactly_the_reasons_its_servicer_can_raise(
    package: Path, servicer: str, service: ServiceDescriptor, declared: DeclaredErrors
) -> None:
    assert declared.service == service.full_name
    assert set(declared.rpcs) == {m.name for m in service.methods}, "one entry per RPC"
    problems = []
    for method in service.methods:
        can_raise = _reachable(package, servicer, method.name)
        listed = set(declared.rpcs[method.name])
        if can_raise - listed:
            problems.append(f"{method.name} can raise undeclared {sorted(can_raise - listed)}")
        if listed - can_raise:
            problems.append(f"{method.name} declares never raised {sorted(listed - can_raise)}")
    assert problems == []


_DOMAIN = {AUTH: AUTH_ERRORS, BILLING: BILLING_ERRORS, EMAIL: EMAIL_ERRORS}
# Abstract families: never raised themselves.
_BASES = {"AuthError", "BillingError", "EmailError", "DeliveryError", "InvalidEmailRequest"}


@pytest.mark.parametrize("package", list(_DOMAIN), ids=["auth", "billing", "email"])
def test_every_domain_reason_is_declared_with_the_code_the_code_uses(package: Path) -> None:
    """A domain error's reason gets its code from the declaration (an undeclared one would
    fail at run time), and a ``StatusError`` written with a literal code and reason (the
    kit's caller checks) uses the declared code."""
    declared = _DOMAIN[package]
    module = importlib.import_module(f"{package.name}.domain.errors")
    for error in vars(module).values():
        if (
            isinstance(error, type)
            and issubclass(error, Exception)
            and error.__name__ not in _BASES
        ):
            assert error.reason in declared.reasons, f"{error.__name__}: {error.reason}"
    for path in KIT_MODULES:
        for call in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(call, ast.Call) and getattr(call.func, "id", "") == "StatusError"):
                continue
            reason = next((k.value for k in call.keywords if k.arg == "reason"), None)
            code = call.args[0]
            if isinstance(reason, ast.Constant) and isinstance(code, ast.Attribute):
                assert CALLER[reason.value].code.name == code.attr, reason.value


WALKED = """
class DomainError(Exception):
    reason = "DOMAIN"

class Missing(DomainError):
    reason = "MISSING"

class Limit(DomainError):
    reason = "LIMIT"

class Down(DomainError):
    reason = "DOWN"

class Unrelated(DomainError):
    reason = "UNRELATED"

_TABLE = {"limit": lambda: Limit("over")}

class Port(Protocol):
    async def find(self, key: str) -> str: ...

@translate_outages((OSError,), Down)
class Store:
    async def find(self, key: str) -> str:
        raise _TABLE["limit"]()

class Other:
    async def find(self, key: str) -> str:
        return key
    async def unrelated(self) -> None:
        raise Unrelated("never called")

class UseCase:
    def __init__(self, port: Port) -> None:
        self._port = port
    async def get(self, key: str) -> str:
        if not key:
            raise Missing("no key")
        return await self._port.find(key)

class Servicer:
    def __init__(self, use_case: UseCase) -> None:
        self._use_case = use_case
    async def Get(self, request, context):
        return await self._use_case.get(request.key)
    async def Auth(self, request, context):
        raise StatusError(grpc.StatusCode.UNAUTHENTICATED, "no", reason="TOKEN_MISSING")
"""


def test_the_walk_follows_types_tables_decorators_and_literal_statuses(tmp_path: Path) -> None:
    source = tmp_path / "walked.py"
    source.write_text(WALKED)
    scope = Scope.of([source])
    # Missing in the use case, Limit through the module table, Down from the decorator on
    # the Protocol's implementation; never the uncalled method's Unrelated.
    assert scope.reasons("Servicer", "Get") == {"MISSING", "LIMIT", "DOWN"}
    assert scope.reasons("Servicer", "Auth") == {"TOKEN_MISSING"}
