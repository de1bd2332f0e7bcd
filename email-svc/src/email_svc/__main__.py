"""``python -m email_svc`` serves; ``python -m email_svc migrate`` migrates database ``email``."""

from __future__ import annotations

import argparse
import asyncio

from email_svc.bootstrap import build
from email_svc.config import EmailSettings
from tollgate_kit.db import migrations_dir, upgrade
from tollgate_kit.logs import configure_logging, get_logger
from tollgate_kit.server import serve
from tollgate_kit.telemetry import configure_telemetry, instrument_clients


async def _serve(settings: EmailSettings) -> None:
    app = await build(settings)
    await serve(app)


async def _migrate(settings: EmailSettings) -> None:
    await upgrade(settings.database_url, migrations_dir("email_svc", settings.migrations_dir))
    get_logger(__name__).info("migrated", database="email")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="email_svc", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
    args = parser.parse_args(argv)
    settings = EmailSettings()
    configure_logging(settings.service_name, settings.log_level)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        return
    configure_telemetry(settings.service_name)
    instrument_clients()
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
