"""Which ``ErrorInfo`` reasons each RPC of a servicer can answer, read off the source.

A conservative call-graph walk over a service's modules (and the kit's caller checks),
starting at the servicer's method. It follows every function a body calls or passes on and
reads every module-level table it names (billing's refusal table); every construction of an
error class that carries a ``reason`` (a domain error, ``TokenError``, a ``StatusError`` with
a literal ``reason=``) adds that reason, and so does a class decorator that names one for the
class's public coroutines (``translate_outages(..., StoreUnavailable)``). Calls are resolved:

- ``self.m(…)``: ``m`` of the class, its bases and its subclasses;
- ``self._x.m(…)``: ``m`` of ``_x``'s type as ``__init__`` annotates it (and every class
  below it; for a ``Protocol``, every class in scope that has an ``m``); a type outside the
  scope (a driver, a client library) raises no reason of ours;
- anything else (a local, a module attribute, a bare name): every function of that name.

Catching is ignored. So the walk can find too much, never too little, short of code that
builds an error class it does not name (none does); the test narrows its one known
over-approximation, the ledger refusal table, by what each SQL function can return.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class _ErrorClass:
    name: str
    bases: list[str]
    reason: str | None = None
    # Index of ``reason`` among the constructor's positional parameters (after self).
    reason_position: int | None = None


@dataclass
class Scope:
    """The modules one servicer's calls may reach."""

    functions: dict[str, list[Function]] = field(default_factory=dict)
    tables: dict[str, list[ast.expr]] = field(default_factory=dict)
    classes: dict[str, _ErrorClass] = field(default_factory=dict)
    servicers: dict[str, ast.ClassDef] = field(default_factory=dict)
    module_functions: dict[str, list[Function]] = field(default_factory=dict)
    methods: dict[str, dict[str, list[Function]]] = field(default_factory=dict)
    bases: dict[str, list[str]] = field(default_factory=dict)
    attribute_types: dict[str, dict[str, str]] = field(default_factory=dict)
    owner: dict[int, str] = field(default_factory=dict)
    # Reasons a class decorator puts on every public coroutine method (``translate_outages``).
    decorated: dict[int, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, paths: Iterable[Path]) -> Scope:
        scope = cls()
        for path in paths:
            scope._add(ast.parse(path.read_text(), str(path)))
        scope._inherit()
        return scope

    def _add(self, module: ast.Module) -> None:
        for node in ast.walk(module):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.ClassDef):
                self._add_class(node)
        for statement in module.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                self.module_functions.setdefault(statement.name, []).append(statement)
            if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.tables.setdefault(target.id, []).append(statement.value)

    def _add_class(self, node: ast.ClassDef) -> None:
        self.servicers[node.name] = node
        self.classes[node.name] = _error_class(node)
        self.bases[node.name] = [b for b in map(_name, node.bases) if b is not None]
        types = self.attribute_types.setdefault(node.name, {})
        methods = self.methods.setdefault(node.name, {})
        stamped = {
            _name(argument)
            for decorator in node.decorator_list
            if isinstance(decorator, ast.Call)
            for argument in decorator.args
        }
        for statement in node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                types[statement.target.id] = _type_name(statement.annotation)
            if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            methods.setdefault(statement.name, []).append(statement)
            self.owner[id(statement)] = node.name
            if isinstance(statement, ast.AsyncFunctionDef) and not statement.name.startswith("_"):
                self.decorated[id(statement)] = {n for n in stamped if n is not None}
            if statement.name == "__init__":
                annotated = {
                    a.arg: _type_name(a.annotation)
                    for a in (*statement.args.args, *statement.args.kwonlyargs)
                    if a.annotation is not None
                }
                for assignment in ast.walk(statement):
                    if (
                        isinstance(assignment, ast.Assign)
                        and isinstance(assignment.value, ast.Name)
                        and assignment.value.id in annotated
                    ):
                        for target in assignment.targets:
                            if isinstance(target, ast.Attribute):
                                types[target.attr] = annotated[assignment.value.id]

    def _family(self, name: str) -> set[str]:
        """``name``, its bases and every class below it; for a Protocol, every class."""
        family = {name}
        todo = [name]
        while todo:
            for base in self.bases.get(todo.pop(), ()):
                if base not in family:
                    family.add(base)
                    todo.append(base)
        if "Protocol" in family:
            return set(self.methods)
        grew = True
        while grew:
            grew = False
            for cls, bases in self.bases.items():
                if cls not in family and family & set(bases):
                    family.add(cls)
                    grew = True
        return family

    def _callees(self, node: ast.AST, within: str | None) -> list[ast.AST]:
        """What a name or attribute in a function of class ``within`` may refer to."""
        if isinstance(node, ast.Name):
            return [*self.module_functions.get(node.id, ()), *self.tables.get(node.id, ())]
        if not isinstance(node, ast.Attribute):
            return []
        receiver = node.value
        classes: set[str] | None = None
        if isinstance(receiver, ast.Name) and receiver.id == "self" and within is not None:
            classes = self._family(within)
        elif (
            isinstance(receiver, ast.Attribute)
            and isinstance(receiver.value, ast.Name)
            and receiver.value.id == "self"
            and within is not None
        ):
            known = self._attribute_type(within, receiver.attr)
            if known is not None:
                # A type outside the scope (a driver, a client library) raises no reason.
                classes = self._family(known) if known in self.methods else set()
        if classes is None:
            # An unknown receiver (a local, a module): any function of that name.
            return list(self.functions.get(node.attr, ()))
        return [m for cls in classes for m in self.methods.get(cls, {}).get(node.attr, ())]

    def _attribute_type(self, cls: str, attribute: str) -> str | None:
        for member in self._family_up(cls):
            found = self.attribute_types.get(member, {}).get(attribute)
            if found is not None:
                return found
        return None

    def _family_up(self, cls: str) -> list[str]:
        order, todo = [], [cls]
        while todo:
            current = todo.pop(0)
            if current not in order:
                order.append(current)
                todo.extend(self.bases.get(current, ()))
        return order

    def _inherit(self) -> None:
        """A subclass keeps its base's reason (and reason parameter) unless it sets its own."""
        changed = True
        while changed:
            changed = False
            for error in self.classes.values():
                for base_name in error.bases:
                    base = self.classes.get(base_name)
                    if base is None:
                        continue
                    if error.reason is None and base.reason is not None:
                        error.reason, changed = base.reason, True
                    if error.reason_position is None and base.reason_position is not None:
                        error.reason_position, changed = base.reason_position, True

    def reasons(self, servicer: str, method: str) -> set[str]:
        """Every reason ``servicer.method`` can answer with."""
        start = next(
            node
            for node in self.servicers[servicer].body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == method
        )
        found: set[str] = set()
        seen: set[int] = set()
        todo: list[ast.AST] = [start]
        while todo:
            node = todo.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            within = self.owner.get(id(node))
            for stamped in self.decorated.get(id(node), ()):
                error = self.classes.get(stamped)
                if error is not None and error.reason is not None:
                    found.add(error.reason)
            for child in ast.walk(node):
                if isinstance(child, ast.Call):
                    found |= self._constructed(child)
                for callee in self._callees(child, within):
                    todo.append(callee)
        return found

    def _constructed(self, call: ast.Call) -> set[str]:
        name = _name(call.func)
        if name is None:
            return set()
        literal = next(
            (
                k.value
                for k in call.keywords
                if k.arg == "reason" and isinstance(k.value, ast.Constant)
            ),
            None,
        )
        if name == "StatusError":
            return (
                {literal.value} if literal is not None and isinstance(literal.value, str) else set()
            )
        error = self.classes.get(name)
        if error is None or (error.reason is None and error.reason_position is None):
            return set()
        if literal is not None and isinstance(literal.value, str):
            return {literal.value}
        position = error.reason_position
        if position is not None and len(call.args) > position:
            argument = call.args[position]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                return {argument.value}
        return {error.reason} if error.reason is not None else set()


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _type_name(annotation: ast.expr) -> str:
    """The class an annotation names: ``Users``, ``Users | None``, ``"Users"``."""
    for node in ast.walk(annotation):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value.split("[")[0].split(".")[-1]
        if isinstance(node, ast.Name) and node.id not in {"None", "Optional"}:
            return node.id
        if isinstance(node, ast.Attribute):
            return node.attr
    return ""


def _error_class(node: ast.ClassDef) -> _ErrorClass:
    error = _ErrorClass(node.name, [b for b in map(_name, node.bases) if b is not None])
    for statement in node.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            value = statement.value
            if (
                any(isinstance(t, ast.Name) and t.id == "reason" for t in targets)
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
            ):
                error.reason = value.value
        elif isinstance(statement, ast.FunctionDef) and statement.name == "__init__":
            arguments = statement.args
            names = [a.arg for a in arguments.args[1:]]
            if "reason" in names:
                error.reason_position = names.index("reason")
                defaults = arguments.defaults
                offset = len(arguments.args) - len(defaults)
                index = [a.arg for a in arguments.args].index("reason")
                if index >= offset:
                    default = defaults[index - offset]
                    if isinstance(default, ast.Constant) and isinstance(default.value, str):
                        error.reason = error.reason or default.value
    return error
