"""``python -m billing_svc`` serves; ``python -m billing_svc migrate`` applies migrations."""

from __future__ import annotations

import argparse
import asyncio

from billing_svc.bootstrap import build
from billing_svc.config import BillingSettings
from tollgate_kit.db import database_name, migrations_dir, upgrade
from tollgate_kit.logs import configure_logging, get_logger
from tollgate_kit.server import serve
from tollgate_kit.telemetry import configure_telemetry, instrument_clients


async def _serve(settings: BillingSettings) -> None:
    await serve(await build(settings))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="billing_svc", description=__doc__)
    parser.add_argument("command", nargs="?", choices=("serve", "migrate"), default="serve")
    args = parser.parse_args(argv)

    settings = BillingSettings()
    configure_logging(settings.service_name, settings.log_level)
    if args.command == "migrate":
        migrations = migrations_dir("billing_svc", settings.migrations_dir)
        asyncio.run(upgrade(settings.database_url, migrations))
        get_logger(__name__).info("migrated", database=database_name(settings.database_url))
        return
    configure_telemetry(settings.service_name)
    instrument_clients()
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(settings))
    else:
        uvloop.run(_serve(settings))


if __name__ == "__main__":
    main()
