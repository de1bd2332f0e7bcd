"""A new service from the template: ``python -m tollgate_devstack.scaffold NAME`` (or
``make new-service NAME=…``) writes ``<NAME>-svc/`` in the shape every service has
(docs/conventions.md), ready to migrate and serve, with nothing copied from another service.

The template (``templates/service``) holds ``*.tmpl`` files whose text and paths name
``{{name}}`` (``ledger``), ``{{service}}`` (``ledger-svc``), ``{{package}}`` (``ledger_svc``),
``{{prefix}}`` (``LEDGER``), ``{{Title}}`` (``Ledger``), ``{{grpc_port}}`` and ``{{http_port}}``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().with_name("templates") / "service"
SUFFIX = ".tmpl"
NAME = re.compile(r"[a-z][a-z0-9]{1,30}")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class NewService:
    name: str
    grpc_port: int
    http_port: int

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name):
            raise ValueError(
                f"service name {self.name!r}: 2-31 lower-case letters or digits, starting with "
                "a letter (the directory becomes <name>-svc, the package <name>_svc)"
            )

    def values(self) -> dict[str, str]:
        return {
            "name": self.name,
            "service": f"{self.name}-svc",
            "package": f"{self.name}_svc",
            "prefix": self.name.upper(),
            "Title": self.name.capitalize(),
            "grpc_port": str(self.grpc_port),
            "http_port": str(self.http_port),
        }


def render(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"the template names an unknown placeholder {{{{{key}}}}}")
        return values[key]

    return PLACEHOLDER.sub(one, text)


def scaffold(service: NewService, root: Path) -> Path:
    """Write the new service under ``root`` and return its directory; refuses to overwrite."""
    values = service.values()
    target = root / values["service"]
    if target.exists():
        raise FileExistsError(f"{target} exists; the template writes only a new directory")
    for source in sorted(TEMPLATE.rglob(f"*{SUFFIX}")):
        relative = render(str(source.relative_to(TEMPLATE)), values).removesuffix(SUFFIX)
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(source.read_text(), values))
    return target


NEXT_STEPS = """\
Written {target}. To make it part of the suite:
  - add "{service}" to [tool.uv.workspace] members, tollgate-{service} to the root dependencies
    and [tool.uv.sources] in pyproject.toml, and to MEMBERS in the Makefile; then `make lock`
  - add "{package}" to [tool.importlinter] root_packages and to the pure-domain, usecases,
    independence and api contracts, with a layers contract like the others'
  - its .proto under proto/tollgate/{name}/v1 (`make gen`), its servicers in bootstrap.py
  - its process in libs/devstack (services.py) and its Dockerfile, compose service and Helm values
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tollgate_devstack.scaffold")
    parser.add_argument("name", help="the service's name, e.g. 'ledger' for ledger-svc")
    parser.add_argument("--grpc-port", type=int, default=50060)
    parser.add_argument("--http-port", type=int, default=9110)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="where to write it")
    args = parser.parse_args(argv)
    try:
        service = NewService(args.name, args.grpc_port, args.http_port)
        target = scaffold(service, args.root)
    except (ValueError, FileExistsError) as err:
        print(f"scaffold: {err}", file=sys.stderr)
        return 2
    print(NEXT_STEPS.format(target=target, **service.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
